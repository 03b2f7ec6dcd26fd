"""Building blocks shared by the scenario models: the base record, value types, problems.

Value types reject what TOML authors get wrong silently elsewhere: ``true`` where a
number belongs, ``"5"`` where a count belongs, ``nan``. Cross-field checks report their
problems through :func:`raise_problems`, so one model can report several at once, each
at its own field.
"""

from __future__ import annotations

import math
import numbers
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

from racesim.units import format_duration, parse_duration

__all__ = [
    "Count",
    "Duration",
    "Loc",
    "Name",
    "NonEmpty",
    "NonNegative",
    "Percent",
    "PositiveCount",
    "PositiveDuration",
    "PositiveReal",
    "Probability",
    "Problem",
    "Record",
    "RetryProbability",
    "Share",
    "problem",
    "raise_problems",
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


def show(value: object) -> str:
    """Render a value for "(got …)": TOML spelling, short, one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
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


def _name(value: object) -> str:
    """Accept a non-blank string without surrounding spaces."""
    if not isinstance(value, str):
        raise problem(f"must be a string (got {show(value)})")
    if not value.strip():
        raise problem(f"must not be empty (got {value!r})")
    if value != value.strip():
        raise problem(f"must not start or end with spaces (got {value!r})")
    return value


_Items = TypeVar("_Items", bound=tuple[object, ...])


def _non_empty(items: _Items) -> _Items:
    """Refuse an empty list (checked after the items, so failing items add no noise)."""
    if not items:
        raise problem("must have at least one entry (got none)")
    return items


NonEmpty = AfterValidator(_non_empty)
"""Annotate a ``tuple[X, ...]`` field with this to require at least one item."""


def _duration(value: object) -> float:
    """Seconds from a number or a duration string; any ValueError becomes a field problem."""
    try:
        return parse_duration(value)
    except ValueError as error:
        raise problem(str(error)) from None


def _positive_duration(value: object) -> float:
    """Like :func:`_duration`, but zero is refused."""
    seconds = _duration(value)
    if seconds <= 0:
        raise problem(f"must be > 0 (got {show(value)})")
    return seconds


def _dump_duration(seconds: float, info: SerializationInfo) -> float | str:
    """Seconds, or with context ``{"durations": "text"}`` a string such as "1d2h" if exact."""
    context = info.context
    if isinstance(context, dict) and context.get("durations") == "text":
        text = format_duration(seconds)
        if parse_duration(text) == seconds:
            return text
    return seconds


_as_duration = PlainSerializer(_dump_duration, when_used="always")

Count = Annotated[int, BeforeValidator(_whole), Field(ge=0)]
"""A whole number ≥ 0 (units, attempts)."""
PositiveCount = Annotated[int, BeforeValidator(_whole), Field(ge=1)]
"""A whole number ≥ 1."""
NonNegative = Annotated[float, BeforeValidator(_real), Field(ge=0)]
"""A finite real number ≥ 0."""
PositiveReal = Annotated[float, BeforeValidator(_real), Field(gt=0)]
"""A finite real number > 0."""
Probability = Annotated[float, BeforeValidator(_real), Field(ge=0, le=1)]
"""A probability or fraction in [0, 1]."""
Percent = Annotated[float, BeforeValidator(_real), Field(ge=0, le=100)]
"""A percentage in [0, 100]."""
Share = Annotated[float, BeforeValidator(_real), Field(gt=0, le=1)]
"""A fraction in (0, 1], such as a channel's share of demand."""
RetryProbability = Annotated[float, BeforeValidator(_real), Field(ge=0, lt=1)]
"""A probability in [0, 1): a failure rate that still lets retries succeed."""
Name = Annotated[str, BeforeValidator(_name)]
"""A non-blank identifier such as a SKU or channel name."""
Duration = Annotated[float, BeforeValidator(_duration), _as_duration]
"""Seconds ≥ 0, written as a number of seconds or a string such as "1d2h30m"."""
PositiveDuration = Annotated[float, BeforeValidator(_positive_duration), _as_duration]
"""Seconds > 0, written as a number of seconds or a string such as "5m"."""
