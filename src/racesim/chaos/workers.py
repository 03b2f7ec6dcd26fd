"""Who delivers a concurrent seed's rounds: K threads, or K processes, at a barrier.

Both kinds run the same loop (:func:`deliver_rounds`): before each round every worker
waits at a barrier, then each delivers its share of the round — one command, then a read
of its SKU — timed by a :class:`~racesim.chaos.recorder.Recorder`. The merged history is
the same records in the same shape whichever kind ran it, and is checked by the same
checker.

``thread`` (:class:`ThreadWorkers`): K threads in this process and a
:class:`threading.Barrier`. The engine is opened once per worker
(:func:`open_workers`); on ``memory://`` the ledgers share one store.

``process`` (:class:`ProcessWorkers`): K worker processes started once for the whole run
(they serve every seed) and a :class:`multiprocessing.Barrier`. A process shares nothing
with another but what the engine stores outside it, so only engines whose state lives
outside the process qualify: the ``ledger`` on a SQLite file or PostgreSQL (each process
opens its own :class:`~racesim.ledger.Ledger` on the seed's store, which this process
created fresh and deletes when the seed passes), ``http://`` engines (one connection per
process, one namespace), and Python factories (called once per process with the same run
id, so that the adapter can connect them to one database). ``memory://`` and
``naive_counter`` keep their state in one process's memory and are refused before any
work (:func:`refuse_unshared`).

Why *forkserver* (on POSIX; *spawn* where there is none, on Windows), never *fork*: a
child forked from this process would inherit its open database handles (a SQLite
connection or a PostgreSQL socket used from two processes corrupts both) and whatever
locks other threads held at the fork (the server thread of ``racesim serve`` in a test, a
progress bar), which then stay locked forever in the child. The fork server is a fresh,
single-threaded interpreter that holds no connection; it imports this module once
(:data:`PRELOAD`) and forks each worker from that clean state, so K workers start in
milliseconds where K spawned interpreters would each spend a second or more importing
numpy and pandas (on a loaded 2-core machine, 20 s for 8). The workers start once per run
and serve every seed; with each seed they take the caller's environment and ``sys.path``,
so a factory reads what it would read in a thread (the fork server, started by a
process's first run, would otherwise keep those it started with).

One time axis: every process reads ``time.monotonic``. On Linux that is
``CLOCK_MONOTONIC``, one clock for the whole system (seconds since boot), and so it is on
macOS (``mach_absolute_time``) and Windows (``QueryPerformanceCounter``); Python does not
promise it, so :class:`ProcessWorkers` checks it when the workers start — each worker's
reading must fall between this process's readings before and after asking — and refuses
to run where it does not.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.synchronize
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from racesim.chaos.contention import deliver_share
from racesim.chaos.engines import EngineSpec, EngineUnderTest
from racesim.chaos.history import Operation
from racesim.chaos.recorder import Recorder
from racesim.errors import RacesimError
from racesim.ledger.engine import Ledger
from racesim.webhooks.format import Webhook

__all__ = ["WORKER_KINDS", "Delivered", "ProcessWorkers", "ThreadWorkers", "Workers",
           "open_workers", "refuse_unshared", "start_workers"]

WORKER_KINDS = ("thread", "process")
"""What ``--workers`` accepts."""

START_METHOD = ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                else "spawn")
"""How worker processes start (see the module doc for why not fork)."""

PRELOAD = ["racesim.chaos.workers"]
"""What the fork server imports once, so that a worker forked from it starts at once."""

POLL_S = 0.5
"""Seconds between checks that every worker process is still alive, while waiting."""

STOP_S = 5.0
"""Seconds a worker process has to exit when the run ends, before it is terminated."""


class Barrier(Protocol):
    """What :func:`deliver_rounds` needs of a barrier (threading's or multiprocessing's)."""

    def wait(self, timeout: float | None = None) -> int: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Delivered:
    """A seed's merged history, and the engine to close — or discard, if the seed passes
    (``None`` when the workers closed all theirs)."""

    operations: list[Operation]
    keeper: EngineUnderTest | None


class Workers(Protocol):
    """K workers that deliver a seed's rounds together (:class:`ThreadWorkers`,
    :class:`ProcessWorkers`)."""

    concurrency: int

    def deliver(self, spec: EngineSpec, run_id: str,
                rounds: list[list[Webhook]]) -> Delivered: ...


def merge(operations: Iterator[Operation]) -> list[Operation]:
    """Every worker's operations in invocation order, renumbered."""
    merged = sorted(operations, key=lambda op: (op.invoked_s, op.worker, op.index))
    return [replace(op, index=i) for i, op in enumerate(merged)]


