"""Times in exports → one UTC timeline, whole columns at a time.

A value with a zone offset (``2025-03-29 23:10:00 +0100``, ``…T08:04:21+00:00``, ``…Z``)
is converted to UTC, so a file mixing offsets — a Shopify shop across a DST change, or
exports of shops in different zones — comes out in one timeline. A value without an
offset is read as UTC (and the reader says so). A date without a time
(``2025-03-01``, eBay's ``Jul-21-25``) is that day's midnight UTC, flagged ``date_only``:
such rows give daily counts, not times of day.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EARLIEST", "LATEST", "ParsedTimes", "has_offset", "parse_times"]

EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")
"""Times before this are refused as out of range (a mistyped year, an epoch-0 default)."""
LATEST = pd.Timestamp("2100-01-01", tz="UTC")
"""Times from this on are refused as out of range."""



@dataclass(frozen=True, slots=True)
class ParsedTimes:
    """``utc`` times (NaT where empty or bad), and per row: ``date_only``, ``bad`` (a
    non-empty value that is no time), ``out_of_range`` (before 1990 or from 2100 on)."""

    utc: pd.Series
    date_only: np.ndarray
    bad: np.ndarray
    out_of_range: np.ndarray


def _is_date_format(fmt: str) -> bool:
    return fmt != "ISO8601" and "%H" not in fmt


def parse_times(values: pd.Series, formats: tuple[str, ...] = ("ISO8601",)) -> ParsedTimes:
    """Parse a column of text times with each format in turn (see the module doc).

    Cells that parse with no format are stripped of surrounding spaces and tried once
    more (exports rarely pad cells, so the common case makes one pass).
    """
    text = values if pd.api.types.is_string_dtype(values) else values.astype(str)
    present = np.array(text != "", dtype=bool)
    naive_utc = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    date_only = np.zeros(len(values), dtype=bool)
    todo = present.copy()
    _parse_into(text, formats, naive_utc, date_only, todo)
    if todo.any():
        padded = text[todo]
        stripped = padded.str.strip()
        if (stripped != padded).any():
            _parse_into(text.str.strip(), formats, naive_utc, date_only, todo)
    utc = pd.Series(naive_utc, index=values.index).dt.tz_localize("UTC")
    parsed_ok = ~np.isnat(naive_utc)
    out = parsed_ok & ((naive_utc < EARLIEST.tz_localize(None).to_datetime64()) |
                       (naive_utc >= LATEST.tz_localize(None).to_datetime64()))
    return ParsedTimes(utc, date_only, todo, out)


def _parse_into(text: pd.Series, formats: tuple[str, ...], naive_utc: np.ndarray,
                date_only: np.ndarray, todo: np.ndarray) -> None:
    """Parse the cells still ``todo`` with each format, filling the arrays in place."""
    for fmt in formats:
        if not todo.any():
            break
        chunk = text if todo.all() else text[todo]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(chunk, utc=True, format=fmt, errors="coerce", cache=False)
        stamps = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        ok = ~np.isnat(stamps)
        rows = np.flatnonzero(todo)[ok]
        naive_utc[rows] = stamps[ok]
        if _is_date_format(fmt):
            date_only[rows] = True
        else:
            date_only[rows] = (chunk.str.len().to_numpy() <= 10)[ok]
        todo[rows] = False


def has_offset(values: pd.Series) -> np.ndarray:
    """Per value, whether it ends in a zone offset (``+0100``,
    ``-05:00``) or ``Z``: a cheap test for ``Z``, the pattern only on the rest."""
    result = np.array(values.str.endswith("Z") | values.str.endswith("z"), dtype=bool)
    rest = ~result
    if rest.any():
        tail = values[rest].str.strip()
        result[rest] = tail.str.contains(r"[+-]\d\d:?\d\d$", regex=True).to_numpy(dtype=bool)
    return result
