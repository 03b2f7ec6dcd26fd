"""Argument checks shared by the ledger's commands.

Each check returns the normalised value or raises :class:`InvalidCommand` naming the
command, the argument and the bad value (shortened: a message never echoes a huge input).
They run before any read or write, so a malformed command never touches the store.
"""

from __future__ import annotations

import math
import numbers

from racesim.errors import InvalidCommand, shorten

MAX_UNITS = 10**9
"""The most units one command may move: far beyond any real order, far below overflow."""

__all__ = ["check_delta", "check_id", "check_quantity", "check_reason", "check_time"]


def check_id(command: str, name: str, value: object) -> str:
    """A non-empty identifier (SKU, order id, channel, reference) of printable characters."""
    if type(value) is str and value.isprintable() and value and not value.isspace():
        return value
    if isinstance(value, str):
        if value and not value.isspace():
            raise InvalidCommand(f"{command}: {name} must not contain control characters "
                                 f"(got {shorten(value)})")
        raise InvalidCommand(f"{command}: {name} must be a non-empty string "
                             f"(got {shorten(value)})")
    raise InvalidCommand(f"{command}: {name} must be a string (got {type(value).__name__} "
                         f"{shorten(value)})")


def _whole(command: str, name: str, value: object) -> int:
    if type(value) is int:
        number = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
    else:
        number = None
    if number is not None:
        if -MAX_UNITS <= number <= MAX_UNITS:
            return number
        raise InvalidCommand(f"{command}: {name} must be at most {MAX_UNITS:,} units in "
                             f"magnitude (got {shorten(number)})")
    raise InvalidCommand(f"{command}: {name} must be a whole number of units "
                         f"(got {type(value).__name__} {shorten(value)})")


def check_quantity(command: str, value: object) -> int:
    """A positive whole number of units."""
    if type(value) is int and 0 < value <= MAX_UNITS:  # the usual case, decided at once
        return value
    quantity = _whole(command, "quantity", value)
    if quantity <= 0:
        raise InvalidCommand(f"{command}: quantity must be > 0 (got {quantity})")
    return quantity


def check_delta(command: str, value: object) -> int:
    """A non-zero whole number of units, either sign."""
    delta = _whole(command, "delta", value)
    if delta == 0:
        raise InvalidCommand(f"{command}: delta must be non-zero (got 0)")
    return delta


def check_reason(command: str, value: object) -> str:
    """A non-empty explanation of a correction."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidCommand(f"{command}: reason must be a non-empty string explaining the "
                             f"correction (got {shorten(value)})")
    if "\x00" in value:  # no store can keep it faithfully (PostgreSQL text refuses it)
        raise InvalidCommand(f"{command}: reason must not contain NUL characters "
                             f"(got {shorten(value)})")
    return value


def check_time(command: str, value: object, name: str = "at") -> float | None:
    """A finite time in seconds, or None for 'now' (``name`` is the argument's name)."""
    if value is None:
        return None
    if type(value) is float and math.isfinite(value):  # the usual case, decided at once
        return value
    if type(value) is float or type(value) is int or (
            isinstance(value, numbers.Real) and not isinstance(value, bool)):
        try:
            at = float(value)
        except OverflowError:  # a whole number beyond any float: 400 digits, say
            at = math.inf
        if math.isfinite(at):
            return at
    raise InvalidCommand(f"{command}: {name} must be a finite number of seconds "
                         f"(got {shorten(value)})")
