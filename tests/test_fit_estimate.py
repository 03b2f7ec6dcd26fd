"""The estimators behind ``racesim fit``, checked against shops whose truth is known.

Each synthetic shop is drawn with numpy from stated parameters (seeded): several channels
with their own hour profile, a weekday profile, SKUs of very different velocity, some
with over-dispersed demand (a Gamma day multiplier of variance ``d``), some with a
stock-out (their orders removed for a stretch), lognormal webhook delays and duplicate
copies. The fit must find the parameters again within the acceptance figures of the
issue: true rates inside the 95 % intervals for ≥ 85 % of SKUs, shares within 0.03,
lognormal p50/p99 within 15 %, p2/p3 within 0.03, dispersion found where present and in
at most 10 % of SKUs where absent. The quick tests use small shops; the full-size round
trip is marked ``slow``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from racesim.fit.censoring import from_sales_pattern
from racesim.fit.checks import ExportError
from racesim.fit.classes import velocity_classes
from racesim.fit.dispersion import benjamini_hochberg, fit_dispersion
from racesim.fit.estimate import garwood_interval
from racesim.fit.exposure import DAY_S, DemandClock, Window
from racesim.fit.model import Fit, fit_exports
from racesim.fit.orders import LINE_COLUMNS, read_orders
from racesim.fit.profile import channel_profiles
from racesim.fit.receipts import read_receipts
from racesim.fit.returns import read_returns
from racesim.fit.stock import read_stock

EXPORTS = Path(__file__).parent / "data" / "exports"
START = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday
WEEKDAY = np.array([0.9, 0.9, 1.0, 1.0, 1.1, 1.4, 0.7])
EVENING = np.array([0.2] * 7 + [0.8] * 5 + [1.2] * 6 + [1.9] * 6)


@dataclass
class Shop:
    """A synthetic shop's known parameters (what the fit must find again)."""

    days: int = 120
    fast: int = 60
    slow: int = 20
    dispersed: int = 20
    stocked_out: int = 8
    outages_from: int | None = None  # first SKU with a stock-out (default: after dispersed)
    d_range: tuple[float, float] = (0.3, 1.0)
    channels: dict[str, float] = field(default_factory=lambda: {
        "shop": 0.5, "amazon": 0.3, "ebay": 0.2})
    latency: dict[str, tuple[float, float]] = field(default_factory=lambda: {
        "shop": (4.0, 0.6), "amazon": (20.0, 0.9), "ebay": (60.0, 0.5)})
    p2: float = 0.08
    p3: float = 0.03
    seed: int = 7
    rates: dict[str, float] = field(default_factory=dict)
    dispersion: dict[str, float] = field(default_factory=dict)
    outages: dict[str, tuple[int, int]] = field(default_factory=dict)


def _hour_profile(channel: str) -> np.ndarray:
    profile = EVENING if channel == "shop" else np.roll(EVENING, -4 * len(channel) % 24)
    return profile / profile.sum()


