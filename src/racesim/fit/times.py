"""Times in exports → one UTC timeline, whole columns at a time.

A value with a zone offset (``2025-03-29 23:10:00 +0100``, ``…T08:04:21+00:00``, ``…Z``)
is converted to UTC, so a file mixing offsets — a Shopify shop across a DST change, or
exports of shops in different zones — comes out in one timeline. A value without an
offset is read as UTC (and the reader says so). A date without a time
(``2025-03-01``, eBay's ``Jul-21-25``) is that day's midnight UTC, flagged ``date_only``:
such rows give daily counts, not times of day.

pandas' ``to_datetime`` is the reference. The spellings exports write most — ``…T08:04:21Z``,
``…T08:04:21+00:00``, ``… 09:12:44 +0100``, ``2025-03-01`` — are read with numpy from the
column's bytes instead (a few vectorised passes, where pandas takes about a microsecond
per value); anything else, and any value that is not a valid time, goes to pandas.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from racesim.fit.text import per_distinct, text_array, text_bytes

__all__ = ["EARLIEST", "LATEST", "ParsedTimes", "has_offset", "parse_times", "present"]

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
    zoned: np.ndarray | None = None
    """Rows known to carry a zone offset or ``Z`` (those read by the fast path)."""


def present(values: pd.Series) -> np.ndarray:
    """Per cell, whether it holds something: non-empty text, or a time pyarrow read
    itself (see :func:`parse_times`) that is not ``NaT``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return np.asarray(values.notna(), dtype=bool)
    return np.asarray(values != "", dtype=bool)


def _is_date_format(fmt: str) -> bool:
    return fmt != "ISO8601" and "%H" not in fmt


def parse_times(values: pd.Series, formats: tuple[str, ...] = ("ISO8601",)) -> ParsedTimes:
    """Parse a column of text times with each format in turn (see the module doc).

    Cells that parse with no format are stripped of surrounding spaces and tried once
    more (exports rarely pad cells, so the common case makes one pass). A column pyarrow
    read as UTC times already (``datetime64[us, UTC]``; only ISO 8601 with a ``Z`` or an
    offset converts so) is taken as it is: every value zoned, none a date alone.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return _read_already(values)
    text = values if pd.api.types.is_string_dtype(values) else values.astype(str)
    present = np.array(text != "", dtype=bool)
    naive_utc = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    date_only = np.zeros(len(values), dtype=bool)
    zoned = np.zeros(len(values), dtype=bool)
    todo = present.copy()
    _parse_into(text, formats, naive_utc, date_only, todo, zoned)
    if todo.any():
        padded = text[todo]
        stripped = padded.str.strip()
        if (stripped != padded).any():
            _parse_into(text.str.strip(), formats, naive_utc, date_only, todo, zoned)
    utc = pd.Series(naive_utc, index=values.index).dt.tz_localize("UTC")
    parsed_ok = ~np.isnat(naive_utc)
    out = parsed_ok & ((naive_utc < EARLIEST.tz_localize(None).to_datetime64()) |
                       (naive_utc >= LATEST.tz_localize(None).to_datetime64()))
    return ParsedTimes(utc, date_only, todo, out, zoned)


def _read_already(values: pd.Series) -> ParsedTimes:
    """:class:`ParsedTimes` of times pyarrow converted to UTC while reading the file."""
    stamps = values.to_numpy(dtype="datetime64[us]")
    known = ~np.isnat(stamps)
    out = known & ((stamps < EARLIEST.tz_localize(None).to_datetime64()) |
                   (stamps >= LATEST.tz_localize(None).to_datetime64()))
    nothing = np.zeros(len(values), dtype=bool)
    return ParsedTimes(values, nothing, nothing.copy(), out, known)


def _parse_into(text: pd.Series, formats: tuple[str, ...], naive_utc: np.ndarray,
                date_only: np.ndarray, todo: np.ndarray, zoned: np.ndarray) -> None:
    """Parse the cells still ``todo`` with each format, filling the arrays in place."""
    for fmt in formats:
        if not todo.any():
            break
        if fmt == "ISO8601":
            rows, micros, lengths = _iso_fast(text_array(text), np.flatnonzero(todo))
            naive_utc[rows] = micros.astype("datetime64[us]")
            date_only[rows] = lengths == 10
            zoned[rows] = lengths >= 20
            todo[rows] = False
            if not todo.any():
                break
        chunk = text if todo.all() else text[todo]
        stamps = per_distinct(chunk, functools.partial(_pandas_times, fmt=fmt))
        ok = ~np.isnat(stamps)
        rows = np.flatnonzero(todo)[ok]
        naive_utc[rows] = stamps[ok]
        if _is_date_format(fmt):
            date_only[rows] = True
        else:
            date_only[rows] = (chunk.str.len().to_numpy() <= 10)[ok]
        todo[rows] = False


def _pandas_times(cells: pd.Series, fmt: str) -> np.ndarray:
    """pandas' reading of text times in format ``fmt`` (UTC, µs; NaT where it fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(cells, utc=True, format=fmt, errors="coerce", cache=False)
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def has_offset(values: pd.Series) -> np.ndarray:
    """Per value, whether it ends in a zone offset (``+0100``, ``-05:00``, ``+01``) or
    ``Z``: a cheap test for ``Z``, the pattern only on the rest."""
    result = np.array(values.str.endswith("Z") | values.str.endswith("z"), dtype=bool)
    rest = ~result
    if rest.any():
        tail = values[rest].str.strip()
        result[rest] = tail.str.contains(r"[+-]\d\d(?::?\d\d)?$", regex=True).to_numpy(dtype=bool)
    return result


