"""What one simulated replication produced: tidy tables and the metrics built from them.

Rates carry Wilson 95 % intervals (:mod:`racesim.util.stats`). Times are seconds of simulated
time; unit-hours are units × hours. Metrics count from the end of the scenario's
``warmup`` (orders placed before it, and time before it, are left out); the tables hold
the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from racesim.util.stats import wilson_interval

if TYPE_CHECKING:
    from racesim.sim.model import Simulation
    from racesim.sim.sync import Reflections

__all__ = ["SimulationResult", "collect", "sync_latencies"]

ORDER_COLUMNS = ["order_id", "channel", "sku", "units", "placed_at", "accepted", "copies",
                 "deliveries", "first_seen_at", "reserved_at", "oversold_at", "cancelled_at",
                 "released_at", "fulfilled_at", "short_at", "return_arrived_at",
                 "return_recorded_at", "reservations", "outcome"]


@dataclass
class SimulationResult:
    """Tables and metrics of one replication.

    ``summary`` holds the run's metrics (see :func:`summarise`); ``per_channel`` and
    ``per_sku`` the same counts broken down. The tables: ``orders`` (one row per buyer,
    lost sales included, with every timestamp and the outcome), ``deliveries`` (one row
    per webhook copy that reached the engine), ``pushes`` (one row per push that reached
    a listing), ``listings`` (every change of every listing), ``events`` (the ledger's
    event log), ``drift`` (every cycle count per SKU).
    """

    summary: dict[str, object]
    per_channel: pd.DataFrame
    per_sku: pd.DataFrame
    orders: pd.DataFrame
    deliveries: pd.DataFrame
    pushes: pd.DataFrame
    listings: pd.DataFrame
    events: pd.DataFrame
    drift: pd.DataFrame
    sync_latency: np.ndarray = field(repr=False)

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


def _orders_frame(sim: Simulation) -> pd.DataFrame:
    parts = []
    for c, (arrivals, plan, orders) in enumerate(zip(sim.arrivals, sim.plans, sim.orders,
                                                     strict=True)):
        frame = pd.DataFrame({
            "order_id": sim.order_ids[c], "channel": sim.channel_names[c],
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


def _order_arrays(sim: Simulation, warmup: float) -> dict[str, np.ndarray]:
    """Every buyer placed after ``warmup`` as flat numpy arrays (no DataFrame: this is hot)."""
    arrays: dict[str, list[np.ndarray]] = {name: [] for name in (
        "channel", "sku", "placed", "accepted", "first_seen", "reserved", "oversold", "fulfilled",
        "released", "short", "reservations")}
    for c, (arrivals, orders) in enumerate(zip(sim.arrivals, sim.orders, strict=True)):
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
    counted = flat["placed"] >= warmup  # orders placed during the warm-up are not counted
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
        "oversold": per(accepted & ~np.isnan(orders["oversold"])),
        "lost_sales": per(~accepted),
        "delivered_orders": per(accepted & ~np.isnan(orders["first_seen"])),
        "deliveries": np.bincount(delivered_group, minlength=size).astype(np.int64),
        "duplicates_absorbed": np.bincount(delivered_group[duplicate],
                                           minlength=size).astype(np.int64),
        "extra_reservations": per(accepted, np.maximum(orders["reservations"] - 1, 0)),
        "short_shipments": per(accepted & ~np.isnan(orders["short"])),
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


def collect(sim: Simulation, tables: bool = True) -> SimulationResult:
    """Build the metrics of a finished simulation, and its tables if ``tables``.

    Without ``tables`` only the metrics are built (sweeps of many replications do not
    want per-order tables): the table fields are then empty DataFrames.
    """
    skus = np.asarray(sim.sku_names, dtype=object)
    channels = np.asarray(sim.channel_names, dtype=object)
    warmup = float(sim.scenario.warmup)
    order_arrays = _order_arrays(sim, warmup)
    log = sim.deliveries_log
    if warmup > 0:
        placed = [arrivals.times.tolist() for arrivals in sim.arrivals]
        log = [row for row in log if placed[row[0]][row[1]] >= warmup]
    delivered_channel = np.fromiter((row[0] for row in log), dtype=np.int64, count=len(log))
    delivered_sku = np.fromiter((sim.sku_of[row[0]][row[1]] for row in log), dtype=np.int64,
                                count=len(log))
    duplicate = np.fromiter((row[5] == "duplicate" for row in log), dtype=bool, count=len(log))
    n_channels, n_skus = len(channels), len(skus)
    per_channel = _rate_table(
        _counts(order_arrays["channel"], n_channels, order_arrays, delivered_channel,
                duplicate), pd.Index(sim.channel_names, name="channel"))
    per_channel["visibility_gap_s"] = [sum(row) for row in sim.gaps.seconds]
    per_sku = _rate_table(
        _counts(order_arrays["sku"], n_skus, order_arrays, delivered_sku, duplicate),
        pd.Index(sim.sku_names, name="sku"))
    per_sku["visibility_gap_s"] = [sum(sim.gaps.seconds[c][k] for c in range(n_channels))
                                   for k in range(n_skus)]
    per_sku["hidden_unit_hours"] = np.asarray(sim.hidden.unit_seconds) / 3600.0
    per_sku["overstated_pushes"] = sim.overstated
    per_sku["overstated_excess_units"] = sim.overstated_excess
    latency = sync_latencies([change for change in sim.published_changes
                              if change[0] >= warmup], sim.sync.reflections)

    stranded_after = float(sim.scenario.metrics.stranded_after)
    reserved_at = order_arrays["reserved"]
    closed = np.fmin(np.fmin(order_arrays["fulfilled"], order_arrays["released"]),
                     order_arrays["short"])
    closed = np.where(np.isnan(closed), sim.duration, closed)
    open_for = closed[~np.isnan(reserved_at)] - reserved_at[~np.isnan(reserved_at)]
    stranded = int((open_for > stranded_after).sum())

    drift = pd.DataFrame([row for row in sim.drift if row[0] >= warmup],
                         columns=["at", "sku", "recorded", "counted"])
    drift_max: float | None
    drift_mean: float | None
    if len(drift):
        drift["sku"] = skus[drift["sku"].to_numpy()]
        per_count = drift.assign(gap=(drift["recorded"] - drift["counted"]).abs()).groupby("at")
        ratio = (per_count["gap"].sum() / per_count["counted"].sum().clip(lower=1)).to_numpy()
        drift_max, drift_mean = float(ratio.max()), float(ratio.mean())
    else:
        drift_max = drift_mean = None

    totals = {name: int(per_channel[name].sum()) for name in (
        "orders", "oversold", "lost_sales", "duplicate_deliveries", "duplicates_absorbed",
        "extra_reservations", "short_shipments")}
    low, high = wilson_interval(totals["oversold"], totals["orders"])
    summary: dict[str, object] = {
        "orders": totals["orders"],
        "oversold": totals["oversold"],
        "oversell_rate": totals["oversold"] / totals["orders"] if totals["orders"] else 0.0,
        "oversell_rate_ci": [low, high],
        "lost_sales": totals["lost_sales"],
        "duplicate_deliveries": totals["duplicate_deliveries"],
        "duplicates_absorbed": totals["duplicates_absorbed"],
        "extra_reservations": totals["extra_reservations"],
        "short_shipments": totals["short_shipments"],
        "sync_latency_p50_s": float(np.percentile(latency, 50)) if latency.size else 0.0,
        "sync_latency_p99_s": float(np.percentile(latency, 99)) if latency.size else 0.0,
        "stranded_reservations": stranded,
        "ledger_drift_max": drift_max,
        "ledger_drift_mean": drift_mean,
        "visibility_gap_s": float(per_sku["visibility_gap_s"].sum()),
        "hidden_unit_hours": float(per_sku["hidden_unit_hours"].sum()),
        "overstated_pushes": int(sum(sim.overstated)),
        "overstated_excess_units": int(sum(sim.overstated_excess)),
        "cas_refusals": int(getattr(sim.sync, "refused", 0)),
        "cancel_too_late": sim.counts["cancel_too_late"],
        "dead_letter_orders": sim.counts["dead_letter_orders"],
        "dead_letter_cancels": sim.counts["dead_letter_cancels"],
    }
    empty = pd.DataFrame()
    result = SimulationResult(summary=summary, per_channel=per_channel, per_sku=per_sku,
                              orders=empty, deliveries=empty, pushes=empty, listings=empty,
                              events=empty, drift=drift, sync_latency=latency)
    if tables:
        _add_tables(sim, result, skus, channels)
    return result


def _add_tables(sim: Simulation, result: SimulationResult, skus: np.ndarray,
                channels: np.ndarray) -> None:
    """Fill in the per-order, per-delivery, per-push and per-listing-change tables."""
    result.orders = _orders_frame(sim)
    rows = sim.deliveries_log
    result.deliveries = pd.DataFrame({
        "order_id": [sim.order_ids[c][j] for c, j, *_ in rows],
        "channel": channels[[r[0] for r in rows]] if rows else [],
        "sku": skus[[sim.sku_of[c][j] for c, j, *_ in rows]] if rows else [],
        "copy": [r[2] + 1 for r in rows], "delivered_at": [r[3] for r in rows],
        "failed_attempts": [r[4] for r in rows], "status": [r[5] for r in rows]})
    pushes = pd.DataFrame(sim.push_log, columns=[
        "channel", "sku", "mode", "computed_at", "sent_at", "visible_at", "value",
        "published_at_visible", "listing_before", "listing_after", "applied"])
    if len(pushes):
        pushes["channel"] = channels[pushes["channel"].to_numpy()]
        pushes["sku"] = skus[pushes["sku"].to_numpy()]
    result.pushes = pushes
    listings = pd.DataFrame(sim.listing_log or [], columns=["at", "channel", "sku", "value",
                                                          "cause"])
    if len(listings):
        listings["channel"] = channels[listings["channel"].to_numpy()]
        listings["sku"] = skus[listings["sku"].to_numpy()]
    result.listings = listings
    result.events = sim.engine.events()
