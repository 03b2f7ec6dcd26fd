"""Buyer arrivals: Poisson, per channel, with a 24-hour profile and flash-sale bursts.

Each channel c sells SKU k at rate ``λ_k · share_c · profile_c(hour) · bursts_c(t)``
orders per second, where ``λ_k = orders_per_day_k / 86 400`` and the profile is scaled to
mean 1. Arrivals are drawn for the whole run up front, by thinning a homogeneous Poisson
process (Lewis & Shedler 1979), from the channel's own demand stream — so every policy
simulated with the same seed faces exactly the same buyers (common random numbers).

Over-dispersed SKUs (``demand = { kind = "gamma_poisson", dispersion = φ }``, see
:mod:`racesim.scenario.demand`) multiply that rate by G_{k,d}, one Gamma(1/φ, φ) draw per
SKU and simulated day d (days counted from t = 0, warm-up included), shared by every
channel: :func:`day_multipliers`. Given the multipliers the buyers are again Poisson, so
the same thinning applies day by day, and a day's count is negative binomial (mean μ,
variance μ + φμ²). The multipliers come from their own stream
(:data:`~racesim.sim.streams.DEMAND_DISPERSION`), by inversion of the Gamma CDF from one
uniform per SKU-day: a scenario with only Poisson SKUs never touches it (its buyers are
drawn exactly as before), and two dispersions run on the same seed see their high days
on the same days (common random numbers across dispersions too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from racesim.scenario.distributions import FixedCount
from racesim.sim.streams import DEMAND_DISPERSION, Streams

if TYPE_CHECKING:
    from racesim.scenario import Channel, Sku

__all__ = ["Arrivals", "channel_rate_multiplier", "day_multipliers", "draw_arrivals"]

DAY = 86_400.0
_BLOCK = 1024  # SKUs whose uniforms are drawn at once (bounds the memory beside the result)


@dataclass(frozen=True)
class Arrivals:
    """One channel's buyers, in time order: when, which SKU (index), how many units."""

    times: np.ndarray  # seconds, float64, sorted
    skus: np.ndarray  # index into the catalog, int64
    units: np.ndarray  # units wanted, int64 ≥ 1

    def __len__(self) -> int:
        return len(self.times)


