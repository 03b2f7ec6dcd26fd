"""Buffer policies: how many units of a SKU to hide from the marketplaces.

The seller publishes ``max(available − buffer, 0)`` to every marketplace. A policy is any
callable ``policy(sku, available, now) -> units`` (units ≥ 0, whole), so analysts can try
their own in a notebook; the classes here are the named policies scenario files can ask
for. ``available`` is the ledger's available count for the SKU; ``now`` is seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BufferPolicy", "FixedBuffer", "PercentBuffer", "policy_from_config", "published"]


class BufferPolicy(Protocol):
    """How many units to withhold from the listings of ``sku`` at time ``now`` (seconds)."""

    def __call__(self, sku: str, available: int, now: float) -> int: ...


@dataclass(frozen=True, slots=True)
class FixedBuffer:
    """Hide the same number of units of every SKU: ``buffer = units``."""

    units: int

    def __post_init__(self) -> None:
        if self.units < 0:
            raise ValueError(f"FixedBuffer: units must be ≥ 0 (got {self.units})")

    def __call__(self, sku: str, available: int, now: float) -> int:
        return self.units


@dataclass(frozen=True, slots=True)
class PercentBuffer:
    """Hide a share of the available stock.

    ``buffer = max(min_units, ⌈percent/100 · available⌉)``.
    """

    percent: float
    min_units: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError(f"PercentBuffer: percent must be in [0, 100] (got {self.percent})")
        if self.min_units < 0:
            raise ValueError(f"PercentBuffer: min_units must be ≥ 0 (got {self.min_units})")

    def __call__(self, sku: str, available: int, now: float) -> int:
        share = math.ceil(self.percent / 100 * max(available, 0) - 1e-9)
        return max(self.min_units, share)


def published(available: int, buffer: int) -> int:
    """The quantity listed on the marketplaces: ``max(available − buffer, 0)``."""
    value = available - buffer
    return value if value > 0 else 0


def policy_from_config(config: object) -> Callable[[str, int, float], int]:
    """The policy a scenario's ``[buffer]`` table describes."""
    name = getattr(config, "policy", None)
    if name == "fixed":
        return FixedBuffer(config.units)  # type: ignore[attr-defined]
    if name == "percent":
        return PercentBuffer(config.percent, config.min_units)  # type: ignore[attr-defined]
    raise ValueError(f"unknown buffer policy {name!r}")
