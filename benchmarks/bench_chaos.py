"""How fast is concurrent chaos: seeds at K = 8 on the memory ledger, and the checker alone?

Four measurements, each printed next to its target or its baseline:

1. **Concurrent harness**: ``run_concurrent`` over 500 seeds at ``--concurrency 8`` on the
   ``memory://`` ledger with ``--jobs 2`` (each seed's 8 threads inside one of 2 worker
   processes): wall-clock seconds and seeds/s, every seed drawn, delivered, recorded,
   checked and (on failure) reduced to its witness. Target: under 120 s on 2 cores.

2. **Baseline: the sequential harness** on the same seeds and jobs (``run_chaos``, one
   delivery at a time with the auditor after every step, shrinking off), in the same run:
   seeds/s and the ratio concurrent / sequential — what checking a concurrent history
   costs beside auditing a sequential trace.

3. **Checker alone**: ``check_history`` re-run on every history recorded in (1), in this
   process, on one core: seeds/s and operations/s. Beside it a *bare replay* of the same
   histories through the reference model (each operation once, in invocation order,
   nothing searched) and the ratio checker / replay — how much the search and its
   memoisation cost over a straight pass of the model.

4. **Largest history decided**: the recorded history with the most operations that got a
   verdict (linearizable or not) within the default state bound, with the states its
   search explored, and the largest single group of SKUs searched.

5. **Seeds to catch the racy engine** (``tests/racy_engine.py``: the ledger over a store
   that neither locks nor isolates, check-then-act): 10 attempts, each running seeds 0, 1,
   … at K = 8 until one is not linearizable (at most 20): the seeds each attempt needed,
   how many attempts caught it within 20, and the witnesses' sizes.

Usage::

    python benchmarks/bench_chaos.py [--quick] [--json PATH] [--seeds N] [--jobs J]

``--quick`` runs 8 seeds and one attempt of section 5 (a few seconds; for the smoke
test). Nothing here asserts a timing: the figures are printed for people to read
(``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from racesim.chaos import run_chaos
from racesim.chaos.concurrent import ConcurrentRun, run_concurrent
from racesim.chaos.engines import EngineSpec
from racesim.chaos.history import READS, Operation
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    NOT_LINEARIZABLE,
    UNDECIDED,
    check_history,
    components,
)
from racesim.chaos.reference import ReferenceModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sim import git_revision, load_average

ROOT = Path(__file__).resolve().parents[1]

TARGET_S = 120.0  # 500 seeds at K = 8 on 2 cores
SEEDS, QUICK_SEEDS = 500, 8
CONCURRENCY = 8
MEMORY = EngineSpec("ledger", "memory://")
RACY = EngineSpec("python", f"{ROOT / 'tests' / 'racy_engine.py'}:racy_ledger")
CATCH_ATTEMPTS, CATCH_WITHIN = 10, 20


def timed_concurrent(seeds: range, jobs: int) -> tuple[list[ConcurrentRun], dict[str, Any]]:
    """Section 1: every seed at K = 8, timed end to end."""
    start = time.perf_counter()
    runs = run_concurrent(MEMORY, seeds, CONCURRENCY, jobs=jobs)
    elapsed = time.perf_counter() - start
    operations = sum(len(run.operations) for run in runs)
    return runs, {"seeds": len(runs), "concurrency": CONCURRENCY, "jobs": jobs,
                  "seconds": elapsed, "seeds_per_s": len(runs) / elapsed,
                  "operations": operations, "operations_per_s": operations / elapsed,
                  "verdicts": dict(Counter(run.check.status for run in runs)),
                  "target_s": TARGET_S, "target_met": elapsed < TARGET_S}


def timed_sequential(seeds: range, jobs: int) -> dict[str, Any]:
    """Section 2: the sequential harness on the same seeds (no shrinking), timed."""
    start = time.perf_counter()
    report = run_chaos(MEMORY, seeds, jobs=jobs, shrink_first=False)
    elapsed = time.perf_counter() - start
    return {"seeds": len(report.runs), "jobs": jobs, "seconds": elapsed,
            "seeds_per_s": len(report.runs) / elapsed,
            "deliveries": sum(run.deliveries for run in report.runs),
            "failed": len(report.failures)}


def bare_replay(operations: Sequence[Operation]) -> int:
    """Each operation through the reference model once, in invocation order; the units
    available summed over the reads (returned so the work cannot be skipped)."""
    model, seen = ReferenceModel(), 0
    for operation in operations:  # bounded: one step per operation
        if operation.op in READS:
            seen += model.figures(operation.sku).available
        else:
            for webhook in operation.commands:
                model.apply(webhook)
    return seen


def timed_checker(runs: Sequence[ConcurrentRun]) -> dict[str, Any]:
    """Section 3: the checker alone on the recorded histories, against a bare replay."""
    histories = [list(run.operations) for run in runs]
    operations = sum(len(h) for h in histories)
    start = time.perf_counter()
    for history in histories:
        check_history(history, DEFAULT_MAX_STATES)
    checking = time.perf_counter() - start
    start = time.perf_counter()
    for history in histories:
        bare_replay(history)
    replay = time.perf_counter() - start
    return {"histories": len(histories), "operations": operations,
            "seconds": checking, "seeds_per_s": len(histories) / checking,
            "operations_per_s": operations / checking,
            "replay_seconds": replay, "replay_seeds_per_s": len(histories) / replay,
            "checker_over_replay": checking / replay}


def largest_decided(runs: Sequence[ConcurrentRun]) -> dict[str, Any]:
    """Section 4: the largest history given a verdict, and the largest group searched."""
    decided = [run for run in runs if run.check.status != UNDECIDED]
    if not decided:
        return {"decided": 0}
    largest = max(decided, key=lambda run: (len(run.operations), -run.seed))
    groups = [(len(group), verdict.states, verdict.skus) for run in decided
              for group, verdict in zip(components(run.operations), run.check.verdicts,
                                        strict=True)]
    size, states, skus = max(groups)
    return {"decided": len(decided), "seed": largest.seed,
            "operations": len(largest.operations), "states": largest.check.states,
            "verdict": largest.check.status, "skus": len(largest.check.verdicts),
            "largest_group": {"operations": size, "states": states, "skus": list(skus)},
            "most_states": max(verdict.states for run in decided
                               for verdict in run.check.verdicts)}


def seeds_to_catch(attempts: int) -> dict[str, Any]:
    """Section 5: how many seeds at K = 8 each attempt needs to catch the racy engine."""
    needed: list[int | None] = []
    witnesses: list[int] = []
    failing: list[dict[str, int]] = []
    for _ in range(attempts):  # an interleaving is not a seed: the same seeds again
        runs = run_concurrent(RACY, range(CATCH_WITHIN), CONCURRENCY, stop_at_failure=True)
        caught = runs[-1].check.status == NOT_LINEARIZABLE
        needed.append(len(runs) if caught else None)
        if caught:
            witnesses.append(len(runs[-1].witness))
            failing.append({"operations": len(runs[-1].operations),
                            "states": runs[-1].check.states})
    return {"attempts": attempts, "within": CATCH_WITHIN, "seeds_needed": needed,
            "caught": sum(n is not None for n in needed),
            "witness_operations": witnesses, "failing_histories": failing}


def environment(quick: bool) -> dict[str, Any]:
    """Where and when the figures were taken."""
    return {"date": date.today().isoformat(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(),
            "cpus": os.cpu_count(), "quick": quick, "revision": git_revision(),
            "load_1min_start": load_average()}


def _load(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def render(results: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    env, harness = results["environment"], results["concurrent"]
    sequential, checker, largest = (results["sequential"], results["checker"],
                                    results["largest"])
    verdicts = ", ".join(f"{n} {status}" for status, n in sorted(harness["verdicts"].items()))
    met = "met" if harness["target_met"] else "**missed**"
    lines = [
        f"Concurrent chaos · {env['date']} · Python {env['python']} · {env['cpus']} CPUs · "
        f"1-minute load {_load(env['load_1min_start'])} → {_load(env['load_1min_end'])}",
        f"1. {harness['seeds']} seeds at K = {harness['concurrency']}, memory ledger, "
        f"--jobs {harness['jobs']}: {harness['seconds']:.1f} s ({harness['seeds_per_s']:.1f} "
        f"seeds/s, {harness['operations_per_s']:,.0f} operations/s; target < "
        f"{harness['target_s']:.0f} s: {met}); {verdicts}",
        f"2. sequential harness, same seeds and jobs: {sequential['seconds']:.1f} s "
        f"({sequential['seeds_per_s']:.1f} seeds/s); concurrent / sequential = "
        f"{results['concurrent_over_sequential']:.2f}",
        f"3. checker alone, one core: {checker['seeds_per_s']:.1f} seeds/s "
        f"({checker['operations_per_s']:,.0f} operations/s); bare model replay "
        f"{checker['replay_seeds_per_s']:,.0f} seeds/s; checker / replay = "
        f"{checker['checker_over_replay']:.1f}× the time",
    ]
    if largest["decided"]:
        group = largest["largest_group"]
        lines.append(
            f"4. largest history decided: seed {largest['seed']}, {largest['operations']:,} "
            f"operations, {largest['states']:,} states explored ({largest['verdict']}, "
            f"{largest['skus']} SKU group(s)); largest group {group['operations']:,} "
            f"operations, {group['states']:,} states; most states in one search "
            f"{largest['most_states']:,}")
    catch = results["catch"]
    needed = ", ".join("–" if n is None else str(n) for n in catch["seeds_needed"])
    lines.append(f"5. racy engine caught within {catch['within']} seeds in {catch['caught']} "
                 f"of {catch['attempts']} attempts (seeds needed: {needed}; witnesses of "
                 f"{min(catch['witness_operations'], default=0)}–"
                 f"{max(catch['witness_operations'], default=0)} operations; the "
                 f"failing histories' searches explored up to "
                 f"{max((h['states'] for h in catch['failing_histories']), default=0):,} "
                 f"states)")
    return "\n".join(lines)


def run(seeds: int, jobs: int, quick: bool) -> dict[str, Any]:
    """Every measurement, in order, as one JSON-ready dictionary."""
    results: dict[str, Any] = {"environment": environment(quick)}
    chosen = range(seeds)
    runs, results["concurrent"] = timed_concurrent(chosen, jobs)
    results["sequential"] = timed_sequential(chosen, jobs)
    results["concurrent_over_sequential"] = (results["concurrent"]["seeds_per_s"]
                                             / results["sequential"]["seeds_per_s"])
    results["checker"] = timed_checker(runs)
    results["largest"] = largest_decided(runs)
    results["catch"] = seeds_to_catch(1 if quick else CATCH_ATTEMPTS)
    results["environment"]["load_1min_end"] = load_average()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SEEDS} seeds (a few seconds), for smoke tests")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help=f"seeds to run (default {SEEDS}; {QUICK_SEEDS} with --quick)")
    parser.add_argument("--jobs", type=int, default=2, metavar="J",
                        help="worker processes for sections 1 and 2 (default 2)")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else SEEDS)
    results = run(seeds, args.jobs, args.quick)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
