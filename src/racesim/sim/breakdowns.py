"""A replication's counts per channel and per SKU, as plain arrays that become tables on request.

A :class:`Breakdown` holds one numpy array per column (counts, rates with their Wilson
95 % intervals, seconds, unit-hours, money) and one label per row (a channel or a SKU
name). Sweeps and the tuners add these arrays up over thousands of replications, so no
DataFrame is built per replication; :meth:`Breakdown.to_frame` gives the tidy table —
index ``channel`` or ``sku`` — when one is asked for (``racesim run --out``, reports).

Every count is of buyers placed after the scenario's warm-up (see
:func:`sale_arrays`); the column order and dtypes are those the tables have always had.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

import numpy as np
import pandas as pd

from racesim.sim.money import ReplicationMoney, replication_money
from racesim.sim.state import ChannelOrders, SimulationState, set_mask
from racesim.util.stats import wilson_intervals

__all__ = ["LOST_SALE_CAUSES", "SALE_TIMES", "Breakdown", "add_money", "breakdowns",
           "sale_arrays"]

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


SALE_TIMES = ("first_seen", "reserved", "oversold", "fulfilled", "released", "short")
"""The per-order times :func:`sale_arrays` gives, each :data:`~racesim.sim.state.UNSET`
until it happens."""

_CELL_COUNTS = ("orders", "oversold", "lost_sales", "delivered_orders", "deliveries",
                "duplicates_absorbed", "extra_reservations", "short_shipments")
"""The counts :func:`breakdowns` adds up per channel × SKU, in table order."""


def _picker(rows: list[int]) -> Callable[[list], Sequence]:
    """A function giving ``values[j]`` for each j in ``rows``, in order."""
    if len(rows) > 1:
        return itemgetter(*rows)
    return lambda values: [values[j] for j in rows]


def _sale_values(orders: ChannelOrders, names: tuple[str, ...], sold: list[int],
                 numbers: np.ndarray) -> np.ndarray:
    """The lists ``names`` of one channel's orders at its sales ``sold`` (also as
    ``numbers``), as one float array of shape (names, sales).

    When most buyers bought, whole lists are converted and the sales taken from the
    array; else only the sales' entries are read.
    """
    if 2 * len(sold) > len(orders):
        whole = np.array([getattr(orders, name) for name in names], dtype=float)
        return whole.reshape(len(names), -1)[:, numbers]
    pick = _picker(sold)
    return np.array([pick(getattr(orders, name)) for name in names],
                    dtype=float).reshape(len(names), -1)


def sale_arrays(sim: SimulationState) -> dict[str, np.ndarray]:
    """Every sale (a buyer the listing showed enough) placed after the warm-up as flat
    numpy arrays (no DataFrame: this is hot).

    ``channel`` and ``sku`` (numbers), ``placed`` (s), ``reservations``, ``deliveries``
    (webhook copies that reached the engine) and the times of :data:`SALE_TIMES`, channel
    after channel in arrival order. Only a sale has any of these (a buyer turned away has
    no order), so only the sales' entries of the channels' lists are kept.
    """
    channels, warmup = sim.channels, sim.warmup
    rows = [list(compress(range(len(c)), c.accepted)) for c in channels]
    numbers = [np.array(sold, dtype=np.int64) for sold in rows]
    placed = np.concatenate([np.empty(0)] + [c.arrivals.times[sold]
                                             for c, sold in zip(channels, numbers, strict=True)])
    sku = np.concatenate([np.empty(0, dtype=np.int64)] + [
        c.arrivals.skus[sold] for c, sold in zip(channels, numbers, strict=True)])
    channel = np.repeat(np.arange(len(channels), dtype=np.int64), [len(r) for r in rows])
    names = (*SALE_TIMES, "reservations", "deliveries")  # the counts are exact as floats
    values = np.concatenate([np.empty((len(names), 0))] + [
        _sale_values(c, names, sold, at) for c, sold, at in zip(channels, rows, numbers,
                                                                strict=True)], axis=1)
    if warmup > 0:  # orders placed during the warm-up are not counted
        counted = placed >= warmup
        values, placed, sku, channel = (values[:, counted], placed[counted], sku[counted],
                                        channel[counted])
    counts = values[len(SALE_TIMES):].astype(np.int64)
    return {"channel": channel, "sku": sku, "placed": placed, "reservations": counts[0],
            "deliveries": counts[1],
            **dict(zip(SALE_TIMES, values[:len(SALE_TIMES)], strict=True))}


def _buyer_cells(sim: SimulationState) -> np.ndarray:
    """Buyers placed after the warm-up, sales and lost sales, per channel × SKU: shape
    (channels, SKUs), int64."""
    n_skus, warmup = len(sim.sku_names), sim.warmup
    grid = np.zeros((len(sim.channel_names), n_skus), dtype=np.int64)
    for c, orders in enumerate(sim.channels):
        skus = orders.arrivals.skus
        if warmup > 0:
            skus = skus[orders.arrivals.times >= warmup]
        grid[c] = np.bincount(skus, minlength=n_skus)
    return grid


_STATUS = itemgetter(5)
"""The engine's answer in a row of the delivery log (:class:`~racesim.sim.state.Logs`)."""
_DUPLICATE = "duplicate"


