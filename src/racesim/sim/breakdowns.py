"""A replication's counts per channel and per SKU, as plain arrays that become tables on request.

A :class:`Breakdown` holds one numpy array per column (counts, rates with their Wilson
95 % intervals, seconds, unit-hours, money) and one label per row (a channel or a SKU
name). Sweeps and the tuners add these arrays up over thousands of replications, so no
DataFrame is built per replication; :meth:`Breakdown.to_frame` gives the tidy table —
index ``channel`` or ``sku`` — when one is asked for (``racesim run --out``, reports).

Every count is of buyers placed after the scenario's warm-up (see
:func:`order_arrays`); the column order and dtypes are those the tables have always had.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from racesim.sim.money import ReplicationMoney, replication_money
from racesim.sim.state import SimulationState, set_mask
from racesim.util.stats import wilson_intervals

__all__ = ["LOST_SALE_CAUSES", "Breakdown", "add_money", "breakdowns", "order_arrays"]

LOST_SALE_CAUSES = ("lost_sales_no_stock", "lost_sales_buffer", "lost_sales_stale_listing")
"""The columns splitting ``lost_sales`` by cause; each lost sale is in exactly one."""


@dataclass(frozen=True, slots=True, eq=False)  # arrays do not compare with ==
class Breakdown:
    """One replication's figures per channel or per SKU: a numpy array per column.

    ``columns[name][i]`` is column ``name`` of row ``labels[i]``; every array has one
    entry per label. Integer counts are ``int64``, rates, seconds, unit-hours and money
    ``float64`` (as in :meth:`to_frame`).
    """

    dimension: str
    """What a row is: ``"channel"`` or ``"sku"`` (the table's index name)."""
    labels: tuple[str, ...]
    """The channel or SKU names, in the scenario's order."""
    columns: dict[str, np.ndarray]
    """Column name → its values by row, in the table's column order."""

    def __getitem__(self, column: str) -> np.ndarray:
        """The values of ``column`` by row (the array itself: do not write to it)."""
        return self.columns[column]

    def rows(self, labels: list[str]) -> np.ndarray:
        """The row numbers of ``labels``, in the order given (a ``KeyError`` names the first
        missing one)."""
        where = {label: i for i, label in enumerate(self.labels)}
        try:
            return np.array([where[label] for label in labels], dtype=np.int64)
        except KeyError as missing:
            raise KeyError(f"no {self.dimension} {missing.args[0]!r}") from None

    def to_frame(self) -> pd.DataFrame:
        """The tidy table: one row per label (index ``dimension``), one column per array."""
        return pd.DataFrame(self.columns, index=pd.Index(list(self.labels),
                                                         name=self.dimension))


def order_arrays(sim: SimulationState) -> dict[str, np.ndarray]:
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


def _with_rates(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``counts`` and the oversell rate (a fraction, 0 without orders) with its Wilson
    95 % interval per row."""
    low, high = wilson_intervals(counts["oversold"], counts["orders"])
    return {**counts, "oversell_rate": counts["oversold"] / np.maximum(counts["orders"], 1),
            "oversell_rate_low": low, "oversell_rate_high": high}


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


def _delivered(sim: SimulationState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channel and SKU numbers of every webhook copy that reached the engine for a buyer
    placed after the warm-up, and whether the engine recognised it as a duplicate."""
    log = sim.logs.deliveries
    warmup = sim.warmup
    if warmup > 0:
        placed = [channel.arrivals.times.tolist() for channel in sim.channels]
        log = [row for row in log if placed[row[0]][row[1]] >= warmup]
    delivered_channel = np.fromiter((row[0] for row in log), dtype=np.int64, count=len(log))
    delivered_sku = np.fromiter((sim.channels[row[0]].sku[row[1]] for row in log),
                                dtype=np.int64, count=len(log))
    duplicate = np.fromiter((row[5] == "duplicate" for row in log), dtype=bool, count=len(log))
    return delivered_channel, delivered_sku, duplicate


def breakdowns(sim: SimulationState, orders: dict[str, np.ndarray]
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The columns per channel and per SKU (orders placed after the warm-up), before money.

    ``orders`` is :func:`order_arrays`. Each is a column name → array mapping in table
    order, ready for :func:`add_money` and a :class:`Breakdown`.
    """
    delivered_channel, delivered_sku, duplicate = _delivered(sim)
    n_channels, n_skus = len(sim.channel_names), len(sim.sku_names)
    gap_seconds = sim.gaps.seconds
    causes = _lost_sale_causes(sim)
    per_channel = _with_rates(
        _counts(orders["channel"], n_channels, orders, delivered_channel, duplicate)
        | {name: counts.sum(axis=1) for name, counts in causes.items()})
    per_channel["visibility_gap_s"] = np.asarray([sum(row) for row in gap_seconds],
                                                 dtype=float)
    per_sku = _with_rates(
        _counts(orders["sku"], n_skus, orders, delivered_sku, duplicate)
        | {name: counts.sum(axis=0) for name, counts in causes.items()})
    per_sku["visibility_gap_s"] = np.asarray(
        [sum(gap_seconds[c][k] for c in range(n_channels)) for k in range(n_skus)],
        dtype=float)
    per_sku["hidden_unit_hours"] = np.asarray(sim.hidden.unit_seconds, dtype=float) / 3600.0
    per_sku["overstated_pushes"] = np.asarray(sim.stock.overstated, dtype=np.int64)
    per_sku["overstated_excess_units"] = np.asarray(sim.stock.overstated_excess,
                                                    dtype=np.int64)
    return per_channel, per_sku


def add_money(sim: SimulationState, orders: dict[str, np.ndarray],
              per_channel: dict[str, np.ndarray],
              per_sku: dict[str, np.ndarray]) -> ReplicationMoney | None:
    """With ``[costs]``: the replication's money, and its columns in the two breakdowns.

    Both gain ``lost_units_buffer`` (units lost to the buffer: see :mod:`.money`),
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
    money = replication_money(rates, lost_units, oversold, per_sku["hidden_unit_hours"])
    per_channel["lost_units_buffer"] = lost_units.sum(axis=1)
    per_sku["lost_units_buffer"] = lost_units.sum(axis=0)
    per_channel.update(money.per_channel)
    per_sku.update(money.per_sku)
    return money
