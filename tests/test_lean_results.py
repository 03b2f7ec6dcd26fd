"""A replication without tables builds no DataFrame, and gives the same tables on request.

Sweeps and the tuners run thousands of small replications with ``tables=False``: their
per-channel and per-SKU counts stay numpy arrays (:class:`~racesim.sim.breakdowns.
Breakdown`), a run pools records, and the tables are built only when read — with the
columns, values and dtypes a replication with ``tables=True`` gives. The model is freed
by reference counting as soon as it has run, without the cycle collector.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from racesim.scenario import Scenario, load_scenario
from racesim.sim.model import Simulation
from racesim.sim.results import sync_latencies
from racesim.sim.state import Reflections
from racesim.sim.summary import SUMMED
from racesim.study.replications import run_replication, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

COUNTS = ["orders", "oversold", "lost_sales", "delivered_orders", "deliveries",
          "duplicates_absorbed", "extra_reservations", "short_shipments",
          "duplicate_deliveries", "lost_sales_no_stock", "lost_sales_buffer",
          "lost_sales_stale_listing"]
RATES = ["oversell_rate", "oversell_rate_low", "oversell_rate_high", "visibility_gap_s"]
PER_CHANNEL = {**dict.fromkeys(COUNTS, "int64"), **dict.fromkeys(RATES, "float64"),
               "lost_units_buffer": "int64", "lost_margin": "float64",
               "oversell_cost": "float64"}
PER_SKU = {**dict.fromkeys(COUNTS, "int64"), **dict.fromkeys(RATES, "float64"),
           "hidden_unit_hours": "float64", "overstated_pushes": "int64",
           "overstated_excess_units": "int64", "lost_units_buffer": "int64",
           "lost_margin": "float64", "oversell_cost": "float64", "holding_cost": "float64"}
"""The columns (in order) and dtypes of race1_double_buy's tables: it has ``[costs]``."""


def _counted_shelves() -> Scenario:
    """race1_double_buy with a warm-up, shrinkage and a cycle count every 6 hours."""
    return load_scenario(SCENARIOS / "race1_double_buy.toml").with_overrides(
        {"warehouse.cycle_count_every": "6h", "warehouse.shrinkage_per_day": 3,
         "warmup": "12h"})


