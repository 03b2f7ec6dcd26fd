"""The in-memory store: the ledger's default, for simulations, notebooks and tests.

It keeps the same three tables as the database stores (events, stock, order lines) in
Python containers. A transaction holds the store's lock (one ``threading.RLock``) from
begin to commit and writes in place with an undo log, so an error inside a batch rolls
every write of the batch back, exactly as a database would. Every read outside a
transaction takes the same lock, so several :class:`~racesim.ledger.engine.Ledger`
objects over one store — one per thread — never see one another's uncommitted or
rolled-back writes, and a transaction's check-then-act is atomic. A transaction begun
while the same thread already holds one (a second ``Ledger`` on the same store) joins it
as a savepoint: an error rolls back its own writes only.

Long-lived rows are kept as plain tuples of strings and numbers (enum members become
their values), which CPython's garbage collector stops tracking: a log of millions of
events then costs the collector nothing. Records are rebuilt when read.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from operator import itemgetter
from urllib.parse import SplitResult

from racesim.errors import StoreRefused
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock
from racesim.ledger.projection import Replay
from racesim.ledger.store import ALL_EVENTS, EventFilter, Store, Transaction, shown_url

__all__ = ["MemoryStore"]

_MISSING = object()
_KIND = {kind.value: kind for kind in EventKind}
_STATUS = {status.value: status for status in OrderStatus}
_new = tuple.__new__  # builds a record from all its fields, cheaper than its own __new__

# Row layouts: an event row is Event's fields with kind as str; a line row is
# (channel, quantity, status value, returned, seq).


def _event(row: tuple) -> Event:
    return Event(row[0], row[1], row[2], _KIND[row[3]], *row[4:])


_RECORDED_AT = itemgetter(2)
"""An event row's record time: the log is sorted by it, so bisect finds as-of prefixes."""


def _key_of(row: tuple) -> tuple[str, str, str, str]:
    """An event row's idempotency key: (command, sku, order_id, ref)."""
    return (row[6], row[4], row[7], row[9])


class _MemoryTransaction(Transaction):
    """Reads and writes straight into the store's containers, remembering how to undo.

    The undo log is flat — (table, key, old value) triples — to keep the hot path free
    of allocations; it covers the stock and order-line tables only: the events appended
    since a mark are the log's tail, and undoing them drops that tail and the idempotency
    keys its rows carry (an append adds its key or appends nothing). ``_marks`` holds,
    per nested begin of the owning thread, where the undo log and the event list stood (a
    savepoint); its state is only touched under the store's lock. The store's containers
    live as long as the store (they are emptied in place, never replaced), so the
    transaction holds them directly: every command reads and writes several of them. It
    holds no reference to the store itself, which holds it: a cycle would leave a finished
    ledger — every event of a replication — to the cyclic garbage collector, whose pass
    over it costs more than all its commands.
    """

    __slots__ = ("_events", "_keys", "_lines", "_lock", "_marks", "_stock", "_undo")

    def __init__(self, store: MemoryStore) -> None:
        self._lock = store._lock
        self._events = store._events
        self._keys = store._keys
        self._stock = store._stock
        self._lines = store._lines
        self._undo: list[object] = []
        self._marks: list[tuple[int, int]] = []

    def __enter__(self) -> _MemoryTransaction:
        self._lock.acquire()
        self._marks.append((len(self._undo), len(self._events)))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        try:
            undo_mark, event_mark = self._marks.pop()
            if exc_type is not None:
                self._rollback_to(undo_mark, event_mark)
            if not self._marks:
                self._undo.clear()
        finally:
            self._lock.release()

    def last_at(self) -> float | None:
        events = self._events
        return events[-1][2] if events else None  # the latest row's record time

    def stock(self, sku: str) -> Stock:
        return self._stock.get(sku) or Stock.empty(sku)

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        # the transaction holds the store's lock already: read the row directly
        row = self._lines.get((order_id, sku))
        if row is None:
            return None
        return _new(OrderLine, (order_id, sku, row[0], row[1], _STATUS[row[2]], row[3], row[4]))

    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        index = self._keys.get((command, sku, order_id, ref))
        return None if index is None else _event(self._events[index])

    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str, quantity: int,
               command: str, order_id: str = "", channel: str = "", ref: str = "",
               reason: str = "") -> Event | None:
        keys, events = self._keys, self._events
        index = len(events)  # the new event's place in the log
        key = (command, sku, order_id, ref)
        if keys.setdefault(key, index) != index:  # one probe of a table of every key
            return None
        seq = index + 1
        events.append((seq, at, recorded_at, kind._value_, sku, quantity, command, order_id,
                       channel, ref, reason))
        return _new(Event, (seq, at, recorded_at, kind, sku, quantity, command, order_id,
                            channel, ref, reason))

    def put_stock(self, stock: Stock) -> None:
        table = self._stock
        sku = stock[0]
        self._undo += (table, sku, table.get(sku, _MISSING))
        table[sku] = stock

    def insert_line(self, order_id: str, sku: str, channel: str, quantity: int,
                    status: OrderStatus, seq: int) -> bool:
        table = self._lines
        key = (order_id, sku)
        row = (channel, quantity, status._value_, 0, seq)
        if table.setdefault(key, row) is not row:  # one probe, as in append
            return False
        self._undo += (table, key, _MISSING)
        return True

    def update_line(self, line: OrderLine) -> None:
        table = self._lines
        order_id, sku, channel, quantity, status, returned, seq = line
        key = (order_id, sku)
        self._undo += (table, key, table[key])
        table[key] = (channel, quantity, status._value_, returned, seq)

    def rollback(self) -> None:
        """Undo every write since the innermost begin, newest first."""
        self._rollback_to(*self._marks[-1])

    def _rollback_to(self, undo_mark: int, event_mark: int) -> None:
        undo = self._undo
        for i in range(len(undo) - 3, undo_mark - 1, -3):
            table, key, old = undo[i], undo[i + 1], undo[i + 2]
            if old is _MISSING:
                del table[key]  # type: ignore[attr-defined]
            else:
                table[key] = old  # type: ignore[index]
        del undo[undo_mark:]
        events, keys = self._events, self._keys
        for row in events[event_mark:]:
            del keys[_key_of(row)]
        del events[event_mark:]