def refuse_unshared(spec: EngineSpec) -> None:
    """Refuse, before any work, an engine whose state worker processes cannot share."""
    if spec.kind == "naive_counter":
        raise RacesimError("--workers process: naive_counter keeps its state in one "
                           "process's memory; use --workers thread")
    if spec.kind == "ledger" and spec.target.startswith("memory:"):
        raise RacesimError("--workers process: a memory:// store lives in one process's "
                           "memory; use --store sqlite:///FILE or postgresql://…, or "
                           "--workers thread")
    if spec.kind == "ledger" and ":memory:" in spec.target:
        raise RacesimError(f"--workers process: {spec.target} lives in one process's "
                           "memory; use a SQLite file or PostgreSQL, or --workers thread")


# -- threads ------------------------------------------------------------------------------

def open_workers(spec: EngineSpec, run_id: str, concurrency: int) -> list[EngineUnderTest]:
    """One engine per worker thread, all over one backing state.

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


class ThreadWorkers:
    """K threads of this process; ``clock`` times their calls (``time.monotonic``)."""

    def __init__(self, concurrency: int, clock: Callable[[], float] | None = None) -> None:
        self.concurrency = concurrency
        self.clock = clock

    def deliver(self, spec: EngineSpec, run_id: str,
                rounds: list[list[Webhook]]) -> Delivered:
        """Open an engine per thread, run the rounds; the first engine is kept."""
        engines = open_workers(spec, run_id, self.concurrency)
        try:
            operations = self._drive(engines, rounds)
        except BaseException:
            engines[0].close()
            raise
        finally:
            for extra in engines[1:]:
                if extra.engine is not engines[0].engine:
                    extra.close()
        return Delivered(operations, engines[0])

    def _drive(self, engines: list[EngineUnderTest],
               rounds: list[list[Webhook]]) -> list[Operation]:
        """Run the threads through the rounds; the merged history."""
        barrier = threading.Barrier(len(engines))
        recorders = [Recorder(e, w) if self.clock is None else Recorder(e, w, self.clock)
                     for w, e in enumerate(engines)]
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                deliver_share(recorders[worker], rounds, worker, barrier.wait)
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
        return merge(op for r in recorders for op in r.operations)


# -- processes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Task:
    """One seed for one worker process: how to open its engine, and the rounds."""

    spec: EngineSpec
    run_id: str
    ledger_url: str  # the seed's store, created by the parent ("" unless spec is a ledger)
    rounds: list[list[Webhook]]
    environment: dict[str, str]  # the caller's, now: a factory reads what it would read
    path: list[str]  # in a thread (the fork server keeps those it started with)


def _adopt(task: _Task) -> None:
    """Take the caller's environment and ``sys.path`` (a factory may read either)."""
    if os.environ != task.environment:
        os.environ.clear()
        os.environ.update(task.environment)
    sys.path[:] = task.path


def _open_in_process(task: _Task) -> EngineUnderTest:
    """This process's engine for the task's seed: a ledger on the seed's store, or the
    spec's own (an HTTP connection, the factory called with the run id)."""
    if task.ledger_url:
        return EngineUnderTest(Ledger.open(task.ledger_url), task.spec.label)
    return task.spec.open(task.run_id)


def _sendable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RacesimError with its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RacesimError(f"{type(error).__name__}: {error}")
    return error


