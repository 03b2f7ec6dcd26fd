"""Order exports → one canonical table of order lines, validated column by column.

>>> from racesim.fit.orders import read_orders
>>> read = read_orders(["tests/data/exports/shopify_orders.csv",
...                     "amazon=tests/data/exports/amazon_all_orders.txt"])  # doctest: +SKIP
>>> read.lines.columns.tolist()  # doctest: +SKIP
['order_id', 'line', 'sku', 'quantity', 'channel', 'placed_at', 'time_resolution', ...]

Each file is given as ``PATH`` or ``CHANNEL=PATH``. A file's own channel column (generic
``channel``, Amazon's ``sales-channel``) wins; the prefix names the channel of a file that
has none (and of rows whose channel cell is empty); without either, the layout's name
(``shopify``, ``ebay``, ``amazon``) is the channel. One row per order line:

==================  =====================================================================
column              meaning
==================  =====================================================================
order_id, line      the order and the line's position in it (1, 2, … in file order)
sku, quantity       what was ordered, in units (a whole number ≥ 1; 0 only if cancelled)
channel             where it was sold
placed_at           when, tz-aware UTC (``pandas.Timestamp``)
time_resolution     ``second``, or ``day`` where the export gives dates only (a categorical)
status              ``placed`` or ``cancelled`` (a categorical; a cancelled line still
                    reserved stock)
cancelled_at        when it was cancelled (UTC; NaT if not, or if the export does not say)
returned_at         when it came back (UTC; NaT if not returned)
returned_quantity   units returned (0 if none)
price, currency     the line's unit price (NaN if absent) and its currency ('' if absent)
source_file/line    the file (a categorical: one category per file read) and its line as an
                    editor shows it
==================  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from racesim.errors import shorten
from racesim.fit.checks import ExportError, Malformed, RowChecks, check_policy, located
from racesim.fit.header import Header, check_format, find_header
from racesim.fit.layouts import Layout
from racesim.fit.rules import MAX_ID_CHARS, identifier, labels, longer_than, times, whole
from racesim.fit.table import Source, Table, load, read_rows
from racesim.fit.text import per_distinct, sorted_changes, text_array, text_bytes
from racesim.fit.times import has_offset, parse_times, present

__all__ = ["LINE_COLUMNS", "FileRead", "OrdersRead", "parse_order_spec",
           "read_order_file", "read_orders"]

LINE_COLUMNS: tuple[str, ...] = (
    "order_id", "line", "sku", "quantity", "channel", "placed_at", "time_resolution",
    "status", "cancelled_at", "returned_at", "returned_quantity", "price", "currency",
    "source_file", "source_line")
"""The canonical order-lines table's columns, in order (see the module doc)."""

_NUMERIC = ("quantity", "price", "returned_quantity")
_TIMES = ("placed_at", "cancelled_at", "returned_at")
_UTC_SECONDS = pa.timestamp("s", tz="UTC")
_RESOLUTIONS = pd.CategoricalDtype(["second", "day"])  # the same in every file: concat keeps it
_STATUSES = pd.CategoricalDtype(["placed", "cancelled"])
_STRIPPED = ("order_id", "sku", "channel", "status", "currency")
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True, slots=True)
class FileRead:
    """What was read from one file, and what the reader had to assume.

    ``rows_read`` counts the rows below the header; ``framing`` the blank lines, summary
    lines and order-summary rows among them; ``skipped`` the malformed rows left out
    (``malformed="skip"``), by reason. ``time_resolution`` maps each channel found to
    ``second``, ``day`` (dates only: daily counts) or ``mixed``.
    """

    path: str
    layout: str
    rows_read: int
    lines_kept: int
    framing: int
    skipped: dict[str, int]
    channels: tuple[str, ...]
    time_resolution: dict[str, str]
    assumptions: tuple[str, ...] = field(default=())

    @property
    def rows_skipped(self) -> int:
        """Malformed rows left out, whatever the reason."""
        return sum(self.skipped.values())


