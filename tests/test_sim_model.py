"""The marketplace model: a closed form it must match, reproducibility, and invariants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from racesim.policy.analytic import double_buy_probability
from racesim.scenario import Scenario, load_scenario, parse_scenario
from racesim.study.replications import run_replication, run_scenario
from racesim.util.stats import wilson_interval

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

LAST_UNIT = """
name = "last-unit"
duration = "6h"
[[catalog]]
sku = "SKU-1"
initial_stock = 1
orders_per_day = 480
[[channels]]
name = "amazon"
share = 0.5
webhook.latency = { dist = "fixed", value = "30s" }
listing_latency = { dist = "fixed", value = "10s" }
[[channels]]
name = "ebay"
share = 0.5
webhook.latency = { dist = "fixed", value = "20s" }
listing_latency = { dist = "fixed", value = "15s" }
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""


@pytest.mark.slow
def test_the_double_buy_rate_matches_its_closed_form() -> None:
    """Race 1 with one unit, Poisson buyers and fixed latencies (see racesim.policy.analytic)."""
    scenario = parse_scenario(LAST_UNIT, source="last-unit")
    replications = 2000
    result = run_scenario(scenario, seed=11, replications=replications, jobs=2)
    oversold = result.per_replication["oversold"]
    assert oversold.max() <= 1  # one unit: at most one buyer too many
    rate = 480 / 86_400 / 2  # buyers per second on each marketplace
    expected = double_buy_probability([rate, rate], [30.0, 20.0], [10.0, 15.0])
    low, high = wilson_interval(int(oversold.sum()), replications, confidence=0.99)
    assert low <= expected <= high, (expected, low, high)


def test_the_closed_form_itself() -> None:
    assert double_buy_probability([1.0], [5.0], [5.0]) == 0.0  # one marketplace cannot race
    p = double_buy_probability([0.01, 0.01], [30.0, 30.0], [10.0, 10.0])
    assert p == pytest.approx(1 - np.exp(-0.01 * 40))
    with pytest.raises(ValueError, match="one entry per marketplace"):
        double_buy_probability([0.1, 0.1], [1.0], [1.0, 1.0])


@pytest.fixture(scope="module")
def race1() -> Scenario:
    return load_scenario(SCENARIOS / "race1_double_buy.toml")


def _first_decisions(orders: pd.DataFrame) -> pd.DataFrame:
    accepted = orders[orders["accepted"]]
    return accepted[["order_id", "reserved_at", "oversold_at", "fulfilled_at"]].reset_index(
        drop=True)


def test_duplicate_deliveries_never_change_the_ledgers_outcome(race1: Scenario) -> None:
    quiet = {f"channels[{i}].webhook.failure_rate": 0.0 for i in range(len(race1.channels))}
    with_duplicates = race1.with_overrides(quiet)
    without = with_duplicates.with_overrides(
        {f"channels[{i}].webhook.duplicates": {"p2": 0.0, "p3": 0.0}
         for i in range(len(race1.channels))})
    seed = np.random.SeedSequence(5)
    noisy = run_replication(with_duplicates, seed)
    clean = run_replication(without, seed)
    assert noisy.summary.duplicate_deliveries > 0
    assert clean.summary.duplicate_deliveries == 0
    pd.testing.assert_frame_equal(_first_decisions(noisy.orders), _first_decisions(clean.orders))
    ledger_events = noisy.events[noisy.events["kind"] != "REJECT"]
    assert len(ledger_events) == len(clean.events[clean.events["kind"] != "REJECT"])


def test_the_same_seed_gives_identical_tables(race1: Scenario) -> None:
    first = run_replication(race1, np.random.SeedSequence(9))
    second = run_replication(race1, np.random.SeedSequence(9))
    for name, table in first.tables().items():
        pd.testing.assert_frame_equal(table, second.tables()[name], obj=name)
    assert first.summary == second.summary


def test_results_do_not_depend_on_the_number_of_workers(race1: Scenario) -> None:
    one = run_scenario(race1, seed=4, replications=3, jobs=1)
    two = run_scenario(race1, seed=4, replications=3, jobs=2)
    assert one.to_json() == two.to_json()
    assert run_scenario(race1, seed=5, replications=3).to_json() != one.to_json()


