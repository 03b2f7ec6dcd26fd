"""Order lines → SKU-orders: one row per (order, SKU), the unit demand is counted in.

The scenario's demand is per SKU, so an order of two SKUs is one order of each, and two
lines of the same SKU in one order are one order of their summed units. Each row keeps
the channel, the placed time in epoch seconds (``placed_s``), whether it has a time of
day (``timed``; False for a dates-only export), whether it was cancelled and after how
long, the units returned and after how long, and the file it came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError
from racesim.fit.exposure import epoch_seconds

__all__ = ["sku_orders"]

_NEEDED = ("order_id", "sku", "quantity", "channel", "placed_at", "time_resolution",
           "status", "cancelled_at", "returned_at", "returned_quantity", "price", "currency",
           "source_file")


def sku_orders(lines: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(SKU-orders, the lines they came from), both limited to ``window`` when given."""
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
    placed = epoch_seconds(lines["placed_at"])
    order_code = pd.factorize(lines["order_id"], sort=True)[0]
    sku_code, skus = pd.factorize(lines["sku"], sort=True)
    key = order_code.astype(np.int64) * max(len(skus), 1) + sku_code
    if (order_code < 0).any() or (sku_code < 0).any():  # no order or SKU: not counted
        key = np.where((order_code < 0) | (sku_code < 0), -1, key)
    work = pd.DataFrame({
        "key": key, "row": np.arange(len(lines)),
        "channel": lines["channel"].array, "placed_s": placed,
        "timed": (lines["time_resolution"] == "second").to_numpy(),
        "quantity": lines["quantity"].to_numpy(dtype=np.int64),
        "cancelled": (lines["status"] == "cancelled").to_numpy(),
        "cancel_delay_s": epoch_seconds(lines["cancelled_at"]) - placed,
        "returned_quantity": lines["returned_quantity"].to_numpy(dtype=np.int64),
        "return_delay_s": epoch_seconds(lines["returned_at"]) - placed,
        "source_file": lines["source_file"].astype(str).array})
    if (key < 0).any():
        work = work[work["key"] >= 0]
    # grouped on one integer key, (order code, SKU code), sorted as (order_id, sku) are
    table = work.groupby("key", sort=True).agg(
        row=("row", "first"),
        channel=("channel", "first"), placed_s=("placed_s", "min"), timed=("timed", "all"),
        quantity=("quantity", "sum"), cancelled=("cancelled", "any"),
        cancel_delay_s=("cancel_delay_s", "min"),
        returned_quantity=("returned_quantity", "sum"),
        return_delay_s=("return_delay_s", "max"), source_file=("source_file", "first"))
    first = table.pop("row").to_numpy()
    table = table.reset_index(drop=True)
    table.insert(0, "sku", lines["sku"].take(first).reset_index(drop=True))
    table.insert(0, "order_id", lines["order_id"].take(first).reset_index(drop=True))
    return table, lines
