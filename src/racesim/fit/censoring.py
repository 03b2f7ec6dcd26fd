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

__all__ = ["GAP_P", "Censoring", "day_weights", "from_sales_pattern", "from_stock_list"]

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


def _log_survival(gap: np.ndarray, rate: float, d: float) -> np.ndarray:
    """log P(no order for ``gap`` demand-days): NB2 within a day, days independent."""
    if d <= 1e-9:
        return -rate * gap
    within = np.minimum(gap, 1.0)
    days = np.maximum(gap, 1.0)
    return -days * np.log1p(d * rate * within) / d


def from_sales_pattern(placed_s: np.ndarray, window: Window, clock: DemandClock,
                       dispersion: float) -> Censoring:
    """Stock-outs inferred from implausibly long gaps between a SKU's orders (sorted)."""
    edges = np.concatenate([[window.start], placed_s, [window.end]])
    tau = clock(edges)
    gaps = np.diff(tau)
    total = tau[-1] - tau[0]
    n = len(placed_s)
    censored = np.zeros(len(gaps), dtype=bool)
    kept = np.zeros(len(gaps))
    for _ in range(3):
        rate = n / max(total - float((gaps - kept)[censored].sum()), 1e-9)
        censored = _log_survival(gaps, rate, dispersion) < np.log(GAP_P / len(gaps))
        kept = np.where(np.arange(len(gaps)) < len(gaps) - 1, 1.0 / max(rate, 1e-9), 0.0)
        kept = np.minimum(kept, gaps)
    if n == 0:
        censored[:] = False
    intervals = []
    for j in np.flatnonzero(censored):
        wait_s = kept[j] * DAY_S  # close enough: one inter-order time, in calendar time
        intervals.append((float(edges[j]), float(max(edges[j], edges[j + 1] - wait_s))))
    return _record("sales pattern", intervals, clock)


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
