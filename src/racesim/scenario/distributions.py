"""Random delays (in seconds) and random counts (units per order), chosen by ``dist``.

Delays — webhook latency, listing latency, handling time, return delays::

    { dist = "fixed", value = "30s" }
    { dist = "exponential", mean = "20s" }
    { dist = "lognormal", median = "5s", p99 = "60s" }
    { dist = "uniform", low = "1s", high = "5s" }
    { dist = "empirical", samples = ["1s", 2.5, "4s"] }

Counts — whole numbers ≥ 1, e.g. units per order::

    { dist = "fixed", value = 1 }
    { dist = "empirical", values = [1, 2, 3], weights = [0.7, 0.2, 0.1] }
    { dist = "geometric", mean = 1.4 }

Every distribution offers ``mean()``, ``quantile(q)`` and ``sample(rng, size=None)``,
the last drawing from the ``numpy.random.Generator`` it is given (never a global one):
a float (an int for counts) when ``size`` is None, else a numpy array.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Any, ClassVar, Literal, overload

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from racesim.scenario.fields import (
    Duration,
    Loc,
    NonEmpty,
    NonNegative,
    PositiveDuration,
    Problem,
    Record,
    UnitsPerOrder,
    at_most,
    raise_problems,
    render_seconds,
)
from racesim.scenario.limits import MAX_EMPIRICAL, MAX_UNITS_PER_ORDER, MAX_WEIGHT
from racesim.util.units import format_duration

__all__ = [
    "Z99",
    "CountDistribution",
    "DurationDistribution",
    "EmpiricalCount",
    "EmpiricalDuration",
    "ExponentialDuration",
    "FixedCount",
    "FixedDuration",
    "GeometricCount",
    "LogNormalDuration",
    "UniformDuration",
    "delay_problems",
]

Z99 = NormalDist().inv_cdf(0.99)
"""The standard normal 99th percentile (≈ 2.326): a lognormal's p99 is median·exp(σ·Z99)."""

