"""Concurrent chaos: K workers deliver a seed's webhooks at once; the history is checked.

A sequential trace cannot catch an engine that checks, then acts, without a lock: each
delivery finishes before the next begins. Here a seed's webhooks (the same shop as
:func:`racesim.chaos.run.run_seed` draws) are cut into *rounds* of up to K deliveries;
the K workers — threads or processes (:mod:`racesim.chaos.workers`) — wait at a barrier
before each round and then deliver their share of it together, each followed by a read
of its SKU, so the round's commands and reads overlap. Every call is timed by a
:class:`~racesim.chaos.recorder.Recorder`, and the merged history is checked for
linearizability (:mod:`racesim.chaos.linearize`).

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
seed alone: the rounds are, the order workers run in is not (rerun a seed with
:func:`racesim.chaos.repeat.repeat_seed` to see how often it fails).

Seeds can be spread over job processes (``jobs``, the executor the sequential
``run_chaos --jobs`` uses); each seed's K threads stay inside one of them, and the runs
come back in seed order.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass

from racesim.chaos.contention import draw_rounds
from racesim.chaos.engines import EngineSpec
from racesim.chaos.final_state import FinalBreak, audit_final_state
from racesim.chaos.history import Operation
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Check,
    check_history,
)
from racesim.chaos.swarm import SWARM_VERSION
from racesim.chaos.witness import history_witness
from racesim.chaos.workers import Workers, open_workers, start_workers
from racesim.errors import RacesimError

__all__ = ["ConcurrentRun", "draw_rounds", "open_workers", "run_concurrent",
           "run_concurrent_runs", "run_concurrent_seed"]

MAX_CONCURRENCY = 64
"""Most workers ``--concurrency`` accepts."""


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


def run_concurrent_seed(spec: EngineSpec, seed: int, concurrency: int, *,
                        swarm_version: int = SWARM_VERSION,
                        max_states: int = DEFAULT_MAX_STATES,
                        clock: Callable[[], float] | None = None,
                        run_id: str | None = None,
                        workers: str | Workers = "thread") -> ConcurrentRun:
    """Deliver seed ``seed`` from ``concurrency`` workers and check the history.

    ``workers``: ``thread`` or ``process`` (started for this seed alone), or workers
    already running (:func:`~racesim.chaos.workers.start_workers`) to reuse across seeds;
    ``clock`` times a thread's calls instead of ``time.monotonic``. ``run_id`` names the
    run's storage (``s{seed}`` by default); repeats of one seed give each run its own, so
    runs side by side never share a store and each failing run's is kept apart.
    """
    _check_concurrency(concurrency)
    name = run_id or f"s{seed}"
    if isinstance(workers, str):
        with start_workers(workers, spec, concurrency, clock) as started:
            return _run_seed(started, spec, seed, name, swarm_version, max_states)
    if workers.concurrency != concurrency:
        raise RacesimError(f"{workers.concurrency} workers cannot run --concurrency "
                           f"{concurrency}")
    return _run_seed(workers, spec, seed, name, swarm_version, max_states)


def _check_concurrency(concurrency: int) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise RacesimError(f"--concurrency must be 1 to {MAX_CONCURRENCY} (got {concurrency})")


def _run_seed(workers: Workers, spec: EngineSpec, seed: int, run_id: str,
              swarm_version: int, max_states: int) -> ConcurrentRun:
    """One seed's rounds delivered by ``workers``, its history checked and the state it
    left audited; a passing seed's throwaway store is deleted, a failing one's kept."""
    rounds = draw_rounds(seed, workers.concurrency, swarm_version)
    delivered = workers.deliver(spec, run_id, rounds)
    operations, keeper = delivered.operations, delivered.keeper
    check = check_history(operations, max_states)
    final_state: FinalBreak | None = None
    if keeper is not None:
        try:
            final_state = audit_final_state(keeper, operations, check)
        except BaseException:
            keeper.close()
            raise
    witness = history_witness(operations, check, max_states)
    if keeper is not None:
        if final_state is not None or (check.status == NOT_LINEARIZABLE
                                       and check.failing is not None):
            keeper.close()  # kept for a look (a file-backed ledger's store stays)
        else:
            spec.discard(keeper)
    return ConcurrentRun(seed, tuple(operations), check, tuple(witness), final_state)


def _run_chunk(task: tuple[EngineSpec, list[tuple[int, str]], int, int, int],
               ) -> list[ConcurrentRun]:
    """One job process's share: each (seed, run id) from ``concurrency`` threads."""
    spec, runs, concurrency, swarm_version, max_states = task
    return [run_concurrent_seed(spec, seed, concurrency, swarm_version=swarm_version,
                                max_states=max_states, run_id=run_id)
            for seed, run_id in runs]


