"""Reading racesim's own small tables (returns, receipts, stock): known columns only.

These files are written for racesim, not exported by a vendor, so their header must hold
every required column and nothing racesim does not know (a misspelt column is an error
naming it, not silently ignored). Columns are matched by name, case-insensitively, in any
order; cells come back as stripped text with each row's line in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError, Malformed, located
from racesim.fit.layouts import normalise
from racesim.fit.table import Source, header_candidates, read_rows

__all__ = ["StrictTable", "read_strict"]


@dataclass(frozen=True, slots=True)
class StrictTable:
    """The cells of each known column present (stripped text), rows in file order.

    ``lines`` are the rows' lines in the file; ``framing`` counts blank lines left out;
    ``bad_rows`` rows with more fields than the header (left out with ``skip``).
    """

    path: Path
    cells: dict[str, pd.Series]
    lines: np.ndarray
    header_line: int
    framing: int
    bad_rows: int


def read_strict(source: Source, what: str, required: tuple[str, ...],
                optional: tuple[str, ...], malformed: Malformed) -> StrictTable:
    """Read ``source`` as a table of ``required`` and ``optional`` columns (see the module)."""
    known = (*required, *optional)
    candidates = header_candidates(source)
    if not candidates:
        raise ExportError(located(source.path, None, f"no header line: a {what} needs the "
                                  f"columns {', '.join(required)}"))
    chosen = next((c for c in candidates if {normalise(f) for f in c[2]} & set(required)),
                  candidates[0])
    index, delimiter, fields = chosen
    line = index + 1 if delimiter else None
    where: dict[str, int] = {}
    for position, name in enumerate(fields):
        key = normalise(name)
        if key not in known:
            raise ExportError(located(source.path, line, f"unknown column (a {what} has "
                                      f"{', '.join(known)})", name or "''"))
        if key in where:
            raise ExportError(located(source.path, line, "appears twice in the header", name))
        where[key] = position
    for name in required:
        if name not in where:
            raise ExportError(located(source.path, line, f"missing from the header (a "
                                      f"{what} requires it)", name))
    table = read_rows(source, index, delimiter, sorted(where.values()), malformed,
                      width=len(fields))
    order = sorted(where.values())
    cells = {name: table.frame.iloc[:, order.index(position)].str.strip()
             for name, position in where.items()}
    blank = np.array((table.frame == "").all(axis=1), dtype=bool) if len(table.frame) else \
        np.zeros(0, dtype=bool)
    cells = {name: column[~blank].reset_index(drop=True) for name, column in cells.items()}
    return StrictTable(source.path, cells, table.lines[~blank], table.header_line,
                       int(blank.sum()), table.bad_rows)