_ISO_SHAPES: dict[int, tuple[str, ...]] = {
    10: ("dddd-dd-dd",),
    19: ("dddd-dd-ddTdd:dd:dd", "dddd-dd-dd dd:dd:dd"),
    20: ("dddd-dd-ddTdd:dd:ddZ", "dddd-dd-dd dd:dd:ddZ"),
    24: ("dddd-dd-ddTdd:dd:dd+dddd", "dddd-dd-dd dd:dd:dd+dddd"),
    25: ("dddd-dd-ddTdd:dd:dd+dd:dd", "dddd-dd-dd dd:dd:dd+dd:dd",
         "dddd-dd-ddTdd:dd:dd +dddd", "dddd-dd-dd dd:dd:dd +dddd"),
}
"""The spellings of ISO 8601 the fast path reads, by length (``d`` a digit, ``+`` either
sign); every other value goes to pandas."""
_FIRST_YEAR, _YEARS = 1900, 300
_MONTHS = pd.date_range(f"{_FIRST_YEAR}-01-01", periods=_YEARS * 12 + 1,
                        freq="MS").as_unit("s").asi8 // 86400
_MONTH_DAYS = _MONTHS[:-1].astype(np.int32)
"""Days from 1970-01-01 to the first of each month of 1900–2199 (index: year × 12 + month)."""
_DAYS_IN = np.diff(_MONTHS).astype(np.int32)
"""Days in each of those months."""


