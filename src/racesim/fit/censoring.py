"""Censored demand: a SKU out of stock sells nothing, so its sales understate its demand.

Time the SKU could not sell is left out of its exposure, and how much is recorded:

- **From the stock list** (``on_hand`` at the window's start, ``restock_qty`` every
  ``restock_every``): replaying the units sold against it, the SKU is out of stock from
  the sale that took its last unit to the next restock.
- **From the sales pattern** (no stock list, or a SKU it does not name): a gap between
  orders so long that the SKU's fitted demand makes it implausible — survival below
  :data:`GAP_P` / gaps (a Bonferroni bound: a SKU with steady supply is found out of
  stock with probability ≈ 0.001 however many orders it has) under NB2 with the SKU's
  rate and dispersion, measured in demand time
  (:class:`~racesim.fit.exposure.DemandClock`, so nights and quiet weekdays count for
  less) — is a stock-out. The stock ran out at the sale opening the gap; the wait after
  the restock until the next order is in-stock time (one mean inter-order time, by the
  memorylessness of Poisson arrivals), so that much of the gap is kept. The rate is
  refitted on the remaining time and the gaps judged again (three rounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from racesim.fit.exposure import DAY_S, DemandClock, Window
from racesim.fit.segments import segment_sums

__all__ = ["GAP_P", "Censoring", "day_weights", "from_sales_pattern", "from_stock_list",
           "may_run_out", "sales_pattern_censorings"]

GAP_P = 1e-3
"""A gap between orders less likely than this (divided by the SKU's gaps) is a stock-out."""


@dataclass(frozen=True, slots=True)
class Censoring:
    """The time a SKU was taken to be out of stock and left out of its exposure.

    ``intervals`` are (start, end) in epoch seconds; ``excluded_days`` their calendar
    length, ``excluded_demand_days`` their length in demand time; ``method`` says how
    they were found (``stock list``, ``sales pattern``).
    """

    method: str
    intervals: tuple[tuple[float, float], ...]
    excluded_days: float
    excluded_demand_days: float


def _record(method: str, intervals: list[tuple[float, float]], clock: DemandClock
            ) -> Censoring:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    calendar = sum(b - a for a, b in merged) / DAY_S
    demand = float(sum(np.diff(clock(np.array([a, b])))[0] for a, b in merged))
    return Censoring(method, tuple(merged), calendar, demand)


def from_stock_list(placed_s: np.ndarray, units: np.ndarray, on_hand: int,
                    restock_every_s: float, restock_qty: float, window: Window,
                    clock: DemandClock) -> Censoring:
    """Stock-outs from replaying sales (sorted by time) against the stock list's stock."""
    restocks = np.zeros(len(placed_s))
    periodic = np.isfinite(restock_every_s) and restock_every_s > 0
    if periodic:
        restocks = np.floor((placed_s - window.start) / restock_every_s) * restock_qty
    level = on_hand + restocks - np.cumsum(units)
    intervals: list[tuple[float, float]] = []
    for i in np.flatnonzero(level <= 0):
        if periodic:
            cycle = np.floor((placed_s[i] - window.start) / restock_every_s) + 1
            end = min(window.end, window.start + cycle * restock_every_s)
        else:
            end = window.end
        intervals.append((float(placed_s[i]), float(end)))
    return _record("stock list", intervals, clock)


def from_sales_pattern(placed_s: np.ndarray, window: Window, clock: DemandClock,
                       dispersion: float) -> Censoring:
    """Stock-outs inferred from implausibly long gaps between a SKU's orders (sorted)."""
    return sales_pattern_censorings(placed_s, np.array([len(placed_s)]), window, clock,
                                    np.array([dispersion]))[0]


def day_weights(window: Window, clock: DemandClock, censoring: Censoring | None
                ) -> np.ndarray:
    """Each day bin's demand-days at risk: inside the window and not out of stock."""
    weights = clock.day_weights(window)
    if censoring is None:
        return weights
    edges = window.first_day + DAY_S * np.arange(window.day_count + 1)
    for start, end in censoring.intervals:
        weights = weights - np.diff(clock(np.clip(edges, start, end)))
    return np.maximum(weights, 0.0)


def sales_pattern_censorings(placed_s: np.ndarray, counts: np.ndarray, window: Window,
                             clock: DemandClock, dispersion: np.ndarray) -> list[Censoring]:
    """:func:`from_sales_pattern` for many SKUs at once: ``placed_s`` holds each SKU's
    order times (sorted) one SKU after another, ``counts[i]`` of SKU i, whose dispersion
    is ``dispersion[i]``; one :class:`Censoring` per SKU, the same as one call each.

    A SKU whose longest gap is plausible at its plain rate has no stock-out (the first
    round finds none, so neither do the others): only the rest are searched gap by gap.
    """
    counts = np.asarray(counts, dtype=np.int64)
    dispersion = np.asarray(dispersion, dtype=float)
    maybe = _may_run_out(placed_s, counts, window, clock, dispersion)
    out = [Censoring("sales pattern", (), 0.0, 0.0)] * len(counts)
    if maybe.any():
        found = _searched(placed_s[np.repeat(maybe, counts)], counts[maybe], window, clock,
                          dispersion[maybe])
        for i, censoring in zip(np.flatnonzero(maybe), found, strict=True):
            out[i] = censoring
    return out


def may_run_out(placed_s: np.ndarray, counts: np.ndarray, window: Window,
                clock: DemandClock) -> np.ndarray:
    """Which SKUs (laid out as for :func:`sales_pattern_censorings`) the sales pattern
    could find out of stock at any dispersion: a gap is least plausible under Poisson
    (d = 0), so a SKU that passes then passes at every d, and needs no d at all."""
    counts = np.asarray(counts, dtype=np.int64)
    return _may_run_out(placed_s, counts, window, clock, np.zeros(len(counts)))


def _may_run_out(placed_s: np.ndarray, counts: np.ndarray, window: Window,
                 clock: DemandClock, dispersion: np.ndarray) -> np.ndarray:
    """Which SKUs have a gap that the first round of the search could call a stock-out
    (with a margin: the survival falls as the gap grows, so the longest gap decides)."""
    has = counts > 0
    if not has.any():
        return has
    bounds = np.concatenate([[0], np.cumsum(counts)])
    start, end = clock(np.array([window.start, window.end]))
    rate = counts / np.maximum(end - start, 1e-9)
    limit = np.log(GAP_P / (counts + 1))
    # first in calendar time: no gap is longer in demand-days than in days × the busiest
    # hour's weight, so a SKU whose longest gap passes even so needs no clock at all
    days = _longest(placed_s, bounds, has, window.start, window.end) / DAY_S
    bound = days * float(clock.weights.max()) * (1 + 1e-9)
    has &= _log_survival(bound, rate, dispersion) < limit + 1e-6 * np.abs(limit)
    if not has.any():
        return has
    tau = clock(placed_s)
    longest = _longest(tau, bounds, has, start, end)
    return has & (_log_survival(longest, rate, dispersion) < limit + 1e-6 * np.abs(limit))


def _longest(times: np.ndarray, bounds: np.ndarray, has: np.ndarray, start: float,
             end: float) -> np.ndarray:
    """Each SKU's longest gap (0 for a SKU without ``has``): from ``start`` to its first
    time, between its times (SKU i's are ``times[bounds[i]:bounds[i + 1]]``), from its
    last to ``end``."""
    inner = np.append(np.diff(times), -np.inf)
    inner[bounds[1:][has] - 1] = -np.inf  # from one SKU's last order to the next's first
    longest = np.zeros(len(has))
    if has.any():
        longest[has] = np.maximum(np.maximum.reduceat(inner, bounds[:-1][has]), np.maximum(
            times[bounds[:-1][has]] - start, end - times[bounds[1:][has] - 1]))
    return longest


def _searched(placed_s: np.ndarray, counts: np.ndarray, window: Window,
              clock: DemandClock, dispersion: np.ndarray) -> list[Censoring]:
    """The gap-by-gap search of :func:`sales_pattern_censorings` (see the module doc)."""
    skus = len(counts)
    gaps_per = counts + 1
    # each SKU's edges: the window's start, its orders, the window's end
    first = np.concatenate([[0], np.cumsum(counts + 2)[:-1]]).astype(np.int64)
    inner = np.ones(int((counts + 2).sum()), dtype=bool)
    inner[first] = inner[first + counts + 1] = False
    edges = np.empty(len(inner))
    edges[first], edges[first + counts + 1] = window.start, window.end
    edges[inner] = placed_s
    tau = clock(edges)
    keep = np.ones(len(edges) - 1, dtype=bool)
    keep[(first + counts + 1)[:-1]] = False  # the step from one SKU's end to the next
    gaps = np.diff(tau)[keep]
    starts = edges[:-1][keep]
    ends = edges[1:][keep]
    owner = np.repeat(np.arange(skus), gaps_per)
    total = (tau[first + counts + 1] - tau[first])[owner]
    last = np.zeros(len(gaps), dtype=bool)
    last[np.cumsum(gaps_per) - 1] = True
    censored = np.zeros(len(gaps), dtype=bool)
    kept = np.zeros(len(gaps))
    n = counts[owner].astype(float)
    d = np.asarray(dispersion, dtype=float)[owner]
    limit = np.log(GAP_P / gaps_per)[owner]
    for _ in range(3):
        excluded = segment_sums((gaps - kept)[censored], np.bincount(
            owner[censored], minlength=skus))[owner]
        rate = n / np.maximum(total - excluded, 1e-9)
        was, held = censored, kept[censored]
        censored = _log_survival(gaps, rate, d) < limit
        kept = np.minimum(np.where(last, 0.0, 1.0 / np.maximum(rate, 1e-9)), gaps)
        if np.array_equal(was, censored) and np.array_equal(held, kept[censored]):
            break  # the next round's rates, hence everything, would be the same
    censored &= n > 0
    out = [Censoring("sales pattern", (), 0.0, 0.0)] * skus
    for i in np.unique(owner[censored]):
        j = np.flatnonzero(censored & (owner == i))
        wait_s = kept[j] * DAY_S  # close enough: one inter-order time, in calendar time
        out[i] = _record("sales pattern", [
            (float(a), float(max(a, b - w))) for a, b, w in
            zip(starts[j], ends[j], wait_s, strict=True)], clock)
    return out


def _log_survival(gap: np.ndarray, rate: np.ndarray, d: np.ndarray) -> np.ndarray:
    """log P(no order for ``gap`` demand-days): NB2 within a day, days independent (a
    rate and a ``d`` per gap)."""
    poisson = d <= 1e-9
    out = np.empty(len(gap))
    out[poisson] = -rate[poisson] * gap[poisson]
    nb = ~poisson
    within, days, spread = np.minimum(gap[nb], 1.0), np.maximum(gap[nb], 1.0), d[nb]
    out[nb] = -days * np.log1p(spread * rate[nb] * within) / spread
    return out
