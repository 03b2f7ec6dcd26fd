"""Where replications run: in this process, on local worker processes, or on Dask.

An executor maps a pure task function over a list of task arguments and yields the
results **in the order of the arguments**, whatever worker ran each one and whenever it
finished. A task carries everything it needs — the scenario, the replication's
``SeedSequence``, its index, the overrides of a sweep point — and never looks at which
worker runs it, so a run gives the same numbers on one process, on two, or on a Dask
cluster::

    from racesim.study.executors import DaskExecutor, LocalExecutor

    with LocalExecutor(jobs=2) as executor:
        squares = list(executor.map(pow2, [1, 2, 3]))    # [1, 4, 9]

    with DaskExecutor(workers=2) as executor:              # a LocalCluster it starts
        ...
    with DaskExecutor(scheduler="tcp://10.0.0.5:8786") as executor:   # an existing one
        ...

Task functions and their arguments must be picklable (module-level functions, frozen
records): worker processes receive them by pickle, Dask workers by cloudpickle. On a
remote Dask cluster every worker needs the same version of racesim installed.

Leaving a ``with`` block by an exception — Ctrl-C included — stops the local worker
processes at once rather than letting them finish their tasks: they ignore SIGINT (the
terminal sends it to the whole process group; the parent decides) and are terminated by
the parent, so an interrupted ``racesim run --jobs 2`` leaves no process behind.

Dask is optional: ``pip install 'racesim[dask]'``.
"""

from __future__ import annotations

import logging
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any, Self, TypeVar

from racesim.errors import RacesimError

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "LocalExecutor",
    "make_executor",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_KINDS = ("local", "dask")
"""The names :func:`make_executor` (and ``racesim sweep --executor``) accepts."""


class ExecutorError(RacesimError, RuntimeError):
    """An executor cannot run: a missing optional package, an unreachable scheduler, …"""


