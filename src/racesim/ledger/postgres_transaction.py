"""The PostgreSQL store's write transaction: row locks, the clock, deferred projection.

Locking (transactions run at READ COMMITTED, the server's default):

- **SKU rows.** The first time a transaction touches a SKU — :meth:`Transaction.stock`,
  or :meth:`~Transaction.order_line` / :meth:`~Transaction.find`, which are keyed by the
  SKU too — it locks that SKU's ``stock`` row with ``SELECT … FOR UPDATE`` (inserting an
  all-zero row first with ``INSERT … ON CONFLICT DO NOTHING`` when the SKU is new, so
  there is always a row to lock; an unused zero row is deleted before commit). Every
  read the engine decides on comes after that lock, in a later statement, so READ
  COMMITTED shows it the last committed state: two reservations for the last unit
  queue on the row, and the second one sees the first one's RESERVE. Transactions on
  different SKUs do not wait for each other here.
- **The clock.** ``clock`` is a single row holding the last committed event's ``seq``
  and record time (column ``at``, the event's ``recorded_at``).
  :meth:`Transaction.last_at` (which the engine calls before every append)
  locks it with ``SELECT … FOR UPDATE`` and keeps it until commit;
  :meth:`~Transaction.append` numbers each event ``clock.seq + 1``, and the commit writes
  the new ``(seq, at)`` back (once per transaction, in the statement that writes the
  projection: updating the row once per event would pile row versions up inside a
  batch). So ``last_at()`` is exact under concurrency — no other writer can append until
  this one commits — and ``seq`` is gap-free: a transaction that rolls back never moved
  the clock, and the next writer reuses its numbers. Commit order equals ``seq`` order, so a
  reader polling ``events(after_seq=n)`` never misses an event that commits late — what
  an identity column or a sequence (numbers drawn before commit, lost on rollback)
  cannot give. A trigger (:mod:`racesim.ledger.postgres_schema`) makes the schema
  itself refuse a gap or a step back in time, whoever writes.

  *Cost:* writers serialise from their clock read to their commit — the append, the
  projection writes and the commit itself (a WAL flush each: writers cannot share one).
  Locking the SKU row and reading the order line and the idempotency record run in
  parallel across SKUs, and a repeated command (a duplicate webhook) never takes the
  clock at all. Peak write throughput is therefore one transaction per clock-holding
  span (three statements and a commit for a reservation), however many clients there
  are; ``benchmarks/bench_ledger.py`` measures it. An advisory lock would serialise the
  same span and give no row to keep ``seq`` in, and a statement that waited for it would
  read with a snapshot taken before the wait (``FOR UPDATE`` rereads the row instead);
  SERIALIZABLE would add retries without removing the one point of order that a
  gap-free, time-ordered log needs.
- **Lock order** is SKU row, then clock. A single command touches one SKU, so it cannot
  deadlock. A :meth:`~racesim.ledger.Ledger.batch` touching several SKUs can: two batches
  locking two SKUs in opposite orders, or a batch that holds the clock and needs a SKU
  that another writer holds while it waits for the clock. PostgreSQL finds the cycle
  within ``deadlock_timeout`` (1 s) and rolls one transaction back, which surfaces as a
  :class:`~racesim.errors.StoreRetryable`: send the batch again. ``rebuild()`` rewrites every
  projection row while holding the clock: run it while writers are stopped.

Projection writes (stock rows, order lines) wait until commit: a reservation's line,
stock row and clock go in one statement, and a batch of many commands on one SKU writes
that SKU's row once. A new reservation thus costs seven statements — ``BEGIN``, lock,
line, clock, event, projection, ``COMMIT`` — in five round trips: pipeline mode sends
``BEGIN`` with the first statement and ``COMMIT`` with the projection write (a
transaction that never reads or writes sends nothing at all).
"""

from __future__ import annotations