def channel_rate_multiplier(channel: Channel, times: np.ndarray) -> np.ndarray:
    """The channel's profile × burst multiplier at each time (mean profile = 1)."""
    multiplier = np.ones_like(times, dtype=float)
    profile = getattr(channel, "profile", None)
    if profile:
        shape = np.asarray(profile, dtype=float)
        shape = shape / shape.mean()
        multiplier *= shape[((times % DAY) // 3600).astype(np.int64) % 24]
    for burst in getattr(channel, "bursts", None) or ():
        inside = (times >= burst.start) & (times < burst.start + burst.length)
        multiplier[inside] *= burst.multiplier
    return multiplier


def _multiplier_bound(channel: Channel) -> float:
    bound = 1.0
    profile = getattr(channel, "profile", None)
    if profile:
        shape = np.asarray(profile, dtype=float)
        bound = float(shape.max() / shape.mean())
    for burst in getattr(channel, "bursts", None) or ():
        bound *= max(1.0, burst.multiplier)
    return bound


def _dispersion(sku: Sku) -> float:
    return float(sku.demand.dispersion) if sku.demand is not None else 0.0


def day_multipliers(skus: Sequence[Sku], duration: float,
                    streams: Streams) -> np.ndarray | None:
    """Each SKU's demand multiplier per simulated day, shape (days, SKUs); None if all Poisson.

    Day d covers [d·86 400, (d+1)·86 400) seconds of simulated time. A ``gamma_poisson``
    SKU of dispersion φ gets G = F⁻¹(U) with F the Gamma(1/φ, scale φ) CDF (mean 1,
    variance φ); a Poisson SKU gets 1. One uniform U is drawn for every SKU-day, Poisson
    SKUs included, SKU by SKU, so changing one SKU's kind or dispersion leaves every other
    SKU's multipliers as they were.
    """
    dispersions = np.array([_dispersion(sku) for sku in skus], dtype=float)
    if not (dispersions > 0).any():
        return None
    from scipy import special  # here: a Poisson run need not load SciPy

    days = max(1, math.ceil(duration / DAY))
    rng = streams(DEMAND_DISPERSION)
    factors = np.ones((days, len(skus)))
    for first in range(0, len(skus), _BLOCK):  # the same draws as one (SKUs, days) array
        uniforms = rng.uniform(size=(min(_BLOCK, len(skus) - first), days))
        for row in np.flatnonzero(dispersions[first:first + _BLOCK] > 0):
            phi = dispersions[first + row]
            factors[:, first + row] = special.gammaincinv(1.0 / phi, uniforms[row]) * phi
    return factors


def _poisson_buyers(channel: Channel, per_day: np.ndarray, duration: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times and SKU indices of a channel's buyers when every SKU's rate is constant."""
    base = per_day.sum() / DAY * channel.share  # orders per second at multiplier 1
    bound = _multiplier_bound(channel)
    count = rng.poisson(base * bound * duration)
    times = np.sort(rng.uniform(0.0, duration, count))
    keep = rng.uniform(0.0, bound, count) < channel_rate_multiplier(channel, times)
    times = times[keep]
    cumulative = np.cumsum(per_day / per_day.sum())
    chosen = np.minimum(np.searchsorted(cumulative, rng.uniform(0.0, 1.0, times.size),
                                        side="right"), len(per_day) - 1)
    return times, chosen


def _mixed_buyers(channel: Channel, per_day: np.ndarray, factors: np.ndarray,
                  duration: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times and SKU indices when SKU k's rate on day d is multiplied by ``factors[d, k]``.

    Day by day: a homogeneous candidate process at the day's peak rate (base × Σ_k w_k
    G_{d,k} × the channel's bound), thinned by the channel's profile and bursts; each
    buyer's SKU is drawn with probabilities ∝ w_k G_{d,k} of that day.
    """
    weights = per_day / per_day.sum()
    base = per_day.sum() / DAY * channel.share
    bound = _multiplier_bound(channel)
    starts = np.arange(factors.shape[0]) * DAY
    lengths = np.clip(duration - starts, 0.0, DAY)
    day_rate = factors @ weights  # each day's rate, in units of base (mean 1)
    counts = rng.poisson(base * bound * day_rate * lengths)
    day = np.repeat(np.arange(factors.shape[0]), counts)
    times = starts[day] + rng.uniform(0.0, 1.0, day.size) * lengths[day]
    order = np.argsort(times, kind="stable")  # days stay in order: they do not overlap
    times, day = times[order], day[order]
    keep = rng.uniform(0.0, bound, times.size) < channel_rate_multiplier(channel, times)
    times, day = times[keep], day[keep]
    picks = rng.uniform(0.0, 1.0, times.size)
    chosen = np.empty(times.size, dtype=np.int64)
    edges = np.searchsorted(day, np.arange(factors.shape[0] + 1))
    for d in np.flatnonzero(np.diff(edges)):
        cumulative = np.cumsum(factors[d] * weights / day_rate[d])
        rows = slice(edges[d], edges[d + 1])
        chosen[rows] = np.minimum(np.searchsorted(cumulative, picks[rows], side="right"),
                                  len(per_day) - 1)
    return times, chosen


def _one_unit(dist: object) -> bool:
    """The distribution is always one unit, and draws nothing from its stream."""
    return isinstance(dist, FixedCount) and dist.value == 1


def draw_arrivals(channel: Channel, skus: Sequence[Sku], duration: float,
                  rng: np.random.Generator, units_rng: np.random.Generator,
                  factors: np.ndarray | None = None) -> Arrivals:
    """All of ``channel``'s buyers over ``duration`` seconds for the catalog ``skus``.

    ``factors`` are the SKUs' day multipliers (:func:`day_multipliers`), shared by every
    channel of one replication; None (every SKU Poisson) draws exactly as it always has.
    """
    per_day = np.array([sku.orders_per_day for sku in skus], dtype=float)
    empty = Arrivals(np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    if per_day.sum() / DAY * channel.share <= 0 or duration <= 0:
        return empty
    if factors is None:
        times, chosen = _poisson_buyers(channel, per_day, duration, rng)
    else:
        times, chosen = _mixed_buyers(channel, per_day, factors, duration, rng)
    units = np.ones(times.size, dtype=np.int64)
    dists = [getattr(sku, "units_per_order", None) for sku in skus]
    if all(dist is None or _one_unit(dist) for dist in dists):
        return Arrivals(times, chosen.astype(np.int64), units)  # no SKU draws its units
    for k in np.unique(chosen):
        dist = dists[k]
        if dist is None:
            continue
        rows = np.flatnonzero(chosen == k)
        units[rows] = np.maximum(1, np.asarray(dist.sample(units_rng, rows.size)).astype(np.int64))
    return Arrivals(times, chosen.astype(np.int64), units)
