"""How many units are hidden from the marketplaces, chosen by ``policy``.

::

    [buffer]
    policy = "fixed"        # hide a constant number of units per SKU
    units = 2

    [buffer]
    policy = "percent"      # hide a share of available stock, but at least min_units
    percent = 10
    min_units = 1

    [buffer]
    policy = "seed_formula" # max(min_units, percent % of available,
    min_units = 5           #     expected sales in latency_multiple × P99 sync latency)
    percent = 5
    latency_multiple = 2

    [buffer]
    policy = "poisson_quantile"  # smallest b with P(other channels' demand in the
    epsilon = 0.003              # exposure window > b) ≤ epsilon
    latency_multiple = 1

    [buffer]
    policy = "allocation"   # list ⌊share · available⌋, hide the rest
    share = 0.5

Each record is the configuration of one runtime policy of :mod:`racesim.policy.buffers`
(where the formulas are documented), and :meth:`to_policy` builds it. To add a policy,
add its name to :data:`racesim.policy.kinds.BufferKind`, write its runtime class, and a
record here with its own ``policy: Literal["name"]`` in the :data:`BufferConfig` union:
the scenario format, its error messages and overrides pick it up from there.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from racesim.policy.buffers import (
    AllocationBuffer,
    FixedBuffer,
    PercentBuffer,
    PoissonQuantile,
    SeedFormula,
)
from racesim.policy.kinds import BUFFER_KINDS, BufferKind
from racesim.scenario.fields import Count, NonNegative, Percent, Record, Share, at_most
from racesim.scenario.limits import MAX_LATENCY_MULTIPLE, MIN_EPSILON

__all__ = [
    "BUFFER_CONFIGS",
    "AllocationBufferConfig",
    "BufferConfig",
    "FixedBufferConfig",
    "PercentBufferConfig",
    "PoissonQuantileConfig",
    "SeedFormulaConfig",
]


LatencyMultiple = Annotated[NonNegative, at_most(MAX_LATENCY_MULTIPLE)]
"""Exposure windows in P99 sync latencies, in [0, 100]."""


class _BufferRecord(Record):
    """What every buffer configuration has: its kind, one of the one list's.

    Each record narrows ``policy`` to its own literal, and the type check refuses a literal
    that is not a :data:`BufferKind`.
    """

    policy: BufferKind


class FixedBufferConfig(_BufferRecord):
    """Hide ``units`` units of every SKU."""

    policy: Literal["fixed"] = "fixed"
    units: Count

    def to_policy(self) -> FixedBuffer:
        """The runtime policy: ``buffer = units``."""
        return FixedBuffer(self.units)


class PercentBufferConfig(_BufferRecord):
    """Hide ``percent`` % of every SKU's available stock, and at least ``min_units``."""

    policy: Literal["percent"] = "percent"
    percent: Percent
    min_units: Count = 0

    def to_policy(self) -> PercentBuffer:
        """The runtime policy: ``buffer = max(min_units, ⌈percent/100 · available⌉)``."""
        return PercentBuffer(self.percent, self.min_units)


class SeedFormulaConfig(_BufferRecord):
    """``max(min_units, percent % of available, expected sales in latency_multiple × P99)``."""

    policy: Literal["seed_formula"] = "seed_formula"
    min_units: Count = 5
    percent: Percent = 5.0
    latency_multiple: LatencyMultiple = 2.0

    def to_policy(self) -> SeedFormula:
        """The runtime policy (bind it to a scenario with ``bind_policy``)."""
        return SeedFormula(self.min_units, self.percent, self.latency_multiple)


class PoissonQuantileConfig(_BufferRecord):
    """The smallest b with P(other channels' demand in the exposure window > b) ≤ epsilon."""

    policy: Literal["poisson_quantile"] = "poisson_quantile"
    epsilon: Annotated[NonNegative, Field(ge=MIN_EPSILON, lt=1)] = 0.003
    latency_multiple: LatencyMultiple = 1.0

    def to_policy(self) -> PoissonQuantile:
        """The runtime policy (bind it to a scenario with ``bind_policy``)."""
        return PoissonQuantile(self.epsilon, self.latency_multiple)


class AllocationBufferConfig(_BufferRecord):
    """List ``⌊share · available⌋`` units (a share of the stock allotted to the channel)."""

    policy: Literal["allocation"] = "allocation"
    share: Share

    def to_policy(self) -> AllocationBuffer:
        """The runtime policy: ``buffer = available − ⌊share · available⌋``."""
        return AllocationBuffer(self.share)


_Configs = (FixedBufferConfig | PercentBufferConfig | SeedFormulaConfig | PoissonQuantileConfig
            | AllocationBufferConfig)

BufferConfig = Annotated[_Configs, Field(discriminator="policy")]
"""A buffer policy's configuration, chosen by its ``policy`` key."""


def _by_kind() -> dict[BufferKind, type[_Configs]]:
    """The configuration record of every kind, checked against the one list of kinds."""
    records: tuple[type[_Configs], ...] = get_args(_Configs)
    found: dict[BufferKind, type[_Configs]] = {
        record.model_fields["policy"].default: record for record in records}
    if tuple(found) != BUFFER_KINDS:
        raise TypeError(f"buffer configuration records {tuple(found)} do not match "
                        f"racesim.policy.kinds.BUFFER_KINDS {BUFFER_KINDS}")
    return found


BUFFER_CONFIGS: dict[BufferKind, type[_Configs]] = _by_kind()
"""The configuration record of each buffer kind, in :data:`BUFFER_KINDS` order."""
