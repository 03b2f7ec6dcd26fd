"""Run options: which stock engine records the sales, and how results are measured.

::

    [engine]
    kind = "ledger"          # or "naive_counter", the read-modify-write baseline
    store = "memory://"      # or "sqlite:///out/run.db"

    [metrics]
    stranded_after = "48h"   # a unit unsellable for longer than this counts as stranded
"""

from __future__ import annotations

from typing import Literal

from racesim.scenario.fields import Name, PositiveDuration, Record

__all__ = ["EngineOptions", "MetricsOptions"]


class EngineOptions(Record):
    """The stock engine under test and where it keeps its data."""

    kind: Literal["ledger", "naive_counter"] = "ledger"
    store: Name = "memory://"
    """A ledger store URL, e.g. ``memory://`` or ``sqlite:///path.db``."""


class MetricsOptions(Record):
    """Thresholds used when the results are measured."""

    stranded_after: PositiveDuration = 48 * 3600.0
    """A unit physically in stock but unsellable for longer than this (seconds) is stranded."""