class MemoryStore(Store):
    """Events, stock and order lines held in process memory (lost when the process ends)."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._events: list[tuple] = []  # record times never decrease along it (see engine)
        self._keys: dict[tuple[str, str, str, str], int] = {}
        self._stock: dict[str, Stock] = {}
        self._lines: dict[tuple[str, str], tuple] = {}
        self._lock = threading.RLock()  # held by a transaction, taken by every read
        self._transaction = _MemoryTransaction(self)

    @classmethod
    def from_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> MemoryStore:
        """``memory://`` takes no path and no options."""
        cls.check_url(url, parts, options)
        return cls()

    @classmethod
    def check_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> None:
        """Refuse a path or options: ``memory://`` takes none."""
        if parts.netloc or parts.path or options:
            raise StoreRefused(f"store URL {shown_url(url)}: memory:// takes no path or options")

    def transaction(self) -> _MemoryTransaction:
        # One reusable transaction object: its state is only touched under the lock.
        return self._transaction

    def stock(self, sku: str) -> Stock:
        with self._lock:
            return self._stock.get(sku) or Stock.empty(sku)

    def stock_levels(self) -> dict[str, Stock]:
        with self._lock:
            return dict(self._stock)

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        with self._lock:
            row = self._lines.get((order_id, sku))
        if row is None:
            return None
        return OrderLine(order_id, sku, row[0], row[1], _STATUS[row[2]], row[3], row[4])

    def order_lines(self) -> dict[tuple[str, str], OrderLine]:
        with self._lock:
            rows = list(self._lines.items())
        return {key: OrderLine(key[0], key[1], row[0], row[1], _STATUS[row[2]], row[3], row[4])
                for key, row in rows}

    def events(self, where: EventFilter = ALL_EVENTS) -> Iterator[Event]:
        with self._lock:  # a committed prefix: rows are immutable tuples once appended
            stop = len(self._events)
            if where.until_at is not None:
                stop = bisect.bisect_right(self._events, where.until_at, key=_RECORDED_AT)
            rows = self._events[where.after_seq:stop]
        kinds = {kind.value for kind in where.kinds}
        for row in rows:
            if where.sku is not None and row[4] != where.sku:
                continue
            if where.order_id is not None and row[7] != where.order_id:
                continue
            if kinds and row[3] not in kinds:
                continue
            yield _event(row)

    def event_count(self) -> int:
        with self._lock:
            return len(self._events)

    def replace_projection(self, replay: Replay) -> None:
        self._stock.clear()
        self._stock.update(replay.stock)
        self._lines.clear()
        self._lines.update(
            (key, (line.channel, line.quantity, line.status.value, line.returned, line.seq))
            for key, line in replay.lines.items())

    def destroy(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        for table in (self._events, self._keys, self._stock, self._lines):
            table.clear()
