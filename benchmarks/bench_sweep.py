"""How much faster does a parameter sweep run on two workers than on one?

One fixed sweep — ``scenarios/race1_double_buy.toml`` simulated for 240 days,
``buffer.units`` = 0…5, 16 replications per point (96 tasks of about a fifth of a
second each, some 20 s on one core) — is timed three ways:

1. **local, 1 worker**: every task in this process (``LocalExecutor(1)``).
2. **local, 2 workers**: a ``ProcessPoolExecutor`` of two processes
   (``LocalExecutor(2)``); its start-up (a fork per worker) is inside the time.
3. **Dask, 2 workers**: a ``dask.distributed.LocalCluster`` of two single-threaded
   worker processes (``DaskExecutor(workers=2)``). Starting the cluster (spawning the
   workers, which re-import this script's modules, and importing racesim in them) and
   closing it are timed separately from the sweep, since a long-lived cluster pays them
   once for many sweeps.

Speed-up = wall time on 1 worker / wall time on 2. Target: ≥ 1.7× with 2 local workers
on a 2-core machine. Next to each time, *other load* is the CPU the rest of the machine
used meanwhile, in cores (from ``/proc/stat`` minus this process tree's own CPU time,
via psutil); above 0.2 the machine was busy and the speed-up cannot be trusted. The
three runs must also give identical tables (same seeds, results gathered in task
order); the script checks it and reports it.

Usage::

    python benchmarks/bench_sweep.py [--quick] [--rounds N] [--json PATH]

``--quick`` runs a tiny sweep (2-day scenario, 3 points × 2 replications; a few seconds,
most of it Dask start-up) for the smoke test. Times are wall-clock seconds
(``time.perf_counter``), best of ``rounds``. Without dask installed the Dask row is
skipped (and says so). Nothing here asserts a timing: the figures are for people.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from racesim.scenario import Scenario, load_scenario
from racesim.study.executors import DaskExecutor, Executor, ExecutorError, LocalExecutor
from racesim.study.sweep import SweepResult, sweep

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "race1_double_buy.toml"
TARGET_SPEEDUP = 1.7  # 1-worker time / 2-worker time, local processes, 2 cores
WORKERS = 2
BUSY_CORES = 0.2  # other processes' CPU use (in cores) above which a timing is suspect
SEED = 20261127


@dataclass(frozen=True, slots=True)
class Workload:
    """The sweep that is timed: scenario duration, grid, replications, rounds."""

    duration: str  # simulated time per replication
    buffer_units: tuple[int, ...]  # the grid: buffer.units values
    replications: int  # per point
    rounds: int  # each timing is the best of this many

    @property
    def tasks(self) -> int:
        """(point, replication) pairs: one simulation each."""
        return len(self.buffer_units) * self.replications


FULL = Workload(duration="240d", buffer_units=tuple(range(6)), replications=16, rounds=1)
QUICK = Workload(duration="2d", buffer_units=(0, 1, 2), replications=2, rounds=1)


def scenario_for(workload: Workload) -> Scenario:
    """race1_double_buy with the workload's duration."""
    return load_scenario(SCENARIO).with_overrides({"duration": workload.duration})


def machine_cpu_s() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux), else None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float | None:
    """CPU seconds used by this process and its live worker processes (needs psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def timed_sweep(scenario: Scenario, workload: Workload,
                executor: Executor) -> tuple[float, float | None, SweepResult]:
    """Wall seconds of one sweep on ``executor``, the other processes' load, the result.

    The load is how many cores' worth of CPU the rest of the machine used meanwhile
    (None where it cannot be measured): near 0 on an idle machine; a figure near 1 means
    two workers shared one core with something else, and the speed-up is meaningless.
    """
    machine, own = machine_cpu_s(), own_cpu_s()
    started = time.perf_counter()
    result = sweep(scenario, {"buffer.units": list(workload.buffer_units)},
                   replications=workload.replications, seed=SEED, executor=executor)
    seconds = time.perf_counter() - started
    machine_after, own_after = machine_cpu_s(), own_cpu_s()
    if None in (machine, own, machine_after, own_after):
        return seconds, None, result
    other = (machine_after - machine) - (own_after - own)  # type: ignore[operator]
    return seconds, max(0.0, other) / seconds, result


Round = tuple[float, float | None, SweepResult]


def best_of(rounds: int, once: Callable[[], Round]) -> tuple[Round, list[float]]:
    """The fastest of ``rounds`` calls, and every call's time."""
    done = [once() for _ in range(rounds)]
    return min(done, key=lambda r: r[0]), [r[0] for r in done]


def bench_local(scenario: Scenario, workload: Workload, jobs: int) -> tuple[dict[str, Any],
                                                                             SweepResult]:
    """A sweep on ``jobs`` local processes; a fresh pool each round, start-up included."""
    def once() -> Round:
        started = time.perf_counter()
        with LocalExecutor(jobs) as executor:
            _, load, result = timed_sweep(scenario, workload, executor)
        return time.perf_counter() - started, load, result

    (best, load, result), times = best_of(workload.rounds, once)
    return {"workers": jobs, "seconds": best, "rounds_s": times,
            "tasks_per_s": workload.tasks / best, "other_load_cores": load}, result


