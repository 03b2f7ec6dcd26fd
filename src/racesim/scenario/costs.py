"""What oversells and hidden stock cost the seller, in money: the ``[costs]`` table.

::

    [costs]
    currency = "EUR"
    margin_percent = 30            # a SKU's margin: 30 % of its price, when it has a price
    margin = 4.0                   # … else this default margin per unit
    oversell = 12.0                # per oversold order: cancellation handling, refund, apology
    penalty = { amazon = 8.0 }     # per oversold order on that marketplace, on top
    holding_per_unit_day = 0.02    # per unit the buffer hides, per day (optional)
    cancel_rate_limit = { amazon = 0.025 }   # the marketplace's limit on cancellations

A SKU's margin (money earned per unit sold) is its own ``margin`` (``[[catalog]]``, or
``catalog_generator.margin`` / ``margin_by_class``); else its ``price`` × ``margin_percent``
/ 100; else the default ``margin``. With ``[costs]`` every SKU needs one of them. Money
per replication (:mod:`racesim.sim.money`): the margin of every unit lost to the buffer
(lost sales of cause ``buffer``), ``oversell + penalty[channel]`` per oversold order, and
``holding_per_unit_day`` per hidden unit-day. ``cancel_rate_limit`` is each marketplace's
limit on the seller's cancellation rate (oversold ÷ orders on that marketplace, a
fraction), reported against it. A scenario without ``[costs]`` has no money figures and
runs exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from racesim.scenario.fields import (
    Money,
    Name,
    Percent,
    Probability,
    Problem,
    Record,
    show,
)
from racesim.scenario.limits import MAX_CHANNELS

if TYPE_CHECKING:
    from racesim.scenario.catalog import Sku

__all__ = ["CostsConfig", "cost_problems", "sku_margin"]


class CostsConfig(Record):
    """The seller's money: margins, the cost of an oversell per marketplace, holding."""

    currency: Name
    """The currency every amount is in (a label such as "EUR"; shown beside the figures)."""
    margin: Money | None = None
    """Default margin per unit sold, for SKUs with neither a margin nor a price."""
    margin_percent: Percent | None = None
    """A SKU's margin as a percentage of its ``price``, for SKUs with a price but no margin."""
    oversell: Money
    """Money per oversold order on any marketplace: cancellation handling, refund fees,
    the apology (a voucher)."""
    penalty: Annotated[dict[Name, Money], Field(max_length=MAX_CHANNELS)] = Field(
        default_factory=dict)
    """Channel → money per oversold order on that channel, on top of ``oversell`` (the
    marketplace's fee or the worth of its cancellation-rate metric); channels not named: 0."""
    holding_per_unit_day: Money | None = None
    """Money per unit the buffer hides, per day (capital and storage); none: 0."""
    cancel_rate_limit: Annotated[dict[Name, Probability],
                                 Field(max_length=MAX_CHANNELS)] | None = None
    """Channel → the marketplace's limit on the seller's cancellation rate (a fraction of
    its orders, e.g. 0.025); reported against each channel's oversold ÷ orders."""

    def per_oversell(self, channel: str) -> float:
        """Money one oversold order on ``channel`` costs: ``oversell + penalty[channel]``."""
        return self.oversell + self.penalty.get(channel, 0.0)


def sku_margin(sku: Sku, costs: CostsConfig) -> float | None:
    """A SKU's margin per unit: its own, else price × margin_percent, else the default."""
    if sku.margin is not None:
        return sku.margin
    if sku.price is not None and costs.margin_percent is not None:
        return sku.price * costs.margin_percent / 100.0
    return costs.margin


def cost_problems(costs: CostsConfig | None, channels: Sequence[str],
                  skus: Sequence[Sku], *, generated: bool) -> list[Problem]:
    """What ``[costs]`` gets wrong against the rest of the scenario.

    Every ``penalty`` and ``cancel_rate_limit`` key must be one of ``channels``, and every
    SKU must have a margin (:func:`sku_margin`): listed SKUs are located at their
    ``catalog[i].margin``; a generated catalog at ``catalog_generator.margin``, once.
    """
    if costs is None:
        return []
    known = ", ".join(channels)
    problems: list[Problem] = [
        (("costs", table, name),
         f"not a channel of this scenario (channels: {known}; got {show(name)})", name)
        for table, named in (("penalty", costs.penalty),
                             ("cancel_rate_limit", costs.cancel_rate_limit or {}))
        for name in named if name not in channels]
    missing = [i for i, sku in enumerate(skus) if sku_margin(sku, costs) is None]
    hint = "give the SKU a margin, or a price and costs.margin_percent, or costs.margin"
    if generated and missing:
        first = skus[missing[0]]
        message = (f"required with [costs]: {len(missing):,} generated SKU(s) have no margin "
                   f"(first {first.sku}, class {first.class_}): give margin or "
                   "margin_by_class, or price with costs.margin_percent, or costs.margin")
        problems.append((("catalog_generator", "margin"), message, None))
    elif missing:
        problems += [(("catalog", i, "margin"), f"required with [costs]: {hint}", None)
                     for i in missing]
    return problems
