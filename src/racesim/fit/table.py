"""A seller's file as a table of text cells, each row knowing its line in the file.

Exports come with framing — a blank line or a title above the header, "2 record(s)
downloaded" and "Seller ID: …" below the table, Excel's ``sep=,`` line — and quoted cells
that span lines (addresses, notes). The readers need, for every data row, the line
number an editor shows, so that an error can point at it. This module:

1. loads the file's bytes and refuses, in one line, what is not a text table (a missing
   or unreadable file, an empty one, binary data, a zip or gzip archive; text that is
   not UTF-8 once pandas meets it) — a Parquet file is read with pyarrow instead;
2. offers the first lines as header candidates (:func:`header_candidates`), so the
   caller decides which layout's header it is;
3. reads the rows below it with pandas' C parser (:func:`read_rows`), every cell as text,
   only the columns asked for, and maps each row to its line: directly when no cell
   spans lines, else from where the file's record-ending newlines are (those outside
   quotes, found with numpy over the bytes).
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError, Malformed, located

__all__ = ["HEADER_SEARCH_LINES", "Source", "Table", "header_candidates", "load", "read_rows"]

HEADER_SEARCH_LINES = 30
"""How many lines from the top of a file may precede its header (title, blank, ``sep=``)."""

_DELIMITERS = (",", "\t", ";")
_MAGIC = {b"PK\x03\x04": "a zip archive", b"\x1f\x8b": "a gzip archive",
          b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)"}
_BAD_FIELDS = re.compile(r"(?:Expected|expected) (\d+) fields,? in line (\d+), saw (\d+)")
_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Source:
    """A file's bytes (``data``), or its Parquet table (``parquet``), not yet split into rows."""

    path: Path
    data: bytes = b""
    parquet: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of text cells (``frame``, columns named as in the file) and each row's line.

    ``header_line`` is the header's line (1-based; 0 for Parquet, whose rows are numbered
    from 1). ``bad_rows`` counts rows left out because their number of fields did not
    match the header (only with ``malformed="skip"``).
    """

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray
    header_line: int
    bad_rows: int = 0


def load(path: str | Path) -> Source:
    """The file's contents, or an :class:`ExportError` saying why it is not a table."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ExportError(located(path, None, "is a folder, not a file")) from None
    except FileNotFoundError:
        raise ExportError(located(path, None, "no such file")) from None
    except OSError as exc:
        raise ExportError(located(path, None, f"cannot be read ({exc.strerror or exc})")) from None
    if not data or data.isspace():
        raise ExportError(located(path, None, "the file is empty"))
    if data[:4] == b"PAR1":
        return Source(path, parquet=_parquet(path, data))
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise ExportError(located(path, None, f"is {what}, not a CSV or Parquet table: "
                                                  "unpack or export it as CSV first"))
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0:
        raise ExportError(located(path, data.count(b"\n", 0, nul) + 1,
                                  f"binary data (a NUL byte at byte {nul}), not a text table"))
    return Source(path, data=data)


