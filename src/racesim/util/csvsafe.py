"""CSV tables that a spreadsheet opens as text, never as formulas (CSV injection).

A cell such as ``=HYPERLINK("http://evil", "click")`` in a SKU or channel name would run
as a formula when the CSV is opened in Excel, LibreOffice or Google Sheets. Following
OWASP's CSV-injection guidance, every *text* cell (object, string or category column, the
index, the column names) that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading ``'``, which spreadsheets read as "this is text" and hide. Numbers
are never changed — a column of negative numbers stays numeric — and Parquet files keep
the raw values: only CSV, which has no types, needs the prefix.

Every CSV racesim writes goes through :func:`write_csv`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise", "neutralise_cell", "write_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralise_cell(value: object) -> object:
    """``"'" + value`` for text starting like a formula; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _is_text(values: pd.Series | pd.Index) -> bool:
    return isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object \
        or pd.api.types.is_string_dtype(values.dtype)


def _index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        # pandas-stubs do not count an Index as a level (SequenceNotStr); pandas does
        levels = [_index(level) for level in index.levels]
        safe = index.set_levels(levels)  # type: ignore[arg-type]
        return safe.set_names([neutralise_cell(n) for n in index.names])
    names = [neutralise_cell(n) for n in index.names]
    if _is_text(index):
        return pd.Index([neutralise_cell(v) for v in index], dtype=object, name=names[0])
    return index.set_names(names)


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, index and column names cannot be formulas."""
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if _is_text(column):
            # pandas-stubs leave a Series out of isetitem's values; pandas takes one (the
            # column's own index, so nothing is realigned)
            safe.isetitem(position, column.astype(object).map(neutralise_cell))  # type: ignore[arg-type]
    safe.index = _index(safe.index)
    safe.columns = _index(safe.columns)
    return safe


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False) -> Path:
    """Write ``frame`` as CSV with formula-like text neutralised; return the path.

    Lines end in ``\n``. A cell holding a carriage return is quoted, so it cannot start
    a new row (Python before 3.12 quotes only the characters of the line terminator):
    the table is written with ``\r\n`` line ends, which quotes every cell holding
    either, and the line ends outside quotes are turned back into ``\n``.
    """
    text = neutralise(frame).to_csv(index=index, lineterminator="\r\n")
    pieces = text.split('"')  # even pieces lie outside quotes ("" inside yields an empty one)
    pieces[::2] = [piece.replace("\r\n", "\n") for piece in pieces[::2]]
    target = Path(path)
    target.write_text('"'.join(pieces), encoding="utf-8", newline="")
    return target
