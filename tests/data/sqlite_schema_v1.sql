-- The ledger schema version 1 (before events.recorded_at), kept to test migration.
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY,
    at       REAL    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('RESTOCK', 'RESERVE', 'REJECT', 'RELEASE', 'FULFILL', 'RETURN', 'ADJUST')),
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
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;

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
    status   TEXT    NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'fulfilled')),
    returned INTEGER NOT NULL CHECK (returned >= 0 AND returned <= quantity),
    seq      INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('schema_version', '1')
    ON CONFLICT (key) DO NOTHING;