@dataclass(frozen=True, slots=True)
class OrdersRead:
    """The order lines of every file read (``lines``) and one :class:`FileRead` per file."""

    lines: pd.DataFrame
    files: tuple[FileRead, ...]

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel found, sorted."""
        return tuple(sorted({c for f in self.files for c in f.channels}))

    @property
    def day_only_channels(self) -> tuple[str, ...]:
        """Channels some of whose lines have dates but no times (daily counts only)."""
        return tuple(sorted({c for f in self.files for c, r in f.time_resolution.items()
                             if r != "second"}))


def parse_order_spec(spec: str | Path) -> tuple[str | None, Path]:
    """``"amazon=exports/a.txt"`` → ``("amazon", Path("exports/a.txt"))``; a plain path,
    or one that exists as written although it contains ``=``, has no channel."""
    text = str(spec)
    name, sep, rest = text.partition("=")
    if isinstance(spec, Path) or not sep or Path(text).exists():
        return None, Path(text)
    if not _CHANNEL.fullmatch(name) or not rest:
        raise ExportError(f"{shorten(text)}: a CHANNEL=PATH prefix must be letters, digits, "
                          "'_', '.' or '-' (at most 64) followed by a path")
    return name, Path(rest)


def read_orders(specs: Sequence[str | Path], *, format: str = "auto",
                malformed: str = "error") -> OrdersRead:
    """Read every ``PATH`` or ``CHANNEL=PATH`` into one table (see the module doc)."""
    policy = check_policy(malformed)
    check_format(format)
    if not specs:
        raise ExportError("no order files given")
    frames, files = [], []
    for spec in specs:
        channel, path = parse_order_spec(spec)
        frame, read = read_order_file(path, format=format, channel=channel, malformed=policy)
        frames.append(frame)
        files.append(read)
    if len(frames) > 1:  # one set of file categories, so that concat keeps the categorical
        named = list(dict.fromkeys(str(read.path) for read in files))
        for frame in frames:
            frame["source_file"] = frame["source_file"].cat.set_categories(named)
    lines = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return OrdersRead(lines, tuple(files))


def read_order_file(path: str | Path, *, format: str = "auto", channel: str | None = None,
                    malformed: str = "error") -> tuple[pd.DataFrame, FileRead]:
    """One export's order lines (the canonical table) and what was read.

    ``channel`` is the ``CHANNEL=`` prefix, if any. Raises :class:`ExportError` — one
    line, naming the file, the line and the column — for the first problem in the file,
    or with ``malformed="skip"`` leaves malformed rows out and counts them.
    """
    policy = check_policy(malformed)
    check_format(format)
    source = load(path)
    header = find_header(source, format, has_channel=channel is not None)
    try:
        return _read(source, header, channel, policy, _types(header))
    except _Unsure:  # something to say about a row: today's reading, cell by cell
        return _read(source, header, channel, policy, {})


class _Unsure(Exception):
    """A file read with pyarrow's own typing has a row some rule refuses (or a problem
    to report): read again as text, whose checks name the row, column and value."""


def _types(header: Header) -> dict[int, pa.DataType]:
    """The columns pyarrow may type itself while it parses (in parallel, with no text
    kept): numbers as ``float64``, and ISO 8601 times with a zone as UTC seconds.

    The text reading is the reference: a number or time pyarrow converts is one it
    reads to the same value. Only the layout's own fields are typed — not a fallback,
    a status column, a footer's first cell or an order-level field filled down — and
    times only where the layout reads ISO 8601 first."""
    layout = header.layout
    times = {*_TIMES, layout.cancel_time_from} if not layout.date_only and \
        layout.time_formats[:1] == ("ISO8601",) else set()
    text = {*header.fallbacks.values(), *header.extra_status, *([0] if layout.footer else [])}
    types: dict[int, pa.DataType] = {}
    for name, position in header.positions.items():
        if name in _NUMERIC:
            types[position] = pa.float64()
        elif name in times and name not in layout.order_level:
            types[position] = _UTC_SECONDS
        else:
            text.add(position)
    return {position: kind for position, kind in types.items() if position not in text}


def _read(source: Source, header: Header, channel: str | None, policy: Malformed,
          types: dict[int, pa.DataType]) -> tuple[pd.DataFrame, FileRead]:
    """:func:`read_order_file` of a loaded file whose header is found; raises
    :class:`_Unsure` where pyarrow typed a column and a rule refuses a row."""
    layout = header.layout
    wanted = {*header.positions.values(), *header.fallbacks.values(), *header.extra_status}
    if layout.footer:
        wanted.add(0)
    numeric = frozenset(header.positions[name] for name in _NUMERIC if name in header.positions)
    table = read_rows(source, header.index, header.delimiter, sorted(wanted), policy, numeric,
                      len(header.names), types)
    try:
        return _checked(source, header, table, channel, policy)
    except ExportError:
        if table.typed:
            raise _Unsure from None
        raise


def _checked(source: Source, header: Header, table: Table, channel: str | None,
             policy: Malformed) -> tuple[pd.DataFrame, FileRead]:
    """The canonical table and the :class:`FileRead` of the rows read."""
    layout = header.layout
    cells = _cells(table, header)
    rows_read = len(table.frame) + table.bad_rows
    _fill_order_level(cells, layout)
    framing = _framing(cells, table, header)
    if framing.any():  # else every column is kept as it is, without a copy
        cells = {name: column[~framing].reset_index(drop=True)
                 for name, column in cells.items()}
    lines = table.lines[~framing] if framing.any() else table.lines
    notes: list[str] = list(layout.assumptions)
    frame, skipped = _validate(source.path, cells, lines, header, channel, policy,
                               notes, bool(table.typed))
    if table.bad_rows:
        skipped = {"a row with more fields than the header": table.bad_rows, **skipped}
    if frame.empty:
        raise ExportError(located(source.path, header.line or None,
                                  f"no usable order lines ({rows_read} rows below the header, "
                                  f"{int(framing.sum())} framing, {sum(skipped.values())} "
                                  "malformed)"))
    return frame, _summary(source.path, layout, frame, rows_read, int(framing.sum()),
                           skipped, notes)


def _cells(table: Table, header: Header) -> dict[str, pd.Series]:
    """Each canonical field's column (text), its fallback column filling empty cells."""
    order = sorted({*header.positions.values(), *header.fallbacks.values(),
                    *header.extra_status, *([0] if header.layout.footer else [])})
    by_position = {position: table.frame.iloc[:, k] for k, position in enumerate(order)}
    cells = {name: _stripped(by_position[position]) if name in _STRIPPED else
             by_position[position] for name, position in header.positions.items()}
    for name, position in header.fallbacks.items():
        backup = _stripped(by_position[position], strict=True)
        cells[name] = cells[name].where(cells[name] != "", backup) if name in cells else backup
    for k, position in enumerate(header.extra_status):
        cells[f"status_{k}"] = _stripped(by_position[position], strict=True)
    if header.layout.footer:
        cells["_first"] = by_position[0]
    return cells