def _not_utf8(path: Path, data: bytes) -> str:
    """Where a file stops being UTF-8 (pandas' own error gives no position in the file)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return located(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
                                   "export as UTF-8")
    return located(path, None, "not UTF-8 text; save the export as UTF-8")


def _parquet(path: Path, data: bytes) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own ArrowInvalid, OSError, …
        raise ExportError(located(path, None, f"not a readable Parquet file ({exc})"[:300])) \
            from None
    text = {}
    for name in frame.columns:
        column = frame[name]
        text[str(name)] = column.astype("string").fillna("").astype(str)
    return pd.DataFrame(text)


def header_candidates(source: Source) -> list[tuple[int, str, list[str]]]:
    """``(line index, delimiter, fields)`` for each of the first lines that splits in two or
    more fields (Parquet: its column names, as line index 0)."""
    if source.parquet is not None:
        return [(0, "", list(source.parquet.columns))]
    head = source.data[: 1 << 20].decode("utf-8", errors="replace")
    candidates = []
    for index, line in enumerate(re.split(r"\r\n|\r|\n", head)[:HEADER_SEARCH_LINES]):
        text = line.lstrip("\ufeff")
        for delimiter in _DELIMITERS:
            if delimiter in text:
                fields = next(csv.reader([text], delimiter=delimiter), [])
                if len(fields) >= 2:
                    candidates.append((index, delimiter, [f.strip() for f in fields]))
    return candidates


def read_rows(source: Source, header_index: int, delimiter: str, wanted: list[int],
              malformed: Malformed, numeric: frozenset[int] = frozenset(),
              width: int = 0) -> Table:
    """The data rows below the header on line ``header_index + 1``: the columns at the
    positions ``wanted`` (named as in the header) and each row's line.

    Every column comes back as text except those at the positions in ``numeric``, which
    pandas may parse as numbers (a quantity, a price) when every cell is one — reading
    them as text would cost several times the parse itself. Text columns keep the cells
    exactly as written (``007`` stays ``007``). ``width`` is the header's number of
    columns: when every one is wanted, a row with more fields than the header is an
    error (pandas only checks that when it reads whole rows).
    """
    if source.parquet is not None:
        frame = source.parquet.iloc[:, sorted(wanted)]
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
        return Table(source.path, frame.reset_index(drop=True), lines, 0)
    frame, skipped = _parse(source, header_index, delimiter, sorted(wanted), malformed, width)
    texts = [k for k, position in enumerate(sorted(wanted))
             if not _usable(frame.iloc[:, k], number_ok=position in numeric)]
    if texts:  # ids that look like numbers: read those columns again, as text
        again, _ = _parse(source, header_index, delimiter, sorted(wanted), malformed, width,
                          dtype=str)
        for k in texts:
            frame.isetitem(k, again.iloc[:, k].array)
    lines = _row_lines(source.path, source.data, header_index, len(frame), skipped)
    return Table(source.path, frame, lines, header_index + 1, bad_rows=len(skipped))


def _usable(column: pd.Series, *, number_ok: bool) -> bool:
    """Whether pandas' guess for a column can be used as it is: text in pandas' string
    type, or — where numbers are welcome — a numeric (not boolean) type."""
    if isinstance(column.dtype, pd.StringDtype):
        return True
    return number_ok and pd.api.types.is_numeric_dtype(column.dtype) and \
        not pd.api.types.is_bool_dtype(column.dtype)


def _parse(source: Source, header_index: int, delimiter: str, wanted: list[int],
           malformed: Malformed, width: int, dtype: type | None = None
           ) -> tuple[pd.DataFrame, list[int]]:
    """pandas' C parser over the bytes; returns the frame and the records it skipped.

    Types are inferred (fast: text columns come straight out as pandas strings) unless
    ``dtype`` is given; ``na_filter=False`` keeps an empty cell as ``''``.
    """
    whole_rows = wanted == list(range(len(wanted))) and len(wanted) == width
    options = dict(sep=delimiter, header=0, skiprows=header_index,
                   usecols=None if whole_rows else wanted,
                   na_filter=False, skip_blank_lines=False, index_col=False,
                   encoding="utf-8-sig", engine="c")
    if dtype is not None:
        options["dtype"] = dtype
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.BytesIO(source.data), on_bad_lines="warn" if
                                malformed == "skip" else "error", **options)  # type: ignore[call-overload]
        except pd.errors.ParserError as exc:
            raise ExportError(_parser_problem(source, str(exc))) from None
        except UnicodeDecodeError:
            raise ExportError(_not_utf8(source.path, source.data)) from None
        except (ValueError, IndexError) as exc:  # usecols beyond a short header, …
            raise ExportError(located(source.path, header_index + 1,
                                      f"cannot be read as a table ({exc})"[:300])) from None
    skipped = []
    for warning in caught:
        skipped += [int(n) for n, _, _ in _SKIPPED.findall(str(warning.message))]
    return frame.reset_index(drop=True), skipped


def _parser_problem(source: Source, message: str) -> str:
    """pandas' tokenizer error as one line naming the file's own line."""
    bad = _BAD_FIELDS.search(message)
    if bad:
        expected, record, saw = (int(x) for x in bad.groups())
        line = int(_record_starts(source.data)[record - 1])
        return located(source.path, line, f"a field beyond the header's {expected} columns "
                                          f"(the row has {saw} fields)", f"#{expected + 1}")
    quote = _OPEN_QUOTE.search(message)
    if quote:
        line = int(_record_starts(source.data)[int(quote.group(1))])  # row: 0-based
        return located(source.path, line, "a quoted cell that is never closed")
    return located(source.path, None, f"cannot be read as a table ({message.strip()})"[:300])


def _row_lines(path: Path, data: bytes, header_index: int, rows: int, skipped: list[int]
               ) -> np.ndarray:
    """Each data row's 1-based line in the file (see the module docstring).

    A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r``, as for pandas' parser.
    """
    first = header_index + 2
    body = _line_end(data, header_index) + 1
    lone_cr = data.count(b"\r", body) - data.count(b"\r\n", body) if b"\r" in data else 0
    physical = data.count(b"\n", body) + lone_cr + (0 if data.endswith((b"\n", b"\r")) else 1)
    if not skipped and physical == rows:
        return np.arange(first, first + rows, dtype=np.int64)
    starts = _record_starts(data)
    records = np.arange(header_index + 2, len(starts) + 1)  # 1-based records below the header
    if skipped:
        records = records[~np.isin(records, np.asarray(skipped))]
    if len(records) < rows:  # never expected: say so rather than point at wrong lines
        raise ExportError(located(path, None, "cannot tell the lines of this file's "
                                  "rows (unusual line endings)"))
    return starts[records[:rows] - 1].astype(np.int64)


def _line_end(data: bytes, n: int) -> int:
    """The offset of the last byte ending line ``n`` (0-based); the header has no quotes
    spanning lines, nor has the framing above it."""
    ends = _LINE_END.finditer(data)
    offset = len(data) - 1
    for _, match in zip(range(n + 1), ends, strict=False):
        offset = match.end() - 1
    return offset


def _breaks(buffer: np.ndarray) -> np.ndarray:
    """Offsets of the bytes that end a line: every ``\\n``, and a ``\\r`` not before one."""
    newline = buffer == 10
    lone_cr = buffer == 13
    lone_cr[:-1] &= ~newline[1:]
    return np.flatnonzero(newline | lone_cr)


def _record_starts(data: bytes) -> np.ndarray:
    """The 1-based line on which each record of the file starts: a record ends at a
    line break with an even number of quote characters before it."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    newlines = _breaks(buffer)
    quotes = np.flatnonzero(buffer == 34)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    end_lines = np.searchsorted(newlines, ends) + 1  # the line each record ends on
    return np.concatenate(([1], end_lines + 1)).astype(np.int64)
