"""What one simulated replication produced: its metrics, its breakdowns and, on request, tables.

The metrics are a :class:`~racesim.sim.summary.Summary` (each field's unit and basis is
documented there) plus the same counts per channel and per SKU
(:class:`~racesim.sim.breakdowns.Breakdown`: plain arrays, tables on request). Rates
carry Wilson 95 % intervals (:mod:`racesim.util.stats`). Times are seconds of simulated
time; unit-hours are units × hours. Metrics count from the end of the scenario's
``warmup`` (orders placed before it, and time before it, are left out); the tables hold
the whole run. Everything is read from the run's
:class:`~racesim.sim.state.SimulationState`.

**Lean and full.** :func:`collect` with ``tables=False`` — what sweeps and the tuners
run thousands of times — builds no DataFrame: the summary, the two breakdowns as
arrays, the sync latencies and the cycle counts as rows. ``per_channel``, ``per_sku``
and ``drift`` become DataFrames the first time they are read (then kept), with the
values and dtypes they have with ``tables=True``; the per-event tables are empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from racesim.sim.breakdowns import (
    LOST_SALE_CAUSES,
    Breakdown,
    add_money,
    breakdowns,
    sale_arrays,
)
from racesim.sim.latency import sync_latencies
from racesim.sim.money import CostRates, ReplicationMoney
from racesim.sim.state import SimulationState, set_mask
from racesim.sim.summary import Summary
from racesim.util.stats import wilson_interval

__all__ = ["EVENT_TABLES", "LOST_SALE_CAUSES", "SimulationResult", "collect", "summarise",
           "sync_latencies"]

ORDER_COLUMNS = ["order_id", "channel", "sku", "units", "placed_at", "accepted", "copies",
                 "deliveries", "first_seen_at", "reserved_at", "oversold_at", "cancelled_at",
                 "released_at", "fulfilled_at", "short_at", "return_arrived_at",
                 "return_recorded_at", "reservations", "outcome"]

EVENT_TABLES = ("orders", "deliveries", "pushes", "listings", "events")
"""The per-event tables, built only with ``tables=True``."""

DRIFT_COLUMNS = ["at", "sku", "recorded", "counted"]

DriftRow = tuple[float, int, int, int]
"""A cycle count of one SKU: (at s, SKU number, units recorded, units counted)."""


@dataclass(eq=False)  # arrays and tables do not compare with ==
class SimulationResult:
    """Metrics, breakdowns and tables of one replication.

    ``summary`` holds the run's metrics (see :class:`~racesim.sim.summary.Summary`);
    ``channel_counts`` and ``sku_counts`` the same counts broken down, as arrays, and
    ``per_channel`` and ``per_sku`` as tables. The tables: ``orders`` (one row per buyer,
    lost sales included, with every timestamp and the outcome), ``deliveries`` (one row
    per webhook copy that reached the engine), ``pushes`` (one row per push that reached
    a listing), ``listings`` (every change of every listing), ``events`` (the ledger's
    event log) — empty unless the replication ran with ``tables=True`` — and ``drift``
    (every cycle count per SKU after the warm-up). ``costs`` is the scenario's
    ``[costs]`` as arrays (None without one): the money columns of the breakdowns and the
    summary's money fields are priced by it.
    """

    summary: Summary
    channel_counts: Breakdown = field(repr=False)
    sku_counts: Breakdown = field(repr=False)
    sync_latency: np.ndarray = field(repr=False)
    costs: CostRates | None = field(default=None, repr=False)
    drift_rows: list[DriftRow] = field(default_factory=list, repr=False)
    """Every cycle count after the warm-up, in time order (:data:`DriftRow`)."""
    event_tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    """The :data:`EVENT_TABLES` by name; empty without ``tables=True``."""
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def per_channel(self) -> pd.DataFrame:
        """One row per channel (index ``channel``): ``channel_counts`` as a table."""
        return self._frame("per_channel", self.channel_counts.to_frame)

    @property
    def per_sku(self) -> pd.DataFrame:
        """One row per SKU (index ``sku``): ``sku_counts`` as a table."""
        return self._frame("per_sku", self.sku_counts.to_frame)

    @property
    def drift(self) -> pd.DataFrame:
        """Every cycle count after the warm-up: ``at`` (s), ``sku`` (its name),
        ``recorded`` and ``counted`` (units)."""
        return self._frame("drift", self._drift_frame)

    @property
    def orders(self) -> pd.DataFrame:
        """One row per buyer, with every timestamp and the outcome (``tables=True``)."""
        return self._event_table("orders")

    @property
    def deliveries(self) -> pd.DataFrame:
        """One row per webhook copy that reached the engine (``tables=True``)."""
        return self._event_table("deliveries")

    @property
    def pushes(self) -> pd.DataFrame:
        """One row per push that reached a listing (``tables=True``)."""
        return self._event_table("pushes")

    @property
    def listings(self) -> pd.DataFrame:
        """Every change of every listing (``tables=True``)."""
        return self._event_table("listings")

    @property
    def events(self) -> pd.DataFrame:
        """The ledger's event log (``tables=True``)."""
        return self._event_table("events")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, for writing to disk."""
        return {"orders": self.orders, "deliveries": self.deliveries, "pushes": self.pushes,
                "listings": self.listings, "events": self.events, "drift": self.drift,
                "per_channel": self.per_channel, "per_sku": self.per_sku}

    def _frame(self, name: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Table ``name``, built by ``build`` when first read and kept from then on."""
        frame = self._frames.get(name)
        if frame is None:
            frame = self._frames[name] = build()
        return frame

    def _event_table(self, name: str) -> pd.DataFrame:
        return self._frame(name, lambda: self.event_tables.get(name, pd.DataFrame()))

    def _drift_frame(self) -> pd.DataFrame:
        drift = pd.DataFrame(self.drift_rows, columns=DRIFT_COLUMNS)
        if len(drift):
            skus = np.asarray(self.sku_counts.labels, dtype=object)
            drift["sku"] = skus[drift["sku"].to_numpy()]
        return drift