def _stripped(column: pd.Series, *, strict: bool = False) -> pd.Series:
    """Text cells without surrounding spaces; a column pandas read as numbers as it is
    (``strict``: refused, as ``str.strip`` refuses it).

    Cells whose first and last bytes are printable ASCII other than a space have nothing
    to strip: the column is then returned as it is, without a pass over its text."""
    if not pd.api.types.is_string_dtype(column):
        return column.str.strip() if strict else column
    text = text_array(column)
    found = text_bytes(text)
    if found is not None:
        offsets, data = found
        starts, ends = offsets[:-1], offsets[1:]
        if not (ends > starts).all():
            filled = np.flatnonzero(ends > starts)
            starts, ends = starts[filled], ends[filled]
        first, last = data[starts], data[ends - 1]
        if not len(first) or (min(first.min(), last.min()) > 0x20 and \
                max(first.max(), last.max()) < 0x7F):
            return column
    trimmed = pc.utf8_trim_whitespace(text)
    return pd.Series(pd.array(trimmed, dtype="str"), index=column.index)


def _fill_order_level(cells: dict[str, pd.Series], layout: Layout) -> None:
    """Order-level cells given on an order's first row only, copied to its other rows."""
    if "order_id" not in cells:
        return
    for name in layout.order_level:
        column = cells.get(name)
        if column is None:
            continue
        empty = column == ""
        if empty.any() and not empty.all():
            first = column.where(~empty).groupby(cells["order_id"]).transform("first")
            cells[name] = column.where(~empty, first.fillna(""))


