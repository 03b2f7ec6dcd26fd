"""What one simulated replication produced: tidy tables and the metrics built from them.

The metrics are a :class:`~racesim.sim.summary.Summary` (each field's unit and basis is
documented there) plus the same counts per channel and per SKU. Rates carry Wilson 95 %
intervals (:mod:`racesim.util.stats`). Times are seconds of simulated time; unit-hours
are units × hours. Metrics count from the end of the scenario's ``warmup`` (orders placed
before it, and time before it, are left out); the tables hold the whole run. Everything
is read from the run's :class:`~racesim.sim.state.SimulationState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from racesim.sim.money import CostRates, ReplicationMoney, replication_money
from racesim.sim.state import Reflections, SimulationState, set_mask
from racesim.sim.summary import Summary
from racesim.util.stats import wilson_interval

__all__ = ["LOST_SALE_CAUSES", "SimulationResult", "collect", "summarise", "sync_latencies"]

ORDER_COLUMNS = ["order_id", "channel", "sku", "units", "placed_at", "accepted", "copies",
                 "deliveries", "first_seen_at", "reserved_at", "oversold_at", "cancelled_at",
                 "released_at", "fulfilled_at", "short_at", "return_arrived_at",
                 "return_recorded_at", "reservations", "outcome"]


@dataclass
class SimulationResult:
    """Tables and metrics of one replication.

    ``summary`` holds the run's metrics (see :class:`~racesim.sim.summary.Summary`);
    ``per_channel`` and
    ``per_sku`` the same counts broken down. The tables: ``orders`` (one row per buyer,
    lost sales included, with every timestamp and the outcome), ``deliveries`` (one row
    per webhook copy that reached the engine), ``pushes`` (one row per push that reached
    a listing), ``listings`` (every change of every listing), ``events`` (the ledger's
    event log), ``drift`` (every cycle count per SKU). ``costs`` is the scenario's
    ``[costs]`` as arrays (None without one): the money columns of ``per_channel`` and
    ``per_sku`` and the summary's money fields are priced by it.
    """

    summary: Summary
    per_channel: pd.DataFrame
    per_sku: pd.DataFrame
    orders: pd.DataFrame
    deliveries: pd.DataFrame
    pushes: pd.DataFrame
    listings: pd.DataFrame
    events: pd.DataFrame
    drift: pd.DataFrame
    sync_latency: np.ndarray = field(repr=False)
    costs: CostRates | None = field(default=None, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, for writing to disk."""
        return {"orders": self.orders, "deliveries": self.deliveries, "pushes": self.pushes,
                "listings": self.listings, "events": self.events, "drift": self.drift,
                "per_channel": self.per_channel, "per_sku": self.per_sku}


def _suffix_min_lookup(computed: np.ndarray, visible: np.ndarray,
                       queries: np.ndarray) -> np.ndarray:
    """For each query t: the earliest ``visible`` among entries with ``computed ≥ t``."""
    if computed.size == 0:
        return np.full(queries.shape, np.inf)
    order = np.argsort(computed, kind="stable")
    computed, visible = computed[order], visible[order]
    suffix = np.minimum.accumulate(visible[::-1])[::-1]
    suffix = np.append(suffix, np.inf)
    return suffix[np.searchsorted(computed, queries, side="left")]


def _per_sku_lookup(which: np.ndarray, computed: np.ndarray, visible: np.ndarray,
                    sku: np.ndarray, queries: np.ndarray, span: float) -> np.ndarray:
    """:func:`_suffix_min_lookup` within each SKU's own entries, for all SKUs at once."""
    order = np.lexsort((computed, which))
    which, computed, visible = which[order], computed[order], visible[order]
    # Minimum of ``visible`` from each entry to the end of its SKU's run.
    suffix = pd.Series(visible[::-1]).groupby(which[::-1]).cummin().to_numpy()[::-1]
    keys = which * span + computed  # SKU-major keys: one sorted array for every SKU
    found = np.searchsorted(keys, sku * span + queries, side="left")
    seen = np.full(queries.shape, np.inf)
    inside = found < keys.size
    hits = np.flatnonzero(inside)
    same = which[found[inside]] == sku[inside]
    seen[hits[same]] = suffix[found[inside][same]]
    return seen


