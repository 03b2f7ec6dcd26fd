"""The PostgreSQL store: the ledger in a database that many processes and hosts share.

One concept per module, as for SQLite: this one is the store — reads, transactions,
maintenance; its tables, schema version and migrations are in
:mod:`racesim.ledger.postgres_schema`; the write transaction and how it locks (SKU rows,
then the one-row clock, at READ COMMITTED) in :mod:`racesim.ledger.postgres_transaction`;
the URL, the session's settings and the mapping of driver errors to
:class:`~racesim.errors.StoreRetryable` / :class:`~racesim.errors.StoreRefused` in
:mod:`racesim.ledger.postgres_connection`.

Reads outside a transaction (``stock``, ``available``, ``levels``, ``events``…) run in
autocommit, take no lock, and see the last committed state. Inside a transaction (e.g.
``verify()``) they first take the clock, so the event log and the projection they read
belong to the same instant. ``event_count()`` is the clock's ``seq`` (gap-free), not a
``count(*)`` scan.

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

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import SplitResult

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PostgreSQL store needs psycopg 3: "
                      "pip install 'racesim[postgres]'") from exc

from racesim.errors import StoreError, StoreRefused
from racesim.ledger.events import Event, OrderLine, Stock
from racesim.ledger.postgres_connection import (
    check_settings,
    configure_session,
    connect,
    masked,
    one_line,
    store_error,
    url_arguments,
)
from racesim.ledger.postgres_schema import (
    EVENT_COLUMNS,
    LINE_COLUMNS,
    STOCK_COLUMNS,
    event_from_row,
    line_from_row,
    open_schema,
)
from racesim.ledger.postgres_transaction import (
    INSERT_LINE,
    PUT_STOCK,
    READ_LINE,
    READ_STOCK,
    PostgresTransaction,
)
from racesim.ledger.projection import Replay
from racesim.ledger.store import ALL_EVENTS, EventFilter, Store, Transaction

__all__ = ["PostgresStore"]

_PAGE = 5_000  # events per round trip when reading the log


class PostgresStore(Store):
    """Ledger tables in a PostgreSQL database (one schema), one connection per store object.

    Many processes may open the same database; each uses its own ``PostgresStore``.
    """

    def __init__(self, conninfo: str, *, schema: str = "public", timeout: float = 60.0,
                 synchronous_commit: str = "on", url: str | None = None,
                 **libpq: str) -> None:
        self.url = url or masked(conninfo)
        self.schema = schema
        check_settings(self.url, schema, timeout, synchronous_commit)
        libpq.setdefault("connect_timeout", "10")
        self._tx: PostgresTransaction | None = None
        self._conn = connect(conninfo, self.url, libpq)
        self._cur = self._conn.cursor()
        try:
            configure_session(self._cur, schema, timeout, synchronous_commit.lower())
            open_schema(self._conn, self._cur, schema, self.url)
        except psycopg.Error as exc:
            kind = type(self._error(exc))  # a lock timeout may be retried; a privilege not
            self._conn.close()
            raise kind(f"{self.url}: cannot open the ledger schema {schema!r}: "
                       f"{one_line(exc)}") from exc
        except StoreError:
            self._conn.close()
            raise

    @classmethod
    def from_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> PostgresStore:
        """Parse ``postgresql://user@host:5432/dbname?schema=ledger&timeout=30``."""
        parsed = url_arguments(url, parts, options)
        return cls(parsed.conninfo, schema=parsed.schema, timeout=parsed.timeout,
                   synchronous_commit=parsed.synchronous_commit, url=masked(url),
                   **parsed.libpq)

    @classmethod
    def check_url(cls, url: str, parts: SplitResult, options: dict[str, str]) -> None:
        """Refuse what :meth:`from_url` would refuse, without connecting."""
        parsed = url_arguments(url, parts, options)
        check_settings(masked(url), parsed.schema, parsed.timeout, parsed.synchronous_commit)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        if self._tx is not None:
            raise StoreRefused(f"{self.url}: a transaction is already open on this store")
        tx = self._tx = PostgresTransaction(self._conn, self._cur)
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
        """The StoreError a driver error becomes (see :func:`store_error`)."""
        return store_error(self.url, exc, self._conn, committing=committing)

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
        rows = self._rows(READ_STOCK, (sku,))
        return Stock(*rows[0]) if rows else Stock.empty(sku)

    def stock_levels(self) -> dict[str, Stock]:
        rows = self._rows(f"SELECT {STOCK_COLUMNS} FROM stock ORDER BY sku")
        return {row[0]: Stock(*row) for row in rows}

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        rows = self._rows(READ_LINE, (order_id, sku))
        return line_from_row(rows[0]) if rows else None

    def order_lines(self) -> dict[tuple[str, str], OrderLine]:
        rows = self._rows(f"SELECT {LINE_COLUMNS} FROM order_lines ORDER BY order_id, sku")
        return {(row[0], row[1]): line_from_row(row) for row in rows}

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
        query = (f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(clauses)} "
                 f"ORDER BY seq LIMIT {_PAGE}")
        after = where.after_seq
        while True:  # keyset pages: new events only ever appear after the last seq
            rows = self._rows(query, (after, *params))
            for row in rows:
                yield event_from_row(row)
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
                cur.executemany(PUT_STOCK, list(replay.stock.values()))
            if replay.lines:
                cur.executemany(INSERT_LINE, [
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