def _sku_days(shop: Shop, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Each SKU's orders per day, drawn from its rate, weekday and day multiplier."""
    weekday = WEEKDAY / WEEKDAY.mean()
    day_weight = weekday[np.arange(shop.days) % 7]
    out = []
    for i in range(shop.fast + shop.slow):
        sku = f"SKU-{i:03d}"
        rate = rng.uniform(1.5, 12.0) if i < shop.fast else rng.uniform(0.05, 0.6)
        d = rng.uniform(*shop.d_range) if i < shop.dispersed else 0.0
        shop.rates[sku], shop.dispersion[sku] = rate, d
        multiplier = rng.gamma(1 / d, d, shop.days) if d else np.ones(shop.days)
        counts = rng.poisson(rate * day_weight * multiplier)
        first_out = shop.dispersed if shop.outages_from is None else shop.outages_from
        if first_out <= i < first_out + shop.stocked_out:
            first = int(rng.integers(10, shop.days - 30))
            shop.outages[sku] = (first, first + 15)
            counts[first:first + 15] = 0
        out.append((sku, counts))
    return out


def make_lines(shop: Shop) -> pd.DataFrame:
    """The canonical order-lines table of the shop's orders (one line per order)."""
    rng = np.random.default_rng(shop.seed)
    names = list(shop.channels)
    shares = np.array([shop.channels[c] for c in names])
    rows: list[pd.DataFrame] = []
    for sku, counts in _sku_days(shop, rng):
        day = np.repeat(np.arange(shop.days), counts)
        channel = rng.choice(len(names), size=len(day), p=shares)
        hour = np.empty(len(day), dtype=np.int64)
        for k, name in enumerate(names):
            mine = channel == k
            hour[mine] = rng.choice(24, size=int(mine.sum()), p=_hour_profile(name))
        seconds = day * DAY_S + hour * 3600.0 + rng.uniform(0, 3600, len(day))
        rows.append(pd.DataFrame({"sku": sku, "channel": np.array(names)[channel],
                                  "seconds": seconds,
                                  "quantity": rng.choice([1, 2, 3], len(day),
                                                         p=[0.7, 0.2, 0.1])}))
    frame = pd.concat(rows, ignore_index=True).sort_values("seconds", kind="stable")
    n = len(frame)
    placed = START + pd.to_timedelta(frame["seconds"].to_numpy(), unit="s")
    cancelled = rng.random(n) < 0.05
    return pd.DataFrame({
        "order_id": [f"O{i:07d}" for i in range(n)], "line": 1,
        "sku": frame["sku"].to_numpy(), "quantity": frame["quantity"].to_numpy(),
        "channel": frame["channel"].to_numpy(), "placed_at": placed,
        "time_resolution": "second",
        "status": np.where(cancelled, "cancelled", "placed"),
        "cancelled_at": pd.Series(placed).where(cancelled) + pd.Timedelta(hours=1),
        "returned_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"),
        "returned_quantity": 0, "price": 10.0 + (frame["sku"].str[-1].astype(int)).to_numpy(),
        "currency": "EUR", "source_file": "synthetic.csv",
        "source_line": np.arange(2, n + 2)})[list(LINE_COLUMNS)]


def make_receipts(shop: Shop, lines: pd.DataFrame) -> pd.DataFrame:
    """One receipt per copy: lognormal first-copy delays, 2 or 3 copies for some."""
    rng = np.random.default_rng(shop.seed + 1)
    median = lines["channel"].map({c: m for c, (m, _) in shop.latency.items()}).to_numpy()
    sigma = lines["channel"].map({c: s for c, (_, s) in shop.latency.items()}).to_numpy()
    delay = median * np.exp(sigma * rng.standard_normal(len(lines)))
    copies = rng.choice([1, 2, 3], len(lines), p=[1 - shop.p2 - shop.p3, shop.p2, shop.p3])
    index = np.repeat(np.arange(len(lines)), copies)
    extra = np.concatenate([np.arange(c) for c in copies]) * rng.uniform(1, 30, len(index))
    received = lines["placed_at"].iloc[index].reset_index(drop=True) + pd.to_timedelta(
        delay[index] + extra, unit="s")
    return pd.DataFrame({"order_id": lines["order_id"].to_numpy()[index],
                         "received_at": received,
                         "channel": "", "source_line": np.arange(2, len(index) + 2)})


def fitted(shop: Shop) -> tuple[Fit, pd.DataFrame]:
    lines = make_lines(shop)
    window = (START, START + pd.Timedelta(days=shop.days))
    return fit_exports(lines, make_receipts(shop, lines), window=window,
                       receipts_file="receipts.csv"), lines


def coverage(fit: Fit, shop: Shop, skus: list[str]) -> float:
    return float(np.mean([fit.skus[s].demand.rate.covers(shop.rates[s]) for s in skus]))


