"""Initial stock and restocks per SKU: from the stock list, or estimated and flagged.

With a stock list a SKU's ``on_hand`` and restock schedule are read as they are. A SKU
the list does not name — or every SKU, without a list — gets an estimate from its sales,
the convention of the scenario's catalog generator: two weeks of its units per day on hand
at the start and a weekly restock of one week's units (never less than one unit), each
flagged ``estimated`` so the written scenario marks it as an assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ESTIMATED_RESTOCK_DAYS", "ESTIMATED_STOCK_DAYS", "Stock", "estimated_stock",
           "listed_stock"]

ESTIMATED_STOCK_DAYS = 14.0
"""Days of units an estimated initial stock holds."""

ESTIMATED_RESTOCK_DAYS = 7.0
"""The estimated restock's interval, and the days of units it brings."""


@dataclass(frozen=True, slots=True)
class Stock:
    """A SKU's initial stock and restock (``restock_every_s`` None: no restocks)."""

    on_hand: int
    restock_every_s: float | None
    restock_qty: int | None
    source: str
    estimated: bool


def listed_stock(on_hand: int, restock_every_s: float, restock_qty: float,
                 source: str) -> Stock:
    """The stock list's row as it is."""
    if math.isfinite(restock_every_s) and math.isfinite(restock_qty):
        return Stock(int(on_hand), float(restock_every_s), int(restock_qty), source, False)
    return Stock(int(on_hand), None, None, source, False)


def estimated_stock(units_per_day: float) -> Stock:
    """Two weeks of units on hand, one week's units every week (see the module doc)."""
    return Stock(max(1, math.ceil(units_per_day * ESTIMATED_STOCK_DAYS)),
                 ESTIMATED_RESTOCK_DAYS * 86400.0,
                 max(1, math.ceil(units_per_day * ESTIMATED_RESTOCK_DAYS)),
                 "estimated from sales (no stock list row)", True)
