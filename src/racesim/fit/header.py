"""Finding an export's header line and mapping its columns to canonical fields, by name.

``auto`` takes the first line (among the first :data:`~racesim.fit.table.HEADER_SEARCH_LINES`)
that carries every signature column of a layout; a named format takes the first line that
carries any of them. Then each canonical field is looked up by its header names
(case-insensitive), never by position, and a missing required column is an error naming
the column, the line and the layout; in the generic layout an unknown column is too.
"""

from __future__ import annotations

from dataclasses import dataclass

from racesim.errors import shorten
from racesim.fit.checks import ExportError, located
from racesim.fit.layouts import LAYOUTS, Layout, normalise
from racesim.fit.table import HEADER_SEARCH_LINES, Source, header_candidates

__all__ = ["FORMATS", "Header", "check_format", "find_header"]

FORMATS: tuple[str, ...] = ("auto", *LAYOUTS)
"""The values of ``format``: ``auto`` or a layout's name."""


@dataclass(frozen=True, slots=True)
class Header:
    """Where the header is and which file column holds each canonical field.

    ``positions`` maps a field to its column's position, ``fallbacks`` a field to the
    position of the column used where the first is empty; ``names`` are the header's
    cells as written. ``index`` is the header's 0-based line.
    """

    layout: Layout
    index: int
    delimiter: str
    names: tuple[str, ...]
    positions: dict[str, int]
    fallbacks: dict[str, int]
    extra_status: tuple[int, ...] = ()

    @property
    def line(self) -> int:
        """The header's line as an editor shows it (0 for Parquet)."""
        return self.index + 1 if self.delimiter else 0

    def column(self, field: str) -> str:
        """The file's name of the column holding ``field``."""
        return self.names[self.positions[field]]


def check_format(fmt: str) -> str:
    """``fmt`` checked against :data:`FORMATS` before any file is read."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)} (got {shorten(fmt)})")
    return fmt


def find_header(source: Source, fmt: str, *, has_channel: bool) -> Header:
    """Locate the header of ``source`` for format ``fmt`` and map its columns.

    ``has_channel`` says a ``CHANNEL=`` prefix names the file's channel, so that the
    generic layout's ``channel`` column may be absent.
    """
    check_format(fmt)
    candidates = header_candidates(source)
    if fmt == "auto":
        for index, delimiter, fields in candidates:
            for layout in LAYOUTS.values():
                if _delimiter_fits(layout, delimiter) and layout.matches(fields):
                    return _map(source, layout, index, delimiter, fields, has_channel)
        raise ExportError(located(source.path, None, _unknown_layout(candidates)))
    layout = LAYOUTS[fmt]
    fitting = [c for c in candidates if _delimiter_fits(layout, c[1])]
    wanted = {normalise(name) for name in layout.signature}
    for index, delimiter, fields in fitting:
        if wanted & {normalise(name) for name in fields}:
            return _map(source, layout, index, delimiter, fields, has_channel)
    if fitting:
        return _map(source, layout, *fitting[0], has_channel)
    split = "tabs" if layout.delimiter == "\t" else "commas"
    raise ExportError(located(source.path, None, f"no line split by {split} in its first "
                              f"{HEADER_SEARCH_LINES} lines: not a {layout.title}"))


def _delimiter_fits(layout: Layout, delimiter: str) -> bool:
    return delimiter == "" or delimiter == layout.delimiter or (
        layout.name == "generic" and delimiter in (",", "\t", ";"))


def _unknown_layout(candidates: list[tuple[int, str, list[str]]]) -> str:
    needs = "; ".join(f"{layout.name} needs {', '.join(layout.signature)}"
                      for layout in LAYOUTS.values())
    seen = f" (first line read: {shorten(candidates[0][2][:6])})" if candidates else ""
    return f"not a known order export: no header line in its first {HEADER_SEARCH_LINES} " \
           f"lines matches a layout{seen}; {needs}"


def _map(source: Source, layout: Layout, index: int, delimiter: str, fields: list[str],
         has_channel: bool) -> Header:
    line = index + 1 if delimiter else None
    where: dict[str, int] = {}
    for position, name in enumerate(fields):
        key = normalise(name)
        if key in where and _used(layout, key):
            raise ExportError(located(source.path, line, "appears twice in the header", name))
        where.setdefault(key, position)
    if layout.strict:
        known = {normalise(n) for names in layout.columns.values() for n in names}
        for name in fields:
            if normalise(name) not in known:
                expected = ", ".join(names[0] for names in layout.columns.values())
                raise ExportError(located(source.path, line, f"unknown column (the generic "
                                          f"layout reads {expected})", name or "''"))
    positions = {f: where[normalise(n)] for f, names in layout.columns.items()
                 for n in reversed(names) if normalise(n) in where}
    for field in layout.required:
        if field not in positions and not (field == "channel" and has_channel):
            name = layout.columns[field][0]
            raise ExportError(located(source.path, line, f"missing from the header (the "
                                      f"{layout.name} layout requires it)", name))
    fallbacks = {f: where[normalise(n)] for f, names in layout.fallbacks.items()
                 for n in names if normalise(n) in where and where[normalise(n)] !=
                 positions.get(f)}
    status = tuple(where[normalise(n)] for n in layout.columns.get("status", ())
                   if normalise(n) in where and where[normalise(n)] != positions.get("status"))
    return Header(layout, index, delimiter, tuple(fields), positions, fallbacks, status)


def _used(layout: Layout, key: str) -> bool:
    """Whether a header name is one the layout reads (a repeated ignored one is harmless)."""
    names = [*layout.columns.values(), *layout.fallbacks.values()]
    return layout.strict or any(key == normalise(n) for group in names for n in group)