def bench_dask(scenario: Scenario, workload: Workload) -> tuple[dict[str, Any] | None,
                                                                 SweepResult | None, str]:
    """A sweep on a LocalCluster of two workers; start-up and close timed on their own."""
    try:
        executor = DaskExecutor(workers=WORKERS)
    except ExecutorError as error:
        return None, None, str(error)
    started = time.perf_counter()
    executor.start()
    startup = time.perf_counter() - started
    try:
        (best, load, result), times = best_of(
            workload.rounds, lambda: timed_sweep(scenario, workload, executor))
    finally:
        started = time.perf_counter()
        executor.close()
        closing = time.perf_counter() - started
    return {"workers": WORKERS, "startup_s": startup, "seconds": best, "rounds_s": times,
            "close_s": closing, "tasks_per_s": workload.tasks / best,
            "other_load_cores": load}, result, ""


def identical(first: SweepResult, other: SweepResult) -> bool:
    """Whether two sweeps gave exactly the same runs and summary tables."""
    try:
        pd.testing.assert_frame_equal(first.runs, other.runs, check_exact=True)
        pd.testing.assert_frame_equal(first.summary, other.summary, check_exact=True)
    except AssertionError:
        return False
    return True


def run(workload: Workload, quick: bool) -> dict[str, Any]:
    """Every measurement, as one JSON-ready dict."""
    scenario = scenario_for(workload)
    one, reference = bench_local(scenario, workload, 1)
    two, result_two = bench_local(scenario, workload, WORKERS)
    two["speedup"] = one["seconds"] / two["seconds"]
    dask, result_dask, why = bench_dask(scenario, workload)
    if dask is not None and result_dask is not None:
        dask["speedup"] = one["seconds"] / dask["seconds"]
        dask["speedup_with_startup"] = one["seconds"] / (dask["seconds"] + dask["startup_s"])
    same = {"local_2": identical(reference, result_two)}
    if result_dask is not None:
        same["dask_2"] = identical(reference, result_dask)
    rates = reference.summary[["buffer.units", "oversell_rate"]]
    return {
        "environment": {"date": date.today().isoformat(), "python": platform.python_version(),
                        "platform": platform.platform(), "cpus": os.cpu_count(),
                        "quick": quick, "workload": asdict(workload), "tasks": workload.tasks,
                        "scenario": SCENARIO.name, "seed": SEED},
        "local_1": one,
        "local_2": two,
        "dask_2": dask,
        "dask_skipped": why or None,
        "identical_to_local_1": same,
        "target_speedup": TARGET_SPEEDUP,
        "target_met": two["speedup"] >= TARGET_SPEEDUP,
        "oversell_rate_pooled": {str(int(u)): float(r) for u, r in rates.itertuples(index=False)},
    }


def render(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    env, one, two, dask = (results["environment"], results["local_1"], results["local_2"],
                           results["dask_2"])
    w = env["workload"]
    lines = [f"Sweep of {env['scenario']} for {w['duration']}: buffer.units "
             f"{w['buffer_units'][0]}…{w['buffer_units'][-1]} × {w['replications']} "
             f"replications = {env['tasks']} tasks; {env['cpus']} CPUs, Python "
             f"{env['python']}{' (quick)' if env['quick'] else ''}",
             "",
             f"{'executor':<22}{'start-up s':>11}{'sweep s':>9}{'tasks/s':>9}{'speed-up':>10}"
             f"{'identical':>11}{'other load':>12}"]

    def row(name: str, figures: dict[str, Any], startup: str, speedup: str, same: str) -> str:
        load = figures["other_load_cores"]
        shown = "n/a" if load is None else f"{load:.2f} cores"
        return (f"{name:<22}{startup:>11}{figures['seconds']:>9.2f}"
                f"{figures['tasks_per_s']:>9.1f}{speedup:>10}{same:>11}{shown:>12}")

    same = results["identical_to_local_1"]
    lines.append(row("local, 1 worker", one, "–", "1.00×", "–"))
    lines.append(row("local, 2 workers", two, "(incl.)", f"{two['speedup']:.2f}×",
                     "yes" if same["local_2"] else "NO"))
    if dask is not None:
        lines.append(row("Dask LocalCluster(2)", dask, f"{dask['startup_s']:.2f}",
                         f"{dask['speedup']:.2f}×", "yes" if same["dask_2"] else "NO"))
    else:
        lines.append(f"{'Dask LocalCluster(2)':<22}skipped: {results['dask_skipped']}")
    met = "met" if results["target_met"] else "NOT met"
    lines += ["", f"Target: ≥ {results['target_speedup']}× with 2 local workers — {met} "
                  f"({two['speedup']:.2f}×)."]
    loads = [f["other_load_cores"] for f in (one, two, dask) if f is not None]
    if any(load is not None and load > BUSY_CORES for load in loads):
        lines.append(f"Other processes used more than {BUSY_CORES} of a core during a timing "
                     "('other load'): the machine was busy, so rerun on an idle one before "
                     "trusting the speed-ups.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny sweep (a few seconds), for smoke tests")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures as JSON to PATH")
    parser.add_argument("--rounds", type=int, default=None, metavar="N",
                        help="time each executor N times and keep the fastest (default 1)")
    args = parser.parse_args(argv)
    workload = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error(f"--rounds must be ≥ 1 (got {args.rounds})")
        workload = replace(workload, rounds=args.rounds)
    results = run(workload, args.quick)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
