"""Building blocks shared by the scenario models: the base record, value types, problems.

Value types reject what TOML authors get wrong silently elsewhere: ``true`` where a
number belongs, ``"5"`` where a count belongs, ``nan`` — and every one has a lower and
an upper bound, from :mod:`racesim.scenario.limits`. Cross-field checks report their
problems through :func:`raise_problems`, so one model can report several at once, each
at its own field.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Sequence
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
)
from pydantic import ValidationError as _ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from racesim.scenario.limits import (
    MAX_ATTEMPTS,
    MAX_CAS_RETRIES,
    MAX_DAYS_OF_DEMAND,
    MAX_DESCRIPTION,
    MAX_DURATION_TEXT,
    MAX_HORIZON_S,
    MAX_LATENCY_S,
    MAX_MONEY,
    MAX_ORDERS_PER_DAY,
    MAX_PERIOD_S,
    MAX_SEED,
    MAX_SKUS,
    MAX_TEXT,
    MAX_UNITS,
    MAX_UNITS_PER_ORDER,
    MIN_DELAY_S,
    MIN_PERIOD_S,
)
from racesim.util.units import format_duration, parse_duration

__all__ = [
    "Attempts",
    "Count",
    "Days",
    "Description",
    "Duration",
    "Label",
    "Latency",
    "Loc",
    "Money",
    "Name",
    "NonEmpty",
    "NonNegative",
    "OrdersPerDay",
    "Percent",
    "Period",
    "PositiveCount",
    "PositiveDays",
    "PositiveDuration",
    "PositiveReal",
    "Probability",
    "Problem",
    "Record",
    "Retries",
    "RetryProbability",
    "Seed",
    "Share",
    "SkuCount",
    "UnitsPerOrder",
    "at_most",
    "problem",
    "raise_problems",
    "render_seconds",
    "seconds_between",
    "show",
]

PROBLEM = "racesim"
"""The pydantic error type of racesim's own messages (their text is final, "got" included)."""

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, object]
"""(location relative to the model, message, offending value)."""


class Record(BaseModel):
    """Base of every scenario model: frozen, unknown keys refused, no inf/nan."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def problem(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as is (it names the value itself)."""
    return PydanticCustomError(PROBLEM, "{message}", {"message": message})


def raise_problems(model: str, problems: Sequence[Problem]) -> None:
    """Raise every problem at once (pydantic prefixes each location with the model's own)."""
    if problems:
        details = [
            InitErrorDetails(type=problem(message), loc=loc, input=value)
            for loc, message, value in problems
        ]
        raise _ValidationError.from_exception_data(model, details)


_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
_SHORT.maxlevel = 3


def show(value: object) -> str:
    """Render a value for "(got …)": TOML spelling, short, one line, whatever its size.

    Strings, numbers and lists are cut before they are rendered (``reprlib``), so a 5 MB
    value costs no more than a short one and is never echoed whole.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int) and value.bit_length() > 128:  # str() of it may even fail
        return f"a number of about {value.bit_length() * math.log10(2):.0f} digits"
    text = " ".join(_SHORT.repr(value).splitlines())
    return text if len(text) <= 60 else text[:57] + "..."


def _whole(value: object) -> int:
    """Accept whole numbers (5, 5.0, numpy ints); refuse booleans, strings and fractions."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise problem(f"must be a whole number (got {show(value)})")


