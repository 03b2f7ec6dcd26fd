"""The record every fitted number travels in: value, 95 % interval, sample size, source.

A fit is only as useful as its caveats, so no value leaves :mod:`racesim.fit` bare: each
is an :class:`Estimate` that says which file and column it came from, how many
observations it rests on and how sure it is. Intervals for rates of events (Garwood's
exact Poisson interval, optionally widened for over-dispersion) live here too, since
demand, shares and classes all use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["CONFIDENCE", "Estimate", "garwood_interval", "garwood_intervals"]

CONFIDENCE = 0.95
"""The level of every interval the fit reports."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """One fitted value with its 95 % interval, its sample size and where it came from.

    ``method`` names the estimator (``garwood``, ``quasi-poisson``, ``wilson``,
    ``lognormal ML``, …); ``source`` the file(s) and column(s) read, in plain words.
    """

    value: float
    low: float
    high: float
    n: int
    source: str
    method: str

    def covers(self, truth: float) -> bool:
        """Whether ``truth`` lies inside the interval (ends included)."""
        return self.low <= truth <= self.high


def garwood_interval(count: int, exposure: float, *, phi: float = 1.0,
                     confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The interval for a rate ``count / exposure``: Garwood's exact Poisson interval
    (Garwood 1936) on ``count / phi`` events, scaled back by ``phi``.

    ``phi`` ≥ 1 is the variance-to-mean ratio of the count (1 for Poisson); dividing the
    count by it gives the Poisson count with the same relative spread (the quasi-Poisson
    interval), so an over-dispersed SKU gets the wider interval it needs.
    """
    if count < 0 or exposure <= 0 or phi < 1 or not 0 < confidence < 1:
        raise ValueError(f"garwood_interval: need count ≥ 0, exposure > 0, phi ≥ 1 "
                         f"(got {count}, {exposure}, {phi})")
    effective = count / phi
    tail = (1 - confidence) / 2
    low = 0.0 if effective == 0 else float(stats.chi2.ppf(tail, 2 * effective)) / 2
    high = float(stats.chi2.ppf(1 - tail, 2 * effective + 2)) / 2
    return low * phi / exposure, high * phi / exposure


def garwood_intervals(counts: np.ndarray, exposures: np.ndarray, phis: np.ndarray,
                      confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`garwood_interval` of many rates at once, one ``chi2.ppf`` call per end
    (its per-call cost is most of the work): each ``(counts[i], exposures[i], phis[i])``
    gives the same (low, high) as the scalar function does."""
    counts, exposures, phis = (np.asarray(a, dtype=float) for a in (counts, exposures, phis))
    if (counts < 0).any() or (exposures <= 0).any() or (phis < 1).any() \
            or not 0 < confidence < 1:
        raise ValueError("garwood_intervals: need counts ≥ 0, exposures > 0, phis ≥ 1")
    effective = counts / phis
    tail = (1 - confidence) / 2
    nonzero = effective != 0
    low = np.zeros(len(effective))
    if nonzero.any():
        low[nonzero] = np.asarray(stats.chi2.ppf(tail, 2 * effective[nonzero])) / 2
    high = np.asarray(stats.chi2.ppf(1 - tail, 2 * effective + 2)) / 2
    return low * phis / exposures, high * phis / exposures
