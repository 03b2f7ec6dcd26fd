"""The rules every reader applies to its columns, each over a whole column at once.

Identifiers (order ids, SKUs) must be present, at most :data:`MAX_ID_CHARS` long and free
of control characters; quantities whole numbers of units within the ledger's bounds;
times parseable and within 1990–2099. Each rule adds its mask to a
:class:`~racesim.fit.checks.RowChecks`, which reports or drops the rows that break it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from racesim.fit.checks import RowChecks
from racesim.fit.text import per_distinct, text_array, text_bytes
from racesim.fit.times import ParsedTimes, present
from racesim.ledger.validation import MAX_UNITS

__all__ = ["MAX_ID_CHARS", "identifier", "labels", "longer_than", "times", "whole"]

MAX_ID_CHARS = 256
"""The longest order id, SKU or channel name accepted, in characters."""

def identifier(checks: RowChecks, values: pd.Series, column: str) -> None:
    """Order ids and SKUs: present, at most :data:`MAX_ID_CHARS`, no control characters."""
    text = text_array(values)
    found = text_bytes(text)
    if found is None:
        checks.add(values == "", column, "missing value", values)
        checks.add(longer_than(values, MAX_ID_CHARS), column,
                   f"longer than {MAX_ID_CHARS} characters", values)
    else:
        offsets, data = found
        lengths = np.diff(offsets)
        if len(lengths) and not (lengths.min() > 0 and lengths.max() <= MAX_ID_CHARS):
            checks.add(lengths == 0, column, "missing value", values)
            checks.add(longer_than(values, MAX_ID_CHARS), column,
                       f"longer than {MAX_ID_CHARS} characters", values)
        cells = data[offsets[0]:offsets[-1]]
        if not len(cells) or (cells.min() >= 0x20 and cells.max() < 0x7F):
            return  # printable ASCII: nothing to flag
    odd = ~_bools(pc.ascii_is_printable(text))  # cheap; non-ASCII text is looked at again
    if odd.any():
        rows = np.flatnonzero(odd)
        odd[rows] = ~_bools(pc.utf8_is_printable(text.take(pa.array(rows))))
    checks.add(odd, column, "contains control characters", values)


def longer_than(values: pd.Series, limit: int) -> np.ndarray:
    """Per text cell, whether it has more than ``limit`` characters (counted only where
    its bytes are that many)."""
    found = text_bytes(text_array(values))
    if found is None:
        return np.asarray(values.str.len() > limit, dtype=bool)
    byte_lengths = np.diff(found[0])
    longer = byte_lengths > limit
    if longer.any():
        rows = np.flatnonzero(longer)
        longer[rows] = np.asarray(values.iloc[rows].str.len() > limit, dtype=bool)
    return longer


def _bools(array: pa.Array) -> np.ndarray:
    return np.array(array.to_numpy(zero_copy_only=False), dtype=bool)


def labels(codes: np.ndarray, names: tuple[str, ...]) -> pd.Series:
    """A text column from small integer (or boolean) ``codes`` into ``names``.

    Built by pyarrow's ``take``, as pandas' own (large) string type: a million labels
    cost milliseconds, where a numpy array of Python strings would cost a second. One
    label throughout (a file's name, a currency no file gives) is its bytes repeated.
    """
    codes = np.asarray(codes, dtype=np.int8)
    if len(codes) and not (codes != codes[0]).any():
        text = names[codes[0]].encode("utf-8")
        offsets = np.arange(0, (len(codes) + 1) * len(text), len(text), dtype=np.int64) \
            if text else np.zeros(len(codes) + 1, dtype=np.int64)
        taken = pa.LargeStringArray.from_buffers(
            len(codes), pa.py_buffer(offsets), pa.py_buffer(text * len(codes)))
    else:
        taken = pa.array(names, type=pa.large_string()).take(pa.array(codes))
    return pd.Series(pd.array(taken, dtype="str"))


def whole(checks: RowChecks, values: pd.Series, column: str, *,
           allow_zero: np.ndarray | bool = False, required: bool = True) -> np.ndarray:
    """A column of whole numbers of units, ≥ 1 (≥ 0 where ``allow_zero``); 0 where bad."""
    if pd.api.types.is_string_dtype(values):
        empty = (values == "").to_numpy()
        number = per_distinct(values, _units)
    else:  # pandas (or pyarrow) read every cell as a number already
        number = np.array(values, dtype=float)
        if len(number) and number.min() >= 1 and number.max() <= MAX_UNITS:
            units = number.astype(np.int64)
            if (units == number).all():  # whole numbers ≥ 1 in bounds: nothing to flag
                return units
        empty = np.zeros(len(values), dtype=bool)
    if required:
        checks.add(empty, column, "missing value", values)
    checks.add(np.isnan(number), column, "not a number", values)
    checks.add(number < 0, column, "negative quantity", values)
    with np.errstate(invalid="ignore"):
        checks.add(np.isfinite(number) & (number % 1 != 0), column,
                   "not a whole number of units", values)
    checks.add(number > MAX_UNITS, column, f"more than {MAX_UNITS:,} units", values)
    zero_ok = allow_zero | ~np.asarray(required, dtype=bool) | empty
    checks.add((number == 0) & ~zero_ok, column, "quantity 0 on a line that is not "
               "cancelled", values)
    clean = np.where(np.isfinite(number) & (number >= 0) & (number <= MAX_UNITS), number, 0)
    return np.floor(clean).astype(np.int64)


def _units(values: pd.Series) -> np.ndarray:
    """Text cells as numbers (NaN where not one); an empty cell as 0."""
    return pd.to_numeric(values.where(values != "", "0"), errors="coerce").to_numpy(dtype=float)


def times(checks: RowChecks, values: pd.Series, parsed: ParsedTimes, column: str, *,
           required: bool) -> None:
    """A time column's rules: present (if required), parseable, in range."""
    if required:
        checks.add(~present(values), column, "missing value", values)
    checks.add(parsed.bad, column, "unparseable time", values)
    checks.add(parsed.out_of_range, column, "time out of range (1990–2099)", values)
