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

_OFFSET = r"(?:[zZ]|[+-]\d{2}:?\d{2})\s*$"


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
    """Parse a column of text times with each format in turn (see the module doc)."""
    text = values.str.strip()
    present = (text != "").to_numpy()
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    date_only = np.zeros(len(values), dtype=bool)
    todo = present.copy()
    for fmt in formats:
        if not todo.any():
            break
        chunk = text[todo]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(chunk, utc=True, format=fmt, errors="coerce")
        parsed = parsed.astype("datetime64[us, UTC]")
        ok = parsed.notna().to_numpy()
        rows = np.flatnonzero(todo)[ok]
        utc.iloc[rows] = parsed[ok].to_numpy()
        if _is_date_format(fmt):
            date_only[rows] = True
        else:
            date_only[rows] = (chunk[ok].str.len() <= 10).to_numpy()
        todo[rows] = False
    parsed_ok = utc.notna().to_numpy()
    out = parsed_ok & ((utc < EARLIEST) | (utc >= LATEST)).to_numpy()
    return ParsedTimes(utc, date_only, todo, out)


def has_offset(values: pd.Series) -> np.ndarray:
    """Per value, whether it carries a zone offset or ``Z`` (for the UTC assumption)."""
    return values.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
