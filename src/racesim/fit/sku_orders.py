"""Order lines → SKU-orders: one row per (order, SKU), the unit demand is counted in.

The scenario's demand is per SKU, so an order of two SKUs is one order of each, and two
lines of the same SKU in one order are one order of their summed units. Each row keeps
the channel, the placed time in epoch seconds (``placed_s``), whether it has a time of
day (``timed``; False for a dates-only export), whether it was cancelled and after how
long, the units returned and after how long, and the file it came from.

The rows are grouped on one integer code per (order, SKU) with numpy reductions over the
sorted codes, and the codes of the SKUs, orders, channels and files are kept
(:class:`SkuOrders`) so the fit need not factorize those strings again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from racesim.fit.checks import ExportError
from racesim.fit.exposure import epoch_seconds
from racesim.fit.text import fixed_width, sorted_changes
from racesim.util.parallel import in_parallel

__all__ = ["Coded", "SkuOrders", "coded", "sku_orders", "sku_orders_coded"]

_NEEDED = ("order_id", "sku", "quantity", "channel", "placed_at", "time_resolution",
           "status", "cancelled_at", "returned_at", "returned_quantity", "price", "currency",
           "source_file")

_FEW = 16
"""A column with at most this many distinct values in its first rows is looked up in them."""


@dataclass(frozen=True, slots=True)
class Coded:
    """A string column as integer codes into its distinct values, sorted (-1: missing;
    ``names`` may be left empty where only the grouping is wanted)."""

    codes: np.ndarray
    names: list[str]


@dataclass(frozen=True, slots=True)
class SkuOrders:
    """The SKU-orders table and the lines it came from, with the codes of their columns:
    ``sku``, ``order``, ``channel`` and ``source`` of the table's rows, ``line_sku`` and
    ``currency`` of the lines' (``line_sku`` indexes ``sku.names``).

    ``table`` holds the numeric columns only; the fit needs the string columns as codes,
    so :meth:`labelled` builds them (``first``: each row's first line) only when asked."""

    table: pd.DataFrame
    lines: pd.DataFrame
    sku: Coded
    order: Coded
    channel: Coded
    source: Coded
    line_sku: np.ndarray
    currency: Coded
    first: np.ndarray

    def labelled(self) -> pd.DataFrame:
        """The table with its ``order_id``, ``sku``, ``channel`` and ``source_file``."""
        lines, first = self.lines, self.first
        labels = {"order_id": lines["order_id"].array.take(first),
                  "sku": lines["sku"].array.take(first),
                  "channel": lines["channel"].array.take(first)}
        source = {"source_file": lines["source_file"].take(first).astype(str).array}
        return pd.DataFrame({**labels, **self.table, **source})


def _arrow(column: pd.Series) -> pa.ChunkedArray | None:
    array = getattr(column.array, "_pa_array", None)
    return array if isinstance(array, pa.ChunkedArray) else None


def coded(column: pd.Series, *, named: bool = True) -> Coded:
    """The column's codes and sorted distinct values (none unless ``named``: codes are
    enough to group by): by looking each value up among a few seen at the start when
    there are few, by one sorted run when the values are sorted (order ids usually are),
    else ``pd.factorize``; a categorical's own codes, in its categories' sorted order."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _categories_coded(column, named)
    array = _arrow(column)
    if array is not None and len(array) and array.null_count == 0:
        sample = sorted(str(v) for v in pc.unique(array.slice(0, 2048)).to_pylist())
        if len(sample) == 1 and pc.all(pc.equal(array, sample[0])).as_py():
            return Coded(np.zeros(len(array), dtype=np.int64), sample)  # one file, one currency
        if len(sample) <= _FEW:
            found = pc.index_in(array, value_set=pa.array(sample, type=array.type))
            if found.null_count == 0:
                return Coded(np.asarray(found.to_numpy(), dtype=np.int64), sample)
        if len(array) > 1 and sorted(head := array.slice(0, 2048).to_pylist()) == head \
                and (change := sorted_changes(array)) is not None:
            codes = np.concatenate([[0], np.cumsum(change)])
            if not named:
                return Coded(codes, [])
            starts = np.concatenate([[0], np.flatnonzero(change) + 1])
            return Coded(codes, [str(v) for v in array.take(pa.array(starts)).to_pylist()])
    if array is not None and array.null_count == 0 and (packed := _packed(array)) is not None:
        codes, keys = pd.factorize(packed[0])  # 8-byte keys hash far faster than strings
        found = [bytes(key[:packed[1]]).decode() for key in
                 np.asarray(keys, dtype=np.uint64).view(np.uint8).reshape(-1, 8)]
        rank = np.argsort(np.argsort(np.array(found, dtype=object), kind="stable"))
        return Coded(rank[codes], sorted(found) if named else [])
    codes, names = pd.factorize(column, sort=True)
    return Coded(np.asarray(codes, dtype=np.int64), [str(v) for v in names] if named else [])


def _categories_coded(column: pd.Series, named: bool) -> Coded:
    """A categorical column's codes renumbered to its categories' sorted (text) order,
    missing values -1; only the categories used are kept, as ``pd.factorize`` would."""
    used = np.flatnonzero(np.bincount(np.asarray(column.cat.codes) + 1,
                                      minlength=len(column.cat.categories) + 1)[1:])
    categories = column.cat.categories.tolist()
    names = [str(categories[k]) for k in used.tolist()]
    rank = np.full(len(column.cat.categories) + 1, -1, dtype=np.int64)
    rank[used + 1] = np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"))
    return Coded(rank[np.asarray(column.cat.codes, dtype=np.int64) + 1],
                 sorted(names) if named else [])


def _packed(array: pa.ChunkedArray) -> tuple[np.ndarray, int] | None:
    """(Each string of a one-chunk string array as one 8-byte integer — equal exactly
    when the strings are —, their length) if they all have the same length of at most 8
    bytes (SKU codes often do); None otherwise."""
    fixed = fixed_width(array, 8)
    if fixed is None:
        return None
    buffer, start, width, count = fixed
    data = np.frombuffer(buffer, dtype=np.uint8, count=width * count,
                         offset=start).reshape(count, width)
    if width < 8:
        data = np.concatenate([data, np.zeros((count, 8 - width), np.uint8)], axis=1)
    return np.ascontiguousarray(data).view(np.uint64).ravel(), width


def _group(key: np.ndarray, lines: pd.DataFrame, placed: np.ndarray
           ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(Each group's first row, its aggregated columns) for the rows grouped on ``key``
    (rows with a negative key left out), groups in key order. Most groups are one row:
    each column is that first row's value, folded with the group's other rows (few)."""
    order = np.argsort(key, kind="stable")
    if len(key) and key[order[0]] < 0:
        order = order[key[order] >= 0]
    sorted_key = key[order]
    opens = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    first = order[opens]
    more = np.flatnonzero(~opens)
    group, rest = np.cumsum(opens)[more] - 1, order[more]

    def each(values: np.ndarray, how: np.ufunc) -> np.ndarray:
        out = values[first]
        how.at(out, group, values[rest])
        return out

    def delay(times: pd.Series, how: np.ufunc) -> np.ndarray:
        if not times.notna().any():  # no line cancelled or returned: NaN throughout
            return np.full(len(first), np.nan)
        return each(epoch_seconds(times) - placed, how)

    return first, {
        "placed_s": each(placed, np.minimum),
        "timed": each((lines["time_resolution"] == "second").to_numpy(), np.logical_and),
        "quantity": each(lines["quantity"].to_numpy(dtype=np.int64), np.add),
        "cancelled": each((lines["status"] == "cancelled").to_numpy(), np.logical_or),
        "cancel_delay_s": delay(lines["cancelled_at"], np.fmin),
        "returned_quantity": each(lines["returned_quantity"].to_numpy(dtype=np.int64), np.add),
        "return_delay_s": delay(lines["returned_at"], np.fmax)}


def sku_orders_coded(lines: pd.DataFrame,
                     window: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> SkuOrders:
    """:func:`sku_orders` with the codes of the columns the fit groups on."""
    missing = [name for name in _NEEDED if name not in lines.columns]
    if missing:
        raise ExportError(f"orders: the order-lines table lacks column(s) {', '.join(missing)} "
                          "(pass read_orders' result, or a table with its columns)")
    lines = lines.reset_index(drop=True)
    if window is not None:
        start, end = (pd.Timestamp(t) for t in window)
        lines = lines[(lines["placed_at"] >= start) & (lines["placed_at"] < end)]
    if lines.empty:
        raise ExportError("orders: no order lines to fit (none in the files"
                          + (", or none inside the window)" if window is not None else ")"))
    def grouped() -> tuple[Coded, Coded, np.ndarray, dict[str, np.ndarray]]:
        placed = epoch_seconds(lines["placed_at"])
        order, sku = in_parallel(lambda: coded(lines["order_id"], named=False),
                                 lambda: coded(lines["sku"]))
        key = order.codes * max(len(sku.names), 1) + sku.codes
        key[(order.codes < 0) | (sku.codes < 0)] = -1  # no order or SKU: not counted
        return order, sku, *_group(key, lines, placed)

    (order, sku, first, columns), channel, source, currency = in_parallel(
        grouped, lambda: coded(lines["channel"]),
        lambda: coded(lines["source_file"]), lambda: coded(lines["currency"]))
    table = pd.DataFrame(columns, copy=False)  # numeric columns, each its own block
    return SkuOrders(table, lines, Coded(sku.codes[first], sku.names),
                     Coded(order.codes[first], order.names),
                     Coded(channel.codes[first], channel.names),
                     Coded(source.codes[first], source.names), sku.codes, currency, first)


def sku_orders(lines: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(SKU-orders, the lines they came from), both limited to ``window`` when given."""
    found = sku_orders_coded(lines, window)
    return found.labelled(), found.lines
