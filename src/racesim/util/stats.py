"""Confidence intervals for the rates racesim reports.

Every rate racesim prints carries an interval. Proportions use the Wilson score
interval (Wilson 1927; see Brown, Cai & DasGupta 2001, "Interval Estimation for a
Binomial Proportion", Statistical Science 16(2)), which stays inside [0, 1] and keeps
close to its nominal coverage for the small counts oversells usually are.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["mean_interval", "wilson_interval"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``successes / trials``.

    Returns (low, high); (0.0, 1.0) when there are no trials.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson_interval: need 0 <= successes <= trials "
                         f"(got {successes} of {trials})")
    if not 0 < confidence < 1:
        raise ValueError(f"wilson_interval: confidence must be in (0, 1) (got {confidence})")
    if trials == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the edges, where
    high = 1.0 if successes == trials else min(1.0, centre + half)  # rounding would leak
    return (low, high)


def mean_interval(values: np.ndarray | list[float],
                  confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of independent replications: (mean, low, high).

    With one value the interval is (nan, nan): one replication says nothing of spread.
    """
    from scipy import stats

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(data.mean())
    if data.size == 1:
        return (mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, data.size - 1) * data.std(ddof=1)
                 / math.sqrt(data.size))
    return (mean, mean - half, mean + half)
