"""The benchmarks run end to end and write every figure they promise.

Only the shape of the output is checked: timings depend on the machine, so no threshold
is asserted here (the figures are for people, see ``benchmarks/README.md``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BENCHMARK = BENCHMARKS / "bench_ledger.py"
SIM_BENCHMARK = BENCHMARKS / "bench_sim.py"
CHAOS_BENCHMARK = BENCHMARKS / "bench_chaos.py"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


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
