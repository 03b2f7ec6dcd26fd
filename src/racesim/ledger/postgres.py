"""The PostgreSQL store: the ledger in a database that many processes and hosts share.

The schema does the enforcing, as in SQLite: idempotency keys are UNIQUE and written with
``INSERT … ON CONFLICT DO NOTHING``, events cannot be updated, deleted or truncated
(triggers), the projection rows carry CHECK constraints, and ``meta`` holds the
``schema_version``. One more trigger keeps the log's order: each new event must carry the
next sequence number and the record time ``max(its at, the newest event's recorded_at)``,
or it is refused.

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
  cannot give. The trigger above makes the schema itself refuse a gap or a step back in
  time, whoever writes.

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

Reads outside a transaction (``stock``, ``available``, ``levels``, ``events``…) run in
autocommit, take no lock, and see the last committed state. Inside a transaction (e.g.
``verify()``) they first take the clock, so the event log and the projection they read
belong to the same instant. ``event_count()`` is the clock's ``seq`` (gap-free), not a
``count(*)`` scan. Projection writes (stock rows, order lines) wait until commit: a
reservation's line, stock row and clock go in one statement, and a batch of many
commands on one SKU writes that SKU's row once. A new reservation thus costs seven
statements — ``BEGIN``, lock, line, clock, event, projection, ``COMMIT`` — in five round
trips: pipeline mode sends ``BEGIN`` with the first statement and ``COMMIT`` with the
projection write (a transaction that never reads or writes sends nothing at all).

URL: ``postgresql://user[:password]@host[:port]/dbname`` (``postgres://`` too), options
``?schema=NAME`` (a schema for the ledger's tables, created if missing — several ledgers
can share one database; default ``public``), ``timeout=SECONDS`` (how long to wait for
another writer's lock, default 60), ``synchronous_commit=on|off`` (``off`` trades the
last few hundred milliseconds of commits on a server crash for speed; a crashed *client*
loses nothing either way), and the libpq options ``connect_timeout`` (default 10),
``sslmode`` and ``application_name``. Needs PostgreSQL ≥ 12 and psycopg 3
(``pip install 'racesim[postgres]'``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PostgreSQL store needs psycopg 3: "
                      "pip install 'racesim[postgres]'") from exc

from racesim.errors import StoreError, StoreRefused, StoreRetryable, shorten
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock
from racesim.ledger.projection import Replay
from racesim.ledger.store import ALL_EVENTS, EventFilter, Store, Transaction, shown_url

__all__ = ["SCHEMA_VERSION", "PostgresStore"]

SCHEMA_VERSION = 2
"""Version 2 added ``events.recorded_at`` (the record time; ``clock.at`` holds the newest
one). Version-1 schemas are migrated when opened: their record time is their ``at``."""

_KINDS = ", ".join(f"'{k.value}'" for k in EventKind)
_STATUSES = ", ".join(f"'{s.value}'" for s in OrderStatus)
_FINITE = "> '-Infinity'::float8 AND {0} < 'Infinity'::float8"  # NaN sorts above Infinity

_RECORDED_FINITE = ("CONSTRAINT events_recorded_at_finite "
                    f"CHECK (recorded_at {_FINITE.format('recorded_at')})")
_RECORDED_AFTER_AT = "CONSTRAINT events_recorded_after_at CHECK (recorded_at >= at)"
_IN_ORDER = """
CREATE OR REPLACE FUNCTION racesim_events_in_order() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    last_seq BIGINT;
    last_recorded DOUBLE PRECISION;
BEGIN
    SELECT seq, recorded_at INTO last_seq, last_recorded FROM events WHERE seq < NEW.seq
        ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> coalesce(last_seq, 0) + 1
            OR NEW.recorded_at <> greatest(NEW.at, coalesce(last_recorded, NEW.at)) THEN
        RAISE EXCEPTION 'ledger event seq % recorded at % (at %) does not follow the newest '
            'event (seq %, recorded at %): events are numbered 1, 2, ... without gaps, each '
            'recorded at max(its at, the previous record time)',
            NEW.seq, NEW.recorded_at, NEW.at, last_seq, last_recorded
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE clock (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq      BIGINT  NOT NULL CHECK (seq >= 0),
    at       DOUBLE PRECISION CONSTRAINT clock_at_finite CHECK (at {_FINITE.format('at')})
);
INSERT INTO clock (only_row, seq, at) VALUES (TRUE, 0, NULL);

