"""Durations: parse ``"90s"``, ``"1d2h30m"`` or a number of seconds; print them back.

Every duration inside racesim is a float number of **seconds**. Scenario files may write
one either as a plain number (seconds) or as a string of one or more ``<number><unit>``
parts, largest unit first, each unit at most once:

======= ============= =====================
unit    meaning       example
======= ============= =====================
``d``   day (86400 s) ``"3d"``, ``"1d2h"``
``h``   hour (3600 s) ``"2h"``, ``"1.5h"``
``m``   minute (60 s) ``"5m"``, ``"1h30m"``
``s``   second        ``"90s"``
``ms``  millisecond   ``"250ms"``
======= ============= =====================

>>> parse_duration("1d2h30m")
95400.0
>>> format_duration(95400.0)
'1d2h30m'
"""

from __future__ import annotations

import math
import numbers
import re

__all__ = ["format_duration", "parse_duration"]

_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("d", "h", "m", "s", "ms")
# "ms" before "m" so that "250ms" is milliseconds, not minutes followed by junk.
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|d|h|m|s)\s*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_HINT = 'use seconds or a string such as "90s", "5m", "1.5h", "1d2h30m" (units d, h, m, s, ms)'


def parse_duration(value: object) -> float:
    """Return a duration in seconds: a number of seconds (≥ 0, finite) or a string like "1d2h".

    Raises ValueError (never TypeError) naming the value, for anything else: booleans,
    negative or non-finite numbers, strings without units, unknown or repeated units.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise ValueError(f"not a duration: {_HINT} (got {value!r})")
    if isinstance(value, numbers.Real):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"duration must be finite (got {value!r})")
        if seconds < 0:
            raise ValueError(f"duration must be ≥ 0 (got {value!r})")
        return seconds
    return _parse_text(value)


def _parse_text(text: str) -> float:
    """Seconds in a duration string; see :func:`parse_duration`."""
    body = text.strip()
    if body.startswith("-"):
        raise ValueError(f"duration must be ≥ 0 (got {text!r})")
    if _NUMBER.fullmatch(body):
        raise ValueError(f"duration has no unit: write {body + 's'!r} for seconds (got {text!r})")
    total, position, last = 0.0, 0, -1
    while position < len(body):
        match = _PART.match(body, position)
        if match is None:
            raise ValueError(f"not a duration: {_HINT} (got {text!r})")
        amount, unit = match.groups()
        rank = _ORDER.index(unit)
        if rank <= last:
            raise ValueError(
                f"duration units must go from largest to smallest, each once (got {text!r})"
            )
        total += float(amount) * _SECONDS[unit]
        position, last = match.end(), rank
    if last < 0:
        raise ValueError(f"not a duration: {_HINT} (got {text!r})")
    return total


def format_duration(seconds: float) -> str:
    """Write seconds the way people read them: ``3s``, ``5m``, ``2h``, ``1d2h30m``, ``250ms``.

    Whole seconds are split into days, hours, minutes and seconds; fractions keep up to
    six decimals (``"1.5s"``). Meant for messages and scenario files: for round numbers
    ``parse_duration(format_duration(x)) == x``.
    """
    if math.isnan(seconds):
        return "nan"
    if math.isinf(seconds):
        return "inf" if seconds > 0 else "-inf"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{_decimal(seconds * 1000.0)}ms"
    seconds = round(seconds, 6)
    whole = math.floor(seconds)
    fraction = seconds - whole
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    if secs or fraction:
        parts.append(f"{_decimal(secs + fraction)}s")
    return "".join(parts)


def _decimal(number: float) -> str:
    """A number with at most six decimals and no trailing zeros: 1.5 → "1.5", 30.0 → "30"."""
    return f"{number:.6f}".rstrip("0").rstrip(".") or "0"