def _orders_frame(sim: SimulationState) -> pd.DataFrame:
    parts = []
    for orders in sim.channels:
        arrivals, plan = orders.arrivals, orders.plan
        frame = pd.DataFrame({
            "order_id": orders.ids, "channel": orders.name,
            "sku": np.asarray(sim.sku_names, dtype=object)[arrivals.skus]
            if len(arrivals) else [],
            "units": arrivals.units, "placed_at": arrivals.times, "accepted": orders.accepted,
            "copies": plan.copies, "deliveries": orders.deliveries,
            "first_seen_at": orders.first_seen, "reserved_at": orders.reserved,
            "oversold_at": orders.oversold, "cancelled_at": orders.cancelled,
            "released_at": orders.released, "fulfilled_at": orders.fulfilled,
            "short_at": orders.short, "return_arrived_at": orders.return_arrived,
            "return_recorded_at": orders.return_recorded, "reservations": orders.reservations,
        })
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ORDER_COLUMNS)
    # pandas reads the unset (NaN) times as missing: notna() is "it happened"
    outcome = np.select(
        [~frame["accepted"].astype(bool), frame["oversold_at"].notna(),
         frame["short_at"].notna(), frame["fulfilled_at"].notna(),
         frame["released_at"].notna(), frame["cancelled_at"].notna(),
         frame["reserved_at"].notna()],
        ["lost", "oversold", "short_shipped", "fulfilled", "cancelled", "cancel_unrecorded",
         "reserved"], default="in_flight")
    frame["outcome"] = outcome
    frame = frame.sort_values(["placed_at", "channel", "order_id"], kind="stable")
    return frame.reset_index(drop=True)[ORDER_COLUMNS]


