"""How the seller pushes stock levels to the marketplaces, chosen by ``mode``.

======================== ============================================================
mode                     what is pushed, and when
======================== ============================================================
``event_driven``         the new available count after every stock change, after
                         ``debounce`` seconds of quiet
``periodic_push_time``   every ``interval``, the count read at push time
``periodic_snapshot``    every ``interval``, a count read ``snapshot_lag`` earlier (the
                         09:00 pull that is pushed at 09:04)
``periodic_delta``       every ``interval``, the change since the previous push
``compare_and_set``      every ``interval``, a conditional update that is retried up to
                         ``cas_max_retries`` times when the listing changed meanwhile
======================== ============================================================

A field that the chosen mode does not use (``snapshot_lag`` with ``event_driven``, say)
is an error, not silently ignored. To switch mode in an override, replace the whole
``sync`` table.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from racesim.scenario.fields import Latency, Period, Record, Retries

__all__ = [
    "CompareAndSetSyncConfig",
    "EventDrivenSyncConfig",
    "PeriodicDeltaSyncConfig",
    "PeriodicPushTimeSyncConfig",
    "PeriodicSnapshotSyncConfig",
    "SyncConfig",
]


class EventDrivenSyncConfig(Record):
    """Push after every stock change (coalescing changes within ``debounce`` seconds)."""

    mode: Literal["event_driven"] = "event_driven"
    debounce: Latency = 0.0


class PeriodicPushTimeSyncConfig(Record):
    """Every ``interval`` seconds, push the available count as it is at push time."""

    mode: Literal["periodic_push_time"] = "periodic_push_time"
    interval: Period


class PeriodicSnapshotSyncConfig(Record):
    """Every ``interval`` seconds, push a count read ``snapshot_lag`` seconds earlier."""

    mode: Literal["periodic_snapshot"] = "periodic_snapshot"
    interval: Period
    snapshot_lag: Latency


class PeriodicDeltaSyncConfig(Record):
    """Every ``interval`` seconds, push the change in available stock since the last push."""

    mode: Literal["periodic_delta"] = "periodic_delta"
    interval: Period


class CompareAndSetSyncConfig(Record):
    """Every ``interval`` seconds, a conditional update retried on conflict."""

    mode: Literal["compare_and_set"] = "compare_and_set"
    interval: Period
    cas_max_retries: Retries = 5


SyncConfig = Annotated[
    EventDrivenSyncConfig
    | PeriodicPushTimeSyncConfig
    | PeriodicSnapshotSyncConfig
    | PeriodicDeltaSyncConfig
    | CompareAndSetSyncConfig,
    Field(discriminator="mode"),
]
"""A stock synchronisation mode's configuration, chosen by its ``mode`` key (run by
:func:`racesim.sim.sync.make_sync`)."""
