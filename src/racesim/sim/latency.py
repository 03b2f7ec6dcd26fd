"""Sync latency: how long each change of a published value takes to reach every listing.

A listing reflects a change made at t0 once it shows a value computed at or after t0 —
for that SKU, or for all SKUs at once in a periodic feed (a negative SKU number,
:data:`racesim.sim.sync.ALL_SKUS`). The reflections come from the sync process
(:class:`~racesim.sim.state.Reflections`, one per marketplace); a change's latency is
the time until the slowest listing reflects it.

Every channel and SKU is answered in one pass (:func:`_earliest_visible`): the
reflections sorted by (channel and SKU, time), a running minimum of their visible times
from the end of each, and one search per change and channel. Times are compared as
themselves (through exact integer ranks), so a reflection computed at the instant of a
change counts, one computed a moment before does not.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from racesim.sim.state import Reflections

__all__ = ["sync_latencies"]


def _earliest_visible(cell: np.ndarray, computed: np.ndarray, visible: np.ndarray,
                      query_cell: np.ndarray, query_at: np.ndarray) -> np.ndarray:
    """For each query (a cell ≥ 0 and a time): the earliest ``visible`` among the entries of
    its cell computed at or after that time; inf where there is none.

    ``query_at`` has one time per column and ``query_cell`` one cell per row and column
    (rows broadcast: one per channel); the answer has ``query_cell``'s shape. Every time
    is replaced by its rank among the distinct times, so that (cell, time) pairs become
    exact integer keys: the entries sorted by key, a running minimum of their visible
    keys from the end (each cell's keys lie below those of the cells after it, so the
    minimum stays inside the cell) gives, at the first entry at or after a query's key,
    the earliest visible time of its cell from then on.
    """
    size = cell.size
    if size == 0:
        return np.full(np.broadcast_shapes(query_cell.shape, query_at.shape), np.inf)
    times = np.concatenate([computed, visible, query_at])
    by_time = np.argsort(times, kind="stable")
    ordered = times[by_time]
    new = np.empty(times.size, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    rank = np.empty(times.size, dtype=np.int64)
    rank[by_time] = np.cumsum(new) - 1
    distinct = ordered[new]
    span = distinct.size
    entry_keys = cell * span + rank[:size]
    by_key = np.argsort(entry_keys, kind="stable")
    keys, cells = entry_keys[by_key], cell[by_key]
    running = np.minimum.accumulate((cells * span + rank[size:2 * size][by_key])[::-1])[::-1]
    found = np.searchsorted(keys, query_cell * span + rank[2 * size:], side="left")
    at = np.minimum(found, size - 1)
    hit = (found < size) & (cells[at] == query_cell)
    return np.where(hit, distinct[running[at] % span], np.inf)


def sync_latencies(changes: list[tuple[float, int]],
                   reflections: list[Reflections]) -> np.ndarray:
    """Seconds from each change of a published value until every listing reflects it.

    ``changes`` are (at s, SKU number); ``reflections`` one per channel. Changes some
    listing never reflected before the run ended are left out (censored).
    """
    if not changes:
        return np.empty(0)
    at, skus_changed = zip(*changes, strict=True)
    t0 = np.array(at, dtype=float)
    sku = np.fromiter(skus_changed, dtype=np.int64, count=len(skus_changed))
    channels = len(reflections)
    if channels == 0:
        return np.zeros(t0.size)
    which = _joined([r.sku for r in reflections], np.int64)
    computed = _joined([r.computed for r in reflections], np.float64)
    visible = _joined([r.visible for r in reflections], np.float64)
    channel = np.repeat(np.arange(channels, dtype=np.int64), [len(r.sku) for r in reflections])
    skus = max(int(which.max(initial=0)), int(sku.max())) + 1  # cell = channel × skus + SKU
    query_channel = np.arange(channels, dtype=np.int64)[:, np.newaxis]
    query_cell = query_channel * skus + sku
    if int(which.min(initial=0)) >= 0:
        seen = _earliest_visible(channel * skus + which, computed, visible, query_cell, t0)
    else:  # a feed's reflections count for every SKU of their channel
        whole, own = which < 0, which >= 0
        seen = np.minimum(
            _earliest_visible(channel[whole], computed[whole], visible[whole], query_channel, t0),
            _earliest_visible(channel[own] * skus + which[own], computed[own], visible[own],
                              query_cell, t0))
    worst = np.maximum((seen - t0).max(axis=0), 0.0)
    return worst[np.isfinite(worst)]


def _joined(columns: list[array[Any]], dtype: type[np.generic]) -> np.ndarray:
    """The typed buffers ``columns`` end to end, as one array of ``dtype`` (no copy per value)."""
    return np.concatenate([np.frombuffer(column, dtype=dtype) for column in columns])