def _stranded(sim: SimulationState, sales: dict[str, np.ndarray]) -> int:
    """Reservations open (not shipped, released or short) longer than ``stranded_after``."""
    reserved_at = sales["reserved"]
    closed = np.fmin(np.fmin(sales["fulfilled"], sales["released"]), sales["short"])
    closed = np.where(set_mask(closed), closed, sim.duration)  # still open at the end
    reserved = set_mask(reserved_at)
    open_for = closed[reserved] - reserved_at[reserved]
    return int((open_for > sim.stranded_after).sum())


def _drift_ratios(rows: list[DriftRow]) -> tuple[float | None, float | None]:
    """Max and mean, over cycle counts, of Σ|recorded − counted| / Σ counted units (the
    sums over the SKUs counted at that instant; at least 1 counted unit)."""
    if not rows:
        return None, None
    at = np.fromiter((row[0] for row in rows), dtype=float, count=len(rows))
    recorded = np.fromiter((row[2] for row in rows), dtype=np.int64, count=len(rows))
    counted = np.fromiter((row[3] for row in rows), dtype=np.int64, count=len(rows))
    order = np.argsort(at, kind="stable")
    at, recorded, counted = at[order], recorded[order], counted[order]
    starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])  # one run per cycle count
    gap = np.add.reduceat(np.abs(recorded - counted), starts)
    ratio = gap / np.maximum(np.add.reduceat(counted, starts), 1)
    return float(ratio.max()), float(ratio.mean())


def _percentiles(values: np.ndarray, percents: tuple[float, ...]) -> list[float]:
    """``numpy.percentile(values, percents)`` (its default ``linear`` method) as floats,
    from one partition: the same floats, without its per-call overhead (a replication
    has a few dozen latencies)."""
    last = values.size - 1
    where = [last * (percent / 100) for percent in percents]  # numpy's virtual indexes
    below = [math.floor(at) for at in where]
    wanted = sorted({i for b in below for i in (b, min(b + 1, last))})
    ordered = np.partition(values, wanted) if values.size > len(wanted) else np.sort(values)
    found = []
    for at, low in zip(where, below, strict=True):
        if at >= last:  # numpy takes the largest value
            found.append(float(ordered[last]))
            continue
        a, b = float(ordered[low]), float(ordered[low + 1])
        weight = at - low
        # numpy's _lerp: from the nearer end, so that the weight 1 gives b exactly
        found.append(b - (b - a) * (1 - weight) if weight >= 0.5 else a + (b - a) * weight)
    return found


def summarise(sim: SimulationState, per_channel: dict[str, np.ndarray],
              per_sku: dict[str, np.ndarray], sales: dict[str, np.ndarray],
              latency: np.ndarray, drift: list[DriftRow],
              money: ReplicationMoney | None = None) -> Summary:
    """The replication's :class:`~racesim.sim.summary.Summary` from its breakdowns' columns
    (and its money, with ``[costs]``)."""
    def total(column: str) -> int:
        return sum(per_channel[column].tolist())

    ordered, oversold, lost = total("orders"), total("oversold"), total("lost_sales")
    no_stock, buffer, stale = (total(cause) for cause in LOST_SALE_CAUSES)
    assert no_stock + buffer + stale == lost, "every lost sale has exactly one cause"
    drift_max, drift_mean = _drift_ratios(drift)
    counts = sim.counts
    # both percentiles from one partition of the latencies (each value as its own call gives)
    p50, p99 = _percentiles(latency, (50, 99)) if latency.size else (0.0, 0.0)
    return Summary(
        orders=ordered, oversold=oversold,
        oversell_rate=oversold / ordered if ordered else 0.0,
        oversell_rate_ci=wilson_interval(oversold, ordered),
        lost_sales=lost, duplicate_deliveries=total("duplicate_deliveries"),
        duplicates_absorbed=total("duplicates_absorbed"),
        extra_reservations=total("extra_reservations"),
        short_shipments=total("short_shipments"),
        sync_latency_p50_s=p50, sync_latency_p99_s=p99,
        stranded_reservations=_stranded(sim, sales),
        ledger_drift_max=drift_max, ledger_drift_mean=drift_mean,
        visibility_gap_s=float(per_sku["visibility_gap_s"].sum()),
        hidden_unit_hours=float(per_sku["hidden_unit_hours"].sum()),
        overstated_pushes=int(sum(sim.stock.overstated)),
        overstated_excess_units=int(sum(sim.stock.overstated_excess)),
        cas_refusals=sim.sync.refused, cancel_too_late=counts.cancel_too_late,
        dead_letter_orders=counts.dead_letter_orders,
        dead_letter_cancels=counts.dead_letter_cancels,
        lost_sales_no_stock=no_stock, lost_sales_buffer=buffer,
        lost_sales_stale_listing=stale,
        measured_s=sim.duration - sim.warmup,
        lost_margin=None if money is None else money.lost_margin,
        oversell_cost=None if money is None else money.oversell_cost,
        holding_cost=None if money is None else money.holding_cost)