Size = int | tuple[int, ...] | None
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def _check_q(q: float) -> float:
    """Return ``q`` if it is a probability, else raise ValueError naming it."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile q must be in [0, 1] (got {q!r})")
    return float(q)


class _Delays(Record):
    """Base of the delay distributions: non-negative durations in seconds."""

    in_pieces: ClassVar[bool] = False
    """Drawing n delays in several calls gives the n of one call, in order (each draw
    reads the stream by itself, as numpy's exponential, lognormal and uniform do; its
    bounded integers, behind ``choice``, do not): samplers may draw in growing blocks."""

    def mean(self) -> float:
        """Expected delay in seconds."""
        raise NotImplementedError

    def quantile(self, q: float) -> float:
        """The delay (seconds) not exceeded with probability ``q`` (0 ≤ q ≤ 1)."""
        raise NotImplementedError

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        raise NotImplementedError

    def largest(self) -> tuple[Loc, float]:
        """The parameter that sets how long the delays get: (its key, seconds)."""
        raise NotImplementedError

    @overload
    def sample(self, rng: np.random.Generator, size: None = None) -> float: ...
    @overload
    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> Floats: ...
    def sample(self, rng: np.random.Generator, size: Size = None) -> float | Floats:
        """Draw delays in seconds: one float, or an array of shape ``size``."""
        drawn = self._draw(rng, size)
        if size is None:
            return float(drawn)
        return np.asarray(drawn, dtype=np.float64)


class FixedDuration(_Delays):
    """Always the same delay."""

    in_pieces: ClassVar[bool] = True

    dist: Literal["fixed"] = "fixed"
    value: Duration

    def mean(self) -> float:
        return self.value

    def quantile(self, q: float) -> float:
        _check_q(q)
        return self.value

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return self.value if size is None else np.full(size, self.value)

    def largest(self) -> tuple[Loc, float]:
        return ("value",), self.value


class ExponentialDuration(_Delays):
    """Memoryless delays with the given mean (seconds)."""

    in_pieces: ClassVar[bool] = True

    dist: Literal["exponential"] = "exponential"
    mean_: PositiveDuration = Field(alias="mean")

    def mean(self) -> float:
        return self.mean_

    def quantile(self, q: float) -> float:
        q = _check_q(q)
        return math.inf if q == 1.0 else -self.mean_ * math.log1p(-q)

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.exponential(self.mean_, size)

    def largest(self) -> tuple[Loc, float]:
        return ("mean",), self.mean_


class LogNormalDuration(_Delays):
    """Right-skewed delays given by their median and 99th percentile (seconds).

    ``sigma = ln(p99 / median) / Z99`` and ``mu = ln(median)``; p99 == median means a
    fixed delay.
    """

    in_pieces: ClassVar[bool] = True

    dist: Literal["lognormal"] = "lognormal"
    median: PositiveDuration
    p99: PositiveDuration

    @model_validator(mode="after")
    def _p99_at_least_median(self) -> LogNormalDuration:
        if self.p99 < self.median:
            got = f"{format_duration(self.p99)} < {format_duration(self.median)}"
            raise_problems("lognormal", [(("p99",), f"must be ≥ median (got {got})", self.p99)])
        return self

    @property
    def mu(self) -> float:
        """Mean of the underlying normal: ln(median)."""
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        """Standard deviation of the underlying normal: ln(p99 / median) / Z99."""
        return math.log(self.p99 / self.median) / Z99

    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2.0)

    def quantile(self, q: float) -> float:
        q = _check_q(q)
        if self.sigma == 0.0:
            return self.median
        if q in (0.0, 1.0):
            return 0.0 if q == 0.0 else math.inf
        return math.exp(self.mu + self.sigma * NormalDist().inv_cdf(q))

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.lognormal(self.mu, self.sigma, size)

    def largest(self) -> tuple[Loc, float]:
        return ("p99",), self.p99


class UniformDuration(_Delays):
    """Delays spread evenly between ``low`` and ``high`` (seconds)."""

    in_pieces: ClassVar[bool] = True

    dist: Literal["uniform"] = "uniform"
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> UniformDuration:
        if self.high < self.low:
            got = f"{format_duration(self.high)} < {format_duration(self.low)}"
            raise_problems("uniform", [(("high",), f"must be ≥ low (got {got})", self.high)])
        return self

    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def quantile(self, q: float) -> float:
        return self.low + _check_q(q) * (self.high - self.low)

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.uniform(self.low, self.high, size)

    def largest(self) -> tuple[Loc, float]:
        return ("high",), self.high


class EmpiricalDuration(_Delays):
    """Delays resampled from measured values (seconds), each equally likely."""

    dist: Literal["empirical"] = "empirical"
    samples: Annotated[tuple[Duration, ...], NonEmpty, Field(max_length=MAX_EMPIRICAL)]

    def mean(self) -> float:
        return float(np.mean(self.samples))

    def quantile(self, q: float) -> float:
        return float(np.quantile(np.asarray(self.samples), _check_q(q)))

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.choice(np.asarray(self.samples, dtype=np.float64), size)

    def largest(self) -> tuple[Loc, float]:
        index = int(np.argmax(self.samples))
        return ("samples", index), self.samples[index]


DurationDistribution = Annotated[
    FixedDuration | ExponentialDuration | LogNormalDuration | UniformDuration | EmpiricalDuration,
    Field(discriminator="dist"),
]
"""A delay distribution, chosen by its ``dist`` key."""


def delay_problems(key: str, distribution: _Delays, limit_s: float) -> list[Problem]:
    """A problem at ``key.<parameter>`` if ``distribution``'s delays reach beyond ``limit_s``.

    The parameter is the one that sets how long the delays get (a lognormal's p99, an
    exponential's mean, a uniform's high end, the largest empirical sample).
    """
    loc, seconds = distribution.largest()
    if seconds <= limit_s:
        return []
    message = f"must be ≤ {render_seconds(limit_s)} (got {render_seconds(seconds)})"
    return [((key, *loc), message, seconds)]


class _Counts(Record):
    """Base of the count distributions: whole numbers ≥ 1."""

    def mean(self) -> float:
        """Expected count."""
        raise NotImplementedError

    def quantile(self, q: float) -> int:
        """The smallest count ``k`` with P(X ≤ k) ≥ q."""
        raise NotImplementedError

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        raise NotImplementedError

    @overload
    def sample(self, rng: np.random.Generator, size: None = None) -> int: ...
    @overload
    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> Ints: ...
    def sample(self, rng: np.random.Generator, size: Size = None) -> int | Ints:
        """Draw counts: one int, or an int64 array of shape ``size``."""
        drawn = self._draw(rng, size)
        if size is None:
            return int(drawn)
        return np.asarray(drawn, dtype=np.int64)


class FixedCount(_Counts):
    """Always the same count."""

    dist: Literal["fixed"] = "fixed"
    value: UnitsPerOrder

    def mean(self) -> float:
        return float(self.value)

    def quantile(self, q: float) -> int:
        _check_q(q)
        return self.value

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return self.value if size is None else np.full(size, self.value, dtype=np.int64)


class EmpiricalCount(_Counts):
    """Counts taken from ``values`` with probabilities ∝ ``weights`` (equal if omitted)."""

    dist: Literal["empirical"] = "empirical"
    values: Annotated[tuple[UnitsPerOrder, ...], NonEmpty, Field(max_length=MAX_EMPIRICAL)]
    weights: Annotated[tuple[Annotated[NonNegative, at_most(MAX_WEIGHT)], ...],
                       Field(max_length=MAX_EMPIRICAL)] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> EmpiricalCount:
        problems: list[Problem] = []
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                got = f"{len(self.weights)} weights for {len(self.values)} values"
                problems.append((("weights",), f"need one weight per value (got {got})", None))
            elif sum(self.weights) <= 0:
                problems.append((("weights",), "must not all be zero", self.weights))
        raise_problems("empirical", problems)
        return self

    def probabilities(self) -> Floats:
        """The probability of each entry of ``values`` (sums to 1)."""
        weights = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return np.asarray(weights / weights.sum(), dtype=np.float64)

    def mean(self) -> float:
        return float(np.dot(self.values, self.probabilities()))

    def quantile(self, q: float) -> int:
        q = _check_q(q)
        order = np.argsort(self.values, kind="stable")
        values = np.asarray(self.values)[order]
        cumulative = np.cumsum(self.probabilities()[order])
        index = int(np.searchsorted(cumulative, q - 1e-12, side="left"))
        return int(values[min(index, len(values) - 1)])

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.choice(np.asarray(self.values, dtype=np.int64), size, p=self.probabilities())


class GeometricCount(_Counts):
    """Counts 1, 2, 3, … with P(k) = p(1 − p)^(k−1), p = 1/mean; mean 1 means always 1."""

    dist: Literal["geometric"] = "geometric"
    mean_: Annotated[NonNegative, Field(ge=1), at_most(MAX_UNITS_PER_ORDER)] = Field(alias="mean")

    @property
    def p(self) -> float:
        """Success probability: 1 / mean."""
        return 1.0 / self.mean_

    def mean(self) -> float:
        return self.mean_

    def quantile(self, q: float) -> int:
        q = _check_q(q)
        if self.p >= 1.0 or q == 0.0:
            return 1
        if q == 1.0:
            raise ValueError("the geometric distribution has no finite quantile at q = 1")
        return max(1, math.ceil(math.log1p(-q) / math.log1p(-self.p) - 1e-9))

    def _draw(self, rng: np.random.Generator, size: Size) -> Any:
        return rng.geometric(self.p, size)


CountDistribution = Annotated[
    FixedCount | EmpiricalCount | GeometricCount,
    Field(discriminator="dist"),
]
"""A distribution of whole numbers ≥ 1, chosen by its ``dist`` key."""