def _check_round_trip(fit: Fit, shop: Shop, *, tolerance: float = 0.15) -> dict[str, float]:
    """The issue's acceptance figures; returns what was measured."""
    skus = list(shop.rates)
    dispersed = [s for s in skus if shop.dispersion[s] > 0]
    poisson = [s for s in skus if shop.dispersion[s] == 0 and s not in shop.outages]
    measured = {"coverage": coverage(fit, shop, skus),
                "coverage_dispersed": coverage(fit, shop, dispersed),
                "detected": float(np.mean([fit.skus[s].dispersion.over_dispersed
                                           for s in dispersed])),
                "false_positive": float(np.mean([fit.skus[s].dispersion.over_dispersed
                                                 for s in poisson]))}
    assert measured["coverage"] >= 0.85, measured
    assert measured["coverage_dispersed"] >= 0.85, measured
    assert measured["detected"] >= 0.9, measured
    assert measured["false_positive"] <= 0.10, measured
    for name, share in shop.channels.items():
        channel = fit.channels[name]
        assert abs(channel.rates.share.value - share) <= 0.03
        median, sigma = shop.latency[name]
        latency = channel.latency
        assert latency is not None and latency.n >= 1000
        assert latency.p50.value == pytest.approx(median, rel=tolerance)
        assert latency.p99.value == pytest.approx(median * np.exp(2.3263 * sigma), rel=tolerance)
        assert abs(latency.p2.value - shop.p2) <= 0.03
        assert abs(latency.p3.value - shop.p3) <= 0.03
        assert abs(channel.rates.cancel_rate.value - 0.05) <= 0.03
    for sku in shop.outages:
        assert fit.skus[sku].censoring.excluded_days == pytest.approx(15, abs=2.5)
    return measured


def test_garwood_interval_is_the_exact_poisson_interval() -> None:
    assert garwood_interval(0, 1.0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert garwood_interval(10, 2.0) == pytest.approx((4.7954 / 2, 18.3904 / 2), abs=1e-4)
    wide = garwood_interval(100, 10.0, phi=4.0)  # over-dispersion widens it
    assert wide[0] < garwood_interval(100, 10.0)[0] and wide[1] > 13.0
    with pytest.raises(ValueError, match="exposure > 0"):
        garwood_interval(3, 0.0)


def test_benjamini_hochberg_steps_up_from_the_largest_rank_that_passes() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, 0.005])
    # sorted: .005 (≤ .01), .01 (≤ .02), .03 (≤ .03), .04 (> .04? no: .04 ≤ .04), .2
    assert benjamini_hochberg(p).tolist() == [True, True, True, False, True]
    assert not benjamini_hochberg(np.array([0.2, 0.5, 0.9])).any()


def test_the_score_test_holds_its_level_for_thin_poisson_skus() -> None:
    """At one order a day the score is right-skewed: its gamma-matched p-values must
    still flag about 5 % of Poisson SKUs at 5 %, and be small for over-dispersed ones."""
    rng = np.random.default_rng(4)
    weights = np.ones(120)
    counts = {f"P{i}": rng.poisson(1.0 * weights) for i in range(300)}
    bursty = {f"N{i}": rng.poisson(1.5 * rng.gamma(1.0, 1.0, 120)) for i in range(40)}
    verdicts = fit_dispersion({**counts, **bursty}, dict.fromkeys([*counts, *bursty], weights),
                              {})
    null_p = np.array([verdicts[s].p for s in counts if verdicts[s].unit == s])
    assert len(null_p) >= 100
    assert 0.02 <= float(np.mean(null_p < 0.05)) <= 0.08
    assert np.mean([verdicts[s].over_dispersed for s in bursty]) >= 0.9
    assert np.mean([verdicts[s].over_dispersed for s in counts]) <= 0.05


def test_velocity_classes_cut_at_80_and_95_percent_of_orders() -> None:
    classes = velocity_classes({"a": 70, "b": 15, "c": 8, "d": 4, "e": 3})
    assert classes == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"}  # d crosses 95 %