class Executor(ABC):
    """Maps a pure function over task arguments; results come back in argument order.

    Use it as a context manager (or call :meth:`close`) to release worker processes.
    """

    @abstractmethod
    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``function(item)`` for each item, yielded in the order of ``items``.

        Results are yielded as soon as every earlier one is ready, so a progress bar
        over the iterator advances while the work runs. A task's exception is raised
        here, when its result is reached.
        """

    @abstractmethod
    def describe(self) -> dict[str, object]:
        """What ran the work, JSON-ready (for manifests): kind and worker count."""

    def start(self) -> Self:
        """Start workers or connect now rather than at the first :meth:`map`; idempotent."""
        return self

    def close(self) -> None:  # noqa: B027 — most executors hold nothing to release
        """Release workers this executor started; it may not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs tasks in this process (``jobs=1``) or on ``jobs`` local worker processes.

    The process pool is started on the first :meth:`map` with more than one task and
    reused until :meth:`close`; leaving a ``with`` block by an exception calls
    :meth:`terminate` instead.
    """

    def __init__(self, jobs: int = 1) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"LocalExecutor: jobs must be a whole number ≥ 1 (got {jobs!r})")
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Results of ``function`` over ``items``, in item order (see :class:`Executor`)."""
        work = list(items)
        if self.jobs == 1 or len(work) <= 1:
            return map(function, work)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs,
                                             initializer=_leave_signals_to_the_parent)
        # Small chunks keep both workers busy to the end when task times differ (a
        # buffer of 0 simulates more orders than a buffer of 10); a few per chunk save
        # round trips when there are thousands of short tasks.
        chunksize = max(1, min(8, len(work) // (self.jobs * 16)))
        return self._pool.map(function, work, chunksize=chunksize)

    def describe(self) -> dict[str, object]:
        """``{"kind": "local", "jobs": J}``."""
        return {"kind": "local", "jobs": self.jobs}

    def close(self) -> None:
        """Shut the worker processes down (waiting for running tasks)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self) -> None:
        """Stop the worker processes now, abandoning queued and running tasks.

        For an interrupt or an error: nothing is waited for but the processes' exit
        (SIGTERM, then SIGKILL after :data:`TERMINATE_GRACE` seconds).
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The pool's own process table (Python 3.14 wraps the same in terminate_workers()).
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(TERMINATE_GRACE)
            if process.is_alive():
                process.kill()
                process.join()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error is None:
            self.close()
        else:
            self.terminate()

    def __repr__(self) -> str:
        return f"LocalExecutor(jobs={self.jobs})"


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster: an existing scheduler, or a LocalCluster it starts.

    ``scheduler`` is an address such as ``"tcp://10.0.0.5:8786"``; without one, a
    ``LocalCluster`` of ``workers`` single-threaded worker processes is started on first
    use (or by :meth:`start`) and closed by :meth:`close`. A cluster given by address is
    only disconnected from, never shut down. ``connect_timeout`` is in seconds. Starting
    also imports racesim on every worker and checks it is this process's version.
    """

    def __init__(self, scheduler: str | None = None, workers: int = 2, *,
                 connect_timeout: float = 10.0) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"DaskExecutor: workers must be a whole number ≥ 1 "
                             f"(got {workers!r})")
        if scheduler is not None and not scheduler.strip():
            raise ValueError("DaskExecutor: scheduler address is empty")
        _import_distributed()  # fail now, with the install hint, not at the first map
        self.scheduler = scheduler
        self.workers = workers
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._cluster: Any = None

    def start(self) -> Self:
        """Connect to the scheduler, or start the LocalCluster, now (idempotent)."""
        if self._client is not None:
            return self
        distributed = _import_distributed()
        if self.scheduler is not None:
            try:
                self._client = distributed.Client(self.scheduler, timeout=self.connect_timeout,
                                                  set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler} "
                                    f"within {self.connect_timeout:g} s ({error})") from None
        else:
            import dask

            # The workers' statistical profiler samples every thread's stack each 10 ms,
            # costing a pure-Python simulation about a tenth of its speed: off.
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR)
            try:
                self._client = distributed.Client(self._cluster, set_as_default=False)
            except BaseException:
                self._cluster.close()
                self._cluster = None
                raise
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise
        return self

    def _check_workers(self) -> None:
        """Import racesim on every worker now, and refuse workers on another version.

        The import (pandas, SciPy, SimPy: a second or two) then counts as start-up rather
        than as the first tasks' time, and a worker that could give other numbers fails
        here, with its address, not halfway through a sweep.
        """
        try:
            self._client.wait_for_workers(1, timeout=self.connect_timeout)
        except TimeoutError:
            raise ExecutorError(f"the Dask scheduler at {self.scheduler} has no workers "
                                f"(waited {self.connect_timeout:g} s)") from None
        try:
            found: dict[str, str] = self._client.run(_racesim_version)
        except Exception as error:
            raise ExecutorError(f"Dask workers cannot run racesim tasks "
                                f"({type(error).__name__}: {error}); install the same "
                                f"racesim on every worker") from None
        mine = _racesim_version()
        other = {address: found_version for address, found_version in found.items()
                 if found_version != mine}
        if other:
            listed = ", ".join(f"{address} has {v}" for address, v in sorted(other.items()))
            raise ExecutorError(f"Dask workers run another racesim than this process "
                                f"({mine}): {listed}")

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Results of ``function`` over ``items``, in item order (see :class:`Executor`)."""
        work = list(items)
        if not work:
            return iter(())
        self.start()
        # pure=False: every task gets its own key, so equal arguments are never merged
        # and nothing depends on how Dask would hash a scenario.
        futures = self._client.map(function, work, pure=False)
        return _in_order(futures)

    def describe(self) -> dict[str, object]:
        """Kind, scheduler address (None for a LocalCluster) and worker count."""
        workers = self.workers
        if self._client is not None and self.scheduler is not None:
            workers = len(self._client.scheduler_info().get("workers", {}))
        return {"kind": "dask", "scheduler": self.scheduler, "workers": workers}

    def close(self) -> None:
        """Disconnect; shut the LocalCluster down if this executor started it."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __repr__(self) -> str:
        where = self.scheduler or f"LocalCluster({self.workers} workers)"
        return f"DaskExecutor({where})"


TERMINATE_GRACE = 5.0
"""Seconds a terminated worker process gets to exit before it is killed."""


def _leave_signals_to_the_parent() -> None:
    """Worker start-up: ignore SIGINT and die at once on SIGTERM.

    Ctrl-C reaches every process of the terminal's group; the parent handles it and
    terminates the workers, which could otherwise print tracebacks of their own.
    SIGTERM gets its default action back, in case the parent had installed its own
    handler before the fork.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _racesim_version() -> str:
    """racesim's version, after importing the model every replication task runs.

    The simulation (pandas, SciPy, SimPy), not the study modules that hand out tasks:
    those import this module, and a worker unpickles them with its first task anyway.
    """
    import racesim.sim.model  # noqa: F401 — the import is the point: warm the worker up
    from racesim import __version__

    return __version__


def _in_order(futures: list[Any]) -> Iterator[Any]:
    """Each future's result in submission order; pending ones are cancelled on early exit."""
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            if not future.done():
                future.cancel()


def _import_distributed() -> Any:
    """``dask.distributed``, or an :class:`ExecutorError` saying how to install it."""
    try:
        import dask.distributed as distributed
    except ImportError as error:
        raise ExecutorError(f"the Dask executor needs dask.distributed, which is not "
                            f"installed ({error}): install racesim[dask], e.g. "
                            f"pip install 'racesim[dask]'") from None
    return distributed


def make_executor(kind: str = "local", *, jobs: int = 1,
                  scheduler: str | None = None) -> Executor:
    """An executor by name: ``"local"`` (``jobs`` processes) or ``"dask"``.

    For Dask, ``scheduler`` is the address of an existing cluster; without it a
    LocalCluster of ``jobs`` workers is started. A scheduler with ``kind="local"`` is
    refused rather than ignored.
    """
    if kind == "local":
        if scheduler is not None:
            raise ExecutorError(f"a scheduler address ({scheduler}) needs the dask executor, "
                                "not local")
        return LocalExecutor(jobs)
    if kind == "dask":
        return DaskExecutor(scheduler, workers=jobs)
    raise ExecutorError(f"unknown executor {kind!r}: expected one of "
                        + ", ".join(repr(k) for k in EXECUTOR_KINDS))