def _iso_fast(text: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the cells at ``rows``: those in one of :data:`_ISO_SHAPES` with a valid date and
    time (in 1900–2199, offset below 24 h), their UTC times (µs) and their lengths (10: a
    date only; 20 or more: with a zone), read with numpy: ``(rows read, times, lengths)``.
    pandas reads these values exactly so; this is only faster."""
    found = text_bytes(text)
    empty = np.zeros(0, dtype=np.int64)
    if found is None or not len(rows):
        return empty, empty, empty
    offsets, data = found
    lengths = (offsets[1:] - offsets[:-1])[rows]
    done, stamps, sizes = [], [], []
    for length, shapes in _ISO_SHAPES.items():
        picked = rows[lengths == length]
        if not len(picked):
            continue
        whole = len(picked) == len(text)
        ok, micros = _arrow_cells(text, picked, offsets, data, length, whole)
        rest = np.flatnonzero(~ok)
        if len(rest):  # what Arrow did not read, or may read otherwise: numpy's reading
            if whole and len(rest) == len(picked) and \
                    offsets[-1] - offsets[0] == len(picked) * length:
                cells = data[offsets[0]:offsets[-1]].reshape(len(picked), length)
            else:
                cells = data[offsets[picked[rest]][:, None] + np.arange(length)]
            ok[rest], micros[rest] = _iso_cells(cells, shapes)
        done.append(picked[ok])
        stamps.append(micros[ok])
        sizes.append(np.full(int(ok.sum()), length))
    if not done:
        return empty, empty, empty
    return np.concatenate(done), np.concatenate(stamps), np.concatenate(sizes)


_ARROW_SEPARATORS: dict[int, tuple[tuple[int, bytes], ...]] = {
    10: ((4, b"-"), (7, b"-")),
    19: ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":")),
    20: ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":"), (19, b"Z")),
    24: ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":"), (19, b"+-")),
    25: ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":"), (19, b"+-"), (22, b":")),
}
"""Per length of :data:`_ISO_SHAPES`, the separators that make a value Arrow reads one of
those shapes (Arrow's reader insists on digits between them)."""
_SPACED = ((4, b"-"), (7, b"-"), (10, b"T "), (13, b":"), (16, b":"), (19, b" "), (20, b"+-"))
"""The same for Shopify's ``… 09:12:44 +0100``, which Arrow reads once the space is cut."""
_SAFE_FROM = int(pd.Timestamp("1900-01-02").value // 1000)
_SAFE_UNTIL = int(pd.Timestamp("2199-12-31").value // 1000)
"""UTC times (µs) whose local year is in 1900–2199 whatever their offset (below 24 h)."""


def _arrow_cells(text: pa.Array, picked: np.ndarray, offsets: np.ndarray, data: np.ndarray,
                 length: int, whole: bool) -> tuple[np.ndarray, np.ndarray]:
    """Arrow's C++ reading of the cells at ``picked`` (all ``length`` bytes long): which it
    read as one of :data:`_ISO_SHAPES` within 1900–2199, and their UTC times (µs)."""
    ok = np.zeros(len(picked), dtype=bool)
    micros = np.zeros(len(picked), dtype=np.int64)
    starts = offsets[picked]
    spaced = data[starts + 19] == 32 if length == 25 else np.zeros(len(picked), dtype=bool)
    for group, separators in ((~spaced, _ARROW_SEPARATORS[length]), (spaced, _SPACED)):
        every = bool(group.all())
        rows = None if every else np.flatnonzero(group)
        if rows is not None and not len(rows):
            continue
        cells = text if whole and every else \
            text.take(pa.array(picked if rows is None else picked[rows]))
        if separators is _SPACED:  # the space is one byte: cut as bytes
            cells = pc.binary_replace_slice(cells, 19, 20, "")
        read = _arrow_cast(cells, length >= 20)
        if read is None:
            continue
        at = starts if rows is None else starts[rows]
        good = (read >= _SAFE_FROM) & (read < _SAFE_UNTIL)
        for position, allowed in separators:
            byte = data[at + position]
            match = byte == allowed[0]
            if len(allowed) == 2:
                match |= byte == allowed[1]
            good &= match
        if rows is None:
            return good, read
        ok[rows], micros[rows] = good, read
    return ok, micros


def _arrow_cast(cells: pa.Array, zoned: bool) -> np.ndarray | None:
    """Arrow's cast of text cells to UTC times (µs), or ``None`` if one cell is no time
    (Arrow casts a column at once or not at all)."""
    try:
        stamps = pc.cast(cells, pa.timestamp("us", tz="UTC") if zoned else pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return np.array(stamps.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


def _iso_cells(cells: np.ndarray, shapes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of a matrix of equal-length values (bytes) match one of ``shapes`` and
    hold a valid time, and that time in µs since the epoch, UTC. The matrix is worked on
    one character position at a time (transposed, so that each is contiguous)."""
    by_position = np.ascontiguousarray(cells.T)
    digits = by_position - np.uint8(48)  # a byte below '0' wraps above 9
    is_digit = digits <= 9

    def matches(k: int, char: str) -> np.ndarray:
        if char == "d":
            return is_digit[k]
        if char == "+":
            return (by_position[k] == 43) | (by_position[k] == 45)
        return by_position[k] == ord(char)

    common = [k for k in range(len(shapes[0])) if len({shape[k] for shape in shapes}) == 1]
    valid = np.ones(len(cells), dtype=bool)
    for k in common:  # the characters every shape of this length agrees on, once
        valid &= matches(k, shapes[0][k])
    if len(shapes) > 1:
        either = np.zeros(len(cells), dtype=bool)
        for shape in shapes:
            match = valid.copy()
            for k in (k for k in range(len(shape)) if k not in common):
                match &= matches(k, shape[k])
            either |= match
        valid = either

    def field(start: int, width: int) -> np.ndarray:
        value = digits[start].astype(np.int32)
        for k in range(start + 1, start + width):
            value = value * 10 + digits[k]
        return value

    width = cells.shape[1]
    month = field(5, 2) - 1
    year = field(0, 4) - _FIRST_YEAR
    valid &= (month >= 0) & (month < 12) & (year >= 0) & (year < _YEARS)
    index = np.where(valid, year * 12 + month, 0)
    day = field(8, 2)
    valid &= (day >= 1) & (day <= _DAYS_IN[index])
    seconds = (_MONTH_DAYS[index] + day - 1).astype(np.int64) * 86400
    if width > 10:
        hour, minute, second = field(11, 2), field(14, 2), field(17, 2)
        valid &= (hour <= 23) & (minute <= 59) & (second <= 59)
        seconds += hour * 3600 + minute * 60 + second
    if width in (24, 25):  # ±hhmm at 19, ±hh:mm at 19, or " ±hhmm" (a space at 19)
        spaced = by_position[19] == 32
        sign = np.where(spaced, by_position[20], by_position[19])
        hours = np.where(spaced, field(21, 2), field(20, 2)) if width == 25 else field(20, 2)
        minutes = field(width - 2, 2)
        valid &= (hours <= 23) & (minutes <= 59)
        seconds -= np.where(sign == 45, -1, 1) * (hours * 3600 + minutes * 60)
    return valid, seconds * 1_000_000