def test_a_profile_not_significant_against_flat_falls_back_to_flat() -> None:
    rng = np.random.default_rng(8)
    window = Window(START.timestamp(), START.timestamp() + 28 * DAY_S, "given")
    uniform = window.start + rng.uniform(0, 28 * DAY_S, 2000)
    evening = window.start + rng.integers(0, 28, 2000) * DAY_S + rng.choice(
        24, 2000, p=EVENING / EVENING.sum()) * 3600.0
    few = window.start + rng.uniform(0, 28 * DAY_S, 30)  # under 5 expected per hour
    orders = pd.DataFrame({
        "channel": ["flat"] * 2000 + ["evening"] * 2000 + ["thin"] * 30,
        "placed_s": np.concatenate([uniform, evening, few]), "timed": True})
    profiles, said = channel_profiles(orders, window)
    assert profiles["flat"].hour_source == "flat" and set(profiles["flat"].hour) == {1.0}
    assert profiles["flat"].hour_p >= 0.05
    assert profiles["evening"].hour_source == "fitted" and profiles["evening"].hour_p < 1e-6
    assert profiles["thin"].hour_source == "flat" and np.isnan(profiles["thin"].hour_p)
    assert sum(profiles["evening"].hour_counts) == 2000
    assert len(profiles["thin"].weekday_counts) == 7
    assert said == []


