"""How many simulated orders does one core get through per second, against SimPy's own limit?

Six measurements, all in one run and one process (one core), printed as a table:

1. **Simulated orders per second** for ``scenarios/high_volume.toml`` (one day, 500
   SKUs, four channels, about 22,000 counted orders) on the memory store: one full
   replication, timed from the call to ``run_replication`` to its return, as a sweep runs
   it (``tables=False``) and as ``racesim run --out`` runs it (``tables=True``: the
   per-order tables are built, not written). *Orders* are ``summary.orders``: orders
   a marketplace accepted, placed after the warm-up. Best of N replications with
   different seeds (the same seeds for both settings, so the difference is the tables);
   the CPU time of each is recorded too, so that a run slowed by other processes shows
   as CPU/wall < 1. Target: ≥ 20,000 orders/s — a sweep of hundreds of high-volume
   replications should take minutes, not hours.

   A separate, untimed *counting run* of the first seed, before the timed ones, counts
   the SimPy events the model processes, by wrapping that simulation's ``env.step``, and
   checks the count against SimPy's event-id counter (``env._eid``, one id per scheduled
   event, minus those still queued at the end, and minus the *plain callbacks* — webhook
   copies and listing updates the model's environment runs without a SimPy event, each
   with a SimPy event id: see :mod:`racesim.sim.scheduling` — counted apart). A last
   run times the phases of one replication: building the
   :class:`~racesim.sim.model.Simulation` (random draws), scheduling, SimPy's event
   loop, and collecting the metrics.

2. **Bare SimPy baseline**, measured in the same run: SimPy events per second for a
   process yielding ``env.timeout(1)`` N times, and for N plain ``Timeout`` objects each
   with a callback appended that schedules the next one — the cheapest SimPy way to run a
   function later, which the model's plain callbacks replace — once as a chain (one event
   pending) and once with as many events pending as SimPy's heap holds in the model on
   average (a heap of that size). The last rate divided by the model's SimPy events plus
   plain callbacks per order is the *SimPy-only ceiling* in orders/s: what the model could
   reach if its callbacks cost nothing and each call cost what a Timeout does. The
   model's orders/s as a fraction of it says how much of the time is the model's own
   Python. Each bare-SimPy round runs right after a model round, so that both see the
   same load; the fraction is given best over best, and as the median of the rounds'
   paired fractions.

3. The **target** check: ≥ 20,000 orders/s, with the factor still missing.

4. **Replications per second** of two small scenarios, ``race1_double_buy`` (3 days,
   2 SKUs) and ``minimal`` (2 days, 1 SKU), with ``tables=False``: R replications in a
   row, best of several rounds — what a sweep of thousands of replications sees, where a
   replication's fixed cost matters more than its per-order cost.

5. The **ratios to bare SimPy** that issue #16 sets targets for, each divided by the
   bare-SimPy ``process_timeout`` rate of this run (JSON ``simpy.process_timeout.
   events_per_s``), printed beside their targets: high_volume orders/s (``model.
   no_tables.orders_per_s``) ≥ 0.025 × it; SimPy events per order (``counting.
   events_per_order``) ≤ 5; ``race1_double_buy`` replications/s (``small.
   race1_double_buy.replications_per_s``) ≥ 1/4,000 of it. Beside them, the *engine's
   share* of the per-order time the first target allows: the ledger calls of the counting
   run (recorded by wrapping :class:`Ledger`'s commands and
   reads) replayed in order on a fresh memory ledger each round, checked to end with the
   same ledger, against the same seed's timed replication.

6. **End to end**: ``racesim tune race1_double_buy.toml --json`` (its default search) and
   ``racesim sweep`` of ``buffer.units`` = 0…9 with 20 replications per point, each run
   through the CLI's ``main`` in this process (``--jobs 1``; the modules are imported
   before the clock starts), with the replications they simulated counted; reported as
   seconds, replications/s, and as ratios to the same bare-SimPy rate.

Usage::

    python benchmarks/bench_sim.py [--quick] [--json PATH]

``--quick`` shortens high_volume to 2 hours (10 minutes of warm-up) and runs tiny sizes
(a few seconds; for the smoke test); a full run takes about a minute on an idle 2-core
machine. Rates are per second of wall-clock time (``time.perf_counter``); the garbage
collector stays enabled, as in a real run, and is emptied before each timed run.
Nothing here asserts a timing: the figures are printed for people to read.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import numbers
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

import racesim.study.sweep  # imported before timing: no part of a command's cost
import racesim.study.tune  # noqa: F401
from racesim.cli.main import main as racesim_main
from racesim.errors import LedgerError
from racesim.ledger import Ledger
from racesim.ledger.protocol import LocalEngine
from racesim.scenario import Scenario, load_scenario
from racesim.sim.model import Simulation
from racesim.sim.results import SimulationResult
from racesim.study.replications import run_replication
from racesim.util.collector import without_cyclic_gc

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TARGET = 20_000  # simulated (counted) orders per second of wall-clock time, one core
SEED = 20261127
SMALL_SCENARIOS = ("race1_double_buy", "minimal")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each measurement does (replications, events, rounds)."""

    high_volume_overrides: tuple[tuple[str, str], ...]  # applied to high_volume.toml
    rounds: int  # high_volume replications per tables setting (distinct seeds), each
    # followed by a bare-SimPy round
    baseline_events: int  # SimPy events per bare-SimPy loop and round
    small_replications: int  # replications per round of each small scenario
    small_rounds: int
    tune_options: tuple[str, ...]  # added to ``racesim tune race1_double_buy.toml --json``
    sweep_replications: int  # per point of the 10-point sweep


