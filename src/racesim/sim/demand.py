"""Buyer arrivals: Poisson, per channel, with a 24-hour profile and flash-sale bursts.

Each channel c sells SKU k at rate ``λ_k · share_c · profile_c(hour) · bursts_c(t)``
orders per second, where ``λ_k = orders_per_day_k / 86 400`` and the profile is scaled to
mean 1. Arrivals are drawn for the whole run up front, by thinning a homogeneous Poisson
process (Lewis & Shedler 1979), from the channel's own demand stream — so every policy
simulated with the same seed faces exactly the same buyers (common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from racesim.scenario import Channel, Sku

__all__ = ["Arrivals", "channel_rate_multiplier", "draw_arrivals"]

DAY = 86_400.0


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


def draw_arrivals(channel: Channel, skus: Sequence[Sku], duration: float,
                  rng: np.random.Generator, units_rng: np.random.Generator) -> Arrivals:
    """All of ``channel``'s buyers over ``duration`` seconds for the catalog ``skus``."""
    per_day = np.array([sku.orders_per_day for sku in skus], dtype=float)
    base = per_day.sum() / DAY * channel.share  # orders per second at multiplier 1
    bound = _multiplier_bound(channel)
    empty = Arrivals(np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    if base <= 0 or duration <= 0:
        return empty
    count = rng.poisson(base * bound * duration)
    times = np.sort(rng.uniform(0.0, duration, count))
    keep = rng.uniform(0.0, bound, count) < channel_rate_multiplier(channel, times)
    times = times[keep]
    cumulative = np.cumsum(per_day / per_day.sum())
    chosen = np.minimum(np.searchsorted(cumulative, rng.uniform(0.0, 1.0, times.size),
                                        side="right"), len(skus) - 1)
    units = np.ones(times.size, dtype=np.int64)
    for k in np.unique(chosen):
        dist = getattr(skus[k], "units_per_order", None)
        if dist is None:
            continue
        rows = np.flatnonzero(chosen == k)
        units[rows] = np.maximum(1, np.asarray(dist.sample(units_rng, rows.size)).astype(np.int64))
    return Arrivals(times, chosen.astype(np.int64), units)
