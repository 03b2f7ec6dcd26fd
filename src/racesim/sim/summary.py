"""The metrics of a replication (:class:`Summary`) and of a run of them (:class:`RunSummary`).

Both are frozen records with one documented field per metric: its unit (a count of
orders, seconds of simulated time, unit-hours = units × hours, a fraction) and its basis.
Metrics count from the end of the scenario's ``warmup``: orders placed before it, and
time before it, are left out; the time that counts is the *measured* time,
``duration − warmup`` of each replication.

**One basis per name** — the same everywhere racesim prints or writes a number (``run``,
``tune``, ``sweep``, ``report`` and their JSON and tables):

- a bare name (``lost_sales``) is one replication's own count over its measured time —
  only in per-replication records (:class:`Summary`, the sweep's ``runs`` rows, the
  ``per_replication`` tables);
- ``…_total`` is summed over every replication (R replications × their measured days);
- ``…_per_month`` is per 30 days of measured time: ``total / (R × measured_days) × 30`` —
  the basis of every client-facing count and amount (lost sales, oversells, hidden
  unit-hours a month);
- rates are fractions pooled over every order of every replication (``oversold_total /
  orders_total``), with a 95 % interval that treats replications as clusters
  (:func:`racesim.util.stats.clustered_rate_interval`, inside [0, 1]);
- units are in the name where the quantity has one: ``_s`` seconds, ``_unit_hours``
  units × hours, ``_days`` days.
- money (only with the scenario's ``[costs]``; :mod:`racesim.sim.money`) is in its
  ``currency``: a replication's ``lost_margin``, ``oversell_cost`` and ``holding_cost``;
  a run's ``…_per_month`` of each and of ``total_cost``, with a ``…_per_month_ci`` that
  takes the replications as the independent units.

A new summed metric needs one field in :class:`Summary` (``metadata=_SUM``) and one
``<name>_total`` field in :class:`RunSummary`; its ``<name>_per_month`` follows in
:meth:`RunSummary.to_dict` (a test checks the two records agree). JSON, the
per-replication tables and the sweep tables are built from the fields, so each name is
spelled once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from racesim.util.jsonable import plain
from racesim.util.stats import (
    TargetVerdict,
    clustered_rate_interval,
    target_verdict,
    wilson_interval,
)

if TYPE_CHECKING:
    from racesim.sim.money import RunCosts

__all__ = ["DAY_S", "MONEY_FIELDS", "MONTH_DAYS", "SUMMED", "RunSummary", "Summary", "per_month"]

_SUM = {"pooled": "sum"}
"""Field metadata: a run's figure is the sum of its replications' figures."""

DAY_S = 86_400.0
"""Seconds in a day."""
MONTH_DAYS = 30.0
"""A month, for every ``…_per_month`` figure: 30 days of measured simulated time."""


def per_month(total: float, replications: int, measured_days: float) -> float:
    """``total`` (summed over ``replications`` of ``measured_days`` each) per 30 days."""
    exposure = replications * measured_days
    return float(total) / exposure * MONTH_DAYS if exposure > 0 else 0.0


def _record(record: object) -> dict[str, Any]:
    """Fields by name in declaration order; intervals (tuples) as ``[low, high]`` lists."""
    return {f.name: list(value) if isinstance(value := getattr(record, f.name), tuple)
            else value for f in fields(record)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Summary:
    """The metrics of one replication: counts and amounts are that replication's own,
    over its measured time (``measured_s``)."""

    orders: int = field(metadata=_SUM)
    """Orders a marketplace accepted (its listing showed enough), placed after the warm-up."""
    oversold: int = field(metadata=_SUM)
    """Accepted orders the engine refused to reserve: cancelled on the marketplace."""
    oversell_rate: float
    """``oversold / orders`` (a fraction; 0 without orders)."""
    oversell_rate_ci: tuple[float, float]
    """Wilson 95 % interval of ``oversell_rate`` (fractions; one replication's orders)."""
    lost_sales: int = field(metadata=_SUM)
    """Buyers who found the listing short and bought nothing (a count)."""
    duplicate_deliveries: int = field(metadata=_SUM)
    """Webhook copies that reached the engine beyond each order's first (a count)."""
    duplicates_absorbed: int = field(metadata=_SUM)
    """Webhook copies the engine recognised as duplicates (a count)."""
    extra_reservations: int = field(metadata=_SUM)
    """Reservations beyond one per order (a count; the naive counter makes them)."""
    short_shipments: int = field(metadata=_SUM)
    """Reserved orders the warehouse could not ship: the shelf held too few (a count)."""
    sync_latency_p50_s: float
    """Median seconds from a change of a published value until every listing shows it."""
    sync_latency_p99_s: float
    """99th percentile of the same (seconds; 0 when nothing changed)."""
    stranded_reservations: int = field(metadata=_SUM)
    """Reservations open longer than ``metrics.stranded_after`` (a count)."""
    ledger_drift_max: float | None
    """Largest |recorded − counted| / counted units at a cycle count (None: no counts)."""
    ledger_drift_mean: float | None
    """Mean of the same over the cycle counts (a fraction; None: no counts)."""
    visibility_gap_s: float = field(metadata=_SUM)
    """Seconds listings showed 0 while their channel's rule would list sellable stock on
    the shelf, summed over listings (channel × SKU)."""
    hidden_unit_hours: float = field(metadata=_SUM)
    """Units withheld by the buffer × hours, summed over SKUs: ``max(available, 0) − q_c``
    of each channel c (its rule's cap and threshold included), weighted by the channels'
    shares of demand (one channel's figure when all follow one rule)."""
    overstated_pushes: int = field(metadata=_SUM)
    """Pushes (one per channel) above that channel's published value when they were sent
    (a count)."""
    overstated_excess_units: int = field(metadata=_SUM)
    """Units by which those pushes overstated it, summed."""
    cas_refusals: int = field(metadata=_SUM)
    """Compare-and-set pushes a marketplace refused (a count)."""
    cancel_too_late: int = field(metadata=_SUM)
    """Cancellations that reached an order already shipped (whole run, a count)."""
    dead_letter_orders: int = field(metadata=_SUM)
    """Order webhook copies every handler attempt failed for (whole run, a count)."""
    dead_letter_cancels: int = field(metadata=_SUM)
    """Cancellation webhooks that ran out of attempts (whole run, a count)."""
    lost_sales_no_stock: int = field(metadata=_SUM)
    """Lost sales while the shelf held fewer unpromised units than the buyer wanted:
    nothing (or too little) was there, e.g. between restocks (a count, part of
    ``lost_sales``)."""
    lost_sales_buffer: int = field(metadata=_SUM)
    """Lost sales while the units were there and the engine knew of them, but the buffer
    held the published value below the buyer's quantity: the channel's publishing rule
    (buffer, cap or threshold) hid the stock (a count, part of ``lost_sales``)."""
    lost_sales_stale_listing: int = field(metadata=_SUM)
    """Lost sales while the units were there but the listing still showed less: it had
    not caught up with the published value (a slow sync), or the engine with the shelf
    (returns not yet booked: race 2) (a count, part of ``lost_sales``; the three causes
    sum to it)."""
    measured_s: float
    """Simulated seconds that count: the scenario's ``duration − warmup``."""
    lost_margin: float | None = None
    """Money (``[costs]`` currency) of the margin on the units lost to the buffer (those
    its buyers could have bought, see :mod:`.money`) × each SKU's margin (None without
    ``[costs]``)."""
    oversell_cost: float | None = None
    """Money of the oversold orders: each × (``costs.oversell`` + its channel's
    ``penalty``) (None without ``[costs]``)."""
    holding_cost: float | None = None
    """Money of the hidden stock: ``hidden_unit_hours`` ÷ 24 × ``holding_per_unit_day``
    (None without ``[costs]``)."""

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, in order; the interval as a ``[low, high]`` list. The money
        fields are left out without ``[costs]`` (so such a run's output is as before)."""
        data = _record(self)
        for name in MONEY_FIELDS:
            if data[name] is None:
                del data[name]
        return data


MONEY_FIELDS = ("lost_margin", "oversell_cost", "holding_cost")
"""The :class:`Summary` fields in money, present only with ``[costs]``."""


SUMMED = tuple(f.name for f in fields(Summary) if f.metadata.get("pooled") == "sum")
"""The :class:`Summary` fields a run adds up over its replications, in field order."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The metrics of a run of replications: totals, pooled rates, intervals.

    Each ``…_total`` is the matching :class:`Summary` field summed over the run's
    ``replications`` (see there for its unit); :meth:`to_dict` adds its ``…_per_month``
    (:func:`per_month`: per 30 days of measured time), the house basis for client-facing
    figures.
    """

    orders_total: int
    """Accepted orders, summed over replications."""
    oversold_total: int
    """Oversold orders, summed over replications."""
    lost_sales_total: int
    """Lost sales (buyers who found the listing short), summed over replications."""
    duplicate_deliveries_total: int
    """Duplicate webhook deliveries, summed over replications."""
    duplicates_absorbed_total: int
    """Duplicates the engine recognised, summed over replications."""
    extra_reservations_total: int
    """Reservations beyond one per order, summed over replications."""
    short_shipments_total: int
    """Short shipments, summed over replications."""
    stranded_reservations_total: int
    """Stranded reservations, summed over replications."""
    visibility_gap_s_total: float
    """Listing-seconds of visibility gap, summed over replications."""
    hidden_unit_hours_total: float
    """Unit-hours withheld by the buffer, summed over replications."""
    overstated_pushes_total: int
    """Overstating pushes, summed over replications."""
    overstated_excess_units_total: int
    """Units those pushes overstated, summed over replications."""
    cas_refusals_total: int
    """Refused compare-and-set pushes, summed over replications."""
    cancel_too_late_total: int
    """Cancellations after shipping, summed over replications."""
    dead_letter_orders_total: int
    """Dead-lettered order webhook copies, summed over replications."""
    dead_letter_cancels_total: int
    """Dead-lettered cancellation webhooks, summed over replications."""
    lost_sales_no_stock_total: int
    """Lost sales with too few units on the shelf, summed over replications."""
    lost_sales_buffer_total: int
    """Lost sales the buffer hid the stock from, summed over replications."""
    lost_sales_stale_listing_total: int
    """Lost sales to a listing that had not caught up, summed over replications (the
    three causes sum to ``lost_sales_total``)."""
    oversell_rate: float
    """``oversold_total / orders_total``: every order of every replication pooled (a
    fraction; 0 without orders)."""
    oversell_rate_ci: tuple[float, float]
    """95 % interval of the pooled rate, replications as clusters
    (:func:`~racesim.util.stats.clustered_rate_interval`; fractions inside [0, 1])."""
    oversell_rate_wilson_ci: tuple[float, float]
    """Wilson 95 % interval of the pooled counts, as if every order were independent of
    the others: narrower than the truth when oversells cluster (kept for comparison)."""
    oversell_design_effect: float
    """Clustered variance of the pooled rate ÷ its binomial variance (≥ 1; 1 when it
    cannot be estimated)."""
    sync_latency_p50_s: float
    """Median sync latency over the changes of every replication (seconds)."""
    sync_latency_p99_s: float
    """99th percentile of the same (seconds)."""
    ledger_drift_max: float | None
    """Largest drift at a cycle count in any replication (a fraction; None: no counts)."""
    ledger_drift_mean: float | None
    """Mean of the replications' mean drifts (a fraction; None: no counts)."""
    replications: int
    """How many replications ran."""
    measured_days: float
    """Measured simulated days of each replication (``duration − warmup``)."""
    seed: int
    """The run's seed (replication r uses ``SeedSequence(seed).spawn(R)[r]``)."""
    costs: RunCosts | None = None
    """With ``[costs]``: the money per month with 95 % intervals (replications as the
    independent units) and the cancellation rates (:class:`racesim.sim.money.RunCosts`);
    :meth:`to_dict` spreads it as ``currency``, ``lost_margin_per_month``, … None: none."""

    @classmethod
    def pool(cls, summaries: Sequence[Summary], sync_latency: np.ndarray,
             seed: int, costs: RunCosts | None = None) -> RunSummary:
        """Pool a run from its replications' ``summaries`` (in replication order);
        ``sync_latency`` holds every replication's latencies (seconds); ``costs`` is the
        run's money (:func:`racesim.sim.money.pool_costs`), if any.

        Plain records and arrays, no table: a sweep or tuner pools thousands of runs.
        """
        summed: dict[str, Any] = {f"{key}_total": plain(np.sum(np.array(
            [getattr(s, key) for s in summaries]))) for key in SUMMED}
        orders, oversold = int(summed["orders_total"]), int(summed["oversold_total"])
        rate = clustered_rate_interval(np.array([s.oversold for s in summaries], dtype=np.int64),
                                       np.array([s.orders for s in summaries], dtype=np.int64))
        drift = np.array([s.ledger_drift_max for s in summaries
                          if s.ledger_drift_max is not None], dtype=float)
        drift_mean = np.array([s.ledger_drift_mean for s in summaries
                               if s.ledger_drift_mean is not None], dtype=float)
        return cls(
            **summed,
            oversell_rate=rate.rate, oversell_rate_ci=rate.interval,
            oversell_rate_wilson_ci=wilson_interval(oversold, orders),
            oversell_design_effect=rate.design_effect,
            sync_latency_p50_s=_percentile(sync_latency, 50),
            sync_latency_p99_s=_percentile(sync_latency, 99),
            ledger_drift_max=float(drift.max()) if drift.size else None,
            ledger_drift_mean=float(drift_mean.mean()) if drift_mean.size else None,
            replications=len(summaries),
            measured_days=float(summaries[0].measured_s) / DAY_S if summaries else 0.0,
            seed=seed, costs=costs)

    def verdict(self, target: float) -> TargetVerdict:
        """Whether the pooled rate meets ``target`` (its interval's upper end at or below
        it; :func:`~racesim.util.stats.target_verdict`) and why."""
        return target_verdict(self.oversell_rate, self.oversell_rate_ci[1],
                              self.oversold_total, self.orders_total, target)

    def per_month(self, total: float) -> float:
        """A total of this run (summed over its replications) per 30 days of measured time."""
        return per_month(total, self.replications, self.measured_days)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, in order, each ``…_total`` followed by its ``…_per_month``;
        intervals as ``[low, high]`` lists. With ``[costs]`` the money figures follow
        (:meth:`racesim.sim.money.RunCosts.to_dict`); without, no ``costs`` key at all."""
        data: dict[str, Any] = {}
        for key, value in _record(self).items():
            if key == "costs":
                continue
            data[key] = value
            if key.endswith("_total"):
                data[key.removesuffix("_total") + "_per_month"] = self.per_month(value)
        if self.costs is not None:
            data.update(self.costs.to_dict())
        return data


def _percentile(seconds: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of ``seconds`` (0.0 when there are none)."""
    return float(np.percentile(seconds, q)) if seconds.size else 0.0