def _process_main(worker: int, tasks: Any, results: Any, barrier: Any) -> None:
    """A worker process: answer clock probes and deliver seeds until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        task = tasks.get()
        if task is None:
            return
        if task == "clock":
            results.put((worker, "clock", time.monotonic()))
            continue
        try:
            _adopt(task)
            engine = _open_in_process(task)
            try:
                recorder = Recorder(engine, worker)
                deliver_share(recorder, task.rounds, worker, barrier.wait)
            finally:
                engine.close()
            results.put((worker, "operations", recorder.operations))
        except threading.BrokenBarrierError:
            results.put((worker, "broken", None))
        except BaseException as exc:
            barrier.abort()
            results.put((worker, "error", _sendable(exc)))


class ProcessWorkers:
    """K worker processes, started once and fed one seed after another.

    Use as a context manager (or call :meth:`close`): the processes are stopped — or
    terminated, after :data:`STOP_S` — when it ends. A worker that raises aborts the
    barrier, so the others stop too, and its error is raised here; a worker that dies is
    reported with its exit code.
    """

    def __init__(self, concurrency: int) -> None:
        context: Any = multiprocessing.get_context(START_METHOD)
        if START_METHOD == "forkserver":
            context.set_forkserver_preload(PRELOAD)
        self.concurrency = concurrency
        self._barrier: multiprocessing.synchronize.Barrier = context.Barrier(concurrency)
        self._results: Any = context.Queue()
        self._tasks: list[Any] = [context.Queue() for _ in range(concurrency)]
        self._processes = [context.Process(target=_process_main, name=f"chaos-worker-{w}",
                                           args=(w, self._tasks[w], self._results,
                                                 self._barrier), daemon=True)
                           for w in range(concurrency)]
        try:
            for process in self._processes:
                process.start()
            self._check_clock()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ProcessWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_clock(self) -> None:
        """Refuse to run unless every worker reads the same monotonic clock as this one."""
        for worker, tasks in enumerate(self._tasks):
            before = time.monotonic()
            tasks.put("clock")
            answers = self._collect({worker}, "clock")
            after = time.monotonic()
            if not before <= answers[worker] <= after:
                raise RacesimError(
                    "--workers process: this platform's time.monotonic is not one clock "
                    f"for every process (worker {worker} read {answers[worker]:.6f}, "
                    f"outside {before:.6f}…{after:.6f}); use --workers thread")

    def deliver(self, spec: EngineSpec, run_id: str,
                rounds: list[list[Webhook]]) -> Delivered:
        """Open the seed's store (ledgers), hand the rounds to every process, merge."""
        keeper = spec.open(run_id) if spec.kind == "ledger" else None
        url = keeper.engine.url if keeper is not None and isinstance(keeper.engine, Ledger) \
            else ""
        try:
            for tasks in self._tasks:
                tasks.put(_Task(spec, run_id, url, rounds, dict(os.environ), list(sys.path)))
            answers = self._collect(set(range(self.concurrency)), "operations")
        except BaseException:
            if keeper is not None:
                keeper.close()
            raise
        if keeper is None and spec.kind == "http":  # the service's state, for the audit
            keeper = spec.open(run_id)
        return Delivered(merge(op for w in range(self.concurrency) for op in answers[w]),
                         keeper)

    def _collect(self, workers: set[int], expected: str) -> dict[int, Any]:
        """Each worker's answer; raises the first error a worker sent, or if one died."""
        answers: dict[int, Any] = {}
        errors: list[BaseException] = []
        pending = set(workers)
        while pending:
            try:
                worker, kind, value = self._results.get(timeout=POLL_S)
            except queue.Empty:
                self._check_alive(pending)
                continue
            pending.discard(worker)
            if kind == "error":
                errors.append(value)
            elif kind == expected:
                answers[worker] = value
        if len(answers) < len(workers):
            self._barrier.reset()  # every worker has left it: the next seed may use it
        if errors:
            raise errors[0]
        if len(answers) < len(workers):
            raise RacesimError("--workers process: a worker's barrier broke without an error")
        return answers

    def _check_alive(self, pending: set[int]) -> None:
        for worker in sorted(pending):
            process = self._processes[worker]
            if not process.is_alive():
                self._barrier.abort()
                raise RacesimError(f"--workers process: worker process {worker} died "
                                   f"(exit code {process.exitcode})")

    def close(self) -> None:
        """Stop the worker processes (terminate those that do not stop in time)."""
        self._barrier.abort()  # a worker still waiting in a round (Ctrl-C) leaves it
        for tasks, process in zip(self._tasks, self._processes, strict=True):
            if process.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    tasks.put(None)
        deadline = time.monotonic() + STOP_S
        for process in self._processes:
            if process.pid is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join()


@contextlib.contextmanager
def start_workers(kind: str, spec: EngineSpec, concurrency: int,
                  clock: Callable[[], float] | None = None) -> Iterator[Workers]:
    """The run's workers of ``kind`` (``thread`` or ``process``), stopped at the end.

    ``clock`` (threads only) times the calls instead of ``time.monotonic``.
    """
    if kind not in WORKER_KINDS:
        raise RacesimError(f"--workers must be thread or process (got {kind!r})")
    if kind == "thread":
        yield ThreadWorkers(concurrency, clock)
        return
    refuse_unshared(spec)
    if clock is not None:
        raise RacesimError("--workers process times calls by time.monotonic only")
    with ProcessWorkers(concurrency) as workers:
        yield workers