from typing import Any

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PostgreSQL store needs psycopg 3: "
                      "pip install 'racesim[postgres]'") from exc

from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock
from racesim.ledger.postgres_schema import (
    EVENT_COLUMNS,
    LINE_COLUMNS,
    STOCK_COLUMNS,
    event_from_row,
    line_from_row,
)
from racesim.ledger.store import Transaction

__all__ = ["INSERT_LINE", "PUT_STOCK", "READ_LINE", "READ_STOCK", "PostgresTransaction"]

_LOCK_STOCK = f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku = %s FOR UPDATE"
_NEW_STOCK = (f"INSERT INTO stock ({STOCK_COLUMNS}) VALUES (%s, 0, 0, 0, 0, 0) "
              f"ON CONFLICT (sku) DO NOTHING RETURNING {STOCK_COLUMNS}")
_DROP_UNUSED_STOCK = "DELETE FROM stock WHERE sku = ANY(%s) AND seq = 0"
READ_STOCK = f"SELECT {STOCK_COLUMNS} FROM stock WHERE sku = %s"
_LOCK_CLOCK = "SELECT seq, at FROM clock FOR UPDATE"
READ_LINE = f"SELECT {LINE_COLUMNS} FROM order_lines WHERE order_id = %s AND sku = %s"
_FIND = (f"SELECT {EVENT_COLUMNS} FROM events "
         "WHERE order_id = %s AND sku = %s AND command = %s AND ref = %s")