FULL_SIZES = Sizes(high_volume_overrides=(), rounds=3, baseline_events=1_000_000,
                   small_replications=200, small_rounds=3, tune_options=(),
                   sweep_replications=20)
QUICK_SIZES = Sizes(high_volume_overrides=(("duration", "2h"), ("warmup", "10m")), rounds=1,
                    baseline_events=20_000, small_replications=3, small_rounds=1,
                    tune_options=("--replications", "1", "--max-replications", "1"),
                    sweep_replications=1)

BASELINE = ("simpy", "process_timeout", "events_per_s")
"""The figure every acceptance ratio divides by: bare SimPy ``timeout`` events/s."""
ORDERS_PER_BARE_EVENT_MIN = 0.025  # high_volume orders/s ÷ bare events/s (issue #16)
EVENTS_PER_ORDER_MAX = 5.0  # SimPy events the model processes per counted order
BARE_EVENTS_PER_REPLICATION_MAX = 4_000  # race1_double_buy: replications/s ≥ 1/4,000 of it
SWEEP_POINTS = 10  # buffer.units = 0 … 9


# -- SimPy plumbing ---------------------------------------------------------------------


def scheduled_events(env: simpy.Environment) -> int:
    """Events ever scheduled in ``env``: the value SimPy's event-id counter has reached.

    ``env._eid`` is an :func:`itertools.count`; its repr shows the next id without
    advancing it (advancing it would not change results, but reading should not write).
    """
    match = re.fullmatch(r"count\((\d+)\)", repr(env._eid))
    if match is None:
        raise RuntimeError(f"unexpected SimPy event-id counter {env._eid!r}")
    return int(match.group(1))


def pending_events(env: simpy.Environment) -> int:
    """Events scheduled but not yet processed (SimPy's event heap)."""
    return len(env._queue)


# -- 1. the model ------------------------------------------------------------------------


def counted_orders(result: SimulationResult) -> int:
    """``summary.orders``: orders accepted by a marketplace after the warm-up."""
    orders = result.summary.orders
    if not isinstance(orders, numbers.Integral):
        raise TypeError(f"summary.orders should be a whole number (got {orders!r})")
    return int(orders)


def high_volume(sizes: Sizes) -> Scenario:
    """``scenarios/high_volume.toml``, shortened for ``--quick``."""
    scenario = load_scenario(SCENARIOS / "high_volume.toml")
    if sizes.high_volume_overrides:
        scenario = scenario.with_overrides(dict(sizes.high_volume_overrides), source="--quick")
    return scenario


def timed_replication(scenario: Scenario, seed: np.random.SeedSequence,
                      tables: bool) -> tuple[float, float, SimulationResult]:
    """Wall-clock and CPU seconds one ``run_replication`` takes, and its result."""
    gc.collect()
    cpu, start = time.process_time(), time.perf_counter()
    result = run_replication(scenario, seed, tables=tables)
    return time.perf_counter() - start, time.process_time() - cpu, result


def model_round(scenario: Scenario, seed: np.random.SeedSequence,
                number: int) -> dict[str, dict[str, Any]]:
    """One replication without tables, then the same seed with tables.

    With tables, the orders table also gives every accepted order, warm-up included,
    which the summary leaves out.
    """
    rows: dict[str, dict[str, Any]] = {}
    for key, tables in (("no_tables", False), ("tables", True)):
        seconds, cpu, result = timed_replication(scenario, seed, tables)
        orders = counted_orders(result)
        rows[key] = {"seed": number, "orders": orders, "seconds": seconds, "cpu_s": cpu,
                     "orders_per_s": orders / seconds}
        if tables:
            accepted = int(result.orders["accepted"].sum())
            for row in rows.values():
                row["accepted_incl_warmup"] = accepted
                row["accepted_incl_warmup_per_s"] = accepted / row["seconds"]
        del result
    if rows["no_tables"]["orders"] != rows["tables"]["orders"]:
        raise RuntimeError(f"seed {number}: {rows['no_tables']['orders']} orders without "
                           f"tables, {rows['tables']['orders']} with")
    return rows


