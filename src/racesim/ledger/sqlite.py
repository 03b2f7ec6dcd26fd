"""The SQLite store: the ledger in one file, safe for several processes at once.

The schema does the enforcing (:mod:`racesim.ledger.sqlite_schema`, its tables,
version and migrations): idempotency keys are UNIQUE and written with
``INSERT … ON CONFLICT DO NOTHING``, events cannot be updated or deleted (triggers),
and the projection rows carry CHECK constraints. Every write transaction starts with
``BEGIN IMMEDIATE``, which takes the database's write lock before the first read, so
read-decide-write cannot interleave with another writer. The file uses WAL journaling.

URL: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
``sqlite:///:memory:``; options ``?synchronous=FULL|NORMAL`` and ``?timeout=SECONDS`` (how
long to wait for another writer's lock, default 60). The default, FULL, makes every
committed command survive a power cut; NORMAL is several times faster per transaction
and in WAL mode still survives a crashed process — a fair choice for simulations.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast
from urllib.parse import SplitResult, unquote

from racesim.errors import StoreError, StoreRefused, StoreRetryable, shorten
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock
from racesim.ledger.projection import Replay
from racesim.ledger.sqlite_schema import EVENT_COLUMNS, event_from_row, line_from_row, open_schema
from racesim.ledger.store import ALL_EVENTS, EventFilter, Store, Transaction, shown_url

__all__ = ["SqliteStore"]

_INSERT_EVENT = (
    "INSERT INTO events (at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, "
    "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_PUT_STOCK = (
    "INSERT INTO stock (sku, on_hand, reserved, shipped, returned, seq) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved, "
    "shipped = excluded.shipped, returned = excluded.returned, seq = excluded.seq"
)
_INSERT_LINE = (
    "INSERT INTO order_lines (order_id, sku, channel, quantity, status, returned, seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id, sku) DO NOTHING"
)
_UPDATE_LINE = (
    "UPDATE order_lines SET channel = ?, quantity = ?, status = ?, returned = ?, seq = ? "
    "WHERE order_id = ? AND sku = ?"
)


class _SqliteTransaction(Transaction):
    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def last_at(self) -> float | None:
        row = self._conn.execute(
            "SELECT recorded_at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    def stock(self, sku: str) -> Stock:
        row = self._conn.execute(
            "SELECT sku, on_hand, reserved, shipped, returned, seq FROM stock WHERE sku = ?",
            (sku,)).fetchone()
        return Stock(*row) if row else Stock.empty(sku)

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        row = self._conn.execute(
            "SELECT order_id, sku, channel, quantity, status, returned, seq FROM order_lines "
            "WHERE order_id = ? AND sku = ?", (order_id, sku)).fetchone()
        return line_from_row(row) if row else None

    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        row = self._conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events "
            "WHERE order_id = ? AND sku = ? AND command = ? AND ref = ?",
            (order_id, sku, command, ref)).fetchone()
        return event_from_row(row) if row else None

    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str, quantity: int,
               command: str, order_id: str = "", channel: str = "", ref: str = "",
               reason: str = "") -> Event | None:
        cursor = self._conn.execute(
            _INSERT_EVENT, (at, recorded_at, kind.value, sku, quantity, command, order_id,
                            channel, ref, reason))
        if cursor.rowcount == 0:
            return None
        # sqlite3 types lastrowid as optional; after a row was inserted it is its seq.
        return Event(cast(int, cursor.lastrowid), at, recorded_at, kind, sku, quantity, command,
                     order_id, channel, ref, reason)

    def put_stock(self, stock: Stock) -> None:
        self._conn.execute(_PUT_STOCK, stock)

    def insert_line(self, order_id: str, sku: str, channel: str, quantity: int,
                    status: OrderStatus, seq: int) -> bool:
        cursor = self._conn.execute(_INSERT_LINE,
                                    (order_id, sku, channel, quantity, status.value, 0, seq))
        return cursor.rowcount == 1

    def update_line(self, line: OrderLine) -> None:
        self._conn.execute(_UPDATE_LINE, (line.channel, line.quantity, line.status.value,
                                          line.returned, line.seq, line.order_id, line.sku))


_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
"""Another connection holds the lock: nothing of this transaction was written."""

_UNUSABLE = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB,
             sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH)
"""The file cannot be written as it is: the same again next time."""


def _error_class(exc: sqlite3.Error) -> type[StoreError]:
    """The StoreError a driver error becomes: retryable (busy, locked), refused (a
    constraint, an unwritable or foreign file) or neither (a full disk, an I/O error)."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return StoreRefused
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None  # extended codes: low byte
    if primary in _BUSY:
        return StoreRetryable
    if primary in _UNUSABLE:
        return StoreRefused
    return StoreError


