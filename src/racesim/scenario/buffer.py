"""How many units are hidden from the marketplaces, chosen by ``policy``.

::

    [buffer]
    policy = "fixed"        # hide a constant number of units per SKU
    units = 2

    [buffer]
    policy = "percent"      # hide a share of available stock, but at least min_units
    percent = 10
    min_units = 1

To add a policy (a seed formula, a Poisson quantile, …) write a new record with its own
``policy: Literal["name"]`` and add it to the :data:`BufferPolicy` union: the scenario
format, its error messages and overrides pick it up from there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from racesim.scenario.fields import Count, Percent, Record

__all__ = ["BufferPolicy", "FixedBuffer", "PercentBuffer"]


class FixedBuffer(Record):
    """Hide ``units`` units of every SKU."""

    policy: Literal["fixed"] = "fixed"
    units: Count


class PercentBuffer(Record):
    """Hide ``percent`` % of every SKU's available stock, and at least ``min_units``."""

    policy: Literal["percent"] = "percent"
    percent: Percent
    min_units: Count = 0


BufferPolicy = Annotated[FixedBuffer | PercentBuffer, Field(discriminator="policy")]
"""A buffer policy, chosen by its ``policy`` key."""
