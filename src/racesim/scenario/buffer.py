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

The formulas are documented in :mod:`racesim.policy.buffers`, which turns these records into
policies. To add a policy write a new record with its own ``policy: Literal["name"]`` and
add it to the :data:`BufferPolicy` union: the scenario format, its error messages and
overrides pick it up from there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from racesim.scenario.fields import Count, NonNegative, Percent, Record, at_most
from racesim.scenario.limits import MAX_LATENCY_MULTIPLE, MIN_EPSILON

__all__ = [
    "BufferPolicy",
    "FixedBuffer",
    "PercentBuffer",
    "PoissonQuantileBuffer",
    "SeedFormulaBuffer",
]


LatencyMultiple = Annotated[NonNegative, at_most(MAX_LATENCY_MULTIPLE)]
"""Exposure windows in P99 sync latencies, in [0, 100]."""


class FixedBuffer(Record):
    """Hide ``units`` units of every SKU."""

    policy: Literal["fixed"] = "fixed"
    units: Count


class PercentBuffer(Record):
    """Hide ``percent`` % of every SKU's available stock, and at least ``min_units``."""

    policy: Literal["percent"] = "percent"
    percent: Percent
    min_units: Count = 0


class SeedFormulaBuffer(Record):
    """``max(min_units, percent % of available, expected sales in latency_multiple × P99)``."""

    policy: Literal["seed_formula"] = "seed_formula"
    min_units: Count = 5
    percent: Percent = 5.0
    latency_multiple: LatencyMultiple = 2.0


class PoissonQuantileBuffer(Record):
    """The smallest b with P(other channels' demand in the exposure window > b) ≤ epsilon."""

    policy: Literal["poisson_quantile"] = "poisson_quantile"
    epsilon: Annotated[NonNegative, Field(ge=MIN_EPSILON, lt=1)] = 0.003
    latency_multiple: LatencyMultiple = 1.0


BufferPolicy = Annotated[FixedBuffer | PercentBuffer | SeedFormulaBuffer |
                         PoissonQuantileBuffer, Field(discriminator="policy")]
"""A buffer policy, chosen by its ``policy`` key."""
