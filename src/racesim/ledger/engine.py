"""The ledger engine: idempotent stock commands over an append-only event log.

Every command validates its arguments, then in one store transaction reads what it
needs, decides, appends at most one event and updates the projection (stock row and
order line) — so the projection can never disagree with the log it was built from.

Idempotency keys are the commands' natural keys:

============ =================================== ============================================
command      key                                 a second call with the same key
============ =================================== ============================================
restock      (sku, ref)                          duplicate; different quantity → mismatch
reserve      (order_id, sku)                     duplicate with the recorded decision
                                                 (reserved stays reserved, rejected stays
                                                 rejected); other quantity/channel → mismatch
release      (order_id, sku)                     duplicate
fulfill      (order_id, sku)                     duplicate
return\\_     (order_id, sku, ref)                duplicate; different quantity → mismatch
adjust       (sku, ref)                          duplicate; different delta/reason → mismatch
============ =================================== ============================================

Lifecycle rules (each violation raises an :class:`~racesim.errors.LedgerError` naming the
order, SKU and state, and changes nothing):

- ``release`` needs a reserved line; releasing a *rejected* line is a recorded no-op
  (status ``duplicate``, decision ``rejected``): the order was already cancelled when the
  reservation was refused, so the marketplace's cancellation webhook has nothing to undo.
- ``fulfill`` needs a reserved line and ships all of it, once.
- ``return_`` needs a fulfilled line and at most the units shipped and not yet returned.
- ``adjust`` needs a non-empty reason and may not take on-hand stock below zero (it may
  take *available* below zero: a count that finds fewer units than are promised is real).
- ``reserve`` never takes available below zero: it is ``rejected`` instead, and the
  refusal is recorded as a REJECT event.

Time. Every event keeps the caller's ``at`` (business time: when the webhook says it
happened) and a record time ``recorded_at = max(at, the previous event's recorded_at)``,
so record times never decrease along the log and as-of queries (``stock(sku, as_of=t)``,
``levels``, ``explain``, ``iter_events(until=…)``) replay exactly the prefix of the log
recorded by ``t`` — a state the ledger really passed through. Record time is logical, never
the wall clock, so a simulation's ledger is the same on every run. Two rules bound ``at``:

- *Tolerance* (``clock_tolerance``, default 5 s): writers whose clocks interleave — several
  processes stamping ``time.time()`` on receipt, one committing a slightly later time
  first — are accepted; an ``at`` more than the tolerance before the last record time is
  refused (a clock that far behind is broken, and its events would be misdated).
- *Window* (``future_window``, default one day): an ``at`` more than the window ahead of
  both the last record time and the clock (``max(last, now) + window``; the clock is
  injectable) is refused — else one webhook dated in the year 5000 would make every
  later command's real time "backwards" and freeze an append-only ledger for good.

A refused time raises :class:`~racesim.errors.InvalidCommand` and changes nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, cast

from racesim.errors import InvalidCommand, InvariantViolation, OrderStateError, UnknownOrder
from racesim.ledger.events import (
    CommandResult,
    CommandStatus,
    Event,
    EventKind,
    OrderLine,
    OrderStatus,
    Stock,
)
from racesim.ledger.projection import Difference, compare, replay
from racesim.ledger.projection import Replay as _Replay
from racesim.ledger.store import EventFilter, Store, Transaction, open_store
from racesim.ledger.validation import (
    check_delta,
    check_id,
    check_quantity,
    check_reason,
    check_time,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_CLOCK_TOLERANCE", "DEFAULT_FUTURE_WINDOW", "Ledger"]

DEFAULT_CLOCK_TOLERANCE = 5.0
"""Seconds an ``at`` may lie before the last record time: writers' clocks interleave by
milliseconds on one host (by the wait for the write lock under load), NTP keeps hosts
within tens of milliseconds; 5 s covers both with room and still catches a wrong clock."""

DEFAULT_FUTURE_WINDOW = 86_400.0
"""Seconds an ``at`` may lie ahead of ``max(last record time, now)``: one day accepts any
time zone slip or a simulation that starts tomorrow, and refuses milliseconds passed as
seconds (×1000) or a far-future date."""

MAX_CLOCK_SETTING = 10 * 365.25 * 86_400
"""The largest tolerance or window accepted (ten years): beyond it the check is moot."""

# Enum members bound to module names once: attribute access on an Enum class is slow,
# and these sit on the ledger's hottest path.
_RESERVED, _REJECTED = CommandStatus.RESERVED, CommandStatus.REJECTED
_DUPLICATE, _MISMATCH, _APPLIED = (CommandStatus.DUPLICATE, CommandStatus.MISMATCH,
                                   CommandStatus.APPLIED)
_RESTOCK, _RESERVE, _REJECT = EventKind.RESTOCK, EventKind.RESERVE, EventKind.REJECT
_RELEASE, _FULFILL, _RETURN, _ADJUST = (EventKind.RELEASE, EventKind.FULFILL, EventKind.RETURN,
                                        EventKind.ADJUST)
_LINE_RESERVED, _LINE_REJECTED = OrderStatus.RESERVED, OrderStatus.REJECTED
_LINE_RELEASED, _LINE_FULFILLED = OrderStatus.RELEASED, OrderStatus.FULFILLED
# The hot paths build their records with tuple.__new__ (all fields given, in order): a
# NamedTuple's own __new__ is a Python function and costs about three times as much.
_new = tuple.__new__


class Ledger:
    """An event-sourced stock ledger over a :class:`~racesim.ledger.store.Store`.

    Open one with :meth:`open`; use it as a context manager to close it. Times (``at``)
    are seconds on the caller's clock; leave ``at`` out to stamp ``clock()`` (wall-clock
    time by default). ``clock_tolerance`` and ``future_window`` bound the times accepted
    (see the module docstring). One ``Ledger`` object serves one thread of work; several
    processes may share a database file by each opening their own ``Ledger``.
    """

    def __init__(self, store: Store, *, clock_tolerance: float = DEFAULT_CLOCK_TOLERANCE,
                 future_window: float = DEFAULT_FUTURE_WINDOW,
                 clock: Callable[[], float] = time.time) -> None:
        for name, value in (("clock_tolerance", clock_tolerance),
                            ("future_window", future_window)):
            if not (isinstance(value, int | float) and not isinstance(value, bool)
                    and math.isfinite(value) and 0 <= value <= MAX_CLOCK_SETTING):
                raise InvalidCommand(f"Ledger: {name} must be seconds between 0 and "
                                     f"{MAX_CLOCK_SETTING:.0f} (got {value!r:.40})")
        self._store = store
        self._tx: Transaction | None = None
        self.clock_tolerance = float(clock_tolerance)
        self.future_window = float(future_window)
        self._now = clock

    @classmethod
    def open(cls, url: str = "memory://", *, clock_tolerance: float = DEFAULT_CLOCK_TOLERANCE,
             future_window: float = DEFAULT_FUTURE_WINDOW,
             clock: Callable[[], float] = time.time) -> Ledger:
        """Open the ledger stored at ``url``.

        ``memory://`` (default), ``sqlite:///file.db`` or
        ``postgresql://user@host:port/dbname`` (see each store's module for its options).
        """
        return cls(open_store(url), clock_tolerance=clock_tolerance,
                   future_window=future_window, clock=clock)

    @property
    def url(self) -> str:
        """Where this ledger is stored."""
        return self._store.url

    @property
    def store(self) -> Store:
        """The backend, for tools that need it (benchmarks, migrations)."""
        return self._store

    def close(self) -> None:
        """Close the store's connections."""
        self._store.close()

    def destroy(self) -> None:
        """Close the ledger and delete its storage: file, schema or memory. Irreversible.

        For throwaway ledgers only (tests, ``racesim chaos`` seeds).
        """
        self._store.destroy()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.url!r})"

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Ledger]:
        """Run several commands in one transaction: all are committed together, or none.

        Inside, each command is still all-or-nothing on its own: a refused command raises
        before it writes, so catching its error keeps the batch's other commands.
        """
        if self._tx is not None:
            yield self
            return
        with self._store.transaction() as tx:
            self._tx = tx
            try:
                yield self
            finally:
                self._tx = None

    def _write(self) -> AbstractContextManager[Transaction]:
        """The open batch's transaction, or a new one for a single command."""
        return self._store.transaction() if self._tx is None else nullcontext(self._tx)

    def _times(self, tx: Transaction, command: str, at: float | None) -> tuple[float, float]:
        """The new event's business time and record time, or InvalidCommand (see above)."""
        last = tx.last_at()
        if at is None:
            at = float(self._now())
        elif last is None or at >= last:
            if at > (last or 0.0) + self.future_window:
                now = float(self._now())
                if at > max(last or now, now) + self.future_window:
                    raise InvalidCommand(
                        f"{command}: at={at!r} lies more than {self.future_window:g} s ahead "
                        f"of both the ledger's last event (recorded at {last!r}) and the "
                        f"clock ({now:.3f}); refused so that one wrong clock cannot freeze "
                        "the ledger (see Ledger's future_window)")
        elif at < last - self.clock_tolerance:
            raise InvalidCommand(
                f"{command}: at={at!r} is more than {self.clock_tolerance:g} s earlier than the "
                f"ledger's last event (recorded at {last!r}); the log is kept in time order "
                "(see Ledger's clock_tolerance)")
        return at, at if last is None or at > last else last

    # -- commands ------------------------------------------------------------------------

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> CommandResult:
        """Record ``qty`` units of ``sku`` received into the warehouse (key: sku, ref)."""
        sku = check_id("restock", "sku", sku)
        qty = check_quantity("restock", qty)
        ref = check_id("restock", "ref", ref)
        at = check_time("restock", at)
        with self._write() as tx:
            seen = tx.find("restock", sku, "", ref)
            if seen is not None:
                return _repeat(seen, seen.quantity == qty, f"quantity {qty}")
            at, recorded = self._times(tx, "restock", at)
            stock = tx.stock(sku)
            event = _written(tx.append(at, recorded, _RESTOCK, sku, qty, "restock", ref=ref))
            tx.put_stock(Stock(sku, stock.on_hand + qty, stock.reserved, stock.shipped,
                               stock.returned, event.seq))
            return CommandResult(_APPLIED, event)

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> CommandResult:
        """Claim ``qty`` units of ``sku`` for an order line (key: order_id, sku).

        Status ``reserved`` if enough is available, else ``rejected`` (an oversell, and
        recorded as such); ``duplicate`` with the recorded decision for a repeat;
        ``mismatch`` for a repeat whose quantity or channel differs (never applied).
        """
        sku = check_id("reserve", "sku", sku)
        qty = check_quantity("reserve", qty)
        order_id = check_id("reserve", "order_id", order_id)
        channel = check_id("reserve", "channel", channel)
        at = check_time("reserve", at)
        tx_open = self._tx  # self._write() inlined: reserve and fulfill run for every order
        with self._store.transaction() if tx_open is None else nullcontext(tx_open) as tx:
            stock = tx.stock(sku)  # locks the SKU's row first, so the line read below is current
            line = tx.order_line(order_id, sku)
            if line is None:
                at, recorded = self._times(tx, "reserve", at)
                if stock.on_hand - stock.reserved >= qty:
                    kind, status, reserved = _RESERVE, _LINE_RESERVED, qty
                else:
                    kind, status, reserved = _REJECT, _LINE_REJECTED, 0
                event = tx.append(at, recorded, kind, sku, qty, "reserve", order_id, channel)
                if event is None or not tx.insert_line(order_id, sku, channel, qty, status,
                                                       event.seq):
                    raise InvariantViolation(
                        f"reserve: order {order_id!r} SKU {sku!r}: the key is in the event log "
                        "but not in the order lines; run verify() and rebuild()")
                tx.put_stock(_new(Stock, (sku, stock.on_hand, stock.reserved + reserved,
                                          stock.shipped, stock.returned, event.seq)))
                decision = _RESERVED if reserved else _REJECTED
                return _new(CommandResult, (decision, event, decision, ""))
            original = _written(tx.find("reserve", sku, order_id, ""))
        decision = _RESERVED if original.kind is _RESERVE else _REJECTED
        if line.quantity == qty and line.channel == channel:
            return CommandResult(_DUPLICATE, original, decision)
        return CommandResult(_MISMATCH, original, decision,
                             f"first seen as {line.quantity} unit(s) on {line.channel!r}, "
                             f"now {qty} on {channel!r}")

    def release(self, order_id: str, sku: str, at: float | None = None) -> CommandResult:
        """Cancel a reserved line before it ships, making its units available again."""
        order_id = check_id("release", "order_id", order_id)
        sku = check_id("release", "sku", sku)
        at = check_time("release", at)
        with self._write() as tx:
            line = _line_for(tx, "release", order_id, sku)
            if line.status is _LINE_RELEASED:
                return CommandResult(_DUPLICATE, tx.find("release", sku, order_id, ""),
                                     _RESERVED)
            if line.status is _LINE_REJECTED:
                return CommandResult(_DUPLICATE, tx.find("reserve", sku, order_id, ""),
                                     _REJECTED, "the reservation was refused; nothing to release")
            if line.status is _LINE_FULFILLED:
                raise OrderStateError("release", order_id, sku, line.status,
                                      "already shipped; record a return_ instead")
            at, recorded = self._times(tx, "release", at)
            stock = tx.stock(sku)
            event = _written(tx.append(at, recorded, _RELEASE, sku, line.quantity, "release",
                                       order_id, line.channel))
            tx.update_line(_new(OrderLine, (order_id, sku, line.channel, line.quantity,
                                            _LINE_RELEASED, line.returned, event.seq)))
            tx.put_stock(_new(Stock, (sku, stock.on_hand, stock.reserved - line.quantity,
                                      stock.shipped, stock.returned, event.seq)))
            return _new(CommandResult, (_APPLIED, event, _RESERVED, ""))

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> CommandResult:
        """Ship a reserved line, all of it: reserved units leave on-hand stock."""
        order_id = check_id("fulfill", "order_id", order_id)
        sku = check_id("fulfill", "sku", sku)
        at = check_time("fulfill", at)
        tx_open = self._tx  # self._write() inlined, as in reserve
        with self._store.transaction() if tx_open is None else nullcontext(tx_open) as tx:
            line = _line_for(tx, "fulfill", order_id, sku)
            if line.status is _LINE_FULFILLED:
                return CommandResult(_DUPLICATE, tx.find("fulfill", sku, order_id, ""),
                                     _RESERVED)
            if line.status is not _LINE_RESERVED:
                raise OrderStateError("fulfill", order_id, sku, line.status,
                                      "only a reserved line can be shipped")
            at, recorded = self._times(tx, "fulfill", at)
            stock = tx.stock(sku)
            qty = line.quantity
            if stock.on_hand < qty:
                raise InvariantViolation(
                    f"fulfill: order {order_id!r} SKU {sku!r}: {qty} unit(s) to ship but only "
                    f"{stock.on_hand} on hand (a count found fewer units than were promised); "
                    "release the line or restock first")
            event = _written(tx.append(at, recorded, _FULFILL, sku, qty, "fulfill", order_id,
                                       line.channel))
            tx.update_line(_new(OrderLine, (order_id, sku, line.channel, qty, _LINE_FULFILLED,
                                            line.returned, event.seq)))
            tx.put_stock(_new(Stock, (sku, stock.on_hand - qty, stock.reserved - qty,
                                      stock.shipped + qty, stock.returned, event.seq)))
            return _new(CommandResult, (_APPLIED, event, _RESERVED, ""))

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> CommandResult:
        """Record ``qty`` shipped units of a line back in stock (key: order_id, sku, ref)."""
        order_id = check_id("return", "order_id", order_id)
        sku = check_id("return", "sku", sku)
        qty = check_quantity("return", qty)
        ref = check_id("return", "ref", ref)
        at = check_time("return", at)
        with self._write() as tx:
            seen = tx.find("return", sku, order_id, ref)
            if seen is not None:
                return _repeat(seen, seen.quantity == qty, f"quantity {qty}")
            line = _line_for(tx, "return", order_id, sku)
            if line.status is not _LINE_FULFILLED:
                raise OrderStateError("return", order_id, sku, line.status,
                                      "only a shipped line can be returned")
            if line.returned + qty > line.quantity:
                raise OrderStateError(
                    "return", order_id, sku, line.status,
                    f"{qty} unit(s) returned but only {line.quantity - line.returned} of "
                    f"{line.quantity} shipped are not yet back")
            at, recorded = self._times(tx, "return", at)
            stock = tx.stock(sku)
            event = _written(tx.append(at, recorded, _RETURN, sku, qty, "return", order_id,
                                       line.channel, ref=ref))
            tx.update_line(line._replace(returned=line.returned + qty))
            tx.put_stock(Stock(sku, stock.on_hand + qty, stock.reserved, stock.shipped,
                               stock.returned + qty, event.seq))
            return CommandResult(_APPLIED, event)

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> CommandResult:
        """Correct on-hand stock by ``delta`` units (cycle count, damage…; key: sku, ref)."""
        sku = check_id("adjust", "sku", sku)
        delta = check_delta("adjust", delta)
        reason = check_reason("adjust", reason)
        ref = check_id("adjust", "ref", ref)
        at = check_time("adjust", at)
        with self._write() as tx:
            seen = tx.find("adjust", sku, "", ref)
            if seen is not None:
                same = seen.quantity == delta and seen.reason == reason
                return _repeat(seen, same, f"delta {delta} ({reason!r})")
            at, recorded = self._times(tx, "adjust", at)
            stock = tx.stock(sku)
            if stock.on_hand + delta < 0:
                raise InvariantViolation(
                    f"adjust: SKU {sku!r} has {stock.on_hand} unit(s) on hand; delta {delta} "
                    "would make it negative")
            event = _written(tx.append(at, recorded, _ADJUST, sku, delta, "adjust", ref=ref,
                                       reason=reason))
            tx.put_stock(Stock(sku, stock.on_hand + delta, stock.reserved, stock.shipped,
                               stock.returned, event.seq))
            return CommandResult(_APPLIED, event)

    # -- reads ---------------------------------------------------------------------------

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        """The SKU's figures now (from the projection) or at time ``as_of`` (by replay)."""
        sku = check_id("stock", "sku", sku)
        if as_of is None:
            return self._store.stock(sku)
        as_of = check_time("stock", as_of, "as_of")
        state = replay(self._store.events(EventFilter(sku=sku, until_at=as_of)))
        return state.stock.get(sku) or Stock.empty(sku)

    def available(self, sku: str) -> int:
        """Units of ``sku`` that can be promised now (reads the projection row only)."""
        stock = self._store.stock(sku)
        return stock.on_hand - stock.reserved

    def levels(self, as_of: float | None = None) -> dict[str, Stock]:
        """Every SKU's figures, now or at ``as_of`` (by replay), keyed by SKU."""
        if as_of is None:
            return self._store.stock_levels()
        as_of = check_time("levels", as_of, "as_of")
        return replay(self._store.events(EventFilter(until_at=as_of))).stock

    def snapshot(self, as_of: float | None = None) -> pd.DataFrame:
        """Every SKU's figures as a DataFrame (index ``sku``), now or at ``as_of``."""
        from racesim.ledger.frames import stock_frame

        return stock_frame(self.levels(as_of).values())

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        """The (order, SKU) line's current state, or None if never reserved."""
        return self._store.order_line(order_id, sku)

    def order_lines(self) -> pd.DataFrame:
        """Every order line, one row each."""
        from racesim.ledger.frames import lines_frame

        return lines_frame(self._store.order_lines().values())

    def iter_events(self, sku: str | None = None, order_id: str | None = None,
                    kinds: tuple[EventKind, ...] = (), until: float | None = None,
                    after_seq: int = 0) -> Iterator[Event]:
        """Events in sequence order, filtered, as records."""
        until = check_time("events", until, "until")
        return self._store.events(EventFilter(sku, order_id, tuple(EventKind(k) for k in kinds),
                                              after_seq, until))

    def events(self, sku: str | None = None, order_id: str | None = None,
               kinds: tuple[EventKind, ...] = (), until: float | None = None) -> pd.DataFrame:
        """Events in sequence order as a DataFrame, optionally filtered."""
        from racesim.ledger.frames import events_frame

        return events_frame(self.iter_events(sku, order_id, kinds, until))

    def explain(self, sku: str, as_of: float | None = None) -> pd.DataFrame:
        """The audit trail of ``sku``: every event behind its figures, with running totals.

        One row per event, in order, with its effect on on-hand, reserved and available
        stock and the running figures after it; the last row equals :meth:`stock`.
        """
        from racesim.ledger.frames import audit_frame

        sku = check_id("explain", "sku", sku)
        as_of = check_time("explain", as_of, "as_of")
        return audit_frame(self.iter_events(sku=sku, until=as_of))

    def event_count(self) -> int:
        """Number of events in the log."""
        return self._store.event_count()

    # -- integrity -----------------------------------------------------------------------

    def verify(self) -> list[Difference]:
        """Recompute the projection from the log; return every difference (empty: sound)."""
        with self._write():
            stored = _Replay(self._store.stock_levels(), self._store.order_lines())
            replayed = replay(self._store.events())
        return compare(stored, replayed)

    def rebuild(self) -> list[Difference]:
        """Replace the projection with a replay of the log; return what was repaired."""
        with self._write():
            stored = _Replay(self._store.stock_levels(), self._store.order_lines())
            replayed = replay(self._store.events())
            diffs = compare(stored, replayed)
            if diffs:
                self._store.replace_projection(replayed)
        return diffs


def _line_for(tx: Transaction, command: str, order_id: str, sku: str) -> OrderLine:
    line = tx.order_line(order_id, sku)
    if line is None:
        raise UnknownOrder(command, order_id, sku)
    return line


def _written(event: Event | None) -> Event:
    """``event`` as the type checker should see it: present. Each caller appends (or looks
    up) inside the exclusive transaction in which it has just seen that the key is new (or
    that its order line exists), so the store returns the event, never None."""
    return cast(Event, event)


def _repeat(seen: Event, same: bool, asked: str) -> CommandResult:
    if same:
        return CommandResult(_DUPLICATE, seen)
    return CommandResult(_MISMATCH, seen, None,
                         f"key {seen.key!r} was recorded with quantity {seen.quantity}; "
                         f"this call asked for {asked}")
