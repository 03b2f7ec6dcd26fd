"""The SQLite store's tables: their DDL, the schema version and its migrations.

The schema does the enforcing: idempotency keys are UNIQUE (written with
``INSERT … ON CONFLICT DO NOTHING``), events cannot be updated or deleted (triggers), the
projection rows carry CHECK constraints, and ``meta`` holds the ``schema_version``.

:func:`open_schema` creates the tables on first use and migrates older versions; the
column list and row readers here are the tables' layout as the store reads them. The
PostgreSQL store's counterpart is :mod:`racesim.ledger.postgres_schema`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from racesim.errors import StoreRefused
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus

__all__ = ["SCHEMA", "SCHEMA_VERSION", "event_from_row", "line_from_row", "open_schema"]

SCHEMA_VERSION = 2
"""Version 2 added ``events.recorded_at`` (the record time); version-1 files are migrated
in place when opened (their record time is their ``at``: version 1 kept ``at`` in order)."""

_KINDS = ", ".join(f"'{k.value}'" for k in EventKind)
_STATUSES = ", ".join(f"'{s.value}'" for s in OrderStatus)

_EVENTS = f"""
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    at       REAL    NOT NULL,
    recorded_at REAL NOT NULL CHECK (recorded_at >= at),
    kind     TEXT    NOT NULL CHECK (kind IN ({_KINDS})),
    sku      TEXT    NOT NULL CHECK (sku <> ''),
    quantity INTEGER NOT NULL CHECK (quantity <> 0 AND (kind = 'ADJUST' OR quantity > 0)),
    command  TEXT    NOT NULL,
    order_id TEXT    NOT NULL DEFAULT '',
    channel  TEXT    NOT NULL DEFAULT '',
    ref      TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT '' CHECK (kind <> 'ADJUST' OR reason <> ''),
    UNIQUE (order_id, sku, command, ref)
);
CREATE INDEX IF NOT EXISTS events_by_sku ON events (sku, seq);
"""

_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
"""

_PROJECTION = f"""
CREATE TABLE IF NOT EXISTS stock (
    sku      TEXT    PRIMARY KEY,
    on_hand  INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved INTEGER NOT NULL CHECK (reserved >= 0),
    shipped  INTEGER NOT NULL CHECK (shipped >= 0),
    returned INTEGER NOT NULL CHECK (returned >= 0),
    seq      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT    NOT NULL,
    sku      TEXT    NOT NULL,
    channel  TEXT    NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    status   TEXT    NOT NULL CHECK (status IN ({_STATUSES})),
    returned INTEGER NOT NULL CHECK (returned >= 0 AND returned <= quantity),
    seq      INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')
    ON CONFLICT (key) DO NOTHING;
"""

SCHEMA = _EVENTS + _TRIGGERS + _PROJECTION

# Version 1 → 2: the events table is rebuilt with its new column (SQLite cannot add a
# column with a CHECK that reads another), the rows copied with recorded_at = at.
_MIGRATE_1_TO_2 = f"""
DROP TRIGGER IF EXISTS events_no_update;
DROP TRIGGER IF EXISTS events_no_delete;
DROP INDEX IF EXISTS events_by_sku;
ALTER TABLE events RENAME TO events_v1;
{_EVENTS}
INSERT INTO events (seq, at, recorded_at, kind, sku, quantity, command, order_id, channel,
                    ref, reason)
    SELECT seq, at, at, kind, sku, quantity, command, order_id, channel, ref, reason
    FROM events_v1 ORDER BY seq;
DROP TABLE events_v1;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"""

EVENT_COLUMNS = ("seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, "
                 "reason")


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into complete statements (triggers keep their inner ``;``)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""


def event_from_row(row: tuple) -> Event:
    """An ``events`` row (columns :data:`EVENT_COLUMNS`) as an :class:`Event`."""
    seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, reason = row
    return Event(seq, at, recorded_at, EventKind(kind), sku, quantity, command, order_id,
                 channel, ref, reason)


def line_from_row(row: tuple) -> OrderLine:
    """An ``order_lines`` row as an :class:`OrderLine`."""
    order_id, sku, channel, quantity, status, returned, seq = row
    return OrderLine(order_id, sku, channel, quantity, OrderStatus(status), returned, seq)


def open_schema(connection: sqlite3.Connection, url: str) -> None:
    """Create the ledger's tables on first use, migrate an older file, and refuse
    (:class:`StoreRefused`) a version this racesim does not read.

    Runs inside the opening write transaction (``BEGIN IMMEDIATE``), so processes opening
    the same new file at once create it exactly once.
    """
    _migrate(connection)
    for statement in _statements(SCHEMA):
        connection.execute(statement)
    version = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'")
    found = int(version.fetchone()[0])
    if found != SCHEMA_VERSION:
        raise StoreRefused(f"{url}: schema version {found}, this racesim reads "
                           f"version {SCHEMA_VERSION}")


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring an older file up to :data:`SCHEMA_VERSION`."""
    has_meta = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return  # a new file: the schema creates everything
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and row[0] == "1":
        for statement in _statements(_MIGRATE_1_TO_2):
            connection.execute(statement)
