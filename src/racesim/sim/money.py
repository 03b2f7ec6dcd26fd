"""What a run's oversells and hidden stock cost, in money (the scenario's ``[costs]``).

Three amounts per replication, each in the scenario's currency over that replication's
measured time (``duration − warmup``), from its own per-SKU and per-channel counts:

- ``lost_margin`` = Σ over SKUs and channels of the units lost to the buffer × the
  SKU's margin per unit. Units lost, not units wanted: the units sold without the
  buffer less those sold with it. A buyer of cause ``buffer`` claims only the units it
  could have bought had nothing been hidden, those available and not claimed by an
  earlier such buyer of the same stock-out spell, and gives them back if a later sale
  (on any channel) takes them (:mod:`.claims`), so a spell costs the claims still
  outstanding when it ends — at most the units the buffer hid, however many buyers it
  turns away;
- ``oversell_cost`` = Σ over channels of the oversold orders × (``oversell`` +
  ``penalty[channel]``);
- ``holding_cost`` = hidden unit-days (hidden unit-hours ÷ 24) × ``holding_per_unit_day``.

A run pools them as the mean over its replications, per 30 measured days, with a 95 %
Student-t interval on that mean: each replication is an independent draw of the money it
loses (its own seed, the same scenario), so the replications' totals are iid and the
replication is the cluster — money bunched within one replication (one bad day oversells
several orders) widens the interval as it should. With one replication the interval is
unknown (None), not a zero width. The cancellation rate each marketplace holds against
its ``cancel_rate_limit`` is pooled over every order like the oversell rate, with the
same clustered interval (:func:`racesim.util.stats.clustered_rate_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from racesim.scenario.costs import sku_margin
from racesim.sim.summary import DAY_S, MONTH_DAYS
from racesim.util.identity_cache import IdentityCache
from racesim.util.stats import clustered_rate_interval, mean_interval

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["MONEY", "CancelRate", "CostRates", "MoneyFigure", "ReplicationMoney",
           "RunCosts", "money_per_month", "pool_costs", "replication_money", "scenario_costs"]

MONEY = ("lost_margin", "oversell_cost", "holding_cost")
"""The per-replication money fields of :class:`~racesim.sim.summary.Summary`."""

HOURS_PER_DAY = DAY_S / 3600.0


@dataclass(frozen=True, slots=True)
class CostRates:
    """A scenario's ``[costs]`` as arrays: what one unit, order or unit-hour costs."""

    currency: str
    margin: np.ndarray
    """Money per unit sold, by SKU number."""
    per_oversell: np.ndarray
    """Money per oversold order (``oversell + penalty``), by channel number."""
    holding_per_unit_hour: float
    """Money per hidden unit-hour (``holding_per_unit_day / 24``; 0 without one)."""
    channel_names: tuple[str, ...]
    cancel_rate_limit: tuple[tuple[str, float], ...]
    """(channel, limit) for each channel with a limit, in the scenario's channel order."""

    @classmethod
    def of(cls, scenario: Scenario) -> CostRates | None:
        """The rates of ``scenario``'s ``[costs]`` table; None when it has none."""
        costs = scenario.costs
        if costs is None:
            return None
        names = tuple(channel.name for channel in scenario.channels)
        margins = [sku_margin(sku, costs) for sku in scenario.skus()]
        limits = costs.cancel_rate_limit or {}
        return cls(
            currency=costs.currency,
            margin=np.array([0.0 if m is None else m for m in margins], dtype=float),
            per_oversell=np.array([costs.per_oversell(name) for name in names], dtype=float),
            holding_per_unit_hour=(costs.holding_per_unit_day or 0.0) / HOURS_PER_DAY,
            channel_names=names,
            cancel_rate_limit=tuple((name, limits[name]) for name in names if name in limits))


_SCENARIO_COSTS: IdentityCache[Scenario, CostRates | None] = IdentityCache()


def scenario_costs(scenario: Scenario) -> CostRates | None:
    """``CostRates.of(scenario)``, made once per scenario object (it depends on nothing
    else): the replications of a sweep point or a tuner candidate share one (read-only)."""
    return _SCENARIO_COSTS(scenario, CostRates.of)


@dataclass(frozen=True, slots=True)
class ReplicationMoney:
    """One replication's money, in total and broken down (currency of the rates)."""

    lost_margin: float
    oversell_cost: float
    holding_cost: float
    per_channel: dict[str, np.ndarray]
    """``lost_margin`` and ``oversell_cost`` by channel number."""
    per_sku: dict[str, np.ndarray]
    """``lost_margin``, ``oversell_cost`` and ``holding_cost`` by SKU number."""


