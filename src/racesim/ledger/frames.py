"""Tidy pandas DataFrames of the ledger's records: events, audit trails, stock, order lines."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from racesim.ledger.events import Event, OrderLine, Stock

__all__ = ["audit_frame", "events_frame", "lines_frame", "stock_frame"]

EVENT_COLUMNS = ["seq", "at", "recorded_at", "kind", "sku", "quantity", "order_id", "channel",
                 "ref", "reason", "key"]
STOCK_COLUMNS = ["on_hand", "reserved", "available", "shipped", "returned", "seq"]


def events_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per event, in sequence order; ``kind`` as a string column.

    ``at`` is the caller's time, ``recorded_at`` the ledger's (never decreasing).
    """
    rows = [(e.seq, e.at, e.recorded_at, e.kind.value, e.sku, e.quantity, e.order_id,
             e.channel, e.ref, e.reason, e.key) for e in events]
    frame = pd.DataFrame.from_records(rows, columns=EVENT_COLUMNS)
    return frame.astype({"seq": "int64", "at": "float64", "recorded_at": "float64",
                         "quantity": "int64"})


def audit_frame(events: Iterable[Event]) -> pd.DataFrame:
    """Events of one SKU with their effects and the running figures after each.

    Columns add ``on_hand_delta``, ``reserved_delta``, ``available_delta`` and the running
    ``on_hand``, ``reserved`` and ``available``: the last row is the SKU's current stock.
    """
    events = list(events)
    frame = events_frame(events)
    frame["on_hand_delta"] = pd.Series([e.on_hand_delta for e in events], dtype="int64")
    frame["reserved_delta"] = pd.Series([e.reserved_delta for e in events], dtype="int64")
    frame["available_delta"] = frame["on_hand_delta"] - frame["reserved_delta"]
    frame["on_hand"] = frame["on_hand_delta"].cumsum()
    frame["reserved"] = frame["reserved_delta"].cumsum()
    frame["available"] = frame["on_hand"] - frame["reserved"]
    return frame


def stock_frame(levels: Iterable[Stock]) -> pd.DataFrame:
    """One row per SKU (index ``sku``) with on_hand, reserved, available, shipped, returned."""
    rows = [(s.sku, s.on_hand, s.reserved, s.available, s.shipped, s.returned, s.seq)
            for s in sorted(levels)]
    frame = pd.DataFrame.from_records(rows, columns=["sku", *STOCK_COLUMNS]).set_index("sku")
    return frame.astype("int64")


def lines_frame(lines: Iterable[OrderLine]) -> pd.DataFrame:
    """One row per (order, SKU) line with its channel, quantity, status and returns."""
    rows = [(line.order_id, line.sku, line.channel, line.quantity, line.status.value,
             line.returned, line.seq) for line in sorted(lines)]
    return pd.DataFrame.from_records(rows, columns=list(OrderLine._fields))
