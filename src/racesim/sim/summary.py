"""The metrics of a replication (:class:`Summary`) and of a run of them (:class:`RunSummary`).

Both are frozen records with one documented field per metric: its unit (a count of
orders, seconds of simulated time, unit-hours = units × hours, a fraction) and its basis
(one replication; summed over replications; pooled). Metrics count from the end of the
scenario's ``warmup``: orders placed before it, and time before it, are left out.
Rates carry Wilson 95 % intervals (:mod:`racesim.util.stats`) as ``(low, high)``.

JSON, the per-replication tables and the sweep tables are built from the fields
(:meth:`Summary.to_dict`, :meth:`RunSummary.to_dict`), so each name is spelled once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from racesim.util.jsonable import finite, plain
from racesim.util.stats import mean_interval, wilson_interval

__all__ = ["SUMMED", "RunSummary", "Summary"]

_SUM = {"pooled": "sum"}
"""Field metadata: a run's figure is the sum of its replications' figures."""


def _record(record: object) -> dict[str, Any]:
    """Fields by name in declaration order; intervals (tuples) as ``[low, high]`` lists."""
    return {f.name: list(value) if isinstance(value := getattr(record, f.name), tuple)
            else value for f in fields(record)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Summary:
    """The metrics of one replication (counts are of that replication alone)."""

    orders: int = field(metadata=_SUM)
    """Orders a marketplace accepted (its listing showed enough), placed after the warm-up."""
    oversold: int = field(metadata=_SUM)
    """Accepted orders the engine refused to reserve: cancelled on the marketplace."""
    oversell_rate: float
    """``oversold / orders`` (a fraction; 0 without orders)."""
    oversell_rate_ci: tuple[float, float]
    """Wilson 95 % interval of ``oversell_rate`` (fractions)."""
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
    """Seconds listings showed 0 while sellable stock was on the shelf, summed over
    listings (channel × SKU)."""
    hidden_unit_hours: float = field(metadata=_SUM)
    """Units withheld by the buffer × hours, summed over SKUs."""
    overstated_pushes: int = field(metadata=_SUM)
    """Pushes (× channels) above the published value when they were sent (a count)."""
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
    held the published value below the buyer's quantity: the buffer hid the stock (a
    count, part of ``lost_sales``)."""
    lost_sales_stale_listing: int = field(metadata=_SUM)
    """Lost sales while the units were there but the listing still showed less: it had
    not caught up with the published value (a slow sync), or the engine with the shelf
    (returns not yet booked: race 2) (a count, part of ``lost_sales``; the three causes
    sum to it)."""

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, in order; the interval as a ``[low, high]`` list."""
        return _record(self)


SUMMED = tuple(f.name for f in fields(Summary) if f.metadata.get("pooled") == "sum")
"""The :class:`Summary` fields a run adds up over its replications, in field order."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The metrics of a run of replications: totals, pooled rates, intervals.

    The counts and amounts are :class:`Summary`'s, summed over replications (divide by
    ``replications`` for a per-replication mean); see there for each one's unit.
    """

    orders: int
    """Accepted orders, summed over replications."""
    oversold: int
    """Oversold orders, summed over replications."""
    lost_sales: int
    """Lost sales, summed over replications."""
    duplicate_deliveries: int
    """Duplicate webhook deliveries, summed over replications."""
    duplicates_absorbed: int
    """Duplicates the engine recognised, summed over replications."""
    extra_reservations: int
    """Reservations beyond one per order, summed over replications."""
    short_shipments: int
    """Short shipments, summed over replications."""
    stranded_reservations: int
    """Stranded reservations, summed over replications."""
    visibility_gap_s: float
    """Listing-seconds of visibility gap, summed over replications."""
    hidden_unit_hours: float
    """Unit-hours withheld by the buffer, summed over replications."""
    overstated_pushes: int
    """Overstating pushes, summed over replications."""
    overstated_excess_units: int
    """Units those pushes overstated, summed over replications."""
    cas_refusals: int
    """Refused compare-and-set pushes, summed over replications."""
    cancel_too_late: int
    """Cancellations after shipping, summed over replications."""
    dead_letter_orders: int
    """Dead-lettered order webhook copies, summed over replications."""
    dead_letter_cancels: int
    """Dead-lettered cancellation webhooks, summed over replications."""
    lost_sales_no_stock: int
    """Lost sales with too few units on the shelf, summed over replications."""
    lost_sales_buffer: int
    """Lost sales the buffer hid the stock from, summed over replications."""
    lost_sales_stale_listing: int
    """Lost sales to a listing that had not caught up, summed over replications (the
    three causes sum to ``lost_sales``)."""
    oversell_rate: float
    """``oversold / orders`` over every order of every replication (pooled; a fraction)."""
    oversell_rate_ci: tuple[float, float]
    """Wilson 95 % interval of the pooled rate."""
    oversell_rate_between_ci: tuple[float | None, float | None]
    """Student-t 95 % interval of the replications' own rates, which also accounts for
    oversells clustering within a run (None where undefined, e.g. one replication)."""
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
    seed: int
    """The run's seed (replication r uses ``SeedSequence(seed).spawn(R)[r]``)."""

    @classmethod
    def pool(cls, per_replication: pd.DataFrame, sync_latency: np.ndarray,
             seed: int) -> RunSummary:
        """Pool a run: ``per_replication`` has one row of :class:`Summary` fields per
        replication; ``sync_latency`` holds every replication's latencies (seconds)."""
        frame = per_replication
        summed: dict[str, Any] = {key: plain(frame[key].sum()) for key in SUMMED}
        orders, oversold = int(summed["orders"]), int(summed["oversold"])
        _, low, high = mean_interval(frame["oversell_rate"].to_numpy())
        drift = pd.to_numeric(frame["ledger_drift_max"], errors="coerce").dropna()
        drift_mean = pd.to_numeric(frame["ledger_drift_mean"], errors="coerce").dropna()
        return cls(
            **summed,
            oversell_rate=oversold / orders if orders else 0.0,
            oversell_rate_ci=wilson_interval(oversold, orders),
            oversell_rate_between_ci=(finite(low), finite(high)),
            sync_latency_p50_s=_percentile(sync_latency, 50),
            sync_latency_p99_s=_percentile(sync_latency, 99),
            ledger_drift_max=float(drift.max()) if len(drift) else None,
            ledger_drift_mean=float(drift_mean.mean()) if len(drift_mean) else None,
            replications=len(frame), seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, in order; intervals as ``[low, high]`` lists."""
        return _record(self)


def _percentile(seconds: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of ``seconds`` (0.0 when there are none)."""
    return float(np.percentile(seconds, q)) if seconds.size else 0.0
