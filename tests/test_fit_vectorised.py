"""The fit's all-SKUs-at-once pieces give exactly what their one-at-a-time forms give.

The fit computes for every SKU at once (``racesim.fit.segments``, the batched stock-out
search, Garwood intervals, dispersion verdicts) and codes string columns without hashing
where it can (``racesim.fit.sku_orders.coded``). Each is checked here against the plain
computation — for equality, not closeness: the fit's output must not depend on how many
SKUs were fitted together.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from racesim.fit.censoring import from_sales_pattern, sales_pattern_censorings
from racesim.fit.classes import velocity_classes
from racesim.fit.dispersion import fit_dispersion
from racesim.fit.estimate import garwood_interval, garwood_intervals
from racesim.fit.exposure import DAY_S, DemandClock, Window, epoch_seconds
from racesim.fit.profile import _flat_test
from racesim.fit.segments import compressed_sums, segment_sums
from racesim.fit.sku_orders import coded


def test_segment_sums_equal_each_segment_summed_on_its_own() -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 300, 60)
    values = rng.random(int(lengths.sum())) * 10.0 ** rng.uniform(-6, 6, int(lengths.sum()))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    expected = [values[a:b].sum() for a, b in itertools.pairwise(starts)]
    assert segment_sums(values, lengths).tolist() == expected
    rows = values[: 40 * 150].reshape(40, 150)
    keep = rng.random(rows.shape) < 0.9
    assert compressed_sums(rows, keep).tolist() == [r[k].sum() for r, k in zip(rows, keep,
                                                                                 strict=True)]


def test_garwood_intervals_equal_the_scalar_interval_each() -> None:
    counts, exposures = np.array([0, 1, 7, 120, 5000]), np.array([1.0, 2.5, 30.0, 9.0, 180.0])
    phis = np.array([1.0, 1.0, 2.5, 1.3, 4.0])
    low, high = garwood_intervals(counts, exposures, phis)
    for i in range(len(counts)):
        assert (low[i], high[i]) == garwood_interval(int(counts[i]), exposures[i], phi=phis[i])
    with pytest.raises(ValueError, match="phis"):
        garwood_intervals(counts, exposures, phis * 0.5)


def _window_and_clock(days: int) -> tuple[Window, DemandClock]:
    start = pd.Timestamp("2026-01-05", tz="UTC").timestamp()
    hour = 1.0 + 0.8 * np.sin(np.arange(24) / 24 * 2 * np.pi)
    return Window(start, start + days * DAY_S, "given"), DemandClock(hour, np.ones(7))


def test_the_stock_out_search_of_many_skus_equals_one_sku_at_a_time() -> None:
    rng = np.random.default_rng(11)
    window, clock = _window_and_clock(60)
    placed, counts, dispersion = [], [], []
    for k in range(12):
        times = np.sort(rng.uniform(window.start, window.end, rng.integers(0, 400)))
        if k % 3 == 0:  # out of stock for a fortnight
            cut = window.start + DAY_S * rng.uniform(10, 40)
            times = times[(times < cut) | (times > cut + 14 * DAY_S)]
        placed.append(times)
        counts.append(len(times))
        dispersion.append(0.0 if k % 2 else 0.3)
    together = sales_pattern_censorings(np.concatenate(placed), np.array(counts), window,
                                        clock, np.array(dispersion))
    alone = [from_sales_pattern(p, window, clock, d)
             for p, d in zip(placed, dispersion, strict=True)]
    assert together == alone
    assert sum(bool(c.intervals) for c in alone) >= 3  # the search did find stock-outs


def test_dispersion_verdicts_do_not_depend_on_the_other_skus() -> None:
    rng = np.random.default_rng(5)
    weights = np.full(90, 1.0)
    counts = {f"S{k:02d}": rng.poisson(rng.gamma(1 / 0.4, 0.4 * (k + 1), 90)) if k % 2
              else rng.poisson(k + 1.0, 90) for k in range(10)}
    classes = velocity_classes({sku: float(c.sum()) for sku, c in counts.items()})
    every = fit_dispersion(counts, dict.fromkeys(counts, weights), classes)
    for sku in ("S08", "S09"):  # tested alone: same verdict but for the shared FDR step
        alone = fit_dispersion({sku: counts[sku]}, {sku: weights}, classes)[sku]
        assert (alone.d.high, alone.z, alone.p, alone.burst_days) == (
            every[sku].d.high, every[sku].z, every[sku].p, every[sku].burst_days)
    assert any(v.over_dispersed for v in every.values())


@pytest.mark.parametrize("values", [
    ["shop", "amazon", "shop", "ebay"] * 700,                       # few distinct values
    [f"W-{i // 3:07d}" for i in range(3000)],                       # sorted order ids
    [f"SKU-{i * 7919 % 500:04d}" for i in range(3000)],             # 8-byte codes
    [f"item {i * 7919 % 40}" for i in range(3000)],                 # anything else
    ["orders.csv"] * 3000,                                          # one file
    ["EUR"] * 2500 + ["GBP"] * 500,                                 # one value at first only
    [f"{i // 3:05d}" for i in range(3000)],                         # sorted, 5 bytes
    [f"ORDER-{i // 3:010d}" for i in range(3000)],                  # sorted, 16 bytes
    [f"ORDER-0000{i // 3 % 7:06d}" for i in range(3000)],          # unsorted after byte 8
    [f"W-{i // 3:07d}" for i in range(2990)] + ["W-0000005"] * 10,  # unsorted at the end
])
def test_coded_columns_equal_a_sorted_factorization(values: list[str]) -> None:
    column = pd.Series(values, dtype="str")
    codes, names = pd.factorize(column, sort=True)
    found = coded(column)
    assert found.codes.tolist() == codes.tolist() and found.names == list(names)


def test_epoch_seconds_equal_the_timedelta_division() -> None:
    ticks = np.random.default_rng(2).integers(0, 2**52, 1000)
    for unit in ("s", "ms", "us", "ns"):
        times = pd.Series(pd.to_datetime(ticks % 2**40, unit="ms", utc=True)).dt.as_unit(unit)
        times[::7] = pd.NaT
        expected = np.asarray((times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1),
                              dtype=float)
        assert np.array_equal(epoch_seconds(times), expected, equal_nan=True)


def test_the_profile_flat_test_is_scipys_chisquare() -> None:
    rng = np.random.default_rng(5)
    for cells in (7, 24):
        for _ in range(50):
            counts = rng.poisson(rng.uniform(50, 500), cells).astype(float)
            share = rng.uniform(0.5, 1.5, cells)
            expected = counts.sum() * share / share.sum()
            assert _flat_test(counts, share)[1] == float(
                stats.chisquare(counts, expected).pvalue)