_INSERT_EVENT = (f"INSERT INTO events ({EVENT_COLUMNS}) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                 "ON CONFLICT ON CONSTRAINT events_idempotency_key DO NOTHING")
PUT_STOCK = (
    f"INSERT INTO stock ({STOCK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand, "
    "reserved = excluded.reserved, shipped = excluded.shipped, "
    "returned = excluded.returned, seq = excluded.seq"
)
INSERT_LINE = (f"INSERT INTO order_lines ({LINE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
               "ON CONFLICT (order_id, sku) DO NOTHING")
_UPDATE_LINE = ("UPDATE order_lines SET channel = %s, quantity = %s, status = %s, "
                "returned = %s, seq = %s WHERE order_id = %s AND sku = %s")
# A line this transaction knows is absent (read under its SKU's lock): a plain INSERT,
# so that a conflict — which the locks make impossible — fails loudly instead of vanishing.
_INSERT_NEW_LINE = (f"INSERT INTO order_lines ({LINE_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)")
_UPDATE_STOCK = ("UPDATE stock SET on_hand = %s, reserved = %s, shipped = %s, returned = %s, "
                 "seq = %s WHERE sku = %s")
_MOVE_CLOCK = "UPDATE clock SET seq = %s, at = %s"
# A single command's projection writes and clock move, in one statement (the clock first).
_FLUSH_ONE = {
    "": f"WITH clock_row AS ({_MOVE_CLOCK}) {_UPDATE_STOCK}",
    "new": f"WITH clock_row AS ({_MOVE_CLOCK}), line AS ({_INSERT_NEW_LINE}) {_UPDATE_STOCK}",
    "changed": f"WITH clock_row AS ({_MOVE_CLOCK}), line AS ({_UPDATE_LINE}) {_UPDATE_STOCK}",
}


class PostgresTransaction(Transaction):
    """One write transaction on the store's connection (see the module docstring).

    Under a SKU's row lock nobody else can change that SKU's stock row or order lines, so
    the transaction keeps what it read of them and defers its projection writes to
    :meth:`flush` (called before commit and before any store-level read): one statement
    for the common "one line, one stock row" command, one ``executemany`` per table for
    a batch. Events are written at once — :meth:`append` must learn from the database's
    UNIQUE key whether the event is new.
    """

    __slots__ = ("_begin_pending", "_changed_lines", "_clock", "_clock_moved", "_conn", "_cur",
                 "_dirty", "_lines", "_locked", "_new_lines", "_placeholders")

    def __init__(self, connection: psycopg.Connection[Any],
                 cursor: psycopg.Cursor[Any]) -> None:
        self._conn = connection
        self._cur = cursor
        self._begin_pending = True
        """BEGIN not sent yet: it goes out in one round trip with the first statement."""
        self._locked: dict[str, Stock] = {}
        """SKU rows this transaction has locked, with their current figures."""
        self._dirty: dict[str, Stock] = {}
        """Stock rows to write at flush."""
        self._placeholders: set[str] = set()
        """SKUs whose all-zero row this transaction inserted only to lock it."""
        self._lines: dict[tuple[str, str], OrderLine | None] = {}
        """Order lines read (or written) under their SKU's lock; None: known absent."""
        self._new_lines: dict[tuple[str, str], OrderLine] = {}
        self._changed_lines: dict[tuple[str, str], OrderLine] = {}
        self._clock: tuple[int, float | None] | None = None
        """The newest event's (seq, at) once the clock row is locked."""
        self._clock_moved = False

    def _lock(self, sku: str) -> Stock:
        """The SKU's row, locked FOR UPDATE (created all-zero first if it is new)."""
        stock = self._locked.get(sku)
        if stock is not None:
            return stock
        execute = self._execute
        row = execute(_LOCK_STOCK, (sku,)).fetchone()
        if row is None:
            row = execute(_NEW_STOCK, (sku,)).fetchone()
            if row is None:  # another transaction inserted it first: wait for its lock
                row = execute(_LOCK_STOCK, (sku,)).fetchone()
            else:
                self._placeholders.add(sku)
        # psycopg types fetchone() as optional; the row is locked (or was just inserted).
        stock = self._dirty.get(sku) or Stock(*row)  # type: ignore[misc]
        self._locked[sku] = stock
        return stock

    def _take_clock(self) -> tuple[int, float | None]:
        """The newest event's (seq, at), locked until commit."""
        if self._clock is None:
            row = self._execute(_LOCK_CLOCK).fetchone()
            # psycopg types fetchone() as optional; the clock table always holds its one row.
            self._clock = (row[0], row[1])  # type: ignore[index]
        return self._clock

    def last_at(self) -> float | None:
        return self._take_clock()[1]

    def stock(self, sku: str) -> Stock:
        return self._lock(sku)

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        self._lock(sku)
        key = (order_id, sku)
        if key in self._lines:
            return self._lines[key]
        row = self._execute(READ_LINE, key).fetchone()
        line = line_from_row(row) if row else None
        self._lines[key] = line
        return line

    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        self._lock(sku)
        row = self._execute(_FIND, (order_id, sku, command, ref)).fetchone()
        return event_from_row(row) if row else None

    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str, quantity: int,
               command: str, order_id: str = "", channel: str = "", ref: str = "",
               reason: str = "") -> Event | None:
        seq = self._take_clock()[0] + 1
        cur = self._execute(_INSERT_EVENT, (seq, at, recorded_at, kind.value, sku, quantity,
                                            command, order_id, channel, ref, reason))
        if cur.rowcount == 0:
            return None
        self._clock, self._clock_moved = (seq, recorded_at), True
        return Event(seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref,
                     reason)

    def put_stock(self, stock: Stock) -> None:
        if stock.sku in self._locked:
            self._locked[stock.sku] = stock
        self._dirty[stock.sku] = stock

    def insert_line(self, order_id: str, sku: str, channel: str, quantity: int,
                    status: OrderStatus, seq: int) -> bool:
        key = (order_id, sku)
        line = OrderLine(order_id, sku, channel, quantity, status, 0, seq)
        if key in self._lines and sku in self._locked:
            if self._lines[key] is not None:
                return False
            self._new_lines[key] = line  # known absent under the SKU's lock
        else:
            cur = self._execute(INSERT_LINE, (order_id, sku, channel, quantity,
                                              status.value, 0, seq))
            if cur.rowcount == 0:
                return False
        self._lines[key] = line
        return True

    def update_line(self, line: OrderLine) -> None:
        key = (line.order_id, line.sku)
        if key in self._new_lines:
            self._new_lines[key] = line
        else:
            self._changed_lines[key] = line
        self._lines[key] = line

    def _execute(self, query: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[Any]:
        """Run one statement of the transaction; the first one carries the BEGIN with it.

        Pipeline mode sends ``BEGIN`` and the statement together and waits once: a
        reservation then costs one round trip less.
        """
        cur = self._cur
        if self._begin_pending:
            self._begin_pending = False
            with self._conn.pipeline():
                cur.execute("BEGIN")
                cur.execute(query, params)
            return cur
        return cur.execute(query, params)

    def begin(self) -> None:
        """Send BEGIN now, if no statement has carried it yet."""
        if self._begin_pending:
            self._begin_pending = False
            self._cur.execute("BEGIN")

    def commit(self) -> None:
        """Write what is pending and COMMIT, in one round trip (nothing at all: no-op)."""
        if self._begin_pending and not (self._dirty or self._new_lines or self._changed_lines
                                        or self._clock_moved or self._placeholders):
            return
        with self._conn.pipeline():
            self.flush()
            self._cur.execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK, if BEGIN went out."""
        if not self._begin_pending:
            self._cur.execute("ROLLBACK")

    def flush(self) -> None:
        """Write pending projection rows and the clock; drop zero rows only locked."""
        self.begin()
        cur = self._cur
        dirty, new_lines, changed = self._dirty, self._new_lines, self._changed_lines
        if (self._clock_moved and len(dirty) == 1 and len(new_lines) + len(changed) <= 1
                and next(iter(dirty)) in self._locked):  # one command: one statement
            (stock,) = dirty.values()
            params: tuple[Any, ...] = self._clock or (0, None)
            if new_lines:
                (line,) = new_lines.values()
                shape, params = "new", (*params, *_line_row(line))
            elif changed:
                (line,) = changed.values()
                shape, params = "changed", (*params, *_line_update(line))
            else:
                shape = ""
            cur.execute(_FLUSH_ONE[shape], (*params, stock.on_hand, stock.reserved,
                                            stock.shipped, stock.returned, stock.seq,
                                            stock.sku))
            self._placeholders.discard(stock.sku)
            dirty.clear()
            new_lines.clear()
            changed.clear()
            self._clock_moved = False
        if self._clock_moved:
            cur.execute(_MOVE_CLOCK, self._clock)
            self._clock_moved = False
        if new_lines:
            cur.executemany(_INSERT_NEW_LINE, [_line_row(line) for line in new_lines.values()])
            new_lines.clear()
        if changed:
            cur.executemany(_UPDATE_LINE, [_line_update(line) for line in changed.values()])
            changed.clear()
        if dirty:
            cur.executemany(PUT_STOCK, list(dirty.values()))
            self._placeholders.difference_update(dirty)
            dirty.clear()
        if self._placeholders:
            cur.execute(_DROP_UNUSED_STOCK, (sorted(self._placeholders),))
            for sku in self._placeholders:
                self._locked.pop(sku, None)
            self._placeholders.clear()

    def before_read(self) -> None:
        """Make store-level reads inside this transaction consistent and up to date."""
        self._take_clock()
        self.flush()

    def forget_projection(self) -> None:
        """The projection tables were replaced: what this transaction read is stale."""
        self.flush()
        self._locked.clear()
        self._lines.clear()


def _line_row(line: OrderLine) -> tuple[Any, ...]:
    return (line.order_id, line.sku, line.channel, line.quantity, line.status.value,
            line.returned, line.seq)


def _line_update(line: OrderLine) -> tuple[Any, ...]:
    return (line.channel, line.quantity, line.status.value, line.returned, line.seq,
            line.order_id, line.sku)

