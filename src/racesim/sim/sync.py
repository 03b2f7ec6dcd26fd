"""Sync: how the seller's published quantity reaches each marketplace's listing.

``published[c][k]``, what channel c's publishing rule lists of SKU k (``max(available −
buffer, 0)``, capped, 0 below a threshold: :mod:`racesim.policy.publishing`), is computed
from the seller's engine; every push carries channel c's own value and becomes visible
on its listing after that channel's listing latency. Modes:

``event_driven``
    push the current value to every marketplace on every change (optional debounce).
``periodic_push_time``
    every interval, push absolutes computed when the push is made.
``periodic_snapshot``
    pull at t, push at t + snapshot_lag the values pulled at t — race 3: orders placed
    in between are not in the pushed count, which overstates stock.
``periodic_delta``
    every interval, push each marketplace the net change since its last push caused by
    everything except its own orders (which it has already applied to its listing).
``compare_and_set``
    every interval, an absolute push that states the value it expects the marketplace
    to hold; refused if the marketplace sold in between, then retried with fresh values
    (up to ``cas_max_retries`` times, then left to the next interval).

Absolute pushes overwrite the marketplace's own decrements for orders whose webhooks
have not reached the seller yet; delta and compare-and-set pushes never do.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import simpy

from racesim.scenario.sync import (
    CompareAndSetSyncConfig,
    EventDrivenSyncConfig,
    PeriodicDeltaSyncConfig,
    PeriodicPushTimeSyncConfig,
    PeriodicSnapshotSyncConfig,
)
from racesim.sim.sampler import BlockSampler
from racesim.sim.scheduling import ModelEnvironment
from racesim.sim.state import Logs, SkuStock, SyncRecord

if TYPE_CHECKING:
    from racesim.scenario import Scenario
    from racesim.sim.marketplace import Marketplace
    from racesim.sim.streams import Streams

P = TypeVar("P")

__all__ = ["Sync", "SyncContext", "make_sync"]

ALL_SKUS = -1


@dataclass(frozen=True, slots=True)
class SyncContext:
    """What a sync process works with: the model's clock, listings and per-SKU figures.

    The sync reads ``stock.published`` (per channel, per SKU) and writes
    ``stock.overstated…`` (staleness against each channel's own value) and,
    with ``tables``, ``logs.pushes``.
    """

    env: ModelEnvironment
    scenario: Scenario
    streams: Streams
    markets: list[Marketplace]
    stock: SkuStock
    logs: Logs
    tables: bool


class Sync:
    """Common state: latency samplers, push log and per-channel 'reflections'.

    A reflection (sku or ALL_SKUS, computed_at, visible_at) says that from visible_at a
    listing shows a value computed at computed_at: the sync-latency metric is built on
    them (see :class:`~racesim.sim.state.Reflections`, kept in :attr:`record`).
    """

    mode = "base"

    def __init__(self, context: SyncContext) -> None:
        self.env = context.env
        self.markets = context.markets
        self.published = context.stock.published
        self.stock = context.stock
        self.logs = context.logs
        self.tables = context.tables
        self.config = context.scenario.sync
        self.latency = [BlockSampler(ch.listing_latency,
                                     context.streams(f"listing-latency/{ch.name}"))
                        for ch in context.scenario.channels]
        self.draws = [sampler.draw for sampler in self.latency]
        channels, skus = len(self.markets), len(self.stock.names)
        self.landed = [0.0] * channels  # when the latest push to each marketplace lands
        self.record = SyncRecord(channels)
        self.reflections = self.record.reflections
        # each channel's reflection columns' appends, bound once: a push lands per change
        self.reflect = [(r.sku.append, r.computed.append, r.visible.append)
                        for r in self.reflections]
        # What the seller believes each listing holds: last value it set, minus the units
        # of the marketplace's own orders it has seen since.
        self.last_set = [list(self.published[c]) for c in range(channels)]
        self.own_seen = [[0] * skus for _ in range(channels)]

    def start(self) -> None:
        """Begin any periodic work."""

    def notify(self, sku: int) -> None:
        """The published value of ``sku`` changed."""

    def own_order_seen(self, channel: int, sku: int, units: int) -> None:
        """An order of ``channel`` reached the engine: the marketplace already applied it."""
        self.own_seen[channel][sku] += units

    def _later(self, delay: float, callback: Callable[[P], None], payload: P) -> None:
        """Run ``callback(payload)`` after ``delay`` seconds, as a plain callback."""
        self.env.plain_later(delay, callback, payload)

    def _note_push(self, channel: int, sku: int, computed_at: float, sent_at: float,
                   value: int, before: int, applied: bool) -> None:
        """Log a push as it reaches a listing (with tables only)."""
        if not self.tables:
            return
        self.logs.pushes.append((channel, sku, self.mode, computed_at, sent_at, self.env.now,
                                 value, self.published[channel][sku], before,
                                 self.markets[channel].listing[sku], applied))

    def _landing_delay(self, channel: int) -> float:
        """Seconds until a push sent now shows on ``channel``'s listing.

        A marketplace applies a seller's updates in the order it received them, so a
        push never lands before the one sent ahead of it (a queue, not a race).
        """
        now = self.env.now
        lands = max(now + self.draws[channel](), self.landed[channel])
        self.landed[channel] = lands
        return lands - now


class EventDriven(Sync):
    """Push on every change, to every marketplace (optionally debounced)."""

    mode = "event_driven"

    def __init__(self, context: SyncContext, config: EventDrivenSyncConfig) -> None:
        super().__init__(context)
        self.debounce = float(config.debounce or 0.0)
        self.pending: set[int] = set()

    def notify(self, sku: int) -> None:
        if self.debounce <= 0:
            self._send(sku)
        elif sku not in self.pending:
            self.pending.add(sku)
            self.env.plain_later(self.debounce, self._flush, sku)

    def _flush(self, sku: int) -> None:
        self.pending.discard(sku)
        self._send(sku)

    def _send(self, sku: int) -> None:
        """Push ``sku``'s value to every marketplace (runs once per change: kept lean).

        Each push lands as :meth:`Sync._landing_delay` says (inlined here), never before
        the one sent ahead of it to the same marketplace, and carries its own channel's
        value as it stands when sent. Each is a plain callback of its own: pushes that
        land at one time run in channel order, as their event ids are taken.
        """
        env = self.env
        now = env.now
        published, landed = self.published, self.landed
        plain_later, apply = env.plain_later, self._apply
        for channel, draw in enumerate(self.draws):
            lands = now + draw()
            if lands < landed[channel]:
                lands = landed[channel]
            landed[channel] = lands
            plain_later(lands - now, apply, (channel, published[channel][sku], sku, now))

    def _apply(self, push: tuple[int, int, int, float]) -> None:
        channel, value, sku, sent_at = push
        now = self.env.now
        market = self.markets[channel]
        before = market.set_absolute(now, sku, value)  # the value shown: nothing changes
        add_sku, add_computed, add_visible = self.reflect[channel]  # Reflections.add inline
        add_sku(sku)
        add_computed(sent_at)
        add_visible(now)
        if self.tables:
            self._note_push(channel, sku, sent_at, sent_at, value, before, True)


class PeriodicAbsolute(Sync):
    """Every interval, push every SKU's absolute value to every marketplace.

    With ``snapshot_lag`` > 0 the values are pulled ``snapshot_lag`` seconds before they
    are pushed (``periodic_snapshot``); otherwise they are computed at push time.
    """

    def __init__(self, context: SyncContext,
                 config: PeriodicPushTimeSyncConfig | PeriodicSnapshotSyncConfig,
                 snapshot_lag: float = 0.0) -> None:
        super().__init__(context)
        self.interval = float(config.interval)
        self.snapshot_lag = snapshot_lag
        self.mode = "periodic_snapshot" if snapshot_lag > 0 else "periodic_push_time"

    def start(self) -> None:
        self.env.process(self._loop())

    def _loop(self) -> Generator[simpy.Event, None, None]:
        while True:
            yield self.env.timeout(self.interval)
            pulled_at = self.env.now
            values = [list(row) for row in self.published]  # each channel's own values
            if self.snapshot_lag > 0:
                self._later(self.snapshot_lag, self._send, (values, pulled_at))
            else:
                self._send_values(values, pulled_at)

    def _send(self, pulled: tuple[list[list[int]], float]) -> None:
        values, pulled_at = pulled
        self._send_values(values, pulled_at)

    def _send_values(self, values: list[list[int]], pulled_at: float) -> None:
        now = self.env.now
        self._record_staleness(values)
        for channel in range(len(self.latency)):
            self.env.plain_later(self._landing_delay(channel), self._apply,
                                 (channel, values[channel], pulled_at, now))

    def _record_staleness(self, values: list[list[int]]) -> None:
        """Count pushed values above what each channel's rule lists at the moment of sending."""
        stock = self.stock
        for row, published in zip(values, self.published, strict=True):
            for k, value in enumerate(row):
                excess = value - published[k]
                if excess > 0:
                    stock.overstated[k] += 1
                    stock.overstated_excess[k] += excess

    def _apply(self, push: tuple[int, list[int], float, float]) -> None:
        channel, values, pulled_at, sent_at = push
        market = self.markets[channel]
        now = self.env.now
        listing = market.listing
        for sku, value in enumerate(values):
            before = listing[sku]
            if before != value:
                market.set_absolute(now, sku, value)
                self._note_push(channel, sku, pulled_at, sent_at, value, before, True)
        self.reflections[channel].add(ALL_SKUS, pulled_at, now)


class PeriodicDelta(Sync):
    """Every interval, push to each marketplace only the change it has not applied itself."""

    mode = "periodic_delta"

    def __init__(self, context: SyncContext, config: PeriodicDeltaSyncConfig) -> None:
        super().__init__(context)
        self.interval = float(config.interval)

    def start(self) -> None:
        self.env.process(self._loop())

    def _loop(self) -> Generator[simpy.Event, None, None]:
        while True:
            yield self.env.timeout(self.interval)
            now = self.env.now
            for channel in range(len(self.latency)):
                last_set, own_seen = self.last_set[channel], self.own_seen[channel]
                deltas = []
                for sku, target in enumerate(self.published[channel]):
                    delta = target - (last_set[sku] - own_seen[sku])
                    if delta:
                        deltas.append((sku, delta, target))
                    last_set[sku] = target
                    own_seen[sku] = 0
                self.env.plain_later(self._landing_delay(channel), self._apply,
                                     (channel, deltas, now))

    def _apply(self, push: tuple[int, list[tuple[int, int, int]], float]) -> None:
        channel, deltas, sent_at = push
        market = self.markets[channel]
        now = self.env.now
        for sku, delta, target in deltas:
            before = market.listing[sku]
            market.add_delta(now, sku, delta)
            self._note_push(channel, sku, sent_at, sent_at, target, before, True)
        self.reflections[channel].add(ALL_SKUS, sent_at, now)


class CompareAndSet(Sync):
    """Every interval, conditional absolute pushes that never overwrite unseen sales."""

    mode = "compare_and_set"

    def __init__(self, context: SyncContext, config: CompareAndSetSyncConfig) -> None:
        super().__init__(context)
        self.interval = float(config.interval)
        self.max_retries = int(config.cas_max_retries)
        self.in_flight: set[tuple[int, int]] = set()

    def start(self) -> None:
        self.env.process(self._loop())

    def _loop(self) -> Generator[simpy.Event, None, None]:
        while True:
            yield self.env.timeout(self.interval)
            for channel in range(len(self.latency)):
                last_set, own_seen = self.last_set[channel], self.own_seen[channel]
                for sku, target in enumerate(self.published[channel]):
                    if target != last_set[sku] - own_seen[sku] and \
                            (channel, sku) not in self.in_flight:
                        self._send(channel, sku, 0)

    def _send(self, channel: int, sku: int, attempt: int) -> None:
        expected = self.last_set[channel][sku] - self.own_seen[channel][sku]
        target = self.published[channel][sku]
        self.in_flight.add((channel, sku))
        self.env.plain_later(self._landing_delay(channel), self._apply,
                             (channel, sku, expected, target, self.own_seen[channel][sku],
                              attempt, self.env.now))

    def _apply(self, push: tuple[int, int, int, int, int, int, float]) -> None:
        channel, sku, expected, target, seen_at_send, attempt, sent_at = push
        market = self.markets[channel]
        now = self.env.now
        before = market.listing[sku]
        applied = market.compare_and_set(now, sku, expected, target)
        self._note_push(channel, sku, sent_at, sent_at, target, before, applied)
        self.in_flight.discard((channel, sku))
        if applied:
            self.last_set[channel][sku] = target
            self.own_seen[channel][sku] -= seen_at_send
            self.reflections[channel].add(sku, sent_at, now)
        else:
            self.record.refused += 1
            if attempt < self.max_retries:
                self._send(channel, sku, attempt + 1)


def make_sync(context: SyncContext) -> Sync:
    """The sync process the scenario's ``[sync]`` table asks for."""
    config = context.scenario.sync
    mode = config.mode
    if isinstance(config, EventDrivenSyncConfig):
        return EventDriven(context, config)
    if isinstance(config, PeriodicPushTimeSyncConfig):
        return PeriodicAbsolute(context, config)
    if isinstance(config, PeriodicSnapshotSyncConfig):
        return PeriodicAbsolute(context, config, snapshot_lag=float(config.snapshot_lag))
    if isinstance(config, PeriodicDeltaSyncConfig):
        return PeriodicDelta(context, config)
    if isinstance(config, CompareAndSetSyncConfig):
        return CompareAndSet(context, config)
    raise ValueError(f"unknown sync mode {mode!r}")
