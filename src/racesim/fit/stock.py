"""A stock list: ``sku, on_hand`` and optionally ``restock_every, restock_qty``.

``on_hand`` is the units in the warehouse at the start of the orders (a whole number
≥ 0); ``restock_every`` the interval between deliveries — a duration such as ``7d`` or
``12h``, or a plain number of days — and ``restock_qty`` the units each brings (≥ 1).
The two restock columns go together: a row with one needs the other. Each SKU appears
once. Without a stock list the fit estimates stock from the sales and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from racesim.fit.checks import RowChecks, check_policy
from racesim.fit.rules import identifier, whole
from racesim.fit.strict import read_strict
from racesim.fit.table import load
from racesim.util.units import parse_duration

__all__ = ["MAX_RESTOCK_EVERY_S", "STOCK_COLUMNS", "read_stock"]

STOCK_COLUMNS: tuple[str, ...] = ("sku", "on_hand", "restock_every_s", "restock_qty",
                                  "source_line")
"""The stock table's columns (``restock_every_s`` in seconds, NaN without restocks)."""

MAX_RESTOCK_EVERY_S = 366 * 86400.0
"""The longest restock interval accepted: a year (and a day)."""


def read_stock(path: str | Path, *, malformed: str = "error"
               ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The stock list as a table (see :data:`STOCK_COLUMNS`) and rows left out by reason."""
    policy = check_policy(malformed)
    table = read_strict(load(path), "stock list", ("sku", "on_hand"),
                        ("restock_every", "restock_qty"), policy)
    cells, checks = table.cells, RowChecks(table.path, table.lines)
    identifier(checks, cells["sku"], "sku")
    checks.add(cells["sku"].duplicated(keep="first") & (cells["sku"] != ""), "sku",
               "this SKU is listed twice", cells["sku"])
    on_hand = whole(checks, cells["on_hand"], "on_hand", allow_zero=True)
    empty = pd.Series("", index=cells["sku"].index)
    every_text = cells.get("restock_every", empty)
    qty_text = cells.get("restock_qty", empty)
    every = _durations(checks, every_text)
    qty = whole(checks, qty_text, "restock_qty", required=False)
    checks.add((every_text != "") & (qty_text == ""), "restock_qty",
               "missing value (restock_every is given)", qty_text)
    checks.add((qty_text != "") & (every_text == ""), "restock_every",
               "missing value (restock_qty is given)", every_text)
    keep, skipped = checks.resolve(policy)
    if table.bad_rows:
        skipped = {"a row with more fields than the header": table.bad_rows, **skipped}
    frame = pd.DataFrame({"sku": cells["sku"], "on_hand": on_hand, "restock_every_s": every,
                          "restock_qty": qty, "source_line": table.lines})
    return frame[keep].reset_index(drop=True), skipped


def _durations(checks: RowChecks, values: pd.Series) -> np.ndarray:
    """Restock intervals in seconds: ``7d``-style durations or plain numbers of days."""
    unique = values[values != ""].unique()  # a stock list has few distinct intervals
    seconds: dict[str, float] = {}
    for text in unique:
        try:
            number = float(text)
        except ValueError:
            try:
                seconds[text] = parse_duration(text)
            except ValueError:
                seconds[text] = np.nan
        else:
            seconds[text] = number * 86400.0 if np.isfinite(number) and number >= 0 else np.nan
    every = values.map(seconds).to_numpy(dtype=float, na_value=np.nan)
    present = (values != "").to_numpy()
    checks.add(present & np.isnan(every), "restock_every", "not a duration (write 7d, "
               "12h or a number of days)", values)
    checks.add(present & (every <= 0), "restock_every", "must be longer than 0", values)
    checks.add(present & (every > MAX_RESTOCK_EVERY_S), "restock_every",
               "longer than a year", values)
    return np.where(present, every, np.nan)