def run_concurrent_runs(spec: EngineSpec, runs: Sequence[tuple[int, str]], concurrency: int, *,
                        jobs: int = 1, swarm_version: int = SWARM_VERSION,
                        max_states: int = DEFAULT_MAX_STATES, stop_at_failure: bool = False,
                        progress: bool = False, workers: str = "thread") -> list[ConcurrentRun]:
    """Run each ``(seed, run id)`` concurrently; results in the order given, whatever
    ``jobs`` is.

    With one job the runs go one after another on this process (worker processes, with
    ``workers="process"``, start once for all of them). With more, they go in chunks to
    ``jobs`` local processes (:class:`LocalExecutor`, as the sequential ``run_chaos``
    does), each run's K threads inside one of them; worker processes do not combine with
    jobs (each run would start K processes of its own inside a job's). With
    ``stop_at_failure`` the results end at the first run that did not pass — not
    linearizable, undecided or a broken final state (runs already started on other
    processes finish and are dropped).
    """
    from racesim.util.progress import open_bar

    _check_concurrency(concurrency)  # before any worker starts
    if jobs > 1 and workers != "thread":
        raise RacesimError("--jobs above 1 runs each seed's workers as threads inside a job "
                           "process; with --workers process use --jobs 1")
    done: list[ConcurrentRun] = []
    delivered = _runs(spec, runs, concurrency, jobs, swarm_version, max_states,
                      stop_at_failure, workers)
    with contextlib.closing(delivered), open_bar(len(runs), desc="concurrent runs",
                                                 unit="run", leave=False,
                                                 enabled=progress) as bar:
        for run in delivered:
            bar.update(1)
            done.append(run)
            if stop_at_failure and not run.passed:
                break
    return done


def _runs(spec: EngineSpec, runs: Sequence[tuple[int, str]], concurrency: int, jobs: int,
          swarm_version: int, max_states: int, stop_at_failure: bool,
          workers: str) -> Generator[ConcurrentRun, None, None]:
    """The runs in the order given, on this process (one job) or on ``jobs`` processes."""
    from racesim.study.executors import LocalExecutor

    if jobs == 1:
        with start_workers(workers, spec, concurrency) as started:
            for seed, run_id in runs:
                yield _run_seed(started, spec, seed, run_id, swarm_version, max_states)
        return
    chunk = max(1, min(16, math.ceil(len(runs) / (4 * jobs))))
    if stop_at_failure:
        chunk = 1  # stop soon after the failure: no seed behind it in its chunk
    tasks = [(spec, list(runs[i:i + chunk]), concurrency, swarm_version, max_states)
             for i in range(0, len(runs), chunk)]
    with LocalExecutor(jobs=jobs) as executor:
        for results in executor.map(_run_chunk, tasks):
            yield from results


def run_concurrent(spec: EngineSpec, seeds: Iterable[int], concurrency: int, *,
                   jobs: int = 1, swarm_version: int = SWARM_VERSION,
                   max_states: int = DEFAULT_MAX_STATES, stop_at_failure: bool = False,
                   progress: bool = False, workers: str = "thread") -> list[ConcurrentRun]:
    """Run every seed concurrently, ordered by seed: on this process one after another
    (each seed's K workers share the cores), or spread over ``jobs`` processes
    (:func:`run_concurrent_runs`); with ``stop_at_failure``, stop after the first seed
    that did not pass. ``workers``: ``thread`` or ``process``."""
    return run_concurrent_runs(spec, [(seed, f"s{seed}") for seed in seeds], concurrency,
                               jobs=jobs, swarm_version=swarm_version, max_states=max_states,
                               stop_at_failure=stop_at_failure, progress=progress,
                               workers=workers)