def best_model(rounds: Sequence[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The fastest replication of each setting, with every round kept."""
    results: dict[str, Any] = {}
    for key in ("no_tables", "tables"):
        rows = [one[key] for one in rounds]
        best = max(rows, key=lambda row: row["orders_per_s"])
        results[key] = {**best, "meets_target": best["orders_per_s"] >= TARGET,
                        "rounds": rows}
    return results


def count_events(scenario: Scenario, seed: np.random.SeedSequence
                 ) -> tuple[dict[str, Any], LocalEngine]:
    """SimPy events one replication processes (untimed: ``env.step`` is wrapped), and
    its engine as the replication left it.

    Also the mean number of events pending in SimPy's heap at each step, which sizes the
    bare-SimPy baseline, and a check of the step count against the event-id counter.
    """
    simulation = Simulation(scenario, seed, tables=False)
    env = simulation.env
    queue, step = env._queue, env.step
    steps = pending_sum = 0

    def counted_step() -> None:
        nonlocal steps, pending_sum
        steps += 1
        pending_sum += len(queue)
        step()

    env.step = counted_step  # type: ignore[method-assign]  # Environment.run calls self.step()
    counts: list[tuple[int, int, int]] = []
    run = env.run

    def counted_run(until: Any = None) -> Any:  # the model empties the queue once finished
        try:
            return run(until)
        finally:
            # plain callbacks take SimPy event ids but are no SimPy events
            counts.append((scheduled_events(env) - env.plain_callbacks, pending_events(env),
                           env.plain_callbacks - env.plain_pending))

    env.run = counted_run  # type: ignore[method-assign]
    engine = simulation.engine
    result = simulation.run()
    scheduled, left, plain_run = counts[0]
    if scheduled - left != steps:
        raise RuntimeError(f"{steps} steps counted, but {scheduled} events scheduled and "
                           f"{left} left pending")
    orders = counted_orders(result)
    return {"orders": orders, "events_processed": steps, "events_scheduled": scheduled,
            "events_left_pending": left, "events_per_order": steps / orders,
            "mean_pending": pending_sum / steps, "plain_callbacks_run": plain_run,
            "plain_callbacks_per_order": plain_run / orders}, engine


def time_phases(scenario: Scenario, seed: np.random.SeedSequence) -> dict[str, Any]:
    """Seconds of each phase of one replication (``tables=False``), as ``run_replication``
    runs it: the cyclic garbage collector paused until the model is freed.

    ``construct``: ``Simulation(...)`` (catalog, random draws, per-order plans);
    ``schedule``: what ``run()`` does before SimPy's loop; ``event_loop``:
    ``env.run(until=duration)``; ``collect``: metrics after the loop, closing, and freeing
    the model (with the collector running, its first pass would walk the whole live model,
    which no replication of a run or a sweep pays).
    """
    gc.collect()
    with without_cyclic_gc():
        marks, processed, result = _marked_replication(scenario, seed)
        end = time.perf_counter()  # the model is freed
    start, built, loop_start, loop_end = marks
    phases = {"construct_s": built - start, "schedule_s": loop_start - built,
              "event_loop_s": loop_end - loop_start, "collect_s": end - loop_end}
    return {**phases, "total_s": end - start, "orders": counted_orders(result),
            "events_processed": processed[0]}


def _marked_replication(scenario: Scenario, seed: np.random.SeedSequence
                        ) -> tuple[list[float], list[int], SimulationResult]:
    """One replication with the clock read at its start, after construction and around
    SimPy's loop; the events the loop processed; its result. Returns with the model
    unreferenced (the wrapper of ``env.run`` is removed again)."""
    marks = [time.perf_counter()]
    simulation = Simulation(scenario, seed, tables=False)
    marks.append(time.perf_counter())
    env = simulation.env
    run = env.run
    processed: list[int] = []

    def timed_run(until: Any = None) -> Any:
        marks.append(time.perf_counter())
        try:
            return run(until)
        finally:
            marks.append(time.perf_counter())
            processed.append(scheduled_events(env) - env.plain_callbacks
                             - pending_events(env))

    env.run = timed_run  # type: ignore[method-assign]
    try:
        result = simulation.run()
    finally:
        del env.run  # no cycle through the wrapper: the model is freed on return
    return marks, processed, result


ENGINE_CALLS = ("restock", "reserve", "release", "fulfill", "return_", "adjust", "available",
                "stock")
"""The ledger's commands and reads, as the model calls them on its engine."""

EngineCall = tuple[str, tuple[Any, ...], dict[str, Any]]


@contextmanager
def recording_engine_calls() -> Iterator[list[EngineCall]]:
    """Record every call of :data:`ENGINE_CALLS` on any :class:`Ledger` inside the block,
    in order, with its arguments (the methods are wrapped on the class, and restored)."""
    calls: list[EngineCall] = []
    originals = {name: getattr(Ledger, name) for name in ENGINE_CALLS}

    def recorder(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def record(self: Ledger, *args: Any, **kwargs: Any) -> Any:
            calls.append((name, args, kwargs))
            return method(self, *args, **kwargs)
        return record

    for name, method in originals.items():
        setattr(Ledger, name, recorder(name, method))
    try:
        yield calls
    finally:
        for name, method in originals.items():
            setattr(Ledger, name, method)


@dataclass(frozen=True)
class EngineRecord:
    """The engine calls of one replication, in order, and the ledger they left."""

    calls: list[EngineCall]
    events: int  # events in the ledger at the end
    levels: dict[str, Any]  # every SKU's stock row at the end
    orders: int  # the replication's counted orders


def count_and_record(scenario: Scenario, seed: np.random.SeedSequence
                     ) -> tuple[dict[str, Any], EngineRecord]:
    """The counting run (:func:`count_events`), with every ledger call it makes
    recorded, initial stock included (counting events is untimed, so is recording)."""
    with recording_engine_calls() as calls:
        counting, engine = count_events(scenario, seed)
    if not isinstance(engine, Ledger):
        raise RuntimeError(f"{scenario.name}: the engine is {type(engine).__name__}, "
                           "not the ledger")
    return counting, EngineRecord(calls, engine.event_count(), engine.levels(),
                                  counting["orders"])


def replay_engine(record: EngineRecord) -> float:
    """Seconds a fresh memory ledger takes to answer ``record.calls`` in order, the
    cyclic collector paused as in a replication: the engine's own share of a replication.

    The calls the model saw refused (a cancellation before its order, a shipment the
    ledger cannot cover) are refused again. The ledger must end as the recorded one did:
    as many events, the same stock rows. The loop's own cost (an unpacking and a call
    per command) is included: the figure is an upper bound, by well under a tenth of a
    microsecond per call.
    """
    ledger = Ledger.open("memory://")
    bound = [(getattr(ledger, name), args, kwargs) for name, args, kwargs in record.calls]
    gc.collect()
    with without_cyclic_gc():
        start = time.perf_counter()
        for method, args, kwargs in bound:
            # not contextlib.suppress: entering it would cost more than a command's checks
            try:  # noqa: SIM105
                method(*args, **kwargs)
            except LedgerError:
                pass
        seconds = time.perf_counter() - start
    if ledger.event_count() != record.events or ledger.levels() != record.levels:
        raise RuntimeError(f"the replay ended with {ledger.event_count()} events, the "
                           f"recorded replication with {record.events}, or other stock rows")
    ledger.destroy()
    return seconds


def engine_share(record: EngineRecord, rounds_s: Sequence[float],
                 replication_s: float) -> dict[str, Any]:
    """The replayed engine's seconds per order, and its share of the same seed's
    replication (``replication_s``, tables=False)."""
    best, calls, orders = min(rounds_s), record.calls, record.orders
    by_name = Counter(name for name, _, _ in calls)
    return {"calls": len(calls), "calls_per_order": len(calls) / orders,
            "calls_by_name": {name: by_name[name] for name in ENGINE_CALLS},
            "seconds": best, "us_per_order": best / orders * 1e6,
            "share_of_replication": best / replication_s,
            "model_us_per_order": (replication_s - best) / orders * 1e6,
            "rounds_s": list(rounds_s)}


# -- 2. bare SimPy -------------------------------------------------------------------------


def bare_process(n: int) -> tuple[int, float]:
    """Events and seconds for one process yielding ``env.timeout(1)`` ``n`` times."""
    env = simpy.Environment()

    def ticker() -> Any:
        timeout = env.timeout
        for _ in range(n):
            yield timeout(1)

    gc.collect()
    start = time.perf_counter()
    env.process(ticker())
    env.run()
    return scheduled_events(env), time.perf_counter() - start


def bare_callbacks(n: int, pending: int, rng: np.random.Generator) -> tuple[int, float]:
    """Events and seconds for ``n`` Timeouts with a callback, ``pending`` of them queued.

    ``pending`` Timeouts are scheduled first; each one's callback schedules the next,
    exponentially distributed delays (precomputed), until ``n`` have been scheduled — so
    SimPy's heap holds ``pending`` events throughout, as the model's does.
    """
    env = simpy.Environment()
    delays: list[float] = rng.exponential(1.0, n).tolist()
    scheduled = min(pending, n)

    def call_later(delay: float, callback: Callable[[Timeout], None], payload: object) -> None:
        Timeout(env, delay, payload).callbacks.append(callback)  # a call later, by SimPy

    def fire(event: Timeout) -> None:
        nonlocal scheduled
        i = scheduled
        if i < n:
            scheduled = i + 1
            call_later(delays[i], fire, i)

    gc.collect()
    start = time.perf_counter()
    for i in range(min(pending, n)):
        call_later(delays[i], fire, i)
    env.run()
    return scheduled_events(env), time.perf_counter() - start


def simpy_round(n: int, pending: int, rng: np.random.Generator) -> dict[str, float]:
    """SimPy events/s of each bare loop, once."""
    loops: dict[str, Callable[[], tuple[int, float]]] = {
        "process_timeout": lambda: bare_process(n),
        "callback_chain": lambda: bare_callbacks(n, 1, rng),
        "callback_heap": lambda: bare_callbacks(n, pending, rng),
    }
    rates = {}
    for key, measure in loops.items():
        events, seconds = measure()
        rates[key] = events / seconds
    return rates


def best_simpy(rounds: Sequence[dict[str, float]], pending: int) -> dict[str, Any]:
    """Best events/s of each bare loop, with every round kept."""
    waiting = {"process_timeout": 1, "callback_chain": 1, "callback_heap": pending}
    return {key: {"pending": waiting[key],
                  "events_per_s": max(one[key] for one in rounds),
                  "rounds_per_s": [one[key] for one in rounds]}
            for key in waiting}


# -- 4. small scenarios ------------------------------------------------------------------


def bench_small(name: str, sizes: Sizes) -> dict[str, Any]:
    """Replications/s of ``scenarios/<name>.toml``, ``tables=False``; best round."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    seeds = np.random.SeedSequence(SEED).spawn(sizes.small_replications)
    rounds: list[float] = []
    orders = 0
    for _ in range(sizes.small_rounds):
        gc.collect()
        orders = 0
        start = time.perf_counter()
        for seed in seeds:
            orders += counted_orders(run_replication(scenario, seed, tables=False))
        rounds.append(time.perf_counter() - start)
    best = min(rounds)
    replications = len(seeds)
    return {"replications": replications, "orders": orders,
            "replications_per_s": replications / best,
            "ms_per_replication": best / replications * 1e3,
            "orders_per_replication": orders / replications, "orders_per_s": orders / best,
            "rounds_s": rounds}


# -- 5. end to end ----------------------------------------------------------------------


@contextmanager
def counting_replications() -> Iterator[list[int]]:
    """Count every ``Simulation.run`` in this process while inside the block (the CLI's
    default ``--jobs 1`` runs each replication here)."""
    count = [0]
    run = Simulation.run

    def counted(self: Simulation) -> SimulationResult:
        count[0] += 1
        return run(self)

    Simulation.run = counted  # type: ignore[method-assign]
    try:
        yield count
    finally:
        Simulation.run = run  # type: ignore[method-assign]


def timed_command(argv: list[str]) -> dict[str, Any]:
    """Wall-clock and CPU seconds of one ``racesim`` command, in this process, and the
    replications it simulated; its ``--json`` output is parsed to check it finished."""
    printed = io.StringIO()
    gc.collect()
    with counting_replications() as count, contextlib.redirect_stdout(printed):
        cpu, start = time.process_time(), time.perf_counter()
        status = racesim_main(argv)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if status != 0:
        raise RuntimeError(f"racesim {' '.join(argv)} exited with status {status}")
    json.loads(printed.getvalue())
    replications = count[0]
    return {"command": "racesim " + " ".join(argv), "seconds": seconds, "cpu_s": cpu,
            "replications": replications, "replications_per_s": replications / seconds}


def end_to_end(sizes: Sizes) -> dict[str, dict[str, Any]]:
    """``racesim tune`` on race1_double_buy, and a 10-point sweep of ``buffer.units``."""
    scenario = str(SCENARIOS / "race1_double_buy.toml")
    with tempfile.TemporaryDirectory() as folder:
        grid = Path(folder) / "grid.toml"
        grid.write_text(f'"buffer.units" = {list(range(SWEEP_POINTS))}\n', encoding="utf-8")
        return {
            "tune": timed_command(["tune", scenario, "--json", *sizes.tune_options]),
            "sweep": timed_command(["sweep", scenario, "--grid", str(grid), "--json",
                                    "--replications", str(sizes.sweep_replications)]),
        }


def acceptance(results: dict[str, Any]) -> dict[str, Any]:
    """Issue #16's ratios, each to bare SimPy ``timeout`` events/s of this run, with its
    target; and the end-to-end commands on the same basis."""
    base = results["simpy"]["process_timeout"]["events_per_s"]
    orders = results["model"]["no_tables"]["orders_per_s"] / base
    per_order = results["counting"]["events_per_order"]
    small = results["small"]["race1_double_buy"]["replications_per_s"]
    figures: dict[str, Any] = {
        "baseline": ".".join(BASELINE), "baseline_events_per_s": base,
        "orders_per_bare_event": {"value": orders, "target_min": ORDERS_PER_BARE_EVENT_MIN,
                                  "met": orders >= ORDERS_PER_BARE_EVENT_MIN},
        "events_per_order": {"value": per_order, "target_max": EVENTS_PER_ORDER_MAX,
                             "met": per_order <= EVENTS_PER_ORDER_MAX},
        "race1_bare_events_per_replication": {
            "value": base / small, "target_max": BARE_EVENTS_PER_REPLICATION_MAX,
            "met": base / small <= BARE_EVENTS_PER_REPLICATION_MAX,
            "replications_per_bare_event": small / base}}
    # The per-order time the high_volume target allows, and what the engine leaves of it
    budget_us = 1e6 / (ORDERS_PER_BARE_EVENT_MIN * base)
    engine = results["engine"]
    left_us = budget_us - engine["us_per_order"]
    figures["per_order_budget"] = {
        "us_per_order": budget_us, "engine_us_per_order": engine["us_per_order"],
        "engine_share_of_budget": engine["us_per_order"] / budget_us,
        "model_us_per_order": engine["model_us_per_order"], "left_for_model_us": left_us,
        "model_cut_needed": engine["model_us_per_order"] / left_us if left_us > 0 else None}
    for name, row in results["end_to_end"].items():
        figures[f"{name}_bare_events_per_replication"] = base / row["replications_per_s"]
        figures[f"{name}_bare_events_equivalent"] = row["seconds"] * base
    return figures


# -- report ----------------------------------------------------------------------------


def git_revision() -> str | None:
    """The commit measured, with ``+dirty`` if src/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def load_average() -> float | None:
    """The 1-minute load average, where the OS has one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def environment(sizes: Sizes, quick: bool) -> dict[str, Any]:
    """Where and when the figures were taken, and with which sizes."""
    return {"date": date.today().isoformat(), "python": platform.python_version(),
            "simpy": simpy.__version__, "numpy": np.__version__,
            "platform": platform.platform(), "cpus": os.cpu_count(), "quick": quick,
            "revision": git_revision(), "load_1min_start": load_average(),
            "sizes": asdict(sizes)}


def verdict(rate: float) -> str:
    """Table cell for the target check: by how much it is met or missed."""
    if rate >= TARGET:
        return f"yes (+{rate / TARGET - 1:.0%})"
    return f"NO ({rate / TARGET - 1:.0%}; needs {TARGET / rate:.2f}× faster)"


def render(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    env, model, counting, phases = (results["environment"], results["model"],
                                    results["counting"], results["phases"])
    baseline, ceiling, small = results["simpy"], results["ceiling"], results["small"]
    load = " → ".join("?" if value is None else f"{value:.2f}"
                      for value in (env["load_1min_start"], env["load_1min_end"]))
    lines = [f"racesim simulation benchmark — {env['date']}, Python {env['python']}, "
             f"SimPy {env['simpy']}, {env['cpus']} CPU(s), load {load}, "
             f"revision {env['revision']}{' (quick)' if env['quick'] else ''}",
             "",
             f"1. {results['scenario']}, memory store, one core: best of "
             f"{len(model['no_tables']['rounds'])} replication(s) "
             f"(target ≥ {TARGET:,} orders/s)",
             f"   {'run_replication':<16}{'orders':>8}{'seconds':>9}{'CPU/wall':>10}"
             f"{'orders/s':>10}{'incl. warm-up/s':>17}  meets target"]
    for key, label in (("no_tables", "tables=False"), ("tables", "tables=True")):
        row = model[key]
        lines.append(f"   {label:<16}{row['orders']:>8,}{row['seconds']:>9.2f}"
                     f"{row['cpu_s'] / row['seconds']:>10.2f}{row['orders_per_s']:>10,.0f}"
                     f"{row['accepted_incl_warmup_per_s']:>17,.0f}"
                     f"  {verdict(row['orders_per_s'])}")
    total = phases["total_s"]
    parts = ", ".join(f"{name} {phases[f'{name}_s']:.2f} s ({phases[f'{name}_s'] / total:.0%})"
                      for name in ("construct", "schedule", "event_loop", "collect"))
    loop_rate = phases["events_processed"] / phases["event_loop_s"]
    lines += [f"   phases (tables=False, {total:.2f} s): {parts}",
              f"   SimPy events: {counting['events_processed']:,} processed "
              f"({counting['events_scheduled']:,} scheduled) = "
              f"{counting['events_per_order']:.2f} per order "
              f"(+ {counting['plain_callbacks_per_order']:.2f} plain callbacks); "
              f"{counting['mean_pending']:,.0f} pending on average; "
              f"the model's event loop runs {loop_rate:,.0f} events/s",
              "",
              f"2. Bare SimPy, same process (best of {env['sizes']['rounds']} rounds of "
              f"{env['sizes']['baseline_events']:,} events, each after a model round)",
              f"   {'loop':<50}{'events/s':>12}"]
    labels = {"process_timeout": "process yielding env.timeout(1)",
              "callback_chain": "Timeout + callback, 1 pending",
              "callback_heap": f"Timeout + callback, {baseline['callback_heap']['pending']:,} "
                               "pending (as the model)"}
    for key, label in labels.items():
        lines.append(f"   {label:<50}{baseline[key]['events_per_s']:>12,.0f}")
    lines += [f"   SimPy-only ceiling: {baseline['callback_heap']['events_per_s']:,.0f} events/s "
              f"÷ {counting['events_per_order'] + counting['plain_callbacks_per_order']:.2f} "
              "events and plain callbacks/order = "
              f"{ceiling['orders_per_s']:,.0f} orders/s",
              f"   the model reaches {ceiling['fraction_no_tables']:.1%} of it "
              f"(tables=False), {ceiling['fraction_tables']:.1%} (tables=True); "
              f"median of paired rounds {ceiling['paired_median_fraction_no_tables']:.1%}, "
              f"{ceiling['paired_median_fraction_tables']:.1%}",
              "",
              f"3. Target ≥ {TARGET:,} orders/s on one core: "
              f"{verdict(model['no_tables']['orders_per_s'])} (tables=False)",
              "",
              f"4. Small scenarios, tables=False (best of {env['sizes']['small_rounds']} "
              f"rounds of {env['sizes']['small_replications']:,} replications)",
              f"   {'scenario':<20}{'replications/s':>16}{'ms/replication':>16}"
              f"{'orders/replication':>20}{'orders/s':>10}"]
    for name, row in small.items():
        lines.append(f"   {name:<20}{row['replications_per_s']:>16,.1f}"
                     f"{row['ms_per_replication']:>16.2f}{row['orders_per_replication']:>20.1f}"
                     f"{row['orders_per_s']:>10,.0f}")
    return "\n".join(lines + render_acceptance(results))


def _met(met: bool) -> str:
    return "yes" if met else "NO"


def render_acceptance(results: dict[str, Any]) -> list[str]:
    """Sections 5 and 6: the ratios to bare SimPy with their targets, and end to end."""
    figures, e2e = results["acceptance"], results["end_to_end"]
    base = figures["baseline_events_per_s"]
    orders, per_order = figures["orders_per_bare_event"], figures["events_per_order"]
    small = figures["race1_bare_events_per_replication"]
    lines = ["", f"5. Ratios to bare SimPy (process yielding env.timeout: {base:,.0f} events/s "
                 "in this run), with their targets",
             f"   {'figure':<52}{'value':>12}{'target':>14}  met",
             f"   {'high_volume orders/s ÷ bare events/s':<52}{orders['value']:>12.4f}"
             f"{'≥ ' + format(orders['target_min'], '.3f'):>14}  {_met(orders['met'])}",
             f"   {'SimPy events per order':<52}{per_order['value']:>12.2f}"
             f"{'≤ ' + format(per_order['target_max'], '.0f'):>14}  {_met(per_order['met'])}",
             f"   {'race1_double_buy replications/s ÷ bare events/s':<52}"
             f"{'1/' + format(small['value'], ',.0f'):>12}"
             f"{'≥ 1/' + format(small['target_max'], ','):>14}  {_met(small['met'])}",
             *render_budget(figures["per_order_budget"], orders["target_min"]),
             "", "6. End to end on race1_double_buy, one process (--jobs 1), same run",
             f"   {'command':<28}{'seconds':>9}{'CPU/wall':>10}{'replications':>14}"
             f"{'per s':>8}{'÷ bare events/s':>17}"]
    for name, label in (("tune", "racesim tune"),
                        ("sweep", f"racesim sweep, {SWEEP_POINTS} points")):
        row = e2e[name]
        ratio = figures[f"{name}_bare_events_per_replication"]
        lines.append(f"   {label:<28}{row['seconds']:>9.2f}{row['cpu_s'] / row['seconds']:>10.2f}"
                     f"{row['replications']:>14,}{row['replications_per_s']:>8.1f}"
                     f"{'1/' + format(ratio, ',.0f'):>17}")
    tune, sweep = (figures[f"{name}_bare_events_equivalent"] / 1e6 for name in ("tune", "sweep"))
    lines.append(f"   (the tune took as long as {tune:,.1f} million bare SimPy events, "
                 f"the sweep {sweep:,.1f} million)")
    return lines


def render_budget(budget: dict[str, Any], target: float) -> list[str]:
    """Where the high_volume target leaves the model, once the engine has had its share."""
    cut = budget["model_cut_needed"]
    rest = (f"the rest of the model ({budget['model_us_per_order']:.1f} µs/order here) would "
            f"have to fit in {budget['left_for_model_us']:.1f} µs: {cut:.1f}× less"
            if cut is not None else "nothing is left for the rest of the model")
    return [f"   at ≥ {target:.3f} an order may take {budget['us_per_order']:.1f} µs in all; "
            f"the engine's own calls (replayed",
            f"   on a fresh memory ledger) take {budget['engine_us_per_order']:.1f} µs of it "
            f"({budget['engine_share_of_budget']:.0%}):",
            f"   {rest}"]


def run(sizes: Sizes, quick: bool) -> dict[str, Any]:
    """Every measurement, in order, as one JSON-ready dictionary."""
    results: dict[str, Any] = {"environment": environment(sizes, quick),
                               "target_orders_per_s": TARGET}
    scenario = high_volume(sizes)
    results["scenario"] = (f"high_volume ({dict(sizes.high_volume_overrides)})"
                           if sizes.high_volume_overrides else "high_volume")
    seeds = np.random.SeedSequence(SEED).spawn(sizes.rounds)
    counting, recorded = count_and_record(scenario, seeds[0])
    results["counting"] = counting
    pending = max(1, round(counting["mean_pending"]))
    rng = np.random.default_rng(SEED)
    model_rounds, simpy_rounds, replay_rounds = [], [], []
    for number, seed in enumerate(seeds):  # model, bare SimPy and replay alternate: same load
        model_rounds.append(model_round(scenario, seed, number))
        simpy_rounds.append(simpy_round(sizes.baseline_events, pending, rng))
        replay_rounds.append(replay_engine(recorded))
    model = results["model"] = best_model(model_rounds)
    if counting["orders"] != model["no_tables"]["rounds"][0]["orders"]:
        raise RuntimeError("the counting run did not repeat the timed run with the same seed")
    phases = results["phases"] = time_phases(scenario, seeds[0])
    results["engine"] = engine_share(  # against the faster timed replication of that seed
        recorded, replay_rounds,
        min(model["no_tables"]["rounds"][0]["seconds"], phases["total_s"]))
    baseline = results["simpy"] = best_simpy(simpy_rounds, pending)
    per_order = counting["events_per_order"] + counting["plain_callbacks_per_order"]
    ceiling = baseline["callback_heap"]["events_per_s"] / per_order
    paired = {key: statistics.median(
        one[key]["orders_per_s"] / (bare["callback_heap"] / per_order)
        for one, bare in zip(model_rounds, simpy_rounds, strict=True))
        for key in ("no_tables", "tables")}
    results["ceiling"] = {
        "orders_per_s": ceiling,
        "fraction_no_tables": model["no_tables"]["orders_per_s"] / ceiling,
        "fraction_tables": model["tables"]["orders_per_s"] / ceiling,
        "paired_median_fraction_no_tables": paired["no_tables"],
        "paired_median_fraction_tables": paired["tables"]}
    results["small"] = {name: bench_small(name, sizes) for name in SMALL_SCENARIOS}
    results["end_to_end"] = end_to_end(sizes)
    results["acceptance"] = acceptance(results)
    results["environment"]["load_1min_end"] = load_average()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="2-hour high_volume and tiny sizes (a few seconds), for smoke tests")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    results = run(sizes, args.quick)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
