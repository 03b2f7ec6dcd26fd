"""Confidence intervals for the rates and means racesim reports, and the target verdict.

Every rate racesim prints carries an interval inside [0, 1]:

- :func:`wilson_interval` — one binomial sample (orders independent of each other): the
  Wilson score interval, the closed form :func:`scipy.stats.binomtest`'s
  ``proportion_ci`` evaluates, in its order of operations (so the same floats, without
  the test's p-value search: a replication computes several per channel and SKU)
  (Wilson 1927; Brown, Cai & DasGupta 2001, *Statistical Science* 16(2));
  :func:`wilson_intervals` is the same for arrays of counts.
- :func:`clustered_rate_interval` — a rate pooled over replications. Oversells cluster
  within a replication (one slow sync, one burst, one stock-out oversells several orders
  at once), so its orders are not independent and the Wilson interval of the pooled
  counts is too narrow. The rate is the ratio estimator ``Σ oversold / Σ orders`` over
  replications, with the linearised (delta-method) variance of that ratio, replications
  as clusters. Its interval is the widest of three, each inside [0, 1]: the Wilson
  interval of the pooled counts (the binomial floor); the Wilson interval at the
  *effective* number of orders ``n / deff`` (Kish's design effect ``deff`` = clustered ÷
  binomial variance, at least 1) with Student's t on R − 1 degrees of freedom in place of
  z (after Korn & Graubard 1998, *Survey Methodology* 24(2)); and Fieller's interval for
  the ratio (Fieller 1954, *JRSS B* 16(2)), which evaluates the variance at each
  candidate rate, so a sample without the rare bunched replication still reaches up to
  the rates such a bunch gives. It holds its nominal coverage where the pooled Wilson
  interval falls short (``tests/test_intervals.py`` measures both). With no oversells
  there is no clustering to estimate, and it is the Wilson interval.
- :func:`mean_interval` — the Student-t interval of a mean over independent replications
  (counts and amounts per replication, per month).

:func:`target_verdict` judges an oversell rate against a target the one way racesim
judges it everywhere: met when the upper end of the rate's interval is at or below it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["RateInterval", "TargetVerdict", "clustered_rate_interval", "mean_interval",
           "target_verdict", "wilson_interval", "wilson_intervals"]


def _check_confidence(name: str, confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"{name}: confidence must be in (0, 1) (got {confidence})")


_Z_95 = 1.959963984540054
"""``scipy.special.ndtri(0.975)``: the quantile of the default 95 % interval, known without
importing scipy (which a small replication's first interval would otherwise pay for)."""


@functools.lru_cache(maxsize=16)
def _two_sided_z(confidence: float) -> float:
    """The standard normal quantile of a two-sided ``confidence`` interval (scipy's ndtri)."""
    if confidence == 0.95:
        return _Z_95
    from scipy.special import ndtri

    return float(ndtri(0.5 + 0.5 * confidence))


@functools.lru_cache(maxsize=64)
def _student_quantile(probability: float, degrees: int) -> float:
    """Student's t quantile (``scipy.stats.t.ppf``'s value, from the ``scipy.special``
    function it evaluates: loading ``scipy.stats`` costs a second, which a tuner's first
    interval would pay)."""
    from scipy.special import stdtrit

    return float(stdtrit(degrees, probability))


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion ``successes / trials`` (scipy's).

    Returns (low, high), inside [0, 1]; (0.0, 1.0) when there are no trials.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"wilson_interval: need 0 <= successes <= trials "
                         f"(got {successes} of {trials})")
    _check_confidence("wilson_interval", confidence)
    if trials == 0:
        return (0.0, 1.0)
    k, n = int(successes), int(trials)
    z = _two_sided_z(confidence)
    p = k / n
    denom = 2 * (n + z**2)  # Newcombe (1998), as scipy.stats.binomtest writes it
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    low = 0.0 if k == 0 else min(max(center - delta, 0.0), 1.0)  # exact at the
    high = 1.0 if k == n else min(max(center + delta, 0.0), 1.0)  # edges
    return (low, high)


_FEW = 16
"""Up to this many pairs, :func:`wilson_intervals` evaluates :func:`wilson_interval` pair by
pair (the same floats)."""


def wilson_intervals(successes: np.ndarray, trials: np.ndarray,
                     confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wilson_interval` of each pair ``successes[i]`` of ``trials[i]``, as arrays.

    Returns (lows, highs), the same floats the scalar function gives, element by element
    ((0, 1) where there are no trials).
    """
    k = np.asarray(successes, dtype=np.int64)
    n = np.asarray(trials, dtype=np.int64)
    pairs: list[tuple[int, int]] | None = None  # few: pair by pair, as numpy's per-call
    if k.shape == n.shape and k.size <= _FEW:  # overhead would outweigh the arithmetic
        pairs = list(zip(k.ravel().tolist(), n.ravel().tolist(), strict=True))
        valid = all(0 <= one <= of for one, of in pairs)
    else:
        valid = k.shape == n.shape and not ((k < 0).any() or (k > n).any())
    if not valid:
        raise ValueError("wilson_intervals: need 0 <= successes <= trials, element by element")
    _check_confidence("wilson_intervals", confidence)
    if pairs is not None:
        bounds = np.array([wilson_interval(one, of, confidence) for one, of in pairs],
                          dtype=float).reshape(-1, 2)
        return bounds[:, 0].reshape(k.shape), bounds[:, 1].reshape(k.shape)
    z = _two_sided_z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 2 * (n + z**2)
        center = (2 * n * p + z**2) / denom
        delta = z / denom * np.sqrt(4 * n * p * (1 - p) + z**2)
    low = np.where(k == 0, 0.0, np.clip(center - delta, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(center + delta, 0.0, 1.0))
    return low, high


@dataclass(frozen=True, slots=True)
class RateInterval:
    """A rate pooled over replications with its clustered interval (fractions)."""

    rate: float
    """``Σ successes / Σ trials`` (0 without trials)."""
    low: float
    high: float
    design_effect: float
    """Clustered variance ÷ binomial variance of the pooled rate, at least 1 (1 when it
    cannot be estimated: one replication, or no successes)."""
    effective_trials: float
    """The independent trials the pooled ones are worth: ``Σ trials / design_effect``
    (orders, fractional)."""

    @property
    def interval(self) -> tuple[float, float]:
        """``(low, high)``."""
        return (self.low, self.high)


def _ratio_score_bounds(y: np.ndarray, x: np.ndarray, quantile: float) -> tuple[float, float]:
    """Fieller's interval for the ratio ``Σy / Σx``: the rates p that Student's test on the
    replications' residuals ``e_i = y_i − p x_i`` does not reject, ``(Σy − p Σx)² ≤
    q² R/(R−1) Σ(e_i − ē)²`` — the linearised variance evaluated at p itself, not at the
    estimate. Clipped to [0, 1]."""
    k, n, clusters = float(y.sum()), float(x.sum()), y.size
    dx, dy = x - x.mean(), y - y.mean()
    scale = quantile * quantile * clusters / (clusters - 1)
    a = n * n - scale * float(dx @ dx)  # (Σy − p Σx)² − scale·Σ(e − ē)² = a p² − 2 b p + c
    b = k * n - scale * float(dx @ dy)
    c = k * k - scale * float(dy @ dy)
    disc = b * b - a * c
    estimate = k / n
    if a > 0:  # the usual case: the rates between the two roots
        root = math.sqrt(max(disc, 0.0))  # ≥ 0: the estimate always passes
        low, high = (b - root) / a, (b + root) / a
    elif disc <= 0 or a == 0:  # too few replications to bound it
        low, high = 0.0, 1.0
    else:  # outside the roots: the side the estimate is on
        first, second = sorted(((b - math.sqrt(disc)) / a, (b + math.sqrt(disc)) / a))
        low, high = (0.0, first) if estimate <= first else (second, 1.0)
    return (min(max(low, 0.0), estimate), max(min(high, 1.0), estimate))


def clustered_rate_interval(successes: np.ndarray | list[int], trials: np.ndarray | list[int],
                            confidence: float = 0.95) -> RateInterval:
    """The pooled rate of several replications and its interval, replications as clusters.

    ``successes[i]`` of ``trials[i]`` in replication i (e.g. oversold of orders). See the
    module's docstring for the method. With one replication, or no successes at all,
    there is no spread to estimate clustering from: the interval is the Wilson interval
    of the pooled counts (:func:`wilson_interval`).
    """
    _check_confidence("clustered_rate_interval", confidence)
    y = np.asarray(successes, dtype=float)
    x = np.asarray(trials, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError(f"clustered_rate_interval: successes and trials must be two lists "
                         f"of the same length (got shapes {y.shape} and {x.shape})")
    if (y < 0).any() or (y > x).any():
        raise ValueError("clustered_rate_interval: need 0 <= successes <= trials in every "
                         "replication")
    k, n, clusters = int(y.sum()), int(x.sum()), y.size
    if n == 0:
        return RateInterval(0.0, 0.0, 1.0, 1.0, 0.0)
    rate = k / n
    low, high = wilson_interval(k, n, confidence)
    if clusters < 2 or k == 0 or k == n:
        return RateInterval(rate, low, high, 1.0, float(n))
    residuals = y - rate * x
    clustered = clusters / (clusters - 1) * float(residuals @ residuals) / (n * n)
    design_effect = max(clustered / (rate * (1 - rate) / n), 1.0)
    quantile = _student_quantile(0.5 + confidence / 2, clusters - 1)
    c_low, c_high = _ratio_score_bounds(y, x, quantile)
    effective = n / design_effect
    e_low, e_high = _wilson_bounds(rate, effective, quantile)
    return RateInterval(rate, min(low, c_low, e_low), max(high, c_high, e_high), design_effect,
                        effective)


def _wilson_bounds(rate: float, trials: float, z: float) -> tuple[float, float]:
    """The Wilson score bounds at a fractional number of trials (an effective sample size,
    which :func:`scipy.stats.binomtest` cannot take): the roots of
    ``(rate − p)² = z² p (1 − p) / trials``, inside [0, 1]."""
    z2n = z * z / trials
    centre = (rate + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(rate * (1 - rate) / trials + z2n / (4 * trials)) / (1 + z2n)
    return (min(max(centre - half, 0.0), 1.0), min(max(centre + half, 0.0), 1.0))


def mean_interval(values: np.ndarray | list[float],
                  confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of independent replications: (mean, low, high).

    With one value the interval is (nan, nan): one replication says nothing of spread.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(data.mean())
    if data.size == 1:
        return (mean, math.nan, math.nan)
    half = float(_student_quantile(0.5 + confidence / 2, data.size - 1) * data.std(ddof=1)
                 / math.sqrt(data.size))
    return (mean, mean - half, mean + half)


@dataclass(frozen=True, slots=True)
class TargetVerdict:
    """Whether an oversell rate meets its target, and why, in one sentence."""

    meets: bool
    reason: str


def _pct(value: float) -> str:
    return f"{100 * value:.3g} %"


def target_verdict(rate: float, high: float, oversold: int, orders: int, target: float,
                   confidence: float = 0.95) -> TargetVerdict:
    """Judge an oversell ``rate`` against ``target`` (fractions): met when the upper end
    ``high`` of its interval is at or below the target — with confidence, not on average.

    The reason names the figures: the upper end against the target; or the rate itself
    above the target (a bigger sample will not help); or a rate under the target whose
    interval still reaches above it (too few orders to tell, e.g. no oversells in 300
    orders cannot show a rate under 0.3 %); or no orders at all.
    """
    level = f"{100 * confidence:g} %"
    if orders == 0:
        return TargetVerdict(False, "no orders were placed, so there is no rate to judge")
    if high <= target:
        return TargetVerdict(True, f"the {level} interval of the oversell rate ends at "
                                   f"{_pct(high)}, at or below the target {_pct(target)}")
    if rate >= target:
        return TargetVerdict(False, f"the oversell rate {_pct(rate)} ({oversold:,} of "
                                    f"{orders:,} orders) is itself at or above the target "
                                    f"{_pct(target)}")
    seen = "no oversells" if oversold == 0 else f"{oversold:,} oversells ({_pct(rate)})"
    return TargetVerdict(False, f"{seen} in {orders:,} orders is under the target "
                                f"{_pct(target)}, but too few orders to show it with "
                                f"{level} confidence: the interval reaches {_pct(high)}")