CREATE TABLE events (
    seq      BIGINT  PRIMARY KEY CHECK (seq > 0),
    at       DOUBLE PRECISION NOT NULL CONSTRAINT events_at_finite
                                       CHECK (at {_FINITE.format('at')}),
    recorded_at DOUBLE PRECISION NOT NULL,
    kind     TEXT    NOT NULL CONSTRAINT events_kind_known CHECK (kind IN ({_KINDS})),
    sku      TEXT    NOT NULL CONSTRAINT events_sku_given CHECK (sku <> ''),
    quantity BIGINT  NOT NULL,
    command  TEXT    NOT NULL,
    order_id TEXT    NOT NULL DEFAULT '',
    channel  TEXT    NOT NULL DEFAULT '',
    ref      TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT '',
    CONSTRAINT events_quantity_signed CHECK (quantity <> 0 AND (kind = 'ADJUST' OR quantity > 0)),
    CONSTRAINT events_adjust_has_reason CHECK (kind <> 'ADJUST' OR reason <> ''),
    {_RECORDED_FINITE},
    {_RECORDED_AFTER_AT},
    CONSTRAINT events_idempotency_key UNIQUE (order_id, sku, command, ref)
);
CREATE INDEX events_by_sku ON events (sku, seq);

CREATE FUNCTION racesim_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger events are append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION racesim_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION racesim_refuse_change();

{_IN_ORDER}CREATE TRIGGER events_in_order AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION racesim_events_in_order();

CREATE TABLE stock (
    sku      TEXT    PRIMARY KEY,
    on_hand  BIGINT  NOT NULL CHECK (on_hand >= 0),
    reserved BIGINT  NOT NULL CHECK (reserved >= 0),
    shipped  BIGINT  NOT NULL CHECK (shipped >= 0),
    returned BIGINT  NOT NULL CHECK (returned >= 0),
    seq      BIGINT  NOT NULL CHECK (seq >= 0)
);

CREATE TABLE order_lines (
    order_id TEXT    NOT NULL,
    sku      TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    quantity BIGINT  NOT NULL CHECK (quantity > 0),
    status   TEXT    NOT NULL CHECK (status IN ({_STATUSES})),
    returned BIGINT  NOT NULL CHECK (returned >= 0 AND returned <= quantity),
    seq      BIGINT  NOT NULL,
    PRIMARY KEY (order_id, sku)
);

INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');
"""

# Version 1 → 2, in the opening transaction: the new column, filled from ``at`` (with the
# append-only trigger held off for that one statement), its checks, the new order rule.
_MIGRATE_1_TO_2 = f"""
ALTER TABLE events ADD COLUMN recorded_at DOUBLE PRECISION;
ALTER TABLE events DISABLE TRIGGER events_no_update;
UPDATE events SET recorded_at = at;
ALTER TABLE events ENABLE TRIGGER events_no_update;
ALTER TABLE events ALTER COLUMN recorded_at SET NOT NULL;
ALTER TABLE events ADD {_RECORDED_FINITE}, ADD {_RECORDED_AFTER_AT};
{_IN_ORDER}
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"""

_STOCK_COLUMNS = "sku, on_hand, reserved, shipped, returned, seq"
_LINE_COLUMNS = "order_id, sku, channel, quantity, status, returned, seq"
_EVENT_COLUMNS = ("seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, "
                  "reason")

_LOCK_STOCK = f"SELECT {_STOCK_COLUMNS} FROM stock WHERE sku = %s FOR UPDATE"
_NEW_STOCK = (f"INSERT INTO stock ({_STOCK_COLUMNS}) VALUES (%s, 0, 0, 0, 0, 0) "
              f"ON CONFLICT (sku) DO NOTHING RETURNING {_STOCK_COLUMNS}")
_DROP_UNUSED_STOCK = "DELETE FROM stock WHERE sku = ANY(%s) AND seq = 0"
_READ_STOCK = f"SELECT {_STOCK_COLUMNS} FROM stock WHERE sku = %s"
_LOCK_CLOCK = "SELECT seq, at FROM clock FOR UPDATE"
_READ_LINE = f"SELECT {_LINE_COLUMNS} FROM order_lines WHERE order_id = %s AND sku = %s"
_FIND = (f"SELECT {_EVENT_COLUMNS} FROM events "
         "WHERE order_id = %s AND sku = %s AND command = %s AND ref = %s")
_INSERT_EVENT = (f"INSERT INTO events ({_EVENT_COLUMNS}) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                 "ON CONFLICT ON CONSTRAINT events_idempotency_key DO NOTHING")
_PUT_STOCK = (
    f"INSERT INTO stock ({_STOCK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand, "
    "reserved = excluded.reserved, shipped = excluded.shipped, "
    "returned = excluded.returned, seq = excluded.seq"
)
_INSERT_LINE = (f"INSERT INTO order_lines ({_LINE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (order_id, sku) DO NOTHING")
_UPDATE_LINE = ("UPDATE order_lines SET channel = %s, quantity = %s, status = %s, "
                "returned = %s, seq = %s WHERE order_id = %s AND sku = %s")
# A line this transaction knows is absent (read under its SKU's lock): a plain INSERT,
# so that a conflict — which the locks make impossible — fails loudly instead of vanishing.
_INSERT_NEW_LINE = (f"INSERT INTO order_lines ({_LINE_COLUMNS}) "
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

_PAGE = 5_000  # events per round trip when reading the log
_KIND = {kind.value: kind for kind in EventKind}
_STATUS = {status.value: status for status in OrderStatus}

_OUR_OPTIONS = ("schema", "timeout", "synchronous_commit")
_LIBPQ_OPTIONS = ("connect_timeout", "sslmode", "application_name")


class _UrlArguments(NamedTuple):
    """What a ``postgresql://`` URL says: where to connect and how to set the session up."""

    conninfo: str
    schema: str
    timeout: float
    synchronous_commit: str
    libpq: dict[str, str]