def replication_money(rates: CostRates, lost_units: np.ndarray, oversold: np.ndarray,
                      hidden_unit_hours: np.ndarray) -> ReplicationMoney:
    """The money of one replication from its counts.

    ``lost_units`` and ``oversold`` are channel × SKU arrays (units lost to the buffer;
    oversold orders), ``hidden_unit_hours`` is by SKU.
    """
    lost = lost_units * rates.margin[np.newaxis, :]
    oversell = oversold * rates.per_oversell[:, np.newaxis]
    holding = np.asarray(hidden_unit_hours, dtype=float) * rates.holding_per_unit_hour
    return ReplicationMoney(
        lost_margin=float(lost.sum()), oversell_cost=float(oversell.sum()),
        holding_cost=float(holding.sum()),
        per_channel={"lost_margin": lost.sum(axis=1), "oversell_cost": oversell.sum(axis=1)},
        per_sku={"lost_margin": lost.sum(axis=0), "oversell_cost": oversell.sum(axis=0),
                 "holding_cost": holding})


def money_per_month(values: np.ndarray, measured_days: float
                    ) -> tuple[float, tuple[float, float] | None]:
    """The mean of replications' amounts per 30 measured days, and its 95 % interval.

    ``values`` holds one amount per replication, each over ``measured_days``. The
    interval is Student's t on the mean of these iid amounts (see the module), scaled to
    a month, its lower end at least 0 (every amount is ≥ 0, so is their mean); None with
    fewer than two replications.
    """
    data = np.asarray(values, dtype=float)
    scale = MONTH_DAYS / measured_days if measured_days > 0 else 0.0
    mean, low, high = mean_interval(data)
    if data.size == 0:
        return 0.0, None
    if math.isnan(low):
        return mean * scale, None
    return mean * scale, (max(low, 0.0) * scale, high * scale)


@dataclass(frozen=True, slots=True)
class MoneyFigure:
    """One amount of a run: summed, per month, and the per-month 95 % interval."""

    name: str
    total: float
    """Summed over the replications."""
    per_month: float
    per_month_ci: tuple[float, float] | None
    """None with one replication: one draw says nothing of spread."""


@dataclass(frozen=True, slots=True)
class CancelRate:
    """One marketplace's cancellation rate (oversold ÷ orders) against its limit."""

    channel: str
    oversold_total: int
    orders_total: int
    rate: float
    rate_ci: tuple[float, float]
    limit: float

    @property
    def meets_limit(self) -> bool:
        """The interval's upper end at or below the limit (as ``meets_target`` judges)."""
        return self.rate_ci[1] <= self.limit


@dataclass(frozen=True, slots=True)
class RunCosts:
    """A run's money: each amount and the total, and the cancellation rates."""

    currency: str
    figures: tuple[MoneyFigure, ...]
    """``lost_margin``, ``oversell_cost``, ``holding_cost`` and ``total_cost``."""
    cancel_rates: tuple[CancelRate, ...]

    def figure(self, name: str) -> MoneyFigure:
        """The figure called ``name`` (``lost_margin`` … ``total_cost``)."""
        return next(figure for figure in self.figures if figure.name == name)

    def to_dict(self) -> dict[str, Any]:
        """``currency``; per amount ``…_total``, ``…_per_month`` and ``…_per_month_ci``
        (``[low, high]`` or None); ``cancel_rates`` by channel when limits are set."""
        data: dict[str, Any] = {"currency": self.currency}
        for figure in self.figures:
            ci = figure.per_month_ci
            data[f"{figure.name}_total"] = figure.total
            data[f"{figure.name}_per_month"] = figure.per_month
            data[f"{figure.name}_per_month_ci"] = None if ci is None else list(ci)
        if self.cancel_rates:
            data["cancel_rates"] = {
                rate.channel: {"oversold_total": rate.oversold_total,
                               "orders_total": rate.orders_total, "cancel_rate": rate.rate,
                               "cancel_rate_ci": list(rate.rate_ci),
                               "cancel_rate_limit": rate.limit,
                               "meets_limit": rate.meets_limit}
                for rate in self.cancel_rates}
        return data


def pool_costs(rates: CostRates, money: Mapping[str, np.ndarray], oversold: np.ndarray,
               orders: np.ndarray, measured_days: float) -> RunCosts:
    """A run's :class:`RunCosts` from its replications.

    ``money`` maps each of :data:`MONEY` to its amounts, one per replication;
    ``oversold`` and ``orders`` are replication × channel counts.
    """
    amounts = {name: np.asarray(money[name], dtype=float) for name in MONEY}
    amounts["total_cost"] = sum(amounts.values(), np.zeros(len(amounts[MONEY[0]])))
    figures = []
    for name, values in amounts.items():
        mean, ci = money_per_month(values, measured_days)
        figures.append(MoneyFigure(name, float(values.sum()), mean, ci))
    cancel_rates = []
    for name, limit in rates.cancel_rate_limit:
        c = rates.channel_names.index(name)
        pooled = clustered_rate_interval(oversold[:, c], orders[:, c])
        cancel_rates.append(CancelRate(name, int(oversold[:, c].sum()), int(orders[:, c].sum()),
                                       pooled.rate, pooled.interval, limit))
    return RunCosts(rates.currency, tuple(figures), tuple(cancel_rates))
