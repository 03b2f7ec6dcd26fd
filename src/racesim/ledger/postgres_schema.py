"""The PostgreSQL store's tables: their DDL, the schema version and its migrations.

The schema does the enforcing, as in SQLite: idempotency keys are UNIQUE (written with
``INSERT … ON CONFLICT DO NOTHING``), events cannot be updated, deleted or truncated
(triggers), the projection rows carry CHECK constraints, and ``meta`` holds the
``schema_version``. One more trigger keeps the log's order: each new event must carry the
next sequence number and the record time ``max(its at, the newest event's recorded_at)``,
or it is refused. ``clock`` is the single row holding the newest event's ``seq`` and record
time (see :mod:`racesim.ledger.postgres_transaction` for how it is locked).

:func:`open_schema` creates the tables on first use and migrates older versions; the
column lists and row readers here are the tables' layout as the store reads them.
"""

from __future__ import annotations

from typing import Any

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PostgreSQL store needs psycopg 3: "
                      "pip install 'racesim[postgres]'") from exc

from racesim.errors import StoreRefused
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus

__all__ = ["SCHEMA", "SCHEMA_VERSION", "event_from_row", "line_from_row", "open_schema"]

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

STOCK_COLUMNS = "sku, on_hand, reserved, shipped, returned, seq"
LINE_COLUMNS = "order_id, sku, channel, quantity, status, returned, seq"
EVENT_COLUMNS = ("seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, "
                 "reason")

_KIND = {kind.value: kind for kind in EventKind}
_STATUS = {status.value: status for status in OrderStatus}


def event_from_row(row: tuple[Any, ...]) -> Event:
    """An ``events`` row (columns :data:`EVENT_COLUMNS`) as an :class:`Event`."""
    seq, at, recorded_at, kind, sku, quantity, command, order_id, channel, ref, reason = row
    return Event(seq, at, recorded_at, _KIND[kind], sku, quantity, command, order_id, channel,
                 ref, reason)


def line_from_row(row: tuple[Any, ...]) -> OrderLine:
    """An ``order_lines`` row (columns :data:`LINE_COLUMNS`) as an :class:`OrderLine`."""
    order_id, sku, channel, quantity, status, returned, seq = row
    return OrderLine(order_id, sku, channel, quantity, _STATUS[status], returned, seq)


def open_schema(connection: psycopg.Connection[Any], cursor: psycopg.Cursor[Any],
                schema: str, url: str) -> None:
    """Create the ledger's tables in ``schema`` on first use, migrate an older version,
    and refuse (:class:`StoreRefused`) a version this racesim does not read.

    The session's ``search_path`` must already name ``schema``. Processes opening the
    same schema at once are serialised by an advisory lock, so exactly one creates it.
    """
    cur = cursor
    with connection.transaction():
        # Serialise first-time creation between processes opening the ledger at once.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"racesim.ledger:{schema}",))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
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
        raise StoreRefused(f"{url}: schema version {found}, this racesim reads "
                           f"version {SCHEMA_VERSION}")