def collect(sim: SimulationState, tables: bool = True) -> SimulationResult:
    """Build the metrics of a finished simulation, and its tables if ``tables``.

    Without ``tables`` no DataFrame is built (sweeps of many replications want the
    metrics, not per-order tables): the breakdowns are arrays, ``per_channel``,
    ``per_sku`` and ``drift`` are built if read, the per-event tables are empty.
    """
    sales = sale_arrays(sim)
    per_channel, per_sku, oversold = breakdowns(sim, sales)
    money = add_money(sim, per_channel, per_sku, oversold)
    warmup = sim.warmup
    latency = sync_latencies([change for change in sim.logs.published_changes
                              if change[0] >= warmup], sim.sync.reflections)
    drift = [row for row in sim.logs.drift if row[0] >= warmup]
    summary = summarise(sim, per_channel, per_sku, sales, latency, drift, money)
    return SimulationResult(
        summary=summary,
        channel_counts=Breakdown("channel", tuple(sim.channel_names), per_channel),
        sku_counts=Breakdown("sku", tuple(sim.sku_names), per_sku),
        sync_latency=latency, costs=sim.costs, drift_rows=drift,
        event_tables=_event_tables(sim) if tables else {})


def _event_tables(sim: SimulationState) -> dict[str, pd.DataFrame]:
    """The per-order, per-delivery, per-push and per-listing-change tables, and the
    ledger's events (:data:`EVENT_TABLES`)."""
    skus = np.asarray(sim.sku_names, dtype=object)
    channels = np.asarray(sim.channel_names, dtype=object)
    rows = sim.logs.deliveries
    deliveries = pd.DataFrame({
        "order_id": [sim.channels[c].ids[j] for c, j, *_ in rows],
        "channel": channels[[r[0] for r in rows]] if rows else [],
        "sku": skus[[sim.channels[c].sku[j] for c, j, *_ in rows]] if rows else [],
        "copy": [r[2] + 1 for r in rows], "delivered_at": [r[3] for r in rows],
        "failed_attempts": [r[4] for r in rows], "status": [r[5] for r in rows]})
    pushes = pd.DataFrame(sim.logs.pushes, columns=[
        "channel", "sku", "mode", "computed_at", "sent_at", "visible_at", "value",
        "published_at_visible", "listing_before", "listing_after", "applied"])
    if len(pushes):
        pushes["channel"] = channels[pushes["channel"].to_numpy()]
        pushes["sku"] = skus[pushes["sku"].to_numpy()]
    listings = pd.DataFrame(sim.logs.listings or [], columns=["at", "channel", "sku", "value",
                                                               "cause"])
    if len(listings):
        listings["channel"] = channels[listings["channel"].to_numpy()]
        listings["sku"] = skus[listings["sku"].to_numpy()]
    return {"orders": _orders_frame(sim), "deliveries": deliveries, "pushes": pushes,
            "listings": listings, "events": sim.engine.events()}
