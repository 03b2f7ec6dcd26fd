"""Independent parts of one computation run side by side, on a few threads.

numpy's sorts and large array loops, pandas' hash tables and pyarrow's kernels release
Python's lock while they work, so parts of a computation that share no state (two
columns coded, the fit's channel rates beside its SKU dispersion) overlap on a second
core when given a thread each. :func:`in_parallel` runs the first part on the calling
thread and the others on a small shared pool, and returns every result in the order of
the parts; the first part's exception, else the next one's, is raised after every part
has finished, so none is left running behind the caller.

The results never depend on the threads: every part computes what it would alone.
:func:`sequential` runs every part on the calling thread instead (a machine with one
core does so anyway), for comparing the two or profiling one thread. A part that itself
calls :func:`in_parallel` from a pool thread runs its parts in turn (no pool thread
waits on another, so the pool cannot deadlock).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

__all__ = ["WORKERS", "in_parallel", "sequential"]

def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


WORKERS = max(1, min(4, _cores() - 1))
"""Pool threads beside the caller's: one fewer than the cores, at most 4."""

_state = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_turns = 0
"""How many :func:`sequential` blocks are open (in any thread)."""


def _mark_worker() -> None:
    _state.worker = True


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="racesim-part",
                                       initializer=_mark_worker)
        return _pool


@contextmanager
def sequential() -> Iterator[None]:
    """Within the block, :func:`in_parallel` runs every part on the calling thread."""
    global _turns
    with _pool_lock:
        _turns += 1
    try:
        yield
    finally:
        with _pool_lock:
            _turns -= 1


def in_parallel(*parts: Callable[[], Any]) -> list[Any]:
    """Each part's result, in order: the first part on this thread, the others on the
    pool (in turn here instead inside :func:`sequential`, on a pool thread, or with one
    core). Raises the first failed part's exception once every part has finished."""
    if len(parts) < 2 or _turns or getattr(_state, "worker", False) or _cores() < 2:
        return [part() for part in parts]
    pool = _shared_pool()
    futures: list[Future[Any]] = [pool.submit(part) for part in parts[1:]]
    try:
        first = parts[0]()
    finally:
        wait(futures)  # none outlives the call, whatever failed
    return [first, *(future.result() for future in futures)]