def _url_arguments(url: str, parts: SplitResult, options: dict[str, str]) -> _UrlArguments:
    """A URL's connection string, racesim settings and libpq options, or a StoreRefused."""
    shown = shown_url(_masked(url))  # never the password
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise StoreRefused(f"store URL {shown}: name one database, as in "
                           "postgresql://user@host:5432/dbname")
    unknown = set(options) - {*_OUR_OPTIONS, *_LIBPQ_OPTIONS}
    if unknown:
        raise StoreRefused(f"store URL {shown}: unknown option(s) {shorten(sorted(unknown))} "
                           f"(known: {', '.join((*_OUR_OPTIONS, *_LIBPQ_OPTIONS))})")
    try:
        timeout = float(options.get("timeout", 60.0))
    except ValueError as exc:
        raise StoreRefused(f"store URL {shown}: timeout must be seconds "
                           f"(got {shorten(options['timeout'])})") from exc
    return _UrlArguments(f"postgresql://{parts.netloc}{parts.path}",
                         options.get("schema", "public"), timeout,
                         options.get("synchronous_commit", "on"),
                         {key: options[key] for key in _LIBPQ_OPTIONS if key in options})


def _check_settings(url: str, schema: str, timeout: float, synchronous_commit: str) -> None:
    """Refuse an empty schema, a negative timeout or an unknown synchronous_commit."""
    if not schema:
        raise StoreRefused(f"{url}: schema must be a non-empty name")
    if not (math.isfinite(timeout) and timeout >= 0):
        raise StoreRefused(f"{url}: timeout must be a number of seconds ≥ 0 "
                           f"(got {timeout!r})")
    if synchronous_commit.lower() not in ("on", "off", "local", "remote_write",
                                          "remote_apply"):
        raise StoreRefused(f"{url}: synchronous_commit={shorten(synchronous_commit)} is not "
                           "one of on, off, local, remote_write, remote_apply")


def _event(row: tuple[Any, ...]) -> Event:
    seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, reason = row
    return Event(seq, at, recorded_at, _KIND[kind], sku, quantity, command, order_id, channel,
                 ref, reason)


def _line(row: tuple[Any, ...]) -> OrderLine:
    order_id, sku, channel, quantity, status, returned, seq = row
    return OrderLine(order_id, sku, channel, quantity, _STATUS[status], returned, seq)


