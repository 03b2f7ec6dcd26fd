"""What the warehouse sells: SKU entries, their restock policies, and a generated long tail.

Either list SKUs one by one::

    [[catalog]]
    sku = "MUG-RED"
    initial_stock = 3
    orders_per_day = 40                     # across all channels
    units_per_order = { dist = "geometric", mean = 1.2 }
    restock = { policy = "periodic", every = "7d", quantity = 50, lead_time = "2d" }
    demand = { kind = "gamma_poisson", dispersion = 0.3 }   # default: Poisson
    price = 12.99                           # per unit, in [costs] currency (optional)
    margin = 4.50                           # per unit sold (optional; see [costs])

or generate a deterministic Zipf long tail (no randomness: SKU ``k`` gets a demand
share ∝ 1/k^s)::

    [catalog_generator]
    count = 400
    total_orders_per_day = 20000
    zipf_exponent = 1.1
    initial_stock_days = 14                 # days of demand on hand at the start
    restock = { policy = "order_up_to", level_days = 14, reorder_point_days = 5,
                review = "1d", lead_time = "3d" }
    demand = { kind = "gamma_poisson", dispersion = 0.2 }   # every SKU, or per class:
    demand_by_class = { C = { kind = "gamma_poisson", dispersion = 1.5 } }
    price = 20.0                            # every SKU's price and margin, or per class:
    margin_by_class = { A = 6.0, B = 5.0, C = 3.5 }

See :mod:`racesim.scenario.demand` for the demand kinds.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from racesim.scenario.demand import DemandConfig, VelocityClass
from racesim.scenario.distributions import CountDistribution, FixedCount
from racesim.scenario.fields import (
    Count,
    Days,
    Duration,
    Label,
    Money,
    Name,
    OrdersPerDay,
    Period,
    PositiveCount,
    PositiveDays,
    PositiveReal,
    Record,
    SkuCount,
    at_most,
    raise_problems,
    show,
)
from racesim.scenario.limits import (
    MAX_ORDERS_PER_DAY,
    MAX_SKUS,
    MAX_UNITS,
    MAX_ZIPF_EXPONENT,
)

__all__ = [
    "CatalogGenerator",
    "OrderUpToRestockConfig",
    "OrderUpToTemplate",
    "PeriodicRestockConfig",
    "PeriodicTemplate",
    "RestockConfig",
    "RestockTemplate",
    "Sku",
]

MAX_GENERATED_SKUS = MAX_SKUS
"""Upper bound on ``catalog_generator.count`` (keeps a typo from eating the memory)."""


class PeriodicRestockConfig(Record):
    """Receive ``quantity`` units every ``every``, ``lead_time`` after each order is placed."""

    policy: Literal["periodic"] = "periodic"
    every: Period
    quantity: PositiveCount
    lead_time: Duration = 0.0


class OrderUpToRestockConfig(Record):
    """Every ``review``, if available stock ≤ ``reorder_point``, order up to ``level`` units."""

    policy: Literal["order_up_to"] = "order_up_to"
    level: PositiveCount
    reorder_point: Count
    review: Period
    lead_time: Duration = 0.0

    @model_validator(mode="after")
    def _point_below_level(self) -> OrderUpToRestockConfig:
        if self.reorder_point >= self.level:
            got = f"{self.reorder_point} ≥ {self.level}"
            message = f"must be < level (got {got})"
            raise_problems("order_up_to", [(("reorder_point",), message, self.reorder_point)])
        return self


RestockConfig = Annotated[PeriodicRestockConfig | OrderUpToRestockConfig,
                          Field(discriminator="policy")]
"""How a SKU is replenished, chosen by its ``policy`` key (the model places the orders)."""


class Sku(Record):
    """One stock-keeping unit: its opening stock and its demand over all channels."""

    sku: Name
    initial_stock: Count
    orders_per_day: OrdersPerDay
    units_per_order: CountDistribution = FixedCount(value=1)
    restock: RestockConfig | None = None
    class_: Label | None = Field(default=None, alias="class")
    """A free label such as a velocity class ("A", "B", "C")."""
    demand: DemandConfig | None = None
    """How daily demand varies around ``orders_per_day``; none given means Poisson."""
    price: Money | None = None
    """The unit price (in ``[costs]``'s currency); with ``costs.margin_percent`` it gives
    the margin when the SKU has none of its own."""
    margin: Money | None = None
    """Money earned per unit sold (price less its costs): what a sale lost to the buffer
    costs (see :mod:`racesim.scenario.costs`)."""

    @model_validator(mode="after")
    def _margin_within_price(self) -> Sku:
        if self.price is not None and self.margin is not None and self.margin > self.price:
            message = f"must be ≤ price (got {show(self.margin)} > {show(self.price)})"
            raise_problems("Sku", [(("margin",), message, self.margin)])
        return self

    def units_per_day(self) -> float:
        """Expected units demanded per day: orders per day × mean units per order."""
        return self.orders_per_day * self.units_per_order.mean()


class PeriodicTemplate(Record):
    """A periodic restock whose quantity is ``days_of_demand`` days of the SKU's demand."""

    policy: Literal["periodic"] = "periodic"
    every: Period
    days_of_demand: PositiveDays
    lead_time: Duration = 0.0

    def resolve(self, units_per_day: float) -> PeriodicRestockConfig:
        """The concrete policy for a SKU selling ``units_per_day`` (quantity ≥ 1)."""
        quantity = max(1, _round(self.days_of_demand * units_per_day))
        return PeriodicRestockConfig(every=self.every, quantity=quantity, lead_time=self.lead_time)


class OrderUpToTemplate(Record):
    """An order-up-to policy whose level and reorder point are given in days of demand."""

    policy: Literal["order_up_to"] = "order_up_to"
    level_days: PositiveDays
    reorder_point_days: Days
    review: Period
    lead_time: Duration = 0.0

    @model_validator(mode="after")
    def _point_below_level(self) -> OrderUpToTemplate:
        if self.reorder_point_days >= self.level_days:
            got = f"{self.reorder_point_days:g} ≥ {self.level_days:g}"
            message = f"must be < level_days (got {got})"
            loc = ("reorder_point_days",)
            raise_problems("order_up_to", [(loc, message, self.reorder_point_days)])
        return self

    def resolve(self, units_per_day: float) -> OrderUpToRestockConfig:
        """The concrete policy for a SKU selling ``units_per_day`` (level ≥ 1, point < level)."""
        level = max(1, _round(self.level_days * units_per_day))
        point = min(_round(self.reorder_point_days * units_per_day), level - 1)
        return OrderUpToRestockConfig(
            level=level, reorder_point=point, review=self.review, lead_time=self.lead_time
        )


RestockTemplate = Annotated[PeriodicTemplate | OrderUpToTemplate, Field(discriminator="policy")]
"""A restock policy for generated SKUs, sized in days of demand."""


class CatalogGenerator(Record):
    """A deterministic long-tail catalog: SKU ``k`` (1-based) gets demand ∝ 1/k^zipf_exponent.

    SKUs are named ``prefix`` + zero-padded rank (``SKU-001`` …) and labelled with an ABC
    velocity class: "A" until 80 % of demand is covered, "B" until 95 %, then "C".
    """

    count: SkuCount
    total_orders_per_day: Annotated[PositiveReal, at_most(MAX_ORDERS_PER_DAY)]
    zipf_exponent: Annotated[PositiveReal, at_most(MAX_ZIPF_EXPONENT)]
    initial_stock_days: PositiveDays
    min_initial_stock: Count = 1
    prefix: Label = "SKU-"
    units_per_order: CountDistribution = FixedCount(value=1)
    restock: RestockTemplate | None = None
    demand: DemandConfig | None = None
    """Every generated SKU's demand kind (none given: Poisson) …"""
    demand_by_class: dict[VelocityClass, DemandConfig] | None = None
    """… unless its velocity class has its own here (``{ C = { kind = … } }``)."""
    price: Money | None = None
    """Every generated SKU's unit price …"""
    price_by_class: dict[VelocityClass, Money] | None = None
    """… unless its velocity class has its own here (``{ A = 30.0 }``)."""
    margin: Money | None = None
    """Every generated SKU's margin per unit sold …"""
    margin_by_class: dict[VelocityClass, Money] | None = None
    """… unless its velocity class has its own here."""

    @model_validator(mode="after")
    def _sizes_fit(self) -> CatalogGenerator:
        """The best seller's stock and restock sizes (the largest generated) fit MAX_UNITS."""
        units_per_day = self.total_orders_per_day * self.shares()[0] * self.units_per_order.mean()
        sizes = [("initial_stock_days", self.initial_stock_days)]
        if isinstance(self.restock, PeriodicTemplate):
            sizes.append(("restock.days_of_demand", self.restock.days_of_demand))
        elif isinstance(self.restock, OrderUpToTemplate):
            sizes.append(("restock.level_days", self.restock.level_days))
        for path, days in sizes:
            units = days * units_per_day
            if units > MAX_UNITS:
                message = (f"gives the best-selling SKU {units:.3g} units, more than "
                           f"{MAX_UNITS:.0e} (got {show(days)} days × {units_per_day:.3g} "
                           "units/day)")
                raise_problems("catalog_generator", [(tuple(path.split(".")), message, days)])
        return self

    def _money(self, label: VelocityClass) -> dict[str, float]:
        """The ``price`` and ``margin`` keys of a generated SKU of class ``label`` (if any)."""
        values = {"price": _by_class(label, self.price, self.price_by_class),
                  "margin": _by_class(label, self.margin, self.margin_by_class)}
        return {key: value for key, value in values.items() if value is not None}

    def shares(self) -> list[float]:
        """Each SKU's share of orders, by rank (sums to 1)."""
        weights = [1.0 / rank**self.zipf_exponent for rank in range(1, self.count + 1)]
        total = math.fsum(weights)
        return [weight / total for weight in weights]

    def generate(self) -> tuple[Sku, ...]:
        """The SKU entries, most popular first; the same parameters give the same list."""
        width = len(str(self.count))
        mean_units = self.units_per_order.mean()
        skus, covered = [], 0.0
        for rank, share in enumerate(self.shares(), start=1):
            orders = self.total_orders_per_day * share
            units_per_day = orders * mean_units
            stock = max(self.min_initial_stock, _round(self.initial_stock_days * units_per_day))
            restock = None if self.restock is None else self.restock.resolve(units_per_day)
            label: VelocityClass = "A" if covered < 0.80 else "B" if covered < 0.95 else "C"
            covered += share
            entry = {
                "sku": f"{self.prefix}{rank:0{width}d}",
                "initial_stock": stock,
                "orders_per_day": orders,
                "units_per_order": self.units_per_order,
                "restock": restock,
                "class": label,
            }
            demand = (self.demand_by_class or {}).get(label, self.demand)
            if demand is not None:
                entry["demand"] = demand
            entry |= self._money(label)
            skus.append(Sku.model_validate(entry))
        return tuple(skus)


def _by_class(label: VelocityClass, default: float | None,
              by_class: dict[VelocityClass, float] | None) -> float | None:
    """A class's own value, else the generator's value for every SKU (None: neither)."""
    return (by_class or {}).get(label, default)


def _round(amount: float) -> int:
    """Round half up to a whole number of units (deterministic, unlike banker's rounding)."""
    return math.floor(amount + 0.5)