def test_a_long_gap_is_a_stock_out_and_a_quiet_night_is_not() -> None:
    hour = np.array([0.1] * 8 + [1.6] * 16)  # nights nearly silent
    clock = DemandClock(hour, np.ones(7))
    window = Window(START.timestamp(), START.timestamp() + 40 * DAY_S, "given")
    rng = np.random.default_rng(3)
    steady = np.sort(window.start + rng.uniform(0, 40 * DAY_S, 400))
    keep = rng.random(400) < hour[((steady - window.start) // 3600 % 24).astype(int)] / 1.6
    quiet = from_sales_pattern(steady[keep], window, clock, 0.0)
    assert quiet.intervals == ()
    times = steady[keep]
    gap = (times > window.start + 10 * DAY_S) & (times < window.start + 20 * DAY_S)
    out = from_sales_pattern(times[~gap], window, clock, 0.0)
    assert len(out.intervals) == 1 and out.excluded_days == pytest.approx(10, abs=1.0)


def test_small_shop_round_trip_finds_what_was_simulated() -> None:
    shop = Shop(days=60, fast=25, slow=10, dispersed=10, stocked_out=4)
    fit, _ = fitted(shop)
    _check_round_trip(fit, shop, tolerance=0.2)
    first = fit.skus["SKU-000"]
    assert len(first.daily) == 60 and first.daily.sum() == first.demand.rate.n
    assert first.expected.sum() == pytest.approx(first.daily.sum(), rel=1e-6)
    assert fit.skus["SKU-000"].demand.units_per_order.values == (1, 2, 3)
    assert fit.skus["SKU-000"].demand.price is not None
    assert fit.skus["SKU-000"].demand.price.median.value == 10.0
    shop_profile = fit.channels["shop"].profile
    assert shop_profile.hour_source == "fitted" and len(shop_profile.hour) == 24
    assert np.mean(shop_profile.hour) == pytest.approx(1.0, abs=1e-3)  # the scenario's scale
    assert np.corrcoef(shop_profile.hour, EVENING)[0, 1] > 0.9
    assert shop_profile.weekday_source == "fitted"
    assert np.corrcoef(fit.profile.weekday, WEEKDAY)[0, 1] > 0.9
    delay = fit.channels["shop"].rates.cancel_delay
    assert delay is not None and delay.p50 == pytest.approx(3600.0)
    assert any("return rate" in said for said in fit.assumptions)


def test_the_stock_list_gives_the_stock_out_and_stock_is_not_estimated() -> None:
    shop = Shop(days=60, fast=4, slow=0, dispersed=0, stocked_out=4)
    lines = make_lines(shop)
    sku, (first, last) = next(iter(shop.outages.items()))
    mine = lines[lines["sku"] == sku]
    sold = int(mine.loc[mine["placed_at"] < START + pd.Timedelta(days=first), "quantity"].sum())
    stock = pd.DataFrame({"sku": [sku], "on_hand": [sold], "restock_every_s": [last * DAY_S],
                          "restock_qty": [10_000], "source_line": [2]})
    fit = fit_exports(lines, stock=stock, window=(START, START + pd.Timedelta(days=60)))
    censoring = fit.skus[sku].censoring
    assert censoring.method == "stock list"
    assert censoring.excluded_days == pytest.approx(15, abs=1.0)
    assert not fit.skus[sku].stock.estimated and fit.skus[sku].stock.on_hand == sold
    assert fit.skus[sku].demand.rate.covers(shop.rates[sku])
    other = next(s for s in shop.outages if s != sku)
    assert fit.skus[other].stock.estimated and fit.skus[other].censoring.method == "sales pattern"


def test_a_burst_day_is_left_out_of_the_dispersion_test_and_recorded() -> None:
    shop = Shop(days=60, fast=30, slow=0, dispersed=0, stocked_out=0)
    lines = make_lines(shop)
    burst = lines[lines["sku"] == "SKU-000"].iloc[:1]
    day = START + pd.Timedelta(days=20, hours=12)
    extra = pd.concat([burst] * 200, ignore_index=True).assign(
        placed_at=day, order_id=[f"B{i}" for i in range(200)])
    fit = fit_exports(pd.concat([lines, extra], ignore_index=True),
                      window=(START, START + pd.Timedelta(days=60)))
    verdict = fit.skus["SKU-000"].dispersion
    assert verdict.burst_days == (20,)
    assert not verdict.over_dispersed
    assert fit.to_frame().set_index("sku").loc["SKU-000", "burst_days"] == 1


def test_a_dates_only_channel_takes_the_pooled_hour_profile_and_says_so() -> None:
    shop = Shop(days=40, fast=12, slow=0, dispersed=0, stocked_out=0)
    lines = make_lines(shop)
    ebay = lines["channel"] == "ebay"
    lines.loc[ebay, "placed_at"] = lines.loc[ebay, "placed_at"].dt.floor("D")
    lines.loc[ebay, "time_resolution"] = "day"
    fit = fit_exports(lines, make_receipts(shop, lines))
    assert fit.channels["ebay"].dates_only and fit.channels["ebay"].latency is None
    assert fit.skipped["receipt of a dates-only order (no time to measure from)"] > 0
    assert any("ebay" in said and "dates only" in said for said in fit.assumptions)
    assert fit.channels["ebay"].profile.hour_source == "pooled from other channels"
    assert fit.channels["ebay"].profile.hour == fit.profile.hour
    assert any("ebay" in said and "dates without times" in said for said in fit.assumptions)
    assert fit.window.source.startswith("whole days")
    assert fit.channels["ebay"].rates.share.value == pytest.approx(0.2, abs=0.03)


def test_a_receipt_before_its_order_is_an_error_naming_line_and_column() -> None:
    shop = Shop(days=20, fast=4, slow=0, dispersed=0, stocked_out=0)
    lines = make_lines(shop)
    receipts = make_receipts(shop, lines)
    receipts.loc[5, "received_at"] = lines["placed_at"].iloc[0] - pd.Timedelta(minutes=1)
    receipts.loc[5, "order_id"] = lines["order_id"].iloc[0]
    with pytest.raises(ExportError, match=r"receipts.csv:7: column received_at: received "
                                          r"before the order was placed"):
        fit_exports(lines, receipts, receipts_file="receipts.csv")
    fit = fit_exports(lines, receipts, malformed="skip", receipts_file="receipts.csv")
    assert fit.skipped == {"receipt with a negative or absurd delay": 1}


def test_an_order_table_without_the_readers_columns_is_a_one_line_error() -> None:
    lines = make_lines(Shop(days=5, fast=2, slow=0, dispersed=0, stocked_out=0))
    with pytest.raises(ExportError, match=r"lacks column\(s\) placed_at, time_resolution"):
        fit_exports(lines.drop(columns=["placed_at", "time_resolution"]))
    with pytest.raises(ValueError, match="window: need two zone-aware times"):
        fit_exports(lines, window=(pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-09")))
    with pytest.raises(ExportError, match="none inside the window"):
        fit_exports(lines, window=(START - pd.Timedelta(days=9), START - pd.Timedelta(days=8)))


def test_the_same_files_give_the_same_fit_whatever_their_row_order() -> None:
    shop = Shop(days=30, fast=10, slow=5, dispersed=4, stocked_out=0)
    lines = make_lines(shop)
    first = fit_exports(lines)
    second = fit_exports(lines.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())


def test_the_sample_exports_fit_with_sane_values() -> None:
    read = read_orders([EXPORTS / "shopify_orders.csv", EXPORTS / "amazon_all_orders.txt",
                        EXPORTS / "ebay_orders.csv", EXPORTS / "generic_orders.csv",
                        "wholesale=" + str(EXPORTS / "generic_daily.csv")])
    returns, _ = read_returns(EXPORTS / "returns.csv")
    fit = fit_exports(read, returns=returns)
    assert sum(c.rates.share.value for c in fit.channels.values()) == pytest.approx(1.0)
    for sku in fit.skus.values():
        rate = sku.demand.rate
        assert 0 < rate.low <= rate.value <= rate.high and rate.n >= 1
        assert sum(sku.demand.units_per_order.weights) == pytest.approx(1.0, abs=1e-5)
        assert sku.stock.estimated and sku.stock.on_hand >= 1
    assert fit.skus["MUG-RED"].demand.price is not None
    assert fit.channels["wholesale"].dates_only
    assert not any("return rate" in said for said in fit.assumptions)
    assert any(c.rates.return_rate.value > 0 for c in fit.channels.values())
    assert any("no receipt log" in said for said in fit.assumptions)


def test_a_receipt_log_and_stock_list_read_from_files_join_the_fit(tmp_path: Path) -> None:
    shop = Shop(days=20, fast=5, slow=0, dispersed=0, stocked_out=0)
    lines = make_lines(shop)
    log = tmp_path / "receipts.csv"
    receipts = make_receipts(shop, lines)
    receipts[["order_id", "received_at"]].to_csv(log, index=False)
    (tmp_path / "stock.csv").write_text("sku,on_hand\nSKU-000,5000\n", encoding="utf-8")
    stock, _ = read_stock(tmp_path / "stock.csv")
    fit = fit_exports(lines, read_receipts(log), stock=stock)
    assert fit.skus["SKU-000"].stock.on_hand == 5000
    assert fit.skus["SKU-000"].censoring.intervals == ()
    latency = fit.channels["shop"].latency
    assert latency is not None and latency.p50.value == pytest.approx(4.0, rel=0.2)


@pytest.mark.slow
def test_full_round_trip_meets_the_issue_acceptance_figures() -> None:
    shop = Shop()  # 60 SKUs ≥ 100 orders, 20 slow; 20 over-dispersed, 8 stocked out
    fit, _ = fitted(shop)
    _check_round_trip(fit, shop)
    dispersed = [s for s in shop.rates if shop.dispersion[s] > 0]
    assert np.mean([fit.skus[s].dispersion.d.covers(shop.dispersion[s])
                    for s in dispersed]) >= 0.85  # d's likelihood-ratio interval
    bursty_outages = Shop(seed=2, outages_from=0, stocked_out=10)  # stock-outs of bursty SKUs
    fit, _ = fitted(bursty_outages)
    _check_round_trip(fit, bursty_outages)


@pytest.mark.slow
def test_dispersion_false_positives_stay_under_ten_percent_over_many_skus() -> None:
    for seed in (11, 12):
        shop = Shop(days=120, fast=300, slow=100, dispersed=0, stocked_out=0, seed=seed)
        fit, _ = fitted(shop)
        flagged = np.mean([s.dispersion.over_dispersed for s in fit.skus.values()])
        assert flagged <= 0.10
        assert coverage(fit, shop, list(shop.rates)) >= 0.85
