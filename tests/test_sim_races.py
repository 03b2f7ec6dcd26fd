"""The three races, reproduced by the model, and each mitigation shown to work.

Each comparison runs the *same* buyers (same seed, common random numbers) under two
policies, so a difference comes from the policy, not from luck.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from racesim.scenario import Scenario, load_scenario
from racesim.sim.summary import RunSummary
from racesim.study.replications import RunResult, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def run(scenario: Scenario, replications: int = 12, **options: object) -> RunSummary:
    result: RunResult = run_scenario(scenario, seed=2026, replications=replications, jobs=2,
                                     **options)
    return result.summary()


@pytest.fixture(scope="module")
def race1() -> Scenario:
    return load_scenario(SCENARIOS / "race1_double_buy.toml")


def test_race1_without_a_buffer_the_last_unit_is_sold_twice(race1: Scenario) -> None:
    assert race1.buffer.units == 0
    summary = run(race1)
    assert summary.oversold_total > 0
    assert summary.oversell_rate_ci[0] > 0


def test_race1_a_buffer_lowers_the_oversell_rate(race1: Scenario) -> None:
    bare = run(race1)
    buffered = run(race1.with_overrides({"buffer.units": 2}))
    assert buffered.oversell_rate < bare.oversell_rate
    assert buffered.oversold_total < bare.oversold_total
    assert buffered.hidden_unit_hours_total > bare.hidden_unit_hours_total  # what the safety costs


def test_race1_duplicates_fool_a_naive_counter_but_not_the_ledger(race1: Scenario) -> None:
    ledger = run(race1)
    naive = run(race1, engine="naive_counter")
    assert ledger.duplicate_deliveries_total > 0
    assert ledger.extra_reservations_total == 0
    assert ledger.duplicates_absorbed_total == ledger.duplicate_deliveries_total
    assert naive.extra_reservations_total > 0  # duplicate copies reserved as if orders


def test_race2_returns_recorded_on_confirmation_leave_stock_invisible() -> None:
    scenario = load_scenario(SCENARIOS / "race2_returns.toml")
    assert scenario.warehouse.return_recording == "on_confirm"
    late = run(scenario)
    early = run(scenario.with_overrides({"warehouse.return_recording": "early"}))
    assert late.visibility_gap_s_total > 0
    assert early.visibility_gap_s_total < late.visibility_gap_s_total / 2
    assert early.lost_sales_total < late.lost_sales_total


@pytest.mark.slow  # a statistical comparison: about 6 s
def test_race3_a_stale_snapshot_overstates_stock_and_oversells_most() -> None:
    scenario = load_scenario(SCENARIOS / "race3_stale_snapshot.toml")
    assert scenario.sync.mode == "periodic_snapshot"
    stale = run(scenario, replications=16)
    assert stale.overstated_pushes_total > 0 and stale.overstated_excess_units_total > 0
    interval = scenario.sync.interval
    for mode in ("periodic_push_time", "periodic_delta", "compare_and_set"):
        fixed = run(scenario.with_overrides({"sync": {"mode": mode, "interval": interval}}),
                    replications=16)
        assert fixed.overstated_pushes_total == 0, mode
        assert fixed.oversold_total < stale.oversold_total, mode