def _url_arguments(url: str, parts: SplitResult, options: dict[str, str]
                   ) -> tuple[str, str, float]:
    """A ``sqlite:`` URL's file path, synchronous level and timeout, or a StoreRefused."""
    if parts.netloc:
        raise StoreRefused(f"store URL {shown_url(url)}: use sqlite:///relative.db or "
                           "sqlite:////absolute/path.db (three or four slashes)")
    path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
    if not path:
        raise StoreRefused(f"store URL {shown_url(url)}: no database file named")
    unknown = set(options) - {"synchronous", "timeout"}
    if unknown:
        raise StoreRefused(f"store URL {shown_url(url)}: unknown option(s) "
                           f"{shorten(sorted(unknown))} (known: synchronous, timeout)")
    synchronous = options.get("synchronous", "FULL")
    if synchronous.upper() not in _SYNCHRONOUS:
        raise StoreRefused(f"store URL {shown_url(url)}: synchronous={shorten(synchronous)} is "
                           f"not one of {', '.join(_SYNCHRONOUS)}")
    try:
        timeout = float(options.get("timeout", 60.0))
    except ValueError as exc:
        raise StoreRefused(f"store URL {shown_url(url)}: timeout must be seconds") from exc
    if not 0 <= timeout <= _MAX_TIMEOUT:
        raise StoreRefused(f"store URL {shown_url(url)}: timeout must be 0 to {_MAX_TIMEOUT:g} "
                           f"seconds (got {shorten(options['timeout'])})")
    return path, synchronous, timeout


_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_MAX_TIMEOUT = 86_400.0  # a day of waiting for a lock is already a hang


class SqliteStore(Store):
    """Ledger tables in a SQLite file (WAL), one connection per store object.

    Several processes may open the same file; each uses its own ``SqliteStore``.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 timeout: float = 60.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        if synchronous.upper() not in _SYNCHRONOUS:
            raise StoreRefused(f"{self.url}: synchronous={synchronous!r} is not one of "
                               "OFF, NORMAL, FULL, EXTRA")
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._immediate():
                open_schema(self._conn, self.url)
        except sqlite3.Error as exc:
            raise _error_class(exc)(f"{self.url}: cannot open the ledger database: "
                                    f"{exc}") from exc

    @classmethod
    def from_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> SqliteStore:
        """Parse ``sqlite:///path.db?synchronous=FULL&timeout=30``."""
        path, synchronous, timeout = _url_arguments(url, parts, options)
        return cls(path, synchronous=synchronous, timeout=timeout)

    @classmethod
    def check_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> None:
        """Refuse what :meth:`from_url` would refuse, creating nothing: also a file in a
        folder that does not exist or cannot be written (SQLite adds ``-wal`` files)."""
        path = Path(_url_arguments(url, parts, options)[0])
        folder = path.parent
        if path.is_dir():
            raise StoreRefused(f"store URL {shown_url(url)}: {path} is a folder, "
                               "not a database file")
        if not folder.is_dir():
            raise StoreRefused(f"store URL {shown_url(url)}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreRefused(f"store URL {shown_url(url)}: cannot write to folder {folder}")

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            with self._immediate() as conn:
                yield _SqliteTransaction(conn)
        except (sqlite3.IntegrityError, sqlite3.DataError) as exc:
            raise StoreRefused(f"{self.url}: the database refused a write: {exc}") from exc
        except sqlite3.OperationalError as exc:
            kind = _error_class(exc)
            if kind is StoreRetryable:
                raise kind(f"{self.url}: {exc}: another connection kept the write lock "
                           "beyond the timeout; retry it (or raise ?timeout=SECONDS)") from exc
            raise kind(f"{self.url}: {exc}") from exc

    def stock(self, sku: str) -> Stock:
        row = self._conn.execute(
            "SELECT sku, on_hand, reserved, shipped, returned, seq FROM stock WHERE sku = ?",
            (sku,)).fetchone()
        return Stock(*row) if row else Stock.empty(sku)

    def stock_levels(self) -> dict[str, Stock]:
        rows = self._conn.execute(
            "SELECT sku, on_hand, reserved, shipped, returned, seq FROM stock ORDER BY sku")
        return {row[0]: Stock(*row) for row in rows}

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        return _SqliteTransaction(self._conn).order_line(order_id, sku)

    def order_lines(self) -> dict[tuple[str, str], OrderLine]:
        rows = self._conn.execute(
            "SELECT order_id, sku, channel, quantity, status, returned, seq FROM order_lines")
        return {(row[0], row[1]): line_from_row(row) for row in rows}

    def events(self, where: EventFilter = ALL_EVENTS) -> Iterator[Event]:
        clauses = ["seq > ?"]
        params: list[int | str | float] = [where.after_seq]
        if where.sku is not None:
            clauses.append("sku = ?")
            params.append(where.sku)
        if where.order_id is not None:
            clauses.append("order_id = ?")
            params.append(where.order_id)
        if where.kinds:
            clauses.append(f"kind IN ({', '.join('?' * len(where.kinds))})")
            params.extend(k.value for k in where.kinds)
        if where.until_at is not None:
            clauses.append("recorded_at <= ?")
            params.append(where.until_at)
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY seq"
        for row in self._conn.execute(sql, params):
            yield event_from_row(row)

    def event_count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def replace_projection(self, replay: Replay) -> None:
        self._conn.execute("DELETE FROM stock")
        self._conn.execute("DELETE FROM order_lines")
        self._conn.executemany(_PUT_STOCK, replay.stock.values())
        self._conn.executemany(_INSERT_LINE, (
            (line.order_id, line.sku, line.channel, line.quantity, line.status.value,
             line.returned, line.seq) for line in replay.lines.values()))

    def close(self) -> None:
        self._conn.close()

    def destroy(self) -> None:
        self._conn.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(self.path + suffix).unlink(missing_ok=True)