def _duplicate_cells(sim: SimulationState) -> np.ndarray:
    """The channel × SKU cell (``channel × SKUs + sku``) of every webhook copy the engine
    recognised as a duplicate, for buyers placed after the warm-up."""
    log = sim.logs.deliveries
    duplicates = list(compress(log, map(_DUPLICATE.__eq__, map(_STATUS, log))))
    channels = sim.channels
    if duplicates and sim.warmup > 0:
        placed = [channel.arrivals.times.tolist() for channel in channels]
        duplicates = [row for row in duplicates if placed[row[0]][row[1]] >= sim.warmup]
    skus, n_skus = [channel.sku for channel in channels], len(sim.sku_names)
    return np.array([row[0] * n_skus + skus[row[0]][row[1]] for row in duplicates],
                    dtype=np.int64)


def _cell_counts(sim: SimulationState, sales: dict[str, np.ndarray]) -> np.ndarray:
    """The :data:`_CELL_COUNTS` of buyers placed after the warm-up per channel and SKU:
    shape (counts, channels, SKUs), int64.

    ``sales`` is :func:`sale_arrays`. Every count of sales is a sum of one integer per
    sale over the sales of a cell, so they come from one weighted ``bincount``; lost
    sales are the cell's buyers less its sales, duplicates are read from the delivery log.
    """
    n_channels, n_skus = len(sim.channel_names), len(sim.sku_names)
    cells = n_channels * n_skus
    cell = sales["channel"] * n_skus + sales["sku"]
    per_sale = np.zeros((len(_CELL_COUNTS), cell.size), dtype=np.int64)
    per_sale[0] = 1
    per_sale[1] = set_mask(sales["oversold"])
    per_sale[3] = set_mask(sales["first_seen"])
    per_sale[4] = sales["deliveries"]
    per_sale[6] = np.maximum(sales["reservations"] - 1, 0)
    per_sale[7] = set_mask(sales["short"])
    index = (np.arange(len(_CELL_COUNTS), dtype=np.int64)[:, np.newaxis] * cells + cell).ravel()
    sums = np.bincount(index, weights=per_sale.ravel(), minlength=len(_CELL_COUNTS) * cells)
    grid = sums.astype(np.int64).reshape(len(_CELL_COUNTS), n_channels, n_skus)
    grid[2] = _buyer_cells(sim) - grid[0]
    grid[5] = np.bincount(_duplicate_cells(sim), minlength=cells).reshape(n_channels, n_skus)
    return grid


def _lost_sale_causes(sim: SimulationState) -> np.ndarray:
    """Lost sales by cause (:data:`LOST_SALE_CAUSES` order) per channel and SKU: shape
    (causes, channels, SKUs), buyers placed after the warm-up.

    The model counts each lost sale under one cause as it happens (see
    :class:`~racesim.sim.state.ChannelOrders`).
    """
    channels = sim.channels
    return np.array([[c.lost_no_stock for c in channels], [c.lost_buffer for c in channels],
                     [c.lost_stale_listing for c in channels]], dtype=np.int64).reshape(
        len(LOST_SALE_CAUSES), len(sim.channel_names), len(sim.sku_names))