def sync_latencies(changes: list[tuple[float, int]],
                   reflections: list[Reflections]) -> np.ndarray:
    """Seconds from each change of a published value until every listing reflects it.

    A listing reflects a change made at t0 once it shows a value computed at or after
    t0 (for that SKU, or for all SKUs in a periodic feed). Changes some listing never
    reflected before the run ended are left out (censored).
    """
    if not changes:
        return np.empty(0)
    t0 = np.array([c[0] for c in changes])
    sku = np.array([c[1] for c in changes], dtype=np.int64)
    worst = np.zeros_like(t0)
    for columns in reflections:
        which = np.array(columns.sku, dtype=np.int64)
        computed = np.array(columns.computed, dtype=float)
        visible = np.array(columns.visible, dtype=float)
        whole = which < 0
        seen = _suffix_min_lookup(computed[whole], visible[whole], t0)
        own = ~whole
        if own.any():
            span = float(max(computed.max(initial=0.0), t0.max()) + 1.0)
            seen = np.minimum(seen, _per_sku_lookup(which[own], computed[own], visible[own],
                                                    sku, t0, span))
        worst = np.maximum(worst, seen - t0)
    return worst[np.isfinite(worst)]


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


def _order_arrays(sim: SimulationState) -> dict[str, np.ndarray]:
    """Every buyer placed after the warm-up as flat numpy arrays (no DataFrame: this is hot)."""
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in (
        "channel", "sku", "placed", "accepted", "first_seen", "reserved", "oversold", "fulfilled",
        "released", "short", "reservations")}
    for c, orders in enumerate(sim.channels):
        arrivals = orders.arrivals
        arrays["channel"].append(np.full(len(arrivals), c, dtype=np.int64))
        arrays["sku"].append(arrivals.skus)
        arrays["placed"].append(arrivals.times)
        arrays["accepted"].append(np.asarray(orders.accepted, dtype=bool))
        arrays["first_seen"].append(np.asarray(orders.first_seen, dtype=float))
        arrays["reserved"].append(np.asarray(orders.reserved, dtype=float))
        arrays["oversold"].append(np.asarray(orders.oversold, dtype=float))
        arrays["fulfilled"].append(np.asarray(orders.fulfilled, dtype=float))
        arrays["released"].append(np.asarray(orders.released, dtype=float))
        arrays["short"].append(np.asarray(orders.short, dtype=float))
        arrays["reservations"].append(np.asarray(orders.reservations, dtype=np.int64))
    flat = {name: np.concatenate(parts) if parts else np.empty(0)
            for name, parts in arrays.items()}
    counted = flat["placed"] >= sim.warmup  # orders placed during the warm-up are not counted
    return {name: values[counted] for name, values in flat.items()}