@pytest.fixture
def frames_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every DataFrame constructed while the test runs."""
    built = [0]
    init = pd.DataFrame.__init__

    def counted(self: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
        built[0] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "__init__", counted)
    return built


def test_a_replication_without_tables_builds_no_dataframe(frames_built: list[int]) -> None:
    scenario = _counted_shelves()
    lean = run_replication(scenario, np.random.SeedSequence(3), tables=False)
    assert frames_built[0] == 0
    assert lean.summary.orders == int(lean.channel_counts["orders"].sum()) > 0

    lean.per_sku  # noqa: B018  # read: built once, then kept
    assert frames_built[0] == 1
    assert lean.per_sku is lean.per_sku and frames_built[0] == 1

    run_replication(scenario, np.random.SeedSequence(3), tables=True)
    assert frames_built[0] > 1  # the counter sees the tables a full replication builds


def test_a_run_and_the_tuner_pool_without_a_table_per_replication(
        frames_built: list[int]) -> None:
    run = run_scenario(load_scenario(SCENARIOS / "race1_double_buy.toml"), seed=4,
                       replications=3)
    summary = run.summary()
    assert frames_built[0] == 0
    assert summary.costs is not None and summary.replications == 3

    per_replication = run.per_replication  # the table, on request, agrees with the pool
    for name in SUMMED:
        assert getattr(summary, f"{name}_total") == per_replication[name].sum()


def test_tables_on_request_have_the_columns_and_dtypes_of_a_full_replication() -> None:
    scenario = load_scenario(SCENARIOS / "race1_double_buy.toml")
    lean = run_replication(scenario, np.random.SeedSequence(11), tables=False)
    full = run_replication(scenario, np.random.SeedSequence(11), tables=True)
    for name, dtypes in (("per_channel", PER_CHANNEL), ("per_sku", PER_SKU)):
        table = getattr(lean, name)
        assert {column: str(dtype) for column, dtype in table.dtypes.items()} == dtypes
        pd.testing.assert_frame_equal(table, getattr(full, name), check_exact=True)
    assert list(lean.per_channel.index) == ["amazon", "ebay"]
    assert lean.per_channel.index.name == "channel" and lean.per_sku.index.name == "sku"
    assert list(lean.per_sku.index) == ["MUG-RED", "MUG-BLUE"]
    for name in ("orders", "deliveries", "pushes", "listings", "events"):
        assert getattr(lean, name).empty and not getattr(full, name).empty, name


def test_the_breakdown_rows_are_found_by_label() -> None:
    result = run_replication(load_scenario(SCENARIOS / "race1_double_buy.toml"),
                             np.random.SeedSequence(3), tables=False)
    skus = result.sku_counts
    rows = skus.rows(["MUG-BLUE", "MUG-RED"])
    assert rows.tolist() == [1, 0]
    assert skus["orders"][rows].tolist() == result.per_sku.loc[["MUG-BLUE", "MUG-RED"],
                                                               "orders"].tolist()
    with pytest.raises(KeyError, match="no sku 'MUG-GREEN'"):
        skus.rows(["MUG-GREEN"])


def test_the_drift_figures_are_those_of_the_cycle_count_table() -> None:
    result = run_replication(_counted_shelves(), np.random.SeedSequence(3), tables=False)
    drift = result.drift
    assert len(drift) == len(result.drift_rows) > 0
    assert (drift["at"] >= 12 * 3600).all()  # the warm-up's counts are left out
    assert set(drift["sku"]) == {"MUG-RED", "MUG-BLUE"}
    per_count = drift.assign(gap=(drift["recorded"] - drift["counted"]).abs()).groupby("at")
    ratio = (per_count["gap"].sum() / per_count["counted"].sum().clip(lower=1)).to_numpy()
    assert result.summary.ledger_drift_max == float(ratio.max()) > 0
    assert result.summary.ledger_drift_mean == float(ratio.mean())


def _latencies_by_definition(changes: list[tuple[float, int]],
                             reflections: list[Reflections]) -> list[float]:
    """For each change: the latest, over marketplaces, of the first visible time of a
    value computed at or after it (for its SKU or all SKUs), less its time."""
    found = []
    for t0, sku in changes:
        worst = 0.0
        for columns in reflections:
            seen = [visible for which, computed, visible in
                    zip(columns.sku, columns.computed, columns.visible, strict=True)
                    if which in (sku, -1) and computed >= t0]
            worst = max(worst, min(seen, default=np.inf) - t0)
        if np.isfinite(worst):
            found.append(worst)
    return found


def test_sync_latencies_follow_their_definition() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        changes = [(float(t), int(k)) for t, k in zip(np.sort(rng.uniform(0, 100, 30)),
                                                     rng.integers(0, 4, 30), strict=True)]
        reflections = []
        for _ in range(2):
            columns = Reflections()
            for _ in range(int(rng.integers(0, 40))):
                computed = float(rng.uniform(0, 110))
                sku = int(rng.integers(-1, 4))  # -1: a feed of every SKU
                columns.add(sku, computed, computed + float(rng.choice([0.0, 5.0, 30.0])))
            reflections.append(columns)
        assert sync_latencies(changes, reflections).tolist() == _latencies_by_definition(
            changes, reflections)


def test_a_finished_simulation_is_freed_without_the_cycle_collector() -> None:
    scenario = _counted_shelves()  # restock processes and cycle counts are left pending
    was_on = gc.isenabled()
    gc.disable()
    try:
        simulation = Simulation(scenario, np.random.SeedSequence(5), tables=False)
        # its clock and its sync too: a cycle between them (a callback bound to the sync,
        # kept by the clock) would hold the listings and every per-SKU record until the
        # collector ran
        parts = [weakref.ref(part) for part in (simulation, simulation.env, simulation.sync)]
        result = simulation.run()
        del simulation
        assert [part() for part in parts] == [None] * len(parts)
    finally:
        if was_on:
            gc.enable()
    assert result.summary.orders > 0


def test_the_latency_percentiles_are_numpys_on_every_seed() -> None:
    scenario = load_scenario(SCENARIOS / "race1_double_buy.toml")
    for seed in range(6):
        result = run_replication(scenario, np.random.SeedSequence(seed), tables=False)
        assert result.sync_latency.size > 0
        p50, p99 = np.percentile(result.sync_latency, [50, 99]).tolist()
        assert (result.summary.sync_latency_p50_s, result.summary.sync_latency_p99_s) == (p50, p99)