def _real(value: object) -> float:
    """Accept finite real numbers; refuse booleans, strings and nan/inf."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
        raise problem(f"must be a finite number (got {show(value)})")
    raise problem(f"must be a number (got {show(value)})")


def _text(value: object, limit: int) -> str:
    """Accept a string of at most ``limit`` characters (the message never echoes it whole)."""
    if not isinstance(value, str):
        raise problem(f"must be a string (got {show(value)})")
    if len(value) > limit:
        raise problem(f"must be at most {limit} characters (got {len(value):,}: {show(value)})")
    return value


def _name(value: object) -> str:
    """Accept a non-blank string of at most MAX_TEXT characters without surrounding spaces."""
    text = _text(value, MAX_TEXT)
    if not text.strip():
        raise problem(f"must not be empty (got {show(text)})")
    if text != text.strip():
        raise problem(f"must not start or end with spaces (got {show(text)})")
    return text


_Items = TypeVar("_Items", bound=tuple[object, ...])


def _non_empty(items: _Items) -> _Items:
    """Refuse an empty list (checked after the items, so failing items add no noise)."""
    if not items:
        raise problem("must have at least one entry (got none)")
    return items


NonEmpty = AfterValidator(_non_empty)
"""Annotate a ``tuple[X, ...]`` field with this to require at least one item."""


def render_seconds(seconds: float) -> str:
    """A duration for messages: ``7d``, ``1m30s``; huge or tiny ones in seconds (``1e+308s``)."""
    if not math.isfinite(seconds) or abs(seconds) >= 1e9 or 0 < abs(seconds) < 1e-3:
        return f"{seconds:.3g}s"
    return format_duration(seconds)


def _duration(value: object) -> float:
    """Seconds from a number or a duration string; any ValueError becomes a field problem."""
    if isinstance(value, str) and len(value) > MAX_DURATION_TEXT:
        raise problem(f"a duration must be at most {MAX_DURATION_TEXT} characters "
                      f"(got {len(value):,}: {show(value)})")
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise problem(str(error)) from None
    if not math.isfinite(seconds):
        raise problem(f"duration must be finite (got {show(value)})")
    return seconds


def seconds_between(low: float, high: float, *, positive: bool = False) -> BeforeValidator:
    """Parse a duration and check it lies in [low, high] seconds (> 0 too if ``positive``)."""

    def check(value: object) -> float:
        seconds = _duration(value)
        if positive and seconds <= 0:
            raise problem(f"must be > 0 (got {show(value)})")
        if seconds < low:
            raise problem(f"must be ≥ {render_seconds(low)} (got {render_seconds(seconds)})")
        if seconds > high:
            raise problem(f"must be ≤ {render_seconds(high)} (got {render_seconds(seconds)})")
        return seconds

    return BeforeValidator(check)


_N = TypeVar("_N", int, float)


def at_most(high: float) -> AfterValidator:
    """Refuse numbers above ``high`` (the lower bound is the type's own ``Field``)."""

    def check(number: _N) -> _N:
        if number > high:
            raise problem(f"must be ≤ {show(high)} (got {show(number)})")
        return number

    return AfterValidator(check)


def _dump_duration(seconds: float, info: SerializationInfo) -> float | str:
    """Seconds, or with context ``{"durations": "text"}`` a string such as "1d2h" if exact."""
    context = info.context
    if isinstance(context, dict) and context.get("durations") == "text":
        text = format_duration(seconds)
        if parse_duration(text) == seconds:
            return text
    return seconds


_as_duration = PlainSerializer(_dump_duration, when_used="always")
_Whole = BeforeValidator(_whole)
_Real = BeforeValidator(_real)

Count = Annotated[int, _Whole, Field(ge=0), at_most(MAX_UNITS)]
"""A whole number of units in [0, 10⁹] (stock, buffers, reorder points)."""
PositiveCount = Annotated[int, _Whole, Field(ge=1), at_most(MAX_UNITS)]
"""A whole number of units in [1, 10⁹] (restock quantities and levels)."""
UnitsPerOrder = Annotated[int, _Whole, Field(ge=1), at_most(MAX_UNITS_PER_ORDER)]
"""Units in one order line, in [1, 1,000]."""
SkuCount = Annotated[int, _Whole, Field(ge=1), at_most(MAX_SKUS)]
"""A number of SKUs in [1, 100,000]."""
Attempts = Annotated[int, _Whole, Field(ge=1), at_most(MAX_ATTEMPTS)]
"""Handler attempts per webhook copy, in [1, 100]."""
Retries = Annotated[int, _Whole, Field(ge=0), at_most(MAX_CAS_RETRIES)]
"""Retries of a refused push, in [0, 100]."""
Seed = Annotated[int, _Whole, Field(ge=0), at_most(MAX_SEED)]
"""A 64-bit seed, in [0, 2⁶⁴ − 1]."""
NonNegative = Annotated[float, _Real, Field(ge=0)]
"""A finite real number ≥ 0 (give it an upper bound with :func:`at_most`)."""
PositiveReal = Annotated[float, _Real, Field(gt=0)]
"""A finite real number > 0 (give it an upper bound with :func:`at_most`)."""
OrdersPerDay = Annotated[float, _Real, Field(ge=0), at_most(MAX_ORDERS_PER_DAY)]
"""Orders per day in [0, 10⁷]."""
Days = Annotated[float, _Real, Field(ge=0), at_most(MAX_DAYS_OF_DEMAND)]
"""Days of demand in [0, 366]."""
PositiveDays = Annotated[float, _Real, Field(gt=0), at_most(MAX_DAYS_OF_DEMAND)]
"""Days of demand in (0, 366]."""
Money = Annotated[float, _Real, Field(ge=0), at_most(MAX_MONEY)]
"""An amount in the scenario's currency in [0, 10⁹]: a price, a margin, a cost."""
Probability = Annotated[float, _Real, Field(ge=0, le=1)]
"""A probability or fraction in [0, 1]."""
Percent = Annotated[float, _Real, Field(ge=0, le=100)]
"""A percentage in [0, 100]."""
Share = Annotated[float, _Real, Field(gt=0, le=1)]
"""A fraction in (0, 1], such as a channel's share of demand."""
RetryProbability = Annotated[float, _Real, Field(ge=0, lt=1)]
"""A probability in [0, 1): a failure rate that still lets retries succeed."""
Name = Annotated[str, BeforeValidator(_name)]
"""A non-blank identifier such as a SKU or channel name, at most 200 characters."""
Label = Annotated[str, BeforeValidator(lambda value: _text(value, MAX_TEXT))]
"""Free text of at most 200 characters (a class label, a SKU prefix); may be empty."""
Description = Annotated[str, BeforeValidator(lambda value: _text(value, MAX_DESCRIPTION))]
"""Free text of at most 2,000 characters."""
Duration = Annotated[float, seconds_between(0.0, MAX_HORIZON_S), _as_duration]
"""Seconds in [0, 366 days], written as a number of seconds or a string such as "1d2h30m"."""
PositiveDuration = Annotated[float, seconds_between(MIN_DELAY_S, MAX_HORIZON_S, positive=True),
                             _as_duration]
"""Seconds in [1 ms, 366 days], written as a number of seconds or a string such as "5m"."""
Latency = Annotated[float, seconds_between(0.0, MAX_LATENCY_S), _as_duration]
"""A delay in the webhook and sync path: seconds in [0, 7 days]."""
Period = Annotated[float, seconds_between(MIN_PERIOD_S, MAX_PERIOD_S, positive=True),
                   _as_duration]
"""A recurring schedule's period: seconds in [1 s, 366 days]."""