class _PostgresTransaction(Transaction):
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
        row = self._execute(_READ_LINE, key).fetchone()
        line = _line(row) if row else None
        self._lines[key] = line
        return line

    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        self._lock(sku)
        row = self._execute(_FIND, (order_id, sku, command, ref)).fetchone()
        return _event(row) if row else None

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
            cur = self._execute(_INSERT_LINE, (order_id, sku, channel, quantity,
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
            cur.executemany(_PUT_STOCK, list(dirty.values()))
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


class PostgresStore(Store):
    """Ledger tables in a PostgreSQL database (one schema), one connection per store object.

    Many processes may open the same database; each uses its own ``PostgresStore``.
    """

    def __init__(self, conninfo: str, *, schema: str = "public", timeout: float = 60.0,
                 synchronous_commit: str = "on", url: str | None = None,
                 **libpq: str) -> None:
        self.url = url or _masked(conninfo)
        self.schema = schema
        _check_settings(self.url, schema, timeout, synchronous_commit)
        libpq.setdefault("connect_timeout", "10")
        self._tx: _PostgresTransaction | None = None
        try:
            # psycopg types its own keywords too; libpq's parameters are all strings.
            self._conn = psycopg.connect(conninfo, autocommit=True,
                                         **libpq)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: cannot connect to the ledger database: "
                             f"{_one_line(exc)}") from exc
        self._cur = self._conn.cursor()
        try:
            self._setup(timeout, synchronous_commit.lower())
        except psycopg.Error as exc:
            kind = type(self._error(exc))  # a lock timeout may be retried; a privilege not
            self._conn.close()
            raise kind(f"{self.url}: cannot open the ledger schema {schema!r}: "
                       f"{_one_line(exc)}") from exc
        except StoreError:
            self._conn.close()
            raise

    def _setup(self, timeout: float, synchronous_commit: str) -> None:
        """Set the session up; create the schema on first use; check its version."""
        cur, schema = self._cur, sql.Identifier(self.schema)
        cur.execute(sql.SQL("SET search_path TO {}").format(schema))
        lock_ms = max(1, round(timeout * 1000))  # 0 would mean "wait for ever" to PostgreSQL
        cur.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(str(lock_ms))))
        cur.execute(sql.SQL("SET synchronous_commit = {}").format(sql.Literal(synchronous_commit)))
        with self._conn.transaction():
            # Serialise first-time creation between processes opening the ledger at once.
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                        (f"racesim.ledger:{self.schema}",))
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            cur.execute("SELECT to_regclass('meta') IS NOT NULL")
            # psycopg types fetchone() as optional; a SELECT of a value returns one row.
            if not cur.fetchone()[0]:  # type: ignore[index]
                cur.execute(SCHEMA)
            cur.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            row = cur.fetchone()
            if row is not None and row[0] == "1":
                cur.execute(_MIGRATE_1_TO_2)
                row = ("2",)
        found = int(row[0]) if row else None
        if found != SCHEMA_VERSION:
            raise StoreRefused(f"{self.url}: schema version {found}, this racesim reads "
                               f"version {SCHEMA_VERSION}")

    @classmethod
    def from_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> PostgresStore:
        """Parse ``postgresql://user@host:5432/dbname?schema=ledger&timeout=30``."""
        parsed = _url_arguments(url, parts, options)
        return cls(parsed.conninfo, schema=parsed.schema, timeout=parsed.timeout,
                   synchronous_commit=parsed.synchronous_commit, url=_masked(url),
                   **parsed.libpq)

    @classmethod
    def check_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> None:
        """Refuse what :meth:`from_url` would refuse, without connecting."""
        parsed = _url_arguments(url, parts, options)
        _check_settings(_masked(url), parsed.schema, parsed.timeout, parsed.synchronous_commit)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        if self._tx is not None:
            raise StoreRefused(f"{self.url}: a transaction is already open on this store")
        tx = self._tx = _PostgresTransaction(self._conn, self._cur)
        committing = False
        try:
            try:
                yield tx
                committing = True
                tx.commit()
            except BaseException:
                with suppress(psycopg.Error):
                    tx.rollback()
                raise
        except psycopg.Error as exc:
            raise self._error(exc, committing=committing) from exc
        finally:
            self._tx = None

    def _error(self, exc: psycopg.Error, *, committing: bool = False) -> StoreError:
        """A StoreError that says what the server refused, whether to retry, and how.

        :class:`StoreRetryable` when the server rolled the transaction back through no
        fault of the command (deadlock, serialization failure, lock timeout) or the
        connection dropped before ``COMMIT`` was sent; :class:`StoreRefused` when the
        schema refused the write or the store cannot be used; a plain StoreError when the
        connection dropped while committing (``committing``): the commit may have landed.
        """
        message = _one_line(exc)
        if isinstance(exc, pg_errors.IntegrityError | pg_errors.DataError):
            return StoreRefused(f"{self.url}: the database refused a write: {message}")
        if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
            return StoreRetryable(f"{self.url}: the transaction conflicted with another "
                                  f"writer and was rolled back; retry it ({message})")
        if isinstance(exc, pg_errors.LockNotAvailable):
            return StoreRetryable(f"{self.url}: gave up waiting for another writer's lock "
                                  f"(retry it, or raise ?timeout=SECONDS): {message}")
        if self._conn.broken or isinstance(exc, _CONNECTION_LOST):
            if committing:
                return StoreError(f"{self.url}: the connection was lost while committing, "
                                  "so the write may or may not have been made: read the "
                                  f"ledger before retrying ({message})")
            return StoreRetryable(f"{self.url}: the connection to the database was lost "
                                  "before anything was committed; open the store again and "
                                  f"retry ({message})")
        if isinstance(exc, _UNUSABLE):
            return StoreRefused(f"{self.url}: the store cannot be used: {message}")
        return StoreError(f"{self.url}: {message}")

    def _rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read; inside an open transaction, first freeze writers (see the docstring)."""
        try:
            if self._tx is not None:
                self._tx.before_read()
            return self._cur.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    # -- reads -----------------------------------------------------------------------------

    def stock(self, sku: str) -> Stock:
        rows = self._rows(_READ_STOCK, (sku,))
        return Stock(*rows[0]) if rows else Stock.empty(sku)

    def stock_levels(self) -> dict[str, Stock]:
        rows = self._rows(f"SELECT {_STOCK_COLUMNS} FROM stock ORDER BY sku")
        return {row[0]: Stock(*row) for row in rows}

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        rows = self._rows(_READ_LINE, (order_id, sku))
        return _line(rows[0]) if rows else None

    def order_lines(self) -> dict[tuple[str, str], OrderLine]:
        rows = self._rows(f"SELECT {_LINE_COLUMNS} FROM order_lines ORDER BY order_id, sku")
        return {(row[0], row[1]): _line(row) for row in rows}

    def events(self, where: EventFilter = ALL_EVENTS) -> Iterator[Event]:
        clauses = ["seq > %s"]
        params: list[str | float | list[str]] = []
        if where.sku is not None:
            clauses.append("sku = %s")
            params.append(where.sku)
        if where.order_id is not None:
            clauses.append("order_id = %s")
            params.append(where.order_id)
        if where.kinds:
            clauses.append("kind = ANY(%s)")
            params.append([k.value for k in where.kinds])
        if where.until_at is not None:
            clauses.append("recorded_at <= %s")
            params.append(where.until_at)
        query = (f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} "
                 f"ORDER BY seq LIMIT {_PAGE}")
        after = where.after_seq
        while True:  # keyset pages: new events only ever appear after the last seq
            rows = self._rows(query, (after, *params))
            for row in rows:
                yield _event(row)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def event_count(self) -> int:
        return self._rows("SELECT seq FROM clock")[0][0]

    # -- maintenance -----------------------------------------------------------------------

    def replace_projection(self, replay: Replay) -> None:
        if self._tx is None:
            raise StoreRefused(f"{self.url}: replace_projection() needs an open transaction")
        self._tx.before_read()
        self._tx.forget_projection()
        self._tx.begin()
        cur = self._cur
        try:
            cur.execute("DELETE FROM stock")
            cur.execute("DELETE FROM order_lines")
            if replay.stock:
                cur.executemany(_PUT_STOCK, list(replay.stock.values()))
            if replay.lines:
                cur.executemany(_INSERT_LINE, [
                    (line.order_id, line.sku, line.channel, line.quantity, line.status.value,
                     line.returned, line.seq) for line in replay.lines.values()])
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        self._conn.close()

    def destroy(self) -> None:
        try:
            self._cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                              .format(sql.Identifier(self.schema)))
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        finally:
            self._conn.close()


_CONNECTION_LOST = (pg_errors.ConnectionException, pg_errors.AdminShutdown,
                    pg_errors.CrashShutdown, pg_errors.CannotConnectNow)
"""Server errors after which the session is gone (its open transaction rolled back)."""

_UNUSABLE = (pg_errors.InsufficientPrivilege, pg_errors.ReadOnlySqlTransaction,
             pg_errors.UndefinedTable)
"""Server errors saying this store cannot be written as it is (the same again next time)."""


def _one_line(exc: BaseException) -> str:
    """A driver message on one line (PostgreSQL adds DETAIL and HINT lines)."""
    return " ".join(str(exc).split())


def _masked(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and ``Ledger.url``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