def test_policies_face_the_same_buyers(race1: Scenario) -> None:
    """Common random numbers: changing the buffer changes outcomes, never the demand."""
    seed = np.random.SeedSequence(3)
    bare = run_replication(race1, seed).orders
    buffered = run_replication(race1.with_overrides({"buffer.units": 3}), seed).orders
    columns = ["order_id", "channel", "sku", "units", "placed_at", "copies"]
    pd.testing.assert_frame_equal(bare[columns], buffered[columns])
    assert (buffered["accepted"].sum()) < bare["accepted"].sum()


def test_the_ledger_stays_sound_and_explains_every_order(race1: Scenario) -> None:
    result = run_replication(race1, np.random.SeedSequence(1))
    events, orders = result.events, result.orders
    reserved = orders[orders["reserved_at"].notna()]
    assert set(events.loc[events["kind"] == "RESERVE", "order_id"]) == set(reserved["order_id"])
    oversold = orders[orders["oversold_at"].notna()]
    assert set(events.loc[events["kind"] == "REJECT", "order_id"]) == set(oversold["order_id"])
    assert not (set(reserved["order_id"]) & set(oversold["order_id"]))
    assert (orders.loc[~orders["accepted"], "deliveries"] == 0).all()


def test_the_model_runs_the_same_on_sqlite_as_in_memory(race1: Scenario, tmp_path: Path) -> None:
    seed = np.random.SeedSequence(8)
    memory = run_replication(race1, seed)
    on_disk = run_replication(race1, seed, store=f"sqlite:///{tmp_path / 'race1.db'}")
    assert on_disk.summary == memory.summary
    pd.testing.assert_frame_equal(on_disk.orders, memory.orders)
    pd.testing.assert_frame_equal(on_disk.events, memory.events)
    assert (tmp_path / "race1-r0.db").exists()


def test_the_warmup_is_left_out_of_the_metrics(race1: Scenario) -> None:
    seed = np.random.SeedSequence(2)
    everything = run_replication(race1, seed)
    later = run_replication(race1.with_overrides({"warmup": "1d"}), seed)
    orders = everything.orders
    counted = orders[orders["accepted"] & (orders["placed_at"] >= 86_400)]
    assert later.summary.orders == len(counted) < everything.summary.orders
    assert later.summary.hidden_unit_hours <= everything.summary.hidden_unit_hours


@pytest.mark.parametrize("path", [  # high_volume takes about 12 s
    pytest.param(path, marks=pytest.mark.slow) if path.stem == "high_volume" else path
    for path in sorted(SCENARIOS.glob("*.toml"))], ids=lambda p: p.stem)
def test_every_shipped_scenario_runs(path: Path) -> None:
    scenario = load_scenario(path)
    result = run_replication(scenario, np.random.SeedSequence(0), tables=False)
    summary = result.summary
    assert summary.orders > 0
    low, high = summary.oversell_rate_ci
    assert 0 <= low <= summary.oversell_rate <= high <= 1
    assert summary.duplicates_absorbed <= summary.duplicate_deliveries


def test_run_cli_prints_json_with_the_promised_fields(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "racesim", "run", str(SCENARIOS / "minimal.toml"),
               "--seed", "3", "--replications", "2", "--json", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("orders_total", "oversold_total", "oversell_rate", "oversell_rate_ci",
                "lost_sales_total", "lost_sales_per_month", "hidden_unit_hours_per_month",
                "sync_latency_p99_s", "stranded_reservations_total", "ledger_drift_max",
                "visibility_gap_s_total", "replications", "measured_days", "seed",
                "target", "meets_target", "meets_target_reason", "per_replication"):
        assert key in data, key
    assert data["replications"] == len(data["per_replication"]) == 2
    assert data["seed"] == 3
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 3 and "name = " in manifest["scenario_text"]
    assert any((tmp_path / "rep-000").glob("orders.*"))


def test_run_cli_reports_a_bad_scenario_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    text = (SCENARIOS / "minimal.toml").read_text()
    broken.write_text(text.replace("share = 0.5", "share = 0.7", 1))
    command = [sys.executable, "-m", "racesim", "run", str(broken)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("racesim: error: broken.toml: channels")
