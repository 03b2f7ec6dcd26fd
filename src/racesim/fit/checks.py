"""Whole-column validation of a table read from a file, and the one-line error it raises.

A reader states each rule once, as a boolean mask over the rows (``True`` = this row
breaks it), with the column it concerns and what is wrong. :class:`RowChecks` then either
raises an :class:`ExportError` for the row that comes *first in the file* among all the
rules broken — ``orders.csv:17: column quantity: negative quantity (value '-2')`` — or,
with ``malformed="skip"``, leaves every such row out and counts them by reason. No rule
loops over rows in Python, so a million-row export costs a few vectorised passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from racesim.errors import RacesimError, shorten

__all__ = ["MALFORMED_POLICIES", "ExportError", "Malformed", "RowChecks", "check_policy",
           "located"]

Malformed = Literal["error", "skip"]
MALFORMED_POLICIES: tuple[str, ...] = ("error", "skip")
"""What a reader does with a malformed row: stop with its error, or leave it out and count it."""


class ExportError(RacesimError, ValueError):
    """A seller's file cannot be read as asked; the message is one line naming the file,
    the line and the column (``FILE:LINE: column NAME: what is wrong (value 'x')``)."""


def located(path: str | Path, line: int | None, message: str, column: str | None = None) -> str:
    """``FILE:LINE: column NAME: message`` — the one shape every reader error takes."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return f"{where}: column {column}: {message}" if column else f"{where}: {message}"


def check_policy(malformed: str) -> Malformed:
    """``malformed`` checked against :data:`MALFORMED_POLICIES` before any work starts."""
    if malformed not in MALFORMED_POLICIES:
        raise ExportError(f"malformed must be 'error' or 'skip' (got {shorten(malformed)})")
    return "skip" if malformed == "skip" else "error"


@dataclass(slots=True)
class _Rule:
    mask: np.ndarray
    column: str
    what: str
    values: pd.Series | None


@dataclass(slots=True)
class RowChecks:
    """The rules one table's rows must pass, resolved together (see the module doc).

    ``lines`` holds each row's line number in the file, in row order.
    """

    path: Path
    lines: np.ndarray
    rules: list[_Rule] = field(default_factory=list)

    def add(self, mask: pd.Series | np.ndarray, column: str, what: str,
            values: pd.Series | None = None) -> None:
        """Record that the rows where ``mask`` is true break a rule on ``column``.

        ``values`` (aligned with the rows) gives the text shown in the error.
        """
        array = np.asarray(mask, dtype=bool)
        assert array.shape == self.lines.shape, "a rule's mask must cover every row"
        if array.any():
            self.rules.append(_Rule(array, column, what, values))

    def resolve(self, malformed: Malformed) -> tuple[np.ndarray, dict[str, int]]:
        """The rows to keep and, per reason, how many were left out.

        With ``malformed="error"`` raises :class:`ExportError` for the first bad row in the
        file; a row breaking several rules is counted once, under the first rule added.
        """
        if not self.rules:
            return np.ones(self.lines.shape, dtype=bool), {}
        if malformed == "error":
            self._raise_first()
        bad = np.zeros(self.lines.shape, dtype=bool)
        skipped: dict[str, int] = {}
        for rule in self.rules:
            fresh = rule.mask & ~bad
            count = int(fresh.sum())
            if count:
                reason = f"column {rule.column}: {rule.what}"
                skipped[reason] = skipped.get(reason, 0) + count
            bad |= rule.mask
        return ~bad, skipped

    def _raise_first(self) -> None:
        firsts = [(int(self.lines[int(np.argmax(rule.mask))]), index)
                  for index, rule in enumerate(self.rules)]
        line, index = min(firsts)
        rule = self.rules[index]
        message = rule.what
        if rule.values is not None:
            position = int(np.argmax(rule.mask))
            value = rule.values.iloc[position]
            message += f" (value {shorten(_plain(value))})"
        raise ExportError(located(self.path, line, message, rule.column))


def _plain(value: object) -> str:
    """A cell as text, as the user typed it: missing cells as ``''``, a number pandas
    parsed as its plain spelling (``4``, ``12.5``)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
