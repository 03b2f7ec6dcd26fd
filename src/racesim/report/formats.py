"""Numbers and buffers as the report writes them: ``1.05 %``, ``2.8 – 4.5``, ``1 unit``.

Plain text (the page's template escapes it). Buffers are described without jargon: the
``seed_formula`` family is "the rule of thumb", its latency multiple "the slowest sync".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from racesim.report.summary import describe_buffer, describe_publishing, describe_value
from racesim.study.tune import Family

if TYPE_CHECKING:
    from racesim.scenario import BufferConfig, Scenario

__all__ = ["interval", "num", "pct", "plain_buffer", "plain_publishing", "plain_value", "signed",
           "units"]


def pct(rate: float | None) -> str:
    """A fraction as a percentage: ``1.05 %`` (three decimals under 0.1 %)."""
    if rate is None or not math.isfinite(rate):
        return "–"
    value = 100 * rate
    return f"{value:.3f} %" if 0 < value < 0.1 else f"{value:.2f} %"


def num(value: float | None) -> str:
    """A count or mean: one decimal under 100, thousands separators above."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def signed(value: float | None) -> str:
    """A change with its sign: ``+23.4``, ``−3.5``."""
    if value is None or not math.isfinite(value):
        return "–"
    return ("+" if value >= 0 else "−") + num(abs(value))


def interval(pair: Sequence[float | None] | None,
             show: Callable[[float | None], str] = pct) -> str:
    """``low – high``; rates both with the precision the larger one needs."""
    if not pair or pair[0] is None or pair[1] is None:
        return "–"
    low, high = float(pair[0]), float(pair[1])
    if show is pct and 0 < 100 * max(low, high) < 0.1:
        return f"{100 * low:.3f} % – {100 * high:.3f} %"
    return f"{show(low)} – {show(high)}"


def units(count: float) -> str:
    """``1 unit``, ``2.5 units``."""
    return f"{count:g} unit" + ("" if count == 1 else "s")


def plain_value(family: Family, value: float) -> str:
    """A value of a buffer family in words, without "P99" or "seed formula"."""
    if family.name == "seed_formula":
        return f"sales expected during {value:g}× the slowest sync"
    return describe_value(family, value)


def plain_buffer(config: BufferConfig) -> str:
    """A scenario's ``[buffer]`` in words, without "P99" or "seed formula"."""
    if config.policy == "seed_formula":
        return (f"rule of thumb: max({units(config.min_units)}, {config.percent:g} % of "
                f"available, sales expected during {config.latency_multiple:g}× the slowest "
                "sync)")
    if config.policy == "fixed":
        return f"{units(config.units)} of every SKU"
    return describe_buffer(config)


def plain_publishing(scenario: Scenario) -> str:
    """The buffer in force in words, per channel when the channels' rules differ."""
    return describe_publishing(scenario, plain_buffer)
