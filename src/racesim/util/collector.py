"""Pausing CPython's cyclic garbage collector around work that makes no reference cycles.

A replication allocates hundreds of thousands of small containers (per-order lists,
tuples in logs, SimPy events) that reference counting frees; none form cycles once the
simulation has broken its own (:meth:`racesim.sim.model.Simulation.run`). The cycle
collector's passes over them find nothing, yet a pass that runs while a replication's
state is alive walks all of it: with many small replications in a row (a sweep, the
tuner), those passes cost more than building the results. Pausing the collector until
the replication is freed lets reference counting undo the allocations first, so the
collector's counters fall back and it has nothing to walk.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["without_cyclic_gc"]


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector inside the block (nested blocks leave it paused), and
    restore it as it was on leaving."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