def _columns(counts: np.ndarray, causes: np.ndarray) -> dict[str, np.ndarray]:
    """The count columns of one breakdown from its (counts, rows) and (causes, rows)
    arrays: :data:`_CELL_COUNTS`, ``duplicate_deliveries`` and :data:`LOST_SALE_CAUSES`."""
    columns = dict(zip(_CELL_COUNTS, counts, strict=True))
    columns["duplicate_deliveries"] = columns["deliveries"] - columns["delivered_orders"]
    columns.update(zip(LOST_SALE_CAUSES, causes, strict=True))
    return columns


def _add_rates(per_channel: dict[str, np.ndarray], per_sku: dict[str, np.ndarray]) -> None:
    """Add to both the oversell rate (a fraction, 0 without orders) with its Wilson 95 %
    interval per row, computed for the rows of both at once."""
    oversold = np.concatenate([per_channel["oversold"], per_sku["oversold"]])
    ordered = np.concatenate([per_channel["orders"], per_sku["orders"]])
    rate = oversold / np.maximum(ordered, 1)
    low, high = wilson_intervals(oversold, ordered)
    split = len(per_channel["orders"])
    for columns, rows in ((per_channel, slice(None, split)), (per_sku, slice(split, None))):
        columns.update(oversell_rate=rate[rows], oversell_rate_low=low[rows],
                       oversell_rate_high=high[rows])


def breakdowns(sim: SimulationState, sales: dict[str, np.ndarray]
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """The columns per channel and per SKU (orders placed after the warm-up), before money,
    and the oversold orders per channel × SKU (for :func:`add_money`).

    ``sales`` is :func:`sale_arrays`. Each breakdown is a column name → array mapping
    in table order, ready for :func:`add_money` and a :class:`Breakdown`.
    """
    grid, causes = _cell_counts(sim, sales), _lost_sale_causes(sim)
    per_channel = _columns(grid.sum(axis=2), causes.sum(axis=2))
    per_sku = _columns(grid.sum(axis=1), causes.sum(axis=1))
    _add_rates(per_channel, per_sku)
    gap_seconds = sim.gaps.seconds
    per_channel["visibility_gap_s"] = np.asarray([sum(row) for row in gap_seconds],
                                                 dtype=float)
    # the channels' gaps of each SKU in channel order: the sums Python's sum() gives
    per_sku["visibility_gap_s"] = np.array(gap_seconds, dtype=float).reshape(
        len(sim.channel_names), len(sim.sku_names)).sum(axis=0)
    per_sku["hidden_unit_hours"] = np.asarray(sim.hidden.unit_seconds, dtype=float) / 3600.0
    per_sku["overstated_pushes"] = np.asarray(sim.stock.overstated, dtype=np.int64)
    per_sku["overstated_excess_units"] = np.asarray(sim.stock.overstated_excess,
                                                    dtype=np.int64)
    return per_channel, per_sku, grid[1]


def add_money(sim: SimulationState, per_channel: dict[str, np.ndarray],
              per_sku: dict[str, np.ndarray], oversold: np.ndarray) -> ReplicationMoney | None:
    """With ``[costs]``: the replication's money, and its columns in the two breakdowns.

    ``oversold`` is the oversold orders per channel × SKU (from :func:`breakdowns`).
    Both breakdowns gain ``lost_units_buffer`` (units lost to the buffer: see
    :mod:`.money`), ``lost_margin`` and ``oversell_cost``; ``per_sku`` also
    ``holding_cost`` (money in the scenario's currency; see :mod:`racesim.sim.money`).
    Without costs nothing changes.
    """
    rates = sim.costs
    if rates is None:
        return None
    n_channels, n_skus = len(sim.channel_names), len(sim.sku_names)
    lost_units = np.array([c.lost_buffer_units for c in sim.channels],
                          dtype=np.int64).reshape(n_channels, n_skus)
    money = replication_money(rates, lost_units, oversold, per_sku["hidden_unit_hours"])
    per_channel["lost_units_buffer"] = lost_units.sum(axis=1)
    per_sku["lost_units_buffer"] = lost_units.sum(axis=0)
    per_channel.update(money.per_channel)
    per_sku.update(money.per_sku)
    return money