def _framing(cells: dict[str, pd.Series], table: Table, header: Header) -> np.ndarray:
    """Rows that are framing, not order lines: blank lines, footer lines, order summaries."""
    layout = header.layout
    if table.frame.empty:
        return np.zeros(0, dtype=bool)
    blank = _blank_rows(table.frame)
    if layout.footer:
        pattern = "|".join(re.escape(p) for p in layout.footer)
        for name in ("_first", "order_id"):
            text = cells[name].str.lower()
            blank |= text.str.contains(pattern, regex=True).to_numpy(dtype=bool)
    if layout.summary_rows and "sku" in cells:
        blank |= ((cells["sku"] == "") & (cells["order_id"] != "")).to_numpy()
    return blank


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty (a column of numbers has none)."""
    blank = np.ones(len(frame), dtype=bool)
    for k in range(frame.shape[1]):
        column = frame.iloc[:, k]
        if isinstance(column.dtype, pd.DatetimeTZDtype):  # typed by pyarrow: NaT if empty
            blank &= ~present(column)
            continue
        if not pd.api.types.is_string_dtype(column):
            return np.zeros(len(frame), dtype=bool)
        found = text_bytes(text_array(column))
        blank &= np.diff(found[0]) == 0 if found is not None else \
            np.asarray(column == "", dtype=bool)
        if not blank.any():
            break
    return blank


def _validate(path: Path, cells: dict[str, pd.Series], lines: np.ndarray, header: Header,
              channel: str | None, policy: Malformed, notes: list[str], typed: bool
              ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Check every rule over whole columns, drop or refuse bad rows, build the table
    (``typed``: pyarrow typed some columns — a refused row raises :class:`_Unsure`)."""
    layout = header.layout
    checks = RowChecks(path, lines)
    for name in ("order_id", "sku"):
        identifier(checks, cells[name], header.column(name))
    cancelled = _cancelled(cells, layout)
    quantity = whole(checks, cells["quantity"], header.column("quantity"),
                      allow_zero=cancelled)
    placed = parse_times(cells["placed_at"], layout.time_formats)
    times(checks, cells["placed_at"], placed, header.column("placed_at"), required=True)
    if not layout.date_only:
        naive = present(cells["placed_at"]) & ~placed.bad & ~placed.date_only
        if placed.zoned is not None:
            naive &= ~placed.zoned
        if naive.any():
            rows = np.flatnonzero(naive)
            naive[rows] = ~has_offset(cells["placed_at"].iloc[rows])
        if naive.any():
            notes.append(f"{int(naive.sum())} times without a zone offset read as UTC")
    channels = _channels(checks, cells, header, channel, notes)
    cancelled_at = _event_time(checks, cells, header, "cancelled_at", placed.utc)
    if layout.cancel_time_from and layout.cancel_time_from in cells:
        stand_in = parse_times(cells[layout.cancel_time_from], layout.time_formats).utc
        cancelled_at = cancelled_at.where(cancelled_at.notna() | ~cancelled, stand_in)
    returned_at = _event_time(checks, cells, header, "returned_at", placed.utc)
    returned = _returned(checks, cells, header, quantity, returned_at)
    price = _price(checks, cells, header)
    if layout.price_per_line:
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(quantity > 0, price / np.maximum(quantity, 1), np.nan)
    if typed and checks.rules:
        raise _Unsure
    keep, skipped = checks.resolve(policy)
    columns = {
        "order_id": cells["order_id"], "line": np.zeros(len(lines), dtype=np.int64),
        "sku": cells["sku"], "quantity": np.asarray(quantity, dtype=np.int64),
        "channel": channels, "placed_at": placed.utc,
        "time_resolution": pd.Categorical.from_codes(placed.date_only.astype(np.int8),
                                                     dtype=_RESOLUTIONS),
        "status": pd.Categorical.from_codes(cancelled.astype(np.int8), dtype=_STATUSES),
        "cancelled_at": cancelled_at.where(pd.Series(cancelled))
        if cancelled_at.notna().any() else cancelled_at,
        "returned_at": returned_at,
        "returned_quantity": np.asarray(returned, dtype=np.int64), "price": price,
        "currency": cells["currency"] if "currency" in cells else
        labels(np.zeros(len(lines), dtype=np.int8), ("",)),
        "source_file": pd.Categorical.from_codes(np.zeros(len(lines), dtype=np.int8),
                                                 dtype=pd.CategoricalDtype([str(path)])),
        "source_line": lines}
    frame = pd.DataFrame(columns, copy=False)  # each column its own block: no stacking
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    frame["line"] = _line_numbers(frame["order_id"])
    return frame, skipped


