"""Concurrent chaos: K threads deliver a seed's webhooks at once; the history is checked.

A sequential trace cannot catch an engine that checks, then acts, without a lock: each
delivery finishes before the next begins. Here a seed's webhooks (the same shop as
:func:`racesim.chaos.run.run_seed` draws) are cut into *rounds* of up to K deliveries;
the K workers wait at a :class:`threading.Barrier` before each round and then deliver
their share of it together, each followed by a read of its SKU, so the round's commands
and reads overlap. Every call is timed by a :class:`~racesim.chaos.recorder.Recorder`,
and the merged history is checked for linearizability (:mod:`racesim.chaos.linearize`).

Contention on purpose comes from named streams used only when K > 1 (so K = 1 draws
nothing new; :mod:`racesim.chaos.contention`): racing duplicate copies, bursts for a
SKU's last units, cancels racing their orders and restocks racing reservations. A
delivery the engine raised on is redelivered in the next round, as our job runner
redelivers a refused webhook. After the workers finish, the engine's final state is
audited with the sequential auditor's invariants that apply to it
(:mod:`racesim.chaos.final_state`); a broken one fails the seed however the history
checked.

Webhooks of one round carry one time (the round's), so writers that commit in another
order than the webhooks were stamped stay within the ledger's clock tolerance. Crash
points and follow-ups that depend on answers (shipments, returns) belong to the
sequential harness and are not drawn here. An interleaving is not reproducible from the
seed alone: the rounds are, the order threads run in is not (rerun a seed with
:func:`racesim.chaos.repeat.repeat_seed` to see how often it fails).

Seeds can be spread over worker processes (``jobs``, the executor the sequential
``run_chaos --jobs`` uses); each seed's K threads stay inside one process, and the runs
come back in seed order.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from racesim.chaos.contention import deliver_share, draw_rounds
from racesim.chaos.engines import EngineSpec, EngineUnderTest
from racesim.chaos.final_state import FinalBreak, audit_final_state
from racesim.chaos.history import Operation
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Check,
    check_history,
)
from racesim.chaos.recorder import Recorder
from racesim.chaos.swarm import SWARM_VERSION
from racesim.chaos.witness import history_witness
from racesim.errors import RacesimError
from racesim.ledger.engine import Ledger
from racesim.webhooks.format import Webhook

__all__ = ["ConcurrentRun", "draw_rounds", "open_workers", "run_concurrent",
           "run_concurrent_runs", "run_concurrent_seed"]

MAX_CONCURRENCY = 64
"""Most workers ``--concurrency`` accepts."""


def open_workers(spec: EngineSpec, run_id: str, concurrency: int) -> list[EngineUnderTest]:
    """One engine per worker, all over one backing state.

    ``ledger``: each worker its own :class:`Ledger` on the run's store (on ``memory://``,
    several ledgers over one shared store); ``naive_counter``: one shared counter (its
    state lives in the object); a Python factory is called once per worker with the same
    run id; ``http://``: one connection per worker to the same namespace.
    """
    first = spec.open(run_id)
    engines = [first]
    inner = first.engine
    for _ in range(concurrency - 1):
        if isinstance(inner, Ledger):
            other: Any = (Ledger(inner.store) if inner.url.startswith("memory:")
                          else Ledger.open(inner.url))
            engines.append(EngineUnderTest(other, first.label))
        elif spec.kind == "naive_counter":
            engines.append(EngineUnderTest(inner, first.label))
        else:
            engines.append(spec.open(run_id))
    return engines


@dataclass(frozen=True)
class ConcurrentRun:
    """One seed's concurrent run: its history, the verdict and, on failure, the witness.

    ``final_state``: the first invariant the engine's state after the run breaks
    (:mod:`racesim.chaos.final_state`), None when it is sound.
    """

    seed: int
    operations: tuple[Operation, ...]
    check: Check
    witness: tuple[Operation, ...]
    final_state: FinalBreak | None = None

    @property
    def passed(self) -> bool:
        """Linearizable (an undecided history is never a pass) and a sound final state."""
        return self.check.status == LINEARIZABLE and self.final_state is None


def _drive(engines: list[EngineUnderTest], rounds: list[list[Webhook]],
           clock: Callable[[], float] | None) -> list[Operation]:
    """Run the workers through the rounds; the merged history in invocation order."""
    barrier = threading.Barrier(len(engines))
    recorders = [Recorder(e, w) if clock is None else Recorder(e, w, clock)
                 for w, e in enumerate(engines)]
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        recorder = recorders[worker]
        try:
            deliver_share(recorder, rounds, worker, barrier.wait)
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w,), name=f"chaos-worker-{w}")
               for w in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    merged = sorted((op for r in recorders for op in r.operations),
                    key=lambda op: (op.invoked_s, op.worker, op.index))
    return [replace(op, index=i) for i, op in enumerate(merged)]


def run_concurrent_seed(spec: EngineSpec, seed: int, concurrency: int, *,
                        swarm_version: int = SWARM_VERSION,
                        max_states: int = DEFAULT_MAX_STATES,
                        clock: Callable[[], float] | None = None,
                        run_id: str | None = None) -> ConcurrentRun:
    """Deliver seed ``seed`` from ``concurrency`` threads and check the history.

    ``run_id`` names the run's storage (``s{seed}`` by default); repeats of one seed give
    each run its own, so runs side by side never share a store and each failing run's is
    kept apart.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise RacesimError(f"--concurrency must be 1 to {MAX_CONCURRENCY} (got {concurrency})")
    rounds = draw_rounds(seed, concurrency, swarm_version)
    engines = open_workers(spec, run_id or f"s{seed}", concurrency)
    try:
        operations = _drive(engines, rounds, clock)
    except BaseException:
        engines[0].close()
        raise
    finally:
        for extra in engines[1:]:
            if extra.engine is not engines[0].engine:
                extra.close()
    check = check_history(operations, max_states)
    try:
        final_state = audit_final_state(engines[0], operations, check)
    except BaseException:
        engines[0].close()
        raise
    witness = history_witness(operations, check, max_states)
    if final_state is not None or (check.status == NOT_LINEARIZABLE
                                   and check.failing is not None):
        engines[0].close()  # kept for a look (a file-backed ledger's store stays)
    else:
        spec.discard(engines[0])
    return ConcurrentRun(seed, tuple(operations), check, tuple(witness), final_state)