def _counts(group: np.ndarray, size: int, orders: dict[str, np.ndarray],
            delivered_group: np.ndarray, duplicate: np.ndarray) -> dict[str, np.ndarray]:
    """Order, oversell and delivery counts per group (channel or SKU index)."""
    def per(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(group[mask], weights=None if weights is None else weights[mask],
                           minlength=size).astype(np.int64)

    accepted = orders["accepted"]
    counts = {
        "orders": per(accepted),
        "oversold": per(accepted & set_mask(orders["oversold"])),
        "lost_sales": per(~accepted),
        "delivered_orders": per(accepted & set_mask(orders["first_seen"])),
        "deliveries": np.bincount(delivered_group, minlength=size).astype(np.int64),
        "duplicates_absorbed": np.bincount(delivered_group[duplicate],
                                           minlength=size).astype(np.int64),
        "extra_reservations": per(accepted, np.maximum(orders["reservations"] - 1, 0)),
        "short_shipments": per(accepted & set_mask(orders["short"])),
    }
    counts["duplicate_deliveries"] = counts["deliveries"] - counts["delivered_orders"]
    return counts


def _rate_table(counts: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    table = pd.DataFrame(counts, index=index)
    intervals = [wilson_interval(int(o), int(n)) for o, n in
                 zip(counts["oversold"], counts["orders"], strict=True)]
    table["oversell_rate"] = counts["oversold"] / np.maximum(counts["orders"], 1)
    table["oversell_rate_low"] = [low for low, _ in intervals]
    table["oversell_rate_high"] = [high for _, high in intervals]
    return table


LOST_SALE_CAUSES = ("lost_sales_no_stock", "lost_sales_buffer", "lost_sales_stale_listing")
"""The columns splitting ``lost_sales`` by cause; each lost sale is in exactly one."""


def _lost_sale_causes(sim: SimulationState) -> dict[str, np.ndarray]:
    """Lost sales by cause as channel × SKU count arrays (buyers placed after the warm-up).

    The model counts each lost sale under one cause as it happens (see
    :class:`~racesim.sim.state.ChannelOrders`); in :data:`LOST_SALE_CAUSES` order.
    """
    shape = (len(sim.channel_names), len(sim.sku_names))

    def grid(rows: list[list[int]]) -> np.ndarray:
        return np.array(rows, dtype=np.int64).reshape(shape)

    channels = sim.channels
    return dict(zip(LOST_SALE_CAUSES, (grid([c.lost_no_stock for c in channels]),
                                       grid([c.lost_buffer for c in channels]),
                                       grid([c.lost_stale_listing for c in channels])),
                    strict=True))


def _breakdowns(sim: SimulationState, orders: dict[str, np.ndarray]
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counts and rates per channel and per SKU (orders placed after the warm-up)."""
    log = sim.logs.deliveries
    warmup = sim.warmup
    if warmup > 0:
        placed = [channel.arrivals.times.tolist() for channel in sim.channels]
        log = [row for row in log if placed[row[0]][row[1]] >= warmup]
    delivered_channel = np.fromiter((row[0] for row in log), dtype=np.int64, count=len(log))
    delivered_sku = np.fromiter((sim.channels[row[0]].sku[row[1]] for row in log),
                                dtype=np.int64, count=len(log))
    duplicate = np.fromiter((row[5] == "duplicate" for row in log), dtype=bool, count=len(log))
    n_channels, n_skus = len(sim.channel_names), len(sim.sku_names)
    gap_seconds = sim.gaps.seconds
    causes = _lost_sale_causes(sim)
    per_channel = _rate_table(
        _counts(orders["channel"], n_channels, orders, delivered_channel, duplicate)
        | {name: counts.sum(axis=1) for name, counts in causes.items()},
        pd.Index(sim.channel_names, name="channel"))
    per_channel["visibility_gap_s"] = [sum(row) for row in gap_seconds]
    per_sku = _rate_table(
        _counts(orders["sku"], n_skus, orders, delivered_sku, duplicate)
        | {name: counts.sum(axis=0) for name, counts in causes.items()},
        pd.Index(sim.sku_names, name="sku"))
    per_sku["visibility_gap_s"] = [sum(gap_seconds[c][k] for c in range(n_channels))
                                   for k in range(n_skus)]
    per_sku["hidden_unit_hours"] = np.asarray(sim.hidden.unit_seconds) / 3600.0
    per_sku["overstated_pushes"] = sim.stock.overstated
    per_sku["overstated_excess_units"] = sim.stock.overstated_excess
    return per_channel, per_sku


def _add_money(sim: SimulationState, orders: dict[str, np.ndarray], per_channel: pd.DataFrame,
               per_sku: pd.DataFrame) -> ReplicationMoney | None:
    """With ``[costs]``: the replication's money, and its columns in the two breakdowns.

    Both tables gain ``lost_units_buffer`` (units lost to the buffer: see :mod:`.money`),
    ``lost_margin`` and ``oversell_cost``; ``per_sku`` also ``holding_cost`` (money in
    the scenario's currency; see :mod:`racesim.sim.money`). Without costs nothing changes.
    """
    rates = sim.costs
    if rates is None:
        return None
    n_channels, n_skus = len(sim.channel_names), len(sim.sku_names)
    lost_units = np.array([c.lost_buffer_units for c in sim.channels],
                          dtype=np.int64).reshape(n_channels, n_skus)
    sold = orders["accepted"] & set_mask(orders["oversold"])
    cell = orders["channel"][sold] * n_skus + orders["sku"][sold]
    oversold = np.bincount(cell, minlength=n_channels * n_skus).reshape(n_channels, n_skus)
    money = replication_money(rates, lost_units, oversold,
                              per_sku["hidden_unit_hours"].to_numpy(dtype=float))
    per_channel["lost_units_buffer"] = lost_units.sum(axis=1)
    per_sku["lost_units_buffer"] = lost_units.sum(axis=0)
    for name, values in money.per_channel.items():
        per_channel[name] = values
    for name, values in money.per_sku.items():
        per_sku[name] = values
    return money


def _stranded(sim: SimulationState, orders: dict[str, np.ndarray]) -> int:
    """Reservations open (not shipped, released or short) longer than ``stranded_after``."""
    reserved_at = orders["reserved"]
    closed = np.fmin(np.fmin(orders["fulfilled"], orders["released"]), orders["short"])
    closed = np.where(set_mask(closed), closed, sim.duration)  # still open at the end
    reserved = set_mask(reserved_at)
    open_for = closed[reserved] - reserved_at[reserved]
    return int((open_for > sim.stranded_after).sum())


def _drift_frame(sim: SimulationState, skus: np.ndarray) -> pd.DataFrame:
    """Every cycle count after the warm-up: (at, sku name, recorded, counted)."""
    drift = pd.DataFrame([row for row in sim.logs.drift if row[0] >= sim.warmup],
                         columns=["at", "sku", "recorded", "counted"])
    if len(drift):
        drift["sku"] = skus[drift["sku"].to_numpy()]
    return drift


def _drift_ratios(drift: pd.DataFrame) -> tuple[float | None, float | None]:
    """Max and mean, over cycle counts, of |recorded − counted| / counted units."""
    if not len(drift):
        return None, None
    per_count = drift.assign(gap=(drift["recorded"] - drift["counted"]).abs()).groupby("at")
    ratio = (per_count["gap"].sum() / per_count["counted"].sum().clip(lower=1)).to_numpy()
    return float(ratio.max()), float(ratio.mean())


def summarise(sim: SimulationState, per_channel: pd.DataFrame, per_sku: pd.DataFrame,
              orders: dict[str, np.ndarray], latency: np.ndarray,
              drift: pd.DataFrame, money: ReplicationMoney | None = None) -> Summary:
    """The replication's :class:`~racesim.sim.summary.Summary` from its breakdowns (and
    its money, with ``[costs]``)."""
    def total(column: str) -> int:
        return int(per_channel[column].sum())

    ordered, oversold, lost = total("orders"), total("oversold"), total("lost_sales")
    no_stock, buffer, stale = (total(cause) for cause in LOST_SALE_CAUSES)
    assert no_stock + buffer + stale == lost, "every lost sale has exactly one cause"
    drift_max, drift_mean = _drift_ratios(drift)
    counts = sim.counts
    return Summary(
        orders=ordered, oversold=oversold,
        oversell_rate=oversold / ordered if ordered else 0.0,
        oversell_rate_ci=wilson_interval(oversold, ordered),
        lost_sales=lost, duplicate_deliveries=total("duplicate_deliveries"),
        duplicates_absorbed=total("duplicates_absorbed"),
        extra_reservations=total("extra_reservations"),
        short_shipments=total("short_shipments"),
        sync_latency_p50_s=float(np.percentile(latency, 50)) if latency.size else 0.0,
        sync_latency_p99_s=float(np.percentile(latency, 99)) if latency.size else 0.0,
        stranded_reservations=_stranded(sim, orders),
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

    Without ``tables`` only the metrics are built (sweeps of many replications do not
    want per-order tables): the table fields are then empty DataFrames.
    """
    skus = np.asarray(sim.sku_names, dtype=object)
    channels = np.asarray(sim.channel_names, dtype=object)
    orders = _order_arrays(sim)
    per_channel, per_sku = _breakdowns(sim, orders)
    money = _add_money(sim, orders, per_channel, per_sku)
    latency = sync_latencies([change for change in sim.logs.published_changes
                              if change[0] >= sim.warmup], sim.sync.reflections)
    drift = _drift_frame(sim, skus)
    summary = summarise(sim, per_channel, per_sku, orders, latency, drift, money)
    empty = pd.DataFrame()
    result = SimulationResult(summary=summary, per_channel=per_channel, per_sku=per_sku,
                              orders=empty, deliveries=empty, pushes=empty, listings=empty,
                              events=empty, drift=drift, sync_latency=latency,
                              costs=sim.costs)
    if tables:
        _add_tables(sim, result, skus, channels)
    return result


def _add_tables(sim: SimulationState, result: SimulationResult, skus: np.ndarray,
                channels: np.ndarray) -> None:
    """Fill in the per-order, per-delivery, per-push and per-listing-change tables."""
    result.orders = _orders_frame(sim)
    rows = sim.logs.deliveries
    result.deliveries = pd.DataFrame({
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
    result.pushes = pushes
    listings = pd.DataFrame(sim.logs.listings or [], columns=["at", "channel", "sku", "value",
                                                               "cause"])
    if len(listings):
        listings["channel"] = channels[listings["channel"].to_numpy()]
        listings["sku"] = skus[listings["sku"].to_numpy()]
    result.listings = listings
    result.events = sim.engine.events()