def _cancelled(cells: dict[str, pd.Series], layout: Layout) -> np.ndarray:
    """Lines the export marks cancelled: by a status value, or by a cancel time."""
    cancelled = np.zeros(len(cells["sku"]), dtype=bool)
    if layout.cancel_status:
        for name in [n for n in cells if n == "status" or n.startswith("status_")]:
            cancelled |= _is_cancel_status(cells[name], layout.cancel_status)
    if layout.cancel_is_time and "cancelled_at" in cells:
        cancelled |= present(cells["cancelled_at"])
    return cancelled


def _is_cancel_status(values: pd.Series, statuses: tuple[str, ...]) -> np.ndarray:
    """Whether each status cell is one of ``statuses`` (lower-case ASCII) in any case.

    Only cells of a length one of them could have are compared: a cell whose lower case
    is a status of L characters has L characters (lowering never shortens a string, and
    none lowers into several ASCII letters), so L to 4·L bytes — most cells ("placed",
    "shipped") are ruled out by their length alone, without a pass over their text."""
    found = text_bytes(text_array(values)) if pd.api.types.is_string_dtype(values) else None
    if found is None:
        return np.asarray(values.astype(str).str.lower().isin(statuses), dtype=bool)
    sizes = [len(status) for status in statuses]
    lengths = np.diff(found[0])
    rows = np.flatnonzero((lengths >= min(sizes)) & (lengths <= 4 * max(sizes)))
    cancelled = np.zeros(len(values), dtype=bool)
    if len(rows):
        cancelled[rows] = values.iloc[rows].str.lower().isin(statuses).to_numpy(dtype=bool)
    return cancelled


def _channels(checks: RowChecks, cells: dict[str, pd.Series], header: Header,
              prefix: str | None, notes: list[str]) -> pd.Series:
    """Each line's channel: the file's channel column, else the prefix, else the layout's."""
    default = prefix or header.layout.default_channel
    index = cells["sku"].index
    if "channel" not in cells:
        if prefix is None:
            notes.append(f"no channel column and no CHANNEL= prefix: every line is taken "
                         f"as sold on {default!r}")
        return labels(np.zeros(len(index), dtype=np.int8), (default,))
    column = header.column("channel")
    values = cells["channel"]
    empty = values == ""
    if prefix is not None:
        notes.append(f"the file's own channel column {column!r} wins over the CHANNEL= "
                     f"prefix {prefix!r}, which names only lines whose cell is empty")
    if default:
        values = values.where(~empty, default)
    else:
        checks.add(empty, column, "missing value (or give the file a CHANNEL= prefix)",
                   values)
    checks.add(longer_than(values, MAX_ID_CHARS), column,
               f"longer than {MAX_ID_CHARS} characters", values)
    return values


def _event_time(checks: RowChecks, cells: dict[str, pd.Series], header: Header, name: str,
                placed: pd.Series) -> pd.Series:
    """An optional cancel or return time: parseable, in range, not before the order."""
    if name not in cells:
        return pd.Series(pd.NaT, index=placed.index, dtype=placed.dtype)
    column = header.column(name)
    parsed = parse_times(cells[name], (*header.layout.time_formats, "ISO8601"))
    times(checks, cells[name], parsed, column, required=False)
    early = (parsed.utc < placed).to_numpy(dtype=bool) & ~parsed.date_only
    checks.add(early, column, "before the order was placed", cells[name])
    return parsed.utc


