"""The benchmarks run end to end and write every figure they promise.

Only the shape of the output is checked: timings depend on the machine, so no threshold
is asserted here (the figures are for people, see ``benchmarks/README.md``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from racesim.ledger import Ledger
from racesim.scenario import load_scenario

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARK = BENCHMARKS / "bench_ledger.py"
SIM_BENCHMARK = BENCHMARKS / "bench_sim.py"
CHAOS_BENCHMARK = BENCHMARKS / "bench_chaos.py"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _load(benchmark: Path) -> ModuleType:
    """A benchmark script imported as a module (registered first: it defines dataclasses)."""
    spec = importlib.util.spec_from_file_location(benchmark.stem, benchmark)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[benchmark.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[benchmark.stem]
        raise
    return module


def test_the_engine_replay_ends_as_the_recorded_ledger_did_or_refuses() -> None:
    bench = _load(SIM_BENCHMARK)
    scenario = load_scenario(BENCHMARKS.parent / "scenarios" / "race1_double_buy.toml")
    _, record = bench.count_and_record(scenario, np.random.SeedSequence(3))
    names = {call[0] for call in record.calls}
    assert {"restock", "reserve", "fulfill", "available"} <= names, names
    assert record.events > 0 and record.orders > 0
    assert bench.replay_engine(record) > 0
    for name in bench.ENGINE_CALLS:  # the recorder put the ledger's own methods back
        assert getattr(Ledger, name).__qualname__ == f"Ledger.{name}", name
    # without the restocks every reservation is refused: another ledger, and it says so
    without_stock = dataclasses.replace(
        record, calls=[call for call in record.calls if call[0] != "restock"])
    with pytest.raises(RuntimeError, match="replay ended with"):
        bench.replay_engine(without_stock)


@pytest.mark.slow  # the ledger benchmark on every store: about 11 s
def test_quick_benchmark_prints_a_table_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "In-memory engine" in done.stdout and "SQLite" in done.stdout

    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["environment"]["quick"] is True

    for workload in ("reserve_heavy", "mixed"):
        row = figures["memory"][workload]
        assert _positive(row["commands"]) and _positive(row["commands_per_s"])
    assert figures["memory"]["mixed"]["new_orders"] < figures["memory"]["mixed"]["commands"]

    for mode in ("FULL", "NORMAL"):
        for kind in ("per_txn", "batched"):
            row = figures["sqlite"][mode][kind]
            for key in ("engine_per_s", "raw_per_s", "ratio", "ratio_of_medians"):
                assert _positive(row[key]), (mode, kind, key, row[key])

    for store in ("memory", "sqlite"):
        reads = figures["read_cost"][store]
        assert [p["events"] for p in reads["points"]] == [1_000, 10_000]
        assert all(_positive(p["ns_per_call"]) for p in reads["points"])
        assert _positive(reads["ratio_largest_to_smallest"])


def test_quick_simulation_benchmark_prints_a_table_and_writes_every_figure(
        tmp_path: Path) -> None:
    out = tmp_path / "sim.json"
    done = subprocess.run([sys.executable, str(SIM_BENCHMARK), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for heading in ("high_volume", "Bare SimPy", "SimPy-only ceiling", "Small scenarios",
                    "Ratios to bare SimPy", "End to end"):
        assert heading in done.stdout, heading

    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["environment"]["quick"] is True
    assert figures["target_orders_per_s"] == 20_000

    for setting in ("no_tables", "tables"):
        row = figures["model"][setting]
        for key in ("orders", "seconds", "cpu_s", "orders_per_s", "accepted_incl_warmup"):
            assert _positive(row[key]), (setting, key, row[key])
        assert isinstance(row["meets_target"], bool)
    assert figures["model"]["tables"]["orders"] == figures["model"]["no_tables"]["orders"]

    counting = figures["counting"]
    assert counting["orders"] == figures["model"]["no_tables"]["rounds"][0]["orders"]
    assert (counting["events_processed"]
            == counting["events_scheduled"] - counting["events_left_pending"])
    # at least the buyer and one webhook copy, as SimPy events or plain callbacks
    assert counting["events_per_order"] + counting["plain_callbacks_per_order"] > 1
    assert _positive(figures["phases"]["event_loop_s"])

    for loop in ("process_timeout", "callback_chain", "callback_heap"):
        assert _positive(figures["simpy"][loop]["events_per_s"]), loop
    for key in ("orders_per_s", "fraction_no_tables", "fraction_tables",
                "paired_median_fraction_no_tables", "paired_median_fraction_tables"):
        assert _positive(figures["ceiling"][key]), key

    for name in ("race1_double_buy", "minimal"):
        row = figures["small"][name]
        assert row["replications"] == 3
        assert _positive(row["replications_per_s"]) and _positive(row["ms_per_replication"])

    # the keys runs are compared by stay where they were
    for path in ("simpy.process_timeout.events_per_s", "model.no_tables.orders_per_s",
                 "small.race1_double_buy.replications_per_s", "counting.events_per_order"):
        value: Any = figures
        for key in path.split("."):
            value = value[key]
        assert _positive(value), path

    ratios = figures["acceptance"]
    base = figures["simpy"]["process_timeout"]["events_per_s"]
    assert ratios["baseline_events_per_s"] == base
    orders = ratios["orders_per_bare_event"]
    assert orders["value"] == pytest.approx(figures["model"]["no_tables"]["orders_per_s"] / base)
    assert orders["met"] == (orders["value"] >= orders["target_min"] == 0.025)
    per_order = ratios["events_per_order"]
    assert per_order["value"] == counting["events_per_order"] and per_order["target_max"] == 5
    small = ratios["race1_bare_events_per_replication"]
    assert small["value"] == pytest.approx(
        base / figures["small"]["race1_double_buy"]["replications_per_s"])
    assert small["target_max"] == 4_000 and small["met"] == (small["value"] <= 4_000)

    # the engine's share: the recorded calls include the initial stock and the orders'
    # reservations, and the replay (checked against the recorded ledger) took some time
    engine = figures["engine"]
    assert engine["calls_by_name"]["restock"] >= 1 and engine["calls_by_name"]["reserve"] >= 1
    assert engine["calls"] == sum(engine["calls_by_name"].values())
    assert _positive(engine["us_per_order"]) and 0 < engine["share_of_replication"] < 1
    budget = ratios["per_order_budget"]
    assert budget["us_per_order"] == pytest.approx(1e6 / (0.025 * base))
    assert budget["engine_share_of_budget"] == pytest.approx(
        engine["us_per_order"] / budget["us_per_order"])
    assert "the engine's own calls" in done.stdout

    # end to end: the tune simulates at least its candidates; the sweep 10 points × 1
    assert figures["end_to_end"]["sweep"]["replications"] == 10
    assert figures["end_to_end"]["tune"]["replications"] >= 2
    for name in ("tune", "sweep"):
        row = figures["end_to_end"][name]
        assert _positive(row["seconds"]) and _positive(row["replications_per_s"])
        assert ratios[f"{name}_bare_events_per_replication"] == pytest.approx(
            base / row["replications_per_s"])

def _quick(benchmark: Path, out: Path) -> tuple[str, dict[str, Any]]:
    """Run a benchmark with ``--quick --json OUT``: what it printed, and the figures."""
    done = subprocess.run([sys.executable, str(benchmark), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.slow  # two worker processes, the sequential baseline and the racy engine: ~5 s
def test_quick_chaos_benchmark_prints_every_section_and_writes_every_figure(
        tmp_path: Path) -> None:
    printed, figures = _quick(CHAOS_BENCHMARK, tmp_path / "chaos.json")
    for start in ("1. ", "2. sequential", "3. checker", "4. largest", "5. racy"):
        assert f"\n{start}" in printed, start

    assert figures["environment"]["quick"] is True
    harness = figures["concurrent"]
    assert harness["seeds"] == 8 and harness["concurrency"] == 8 and harness["jobs"] == 2
    assert harness["verdicts"] == {"linearizable": 8}  # the ledger passes every seed
    for key in ("seconds", "seeds_per_s", "operations_per_s"):
        assert _positive(harness[key]), key
    assert figures["sequential"]["seeds"] == 8 and figures["sequential"]["failed"] == 0
    assert _positive(figures["concurrent_over_sequential"])
    checker = figures["checker"]
    assert checker["operations"] == harness["operations"]
    for key in ("seeds_per_s", "operations_per_s", "replay_seeds_per_s",
                "checker_over_replay"):
        assert _positive(checker[key]), key
    largest = figures["largest"]
    assert largest["decided"] == 8 and largest["most_states"] >= largest["largest_group"]["states"]
    assert largest["operations"] >= largest["largest_group"]["operations"] > 0
    catch = figures["catch"]
    assert catch["caught"] == len(catch["witness_operations"]) == 1  # caught
    assert all(n >= 1 for n in catch["witness_operations"])
    assert all(h["states"] > 0 for h in catch["failing_histories"])
