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
3. reads the rows below it (:func:`read_rows`), every cell as text, only the columns
   asked for, and maps each row to its line: directly when no cell spans lines, else
   from where the file's record-ending newlines are (those outside quotes, found with
   numpy over the bytes).

The rows are read with pyarrow's multithreaded CSV reader, every cell as text, which
costs a fraction of pandas' parser with its type guessing. pandas' C parser stays the
reference: whenever pyarrow's reading could differ from it — a row with more fields
than the header, quotes above the header, a column of numbers pandas would type in a
way this module does not reproduce exactly — the file is read with pandas instead, so
the cells, their types and every error message are pandas' own.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from racesim.fit.checks import ExportError, Malformed, located
from racesim.fit.text import one_chunk, text_bytes
from racesim.util.parallel import in_parallel

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
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error")
_MAX_SHORT_ROWS = 1000
"""Rows with fewer fields than the header that the fast reader pads itself (framing lines
under a vendor's table); a file with more is read by pandas."""
_BYTES = np.arange(256, dtype=np.uint8)
_NUMBER_LIKE = np.isin(_BYTES, np.frombuffer(b"0123456789+-.eEinfatyINFATY \t\n\v\f\r",
                                             dtype=np.uint8))
"""Bytes a cell pandas might read as a number can hold (digits, signs, exponents, ``nan``,
``inf``, ``Infinity``, spaces); a cell with any other byte, or an empty one, is text."""


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
    match the header (only with ``malformed="skip"``). ``typed`` names the positions
    whose columns pyarrow typed itself (numbers, times), as :func:`read_rows` was asked.
    """

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray
    header_line: int
    bad_rows: int = 0
    typed: frozenset[int] = frozenset()
    """The positions read typed, as asked (see :func:`read_rows`)."""


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
    lines = re.split(r"\r\n|\r|\n", head, maxsplit=HEADER_SEARCH_LINES)
    for index, line in enumerate(lines[:HEADER_SEARCH_LINES]):
        text = line.lstrip("\ufeff")
        for delimiter in _DELIMITERS:
            if delimiter in text:
                fields = next(csv.reader([text], delimiter=delimiter), [])
                if len(fields) >= 2:
                    candidates.append((index, delimiter, [f.strip() for f in fields]))
    return candidates


def read_rows(source: Source, header_index: int, delimiter: str, wanted: list[int],
              malformed: Malformed, numeric: frozenset[int] = frozenset(),
              width: int = 0, types: dict[int, pa.DataType] | None = None) -> Table:
    """The data rows below the header on line ``header_index + 1``: the columns at the
    positions ``wanted`` (named as in the header) and each row's line.

    Every column comes back as text except those at the positions in ``numeric``, which
    pandas may parse as numbers (a quantity, a price) when every cell is one — reading
    them as text would cost several times the parse itself. Text columns keep the cells
    exactly as written (``007`` stays ``007``). ``width`` is the header's number of
    columns: when every one is wanted, a row with more fields than the header is an
    error (pandas only checks that when it reads whole rows).

    ``types`` asks for some columns typed by pyarrow's own conversion instead (``float64``
    numbers, ``timestamp[s, UTC]`` times: in parallel, while parsing, with no text kept): a
    column whose conversion fails, or a number column with an empty cell, comes back as
    above, as does every column when pandas reads the file. Those that came typed are in
    :attr:`Table.typed`; a time's empty cell is ``NaT``.
    """
    if source.parquet is not None:
        frame = source.parquet.iloc[:, sorted(wanted)]
        lines = np.arange(1, len(frame) + 1, dtype=np.int64)
        return Table(source.path, frame.reset_index(drop=True), lines, 0)
    found = _arrow_rows(source.data, header_index, delimiter, sorted(wanted), numeric, width,
                        types or {})
    if found is not None:  # without quotes no cell spans lines: one row per line
        fast, typed = found
        lines = _row_lines(source.path, source.data, header_index, len(fast), []) if \
            b'"' in source.data else np.arange(header_index + 2, header_index + 2 + len(fast))
        return Table(source.path, fast, lines, header_index + 1, typed=typed)
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


def _arrow_rows(data: bytes, header_index: int, delimiter: str, wanted: list[int],
                numeric: frozenset[int], width: int,
                types: dict[int, pa.DataType] | None = None
                ) -> tuple[pd.DataFrame, frozenset[int]] | None:
    """The wanted columns as pandas' parser would give them, read by pyarrow, save those
    of ``types`` it could type itself (returned with the frame, see :func:`read_rows`);
    ``None`` where that might differ from pandas (see the module doc: the caller then
    uses pandas)."""
    body = _line_end(data, header_index) + 1
    if not wanted or wanted[-1] >= width or b'"' in data[:body] or not _utf8(data):
        return None
    names = [f"f{k}" for k in range(width)]
    table, short, typed = _arrow_table(data, header_index, delimiter, names, wanted,
                                       dict(types or {}))
    if table is None:
        return None
    columns = [table.column(names[position]) for position in wanted]
    if short:
        padded = _padded(short, header_index, delimiter, width, table.num_rows)
        if padded is None:
            return None
        extra, order = padded
        columns = [pa.concat_arrays([*column.chunks, pa.array(extra[position],
                                                              pa.large_string())]).take(order)
                   for column, position in zip(columns, wanted, strict=True)]
    convert = [partial(_converted, column) if position in typed else
               partial(_typed, column) if position in numeric else partial(_text, column)
               for column, position in zip(columns, wanted, strict=True)]
    out = in_parallel(*convert)  # each a copy of its chunks: pyarrow and numpy, no lock
    if any(series is None for series in out):
        return None
    frame = pd.DataFrame(dict(enumerate(out)), copy=False)  # no 2-D block of numbers
    header = _header_names(data, header_index, delimiter)
    frame.columns = [header[position] if position < len(header) else f"#{position + 1}"
                     for position in wanted]
    return frame, frozenset(typed)


def _utf8(data: bytes) -> bool:
    """Whether the whole file is UTF-8, as pandas decodes it (pyarrow checks only the
    columns it reads)."""
    if data.isascii():
        return True
    try:
        pa.array([data], pa.large_binary()).cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _arrow_table(data: bytes, header_index: int, delimiter: str, names: list[str],
                 wanted: list[int], types: dict[int, pa.DataType]
                 ) -> tuple[pa.Table | None, list[tuple[int, str]], dict[int, pa.DataType]]:
    """pyarrow's parse of the rows below the header, the rows with fewer fields than the
    header as ``(record number, text)``, and the ``types`` it could convert; no table if
    a row has more fields.

    A column whose conversion fails, or a number column with an empty cell, is read again
    as text with the rest (so is every column if a row is short: the short rows' cells are
    padded as text). Record numbers are known only to a single-threaded parse: a file
    whose last lines look short (a vendor's framing below the table) is parsed on one
    thread from the start, any other file again on one thread if it has short rows."""
    while True:
        table, short, failed = _arrow_parse(data, header_index, delimiter, names, wanted,
                                            types)
        if table is not None and types:
            failed = list(types) if short else [
                p for p, kind in types.items()
                if pa.types.is_floating(kind) and table.column(names[p]).null_count]
        if not failed:
            return table, short, types
        if not set(failed) <= set(types):  # a text column pyarrow cannot read
            return None, [], {}
        types = {p: kind for p, kind in types.items() if p not in failed}


def _arrow_parse(data: bytes, header_index: int, delimiter: str, names: list[str],
                 wanted: list[int], types: dict[int, pa.DataType]
                 ) -> tuple[pa.Table | None, list[tuple[int, str]], list[int]]:
    """One try of :func:`_arrow_table`: the table, its short rows, and the position of a
    column whose conversion to ``types`` failed (then no table)."""
    short: list[tuple[int, str]] = []
    unnumbered: list[bool] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        if row.actual_columns > row.expected_columns or len(short) >= _MAX_SHORT_ROWS:
            return "error"
        if row.number is None:
            unnumbered.append(True)
            return "error"
        short.append((row.number, row.text))
        return "skip"

    parse = pcsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                              newlines_in_values=b'"' in data, invalid_row_handler=invalid)
    convert = pcsv.ConvertOptions(include_columns=[names[p] for p in wanted],
                                  column_types={names[p]: types.get(p, pa.large_string())
                                                for p in wanted},
                                  null_values=[""], strings_can_be_null=False)
    threads = not _short_tail(data, delimiter, len(names))
    for use_threads in ((True, False) if threads else (False,)):
        short.clear()
        read = pcsv.ReadOptions(skip_rows=header_index + 1, column_names=names,
                                use_threads=use_threads, block_size=_block_size(data))
        try:
            return pcsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                                 convert_options=convert), short, []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            failed = _CONVERSION.match(str(exc))
            if failed:
                return None, [], [int(failed.group(1))]
            if not unnumbered:
                break
    return None, [], []


def _block_size(data: bytes) -> int:
    """About an eighth of the file per block (at least 1 MiB): pyarrow parses blocks on
    several threads, one block per thread, so a file read as one block is parsed on one
    core. The columns then come in a few chunks, copied together once
    (:func:`~racesim.fit.text.one_chunk`) — on 1,000,000 rows that copy costs a small
    part of the time the threads save."""
    return min(max(len(data) // 8 + 1, 1 << 20), 1 << 30)


def _short_tail(data: bytes, delimiter: str, width: int) -> bool:
    """Whether one of the file's last lines has fewer fields than the header."""
    tail = data[-4096:].rstrip(b"\r\n").splitlines()[-3:]
    return any(line.count(delimiter.encode()) < width - 1 for line in tail)


def _padded(short: list[tuple[int, str]], header_index: int, delimiter: str, width: int,
            kept: int) -> tuple[dict[int, list[str]], pa.Array] | None:
    """The short rows' cells, read by pandas and padded with empty cells as pandas pads
    them, and the order that puts them back among the ``kept`` rows."""
    rows = np.array([number for number, _ in short], dtype=np.int64) - header_index - 2
    total = kept + len(short)
    if rows[0] < 0 or rows[-1] >= total or np.any(np.diff(rows) <= 0):
        return None
    try:
        cells = pd.read_csv(io.StringIO("\n".join(text for _, text in short)), header=None,
                            names=list(range(width)), sep=delimiter, dtype=str,
                            na_filter=False, skip_blank_lines=False, index_col=False,
                            engine="c")
    except (pd.errors.ParserError, ValueError):
        return None
    if len(cells) != len(short):
        return None
    is_short = np.zeros(total, dtype=bool)
    is_short[rows] = True
    order = np.empty(total, dtype=np.int64)
    order[~is_short] = np.arange(kept)
    order[rows] = np.arange(kept, total)
    return {k: cells[k].tolist() for k in range(width)}, pa.array(order)


def _header_names(data: bytes, header_index: int, delimiter: str) -> list[str]:
    """The header's cells as written (the frame's column names)."""
    start = _line_end(data, header_index - 1) + 1 if header_index else 0
    line = data[start:_line_end(data, header_index) + 1].decode("utf-8").lstrip("\ufeff")
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])


