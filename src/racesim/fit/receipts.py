"""A log of webhook receipts: when the seller's system heard of each order.

Two forms are read, told apart by the first character of the file:

- CSV ``order_id, received_at[, channel]``, one row per delivery received (a redelivered
  copy is another row). ``received_at`` is an ISO 8601 time (an offset is honoured, a
  time without one read as UTC) or a number of epoch seconds.
- racesim's webhook JSON Lines (:mod:`racesim.webhooks.format`), ``at`` being epoch
  seconds; its ``order.created`` deliveries are the receipts (other types are counted
  and left out; a malformed line is an error, or left out with ``malformed="skip"``).

The result has one row per delivery: ``order_id``, ``received_at`` (UTC), ``channel``
('' when the log does not say), ``source_line``; the fit joins it to the orders on
``order_id`` (the first copy gives the latency, the number of copies the duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError, RowChecks, check_policy, located
from racesim.fit.rules import MAX_ID_CHARS, identifier, times
from racesim.fit.strict import read_strict
from racesim.fit.table import load
from racesim.fit.times import EARLIEST, LATEST, parse_times
from racesim.webhooks.format import read_log

__all__ = ["RECEIPT_COLUMNS", "ReceiptsRead", "read_receipts"]

RECEIPT_COLUMNS: tuple[str, ...] = ("order_id", "received_at", "channel", "source_line")
"""The receipts table's columns."""


@dataclass(frozen=True, slots=True)
class ReceiptsRead:
    """The receipts (``receipts``), the log's form, and rows left out by reason."""

    receipts: pd.DataFrame
    form: str
    skipped: dict[str, int]
    other_types: int = 0


def read_receipts(path: str | Path, *, malformed: str = "error") -> ReceiptsRead:
    """Read a receipt log in either form (see the module doc)."""
    policy = check_policy(malformed)
    source = load(path)
    if source.parquet is None and source.data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _read_jsonl(source.path, policy)
    table = read_strict(source, "receipt log", ("order_id", "received_at"), ("channel",),
                        policy)
    cells, checks = table.cells, RowChecks(table.path, table.lines)
    identifier(checks, cells["order_id"], "order_id")
    text = cells["received_at"]
    seconds = pd.to_numeric(text.where(text != "", "x"), errors="coerce").to_numpy(dtype=float)
    numeric = np.isfinite(seconds)
    parsed = parse_times(text.where(~numeric, ""))
    times(checks, text.where(~numeric, ""), parsed, "received_at", required=False)
    checks.add(text == "", "received_at", "missing value", text)
    low, high = EARLIEST.timestamp(), LATEST.timestamp()
    checks.add(numeric & ((seconds < low) | (seconds >= high)), "received_at",
               "epoch seconds out of range (1990–2099)", text)
    epoch = pd.to_datetime(np.where(numeric & (seconds >= low) & (seconds < high),
                                    seconds, np.nan), unit="s", utc=True)
    received = parsed.utc.where(~numeric, pd.Series(epoch, index=text.index))
    channel = cells.get("channel", pd.Series("", index=text.index))
    checks.add(channel.str.len() > MAX_ID_CHARS, "channel",
               f"longer than {MAX_ID_CHARS} characters", channel)
    keep, skipped = checks.resolve(policy)
    if table.bad_rows:
        skipped = {"a row with more fields than the header": table.bad_rows, **skipped}
    frame = pd.DataFrame({"order_id": cells["order_id"], "received_at": received,
                          "channel": channel, "source_line": table.lines})[keep]
    return ReceiptsRead(_non_empty(frame.reset_index(drop=True), table.path), "csv", skipped)


def _read_jsonl(path: Path, policy: str) -> ReceiptsRead:
    good, bad = read_log(path)
    if bad and policy == "error":
        first = bad[0]
        raise ExportError(located(path, first.line, first.message))
    created = [(line, w) for line, w in good if w.type == "order.created"]
    frame = pd.DataFrame({
        "order_id": [w.order_id for _, w in created],
        "received_at": pd.to_datetime([w.at for _, w in created], unit="s", utc=True),
        "channel": [w.channel for _, w in created],
        "source_line": np.array([line for line, _ in created], dtype=np.int64)})
    early = frame["received_at"] < EARLIEST
    if early.any() and policy == "error":
        row = frame[early].iloc[0]
        raise ExportError(located(path, int(row["source_line"]), "an epoch time before 1990 "
                                  f"(value {row['received_at']}): a simulated log's seconds, "
                                  "not a receipt log", "at"))
    skipped = {"malformed line": len(bad)} if bad else {}
    if early.any():
        skipped["column at: epoch time before 1990"] = int(early.sum())
    frame = frame[~early].reset_index(drop=True)
    return ReceiptsRead(_non_empty(frame, path), "jsonl", skipped, len(good) - len(created))


def _non_empty(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if frame.empty:
        raise ExportError(located(path, None, "no usable receipts (no order.created "
                                  "deliveries or rows left)"))
    return frame