def _run_chunk(task: tuple[EngineSpec, list[tuple[int, str]], int, int, int],
               ) -> list[ConcurrentRun]:
    """One worker process's share: each (seed, run id) from ``concurrency`` threads."""
    spec, runs, concurrency, swarm_version, max_states = task
    return [run_concurrent_seed(spec, seed, concurrency, swarm_version=swarm_version,
                                max_states=max_states, run_id=run_id)
            for seed, run_id in runs]


def run_concurrent_runs(spec: EngineSpec, runs: Sequence[tuple[int, str]], concurrency: int, *,
                        jobs: int = 1, swarm_version: int = SWARM_VERSION,
                        max_states: int = DEFAULT_MAX_STATES, stop_at_failure: bool = False,
                        progress: bool = False) -> list[ConcurrentRun]:
    """Run each ``(seed, run id)`` concurrently; results in the order given, whatever
    ``jobs`` is.

    The runs go in chunks to ``jobs`` local processes (:class:`LocalExecutor`, as the
    sequential ``run_chaos`` does); each run's K threads stay inside one process, so with
    J jobs, J runs' threads share the cores at once. With ``stop_at_failure`` the results
    end at the first run that did not pass — not linearizable, or undecided (runs already
    started on other processes finish and are dropped).
    """
    from racesim.study.executors import LocalExecutor
    from racesim.util.progress import open_bar

    if not 1 <= concurrency <= MAX_CONCURRENCY:  # before any worker starts
        raise RacesimError(f"--concurrency must be 1 to {MAX_CONCURRENCY} (got {concurrency})")
    chunk = max(1, min(16, math.ceil(len(runs) / max(1, 4 * jobs))))
    if stop_at_failure:
        chunk = 1  # stop soon after the failure: no seed behind it in its chunk
    tasks = [(spec, list(runs[i:i + chunk]), concurrency, swarm_version, max_states)
             for i in range(0, len(runs), chunk)]
    done: list[ConcurrentRun] = []
    with LocalExecutor(jobs=jobs) as executor, \
            open_bar(len(runs), desc="concurrent runs", unit="run", leave=False,
                     enabled=progress) as bar:
        for results in executor.map(_run_chunk, tasks):
            bar.update(len(results))
            for run in results:
                done.append(run)
                if stop_at_failure and not run.passed:
                    return done
    return done


def run_concurrent(spec: EngineSpec, seeds: Iterable[int], concurrency: int, *,
                   jobs: int = 1, swarm_version: int = SWARM_VERSION,
                   max_states: int = DEFAULT_MAX_STATES, stop_at_failure: bool = False,
                   progress: bool = False) -> list[ConcurrentRun]:
    """Run every seed concurrently, ordered by seed: on this process one after another
    (each seed's K threads share the cores), or spread over ``jobs`` worker processes
    (:func:`run_concurrent_runs`); with ``stop_at_failure``, stop after the first seed
    that did not pass."""
    return run_concurrent_runs(spec, [(seed, f"s{seed}") for seed in seeds], concurrency,
                               jobs=jobs, swarm_version=swarm_version, max_states=max_states,
                               stop_at_failure=stop_at_failure, progress=progress)