def _converted(column: pa.ChunkedArray) -> pd.Series:
    """A column pyarrow typed: numbers as ``float64``, times as ``datetime64[us, UTC]``."""
    array = one_chunk(column)
    if pa.types.is_timestamp(array.type):
        seconds = np.asarray(array.to_numpy(zero_copy_only=False), dtype="datetime64[s]")
        return pd.Series(seconds.astype("datetime64[us]")).dt.tz_localize("UTC")
    return pd.Series(np.asarray(array.to_numpy(zero_copy_only=False), dtype=float))


def _text(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """A column of text cells, in one chunk (later whole-column passes then copy nothing)."""
    return pd.Series(pd.array(one_chunk(column), dtype="str"))


def _typed(column: pa.ChunkedArray | pa.Array) -> pd.Series | None:
    """A column pandas may read as numbers, typed as pandas' parser would type it: text
    if a cell is empty or holds a byte no number has, ``int64`` if every cell is at most
    18 digits (with a leading ``-``), ``float64`` if every cell is a plain decimal
    (``-12.50``) of at most 15 characters, which both parsers round alike; ``None``
    (unsure: let pandas read the file) otherwise."""
    array = one_chunk(column)
    found = text_bytes(array)
    if found is None or len(array) == 0:
        return _text(array)
    offsets, data = found
    lengths = np.diff(offsets)
    if not lengths.all():
        return _text(array)
    cells = data[offsets[0]:offsets[-1]]
    digit = (cells - np.uint8(48)) <= 9  # a byte below '0' wraps above 9
    if lengths.max() <= 18 and digit.all():
        return pd.Series(pc.cast(array, pa.int64()).to_numpy())
    other = np.flatnonzero(~digit)  # few: a dot, a sign per cell — work on those alone
    if not _NUMBER_LIKE[cells[other]].all():
        return _text(array)
    if lengths.max() > 18:
        return None
    kind = _plain_numbers(cells, offsets - offsets[0], digit, other)
    if kind is None or (kind == "float" and lengths.max() > 15):
        return None
    try:  # refuses a cell with two dots, the one shape _plain_numbers lets through
        number = pc.cast(array, pa.int64() if kind == "int" else pa.float64())
    except pa.ArrowInvalid:
        return None
    return pd.Series(number.to_numpy())


def _plain_numbers(cells: np.ndarray, offsets: np.ndarray, digit: np.ndarray,
                   other: np.ndarray) -> str | None:
    """``"int"`` if every cell matches ``-?[0-9]+``, ``"float"`` if every one matches
    ``-?[0-9]+(\\.[0-9]+)?`` save that a cell may have several dots (pyarrow's cast
    refuses those), else ``None``; ``cells`` are the non-empty cells' bytes end to end,
    ``other`` where those bytes are no digit."""
    starts, ends = offsets[:-1], offsets[1:] - 1
    found = cells[other]
    minus, dot = found == 45, found == 46
    if not (minus | dot).all() or not digit[ends].all():
        return None
    signs = other[minus]  # each must open its cell (then a digit follows: the cell ends in one)
    at = np.minimum(np.searchsorted(starts, signs), len(starts) - 1)
    if not (starts[at] == signs).all():
        return None
    if (~digit[starts]).sum() != len(signs):  # a cell opening with a dot
        return None
    if not dot.any():
        return "int"
    dots = other[dot]
    if not (digit[dots - 1].all() and digit[dots + 1].all()):
        return None
    return "float"


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