def _returned(checks: RowChecks, cells: dict[str, pd.Series], header: Header,
              quantity: np.ndarray, returned_at: pd.Series) -> np.ndarray:
    """Units returned per line: the returned_quantity column, else the whole line."""
    has_return = returned_at.notna().to_numpy()
    if "returned_quantity" not in cells:
        return np.where(has_return, quantity, 0)
    column = header.column("returned_quantity")
    values = cells["returned_quantity"]
    given = whole(checks, values, column, required=False)
    empty = (values == "").to_numpy()
    checks.add(given > quantity, column, "more units returned than ordered", values)
    checks.add((given > 0) & ~has_return, column, "returned units without a returned_at "
               "time", values)
    return np.where(empty, np.where(has_return, quantity, 0), given)


def _price(checks: RowChecks, cells: dict[str, pd.Series], header: Header) -> np.ndarray:
    """Unit prices as numbers (currency signs and thousands separators dropped); NaN if none."""
    if "price" not in cells:
        return np.full(len(cells["sku"]), np.nan)
    column = header.column("price")
    values = cells["price"]
    if not pd.api.types.is_string_dtype(values):
        number = np.array(values, dtype=float)
        checks.add(number < 0, column, "negative price", values)
        return number
    empty = (values == "").to_numpy()
    number = per_distinct(values, _prices)
    checks.add(np.isnan(number) & ~empty, column, "not a price", values)
    checks.add(number < 0, column, "negative price", values)
    return number


def _prices(values: pd.Series) -> np.ndarray:
    """Text prices as numbers, a currency sign before and thousands separators dropped;
    NaN where empty or not a price."""
    empty = (values == "").to_numpy()
    number = np.array(pd.to_numeric(values.where(~empty, "nan"), errors="coerce"), dtype=float)
    retry = np.isnan(number) & ~empty
    if retry.any():
        cleaned = values[retry].str.replace(r"^[^\d.\-]+|,(?=\d{3}(?:\D|$))", "", regex=True)
        number[retry] = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
    return number


def _summary(path: Path, layout: Layout, frame: pd.DataFrame, rows_read: int, framing: int,
             skipped: dict[str, int], notes: list[str]) -> FileRead:
    day = np.array(frame["time_resolution"] == "day", dtype=bool)
    channel = frame["channel"]
    with_day = set() if not day.any() else set(channel.unique()) if day.all() else \
        set(channel[day].unique())
    with_time = set() if day.all() else set(channel.unique()) if not day.any() else \
        set(channel[~day].unique())
    resolution = {name: "mixed" if name in with_day and name in with_time else
                  "day" if name in with_day else "second"
                  for name in sorted(with_day | with_time)}
    for name, kind in resolution.items():
        if kind != "second":
            notes.append(f"channel {name!r} has dates without times: daily counts only")
    return FileRead(str(path), layout.name, rows_read, len(frame), framing, skipped,
                    tuple(resolution), resolution, tuple(notes))


def _line_numbers(order_ids: pd.Series) -> np.ndarray:
    """Each line's position in its order (1, 2, …, in file order).

    Exports list an order's lines together, so runs of one order id are counted; the
    runs' ids are checked to be distinct (at once if the ids are sorted either way, as
    most exports are: then each run's id is beyond the last), else the ids are factorised.
    """
    if len(order_ids) < 2:
        return np.ones(len(order_ids), dtype=np.int64)
    new_run = np.empty(len(order_ids), dtype=bool)
    new_run[0] = True
    ids = pa.chunked_array([text_array(order_ids)])
    ascending = sorted_changes(ids)  # None unless the ids ascend
    new_run[1:] = ascending if ascending is not None else \
        np.asarray(pc.not_equal(ids[1:], ids[:-1]), dtype=bool)
    if ascending is not None or _descending(ids) or order_ids[new_run].is_unique:
        starts = np.flatnonzero(new_run)
        step = np.ones(len(order_ids), dtype=np.int64)  # +1 a line, back to 1 at a run's start
        step[starts[1:]] = 1 - np.diff(starts)
        return np.cumsum(step, out=step)
    codes, _ = pd.factorize(order_ids)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    first = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    position = np.arange(len(codes)) - np.repeat(first, np.diff(np.r_[first, len(codes)]))
    result = np.empty(len(codes), dtype=np.int64)
    result[order] = position + 1
    return result


def _descending(ids: pa.ChunkedArray) -> bool:
    """Whether text ids are in decreasing order (ties allowed)."""
    return bool(pc.all(pc.greater_equal(ids[:-1], ids[1:])).as_py())
