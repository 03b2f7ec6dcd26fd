"""A returns file — ``order_id, sku, quantity, returned_at`` — joined to the order lines.

Order exports rarely carry returns (Shopify's Refunded Amount is money, not units;
Amazon's and eBay's order reports have none), so returns may come from a file of their
own. Each row returns ``quantity`` units of one (order, SKU) line at ``returned_at``
(ISO 8601; an offset is honoured, a time without one read as UTC). A return naming a
line no order file has, more units than the line ordered, or a time before the order
was placed is an error naming the returns file, its line and the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError, RowChecks, check_policy, located
from racesim.fit.rules import identifier, times, whole
from racesim.fit.strict import read_strict
from racesim.fit.table import load
from racesim.fit.times import parse_times

__all__ = ["RETURN_COLUMNS", "apply_returns", "read_returns"]

RETURN_COLUMNS: tuple[str, ...] = ("order_id", "sku", "quantity", "returned_at")
"""A returns file's columns, every one required."""


def read_returns(path: str | Path, *, malformed: str = "error"
                 ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The returns (``order_id, sku, quantity, returned_at`` UTC, ``source_line``) and the
    malformed rows left out by reason (``malformed="skip"``)."""
    policy = check_policy(malformed)
    table = read_strict(load(path), "returns file", RETURN_COLUMNS, (), policy)
    cells, checks = table.cells, RowChecks(table.path, table.lines)
    for name in ("order_id", "sku"):
        identifier(checks, cells[name], name)
    quantity = whole(checks, cells["quantity"], "quantity")
    parsed = parse_times(cells["returned_at"])
    times(checks, cells["returned_at"], parsed, "returned_at", required=True)
    keep, skipped = checks.resolve(policy)
    if table.bad_rows:
        skipped = {"a row with more fields than the header": table.bad_rows, **skipped}
    frame = pd.DataFrame({"order_id": cells["order_id"], "sku": cells["sku"],
                          "quantity": quantity, "returned_at": parsed.utc,
                          "source_line": table.lines})[keep].reset_index(drop=True)
    frame.attrs["path"] = str(table.path)
    return frame, skipped


def apply_returns(lines: pd.DataFrame, returns: pd.DataFrame, *, malformed: str = "error"
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """``lines`` with each return's time and units on the first line of its (order, SKU).

    Several returns of one line add up (the latest time is kept). Returns that match no
    line, exceed the units ordered or precede the order raise :class:`ExportError` (or,
    with ``malformed="skip"``, are left out and counted).
    """
    policy = check_policy(malformed)
    path = Path(str(returns.attrs.get("path", "returns")))
    lines = lines.reset_index(drop=True)
    first = lines.reset_index().drop_duplicates(["order_id", "sku"])
    matched = returns.merge(first[["order_id", "sku", "index", "placed_at"]],
                            on=["order_id", "sku"], how="left")
    checks = RowChecks(path, matched["source_line"].to_numpy())
    checks.add(matched["index"].isna(), "order_id", "no order line with this order id and "
               "SKU in the order files", matched["order_id"])
    checks.add((matched["returned_at"] < matched["placed_at"]).to_numpy(dtype=bool),
               "returned_at", "before the order was placed",
               matched["returned_at"].astype(str))
    keep, skipped = checks.resolve(policy)
    matched = matched[keep]
    per_line = matched.groupby("index").agg(units=("quantity", "sum"),
                                            at=("returned_at", "max"))
    ordered = lines["quantity"].to_numpy()[per_line.index.astype(np.int64)]
    too_many = per_line["units"].to_numpy() > ordered
    if too_many.any():
        where = int(per_line.index[int(np.argmax(too_many))])
        row = matched[matched["index"] == where].iloc[-1]
        raise ExportError(located(path, int(row["source_line"]), f"more units returned "
                                  f"({int(per_line['units'].iloc[int(np.argmax(too_many))])}) "
                                  f"than the line ordered ({int(lines['quantity'].iloc[where])})",
                                  "quantity"))
    out = lines.copy()
    rows = per_line.index.astype(np.int64).to_numpy()
    out.loc[rows, "returned_quantity"] = per_line["units"].to_numpy(dtype=np.int64)
    out.loc[rows, "returned_at"] = per_line["at"].set_axis(rows)
    return out, skipped
