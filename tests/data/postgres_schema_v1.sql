-- The ledger schema version 1 (before events.recorded_at), kept to test migration.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE clock (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    seq      BIGINT  NOT NULL CHECK (seq >= 0),
    at       DOUBLE PRECISION CONSTRAINT clock_at_finite CHECK (at > '-Infinity'::float8 AND at < 'Infinity'::float8)
);
INSERT INTO clock (only_row, seq, at) VALUES (TRUE, 0, NULL);

CREATE TABLE events (
    seq      BIGINT  PRIMARY KEY CHECK (seq > 0),
    at       DOUBLE PRECISION NOT NULL CONSTRAINT events_at_finite
                                       CHECK (at > '-Infinity'::float8 AND at < 'Infinity'::float8),
    kind     TEXT    NOT NULL CONSTRAINT events_kind_known CHECK (kind IN ('RESTOCK', 'RESERVE', 'REJECT', 'RELEASE', 'FULFILL', 'RETURN', 'ADJUST')),
    sku      TEXT    NOT NULL CONSTRAINT events_sku_given CHECK (sku <> ''),
    quantity BIGINT  NOT NULL,
    command  TEXT    NOT NULL,
    order_id TEXT    NOT NULL DEFAULT '',
    channel  TEXT    NOT NULL DEFAULT '',
    ref      TEXT    NOT NULL DEFAULT '',
    reason   TEXT    NOT NULL DEFAULT '',
    CONSTRAINT events_quantity_signed CHECK (quantity <> 0 AND (kind = 'ADJUST' OR quantity > 0)),
    CONSTRAINT events_adjust_has_reason CHECK (kind <> 'ADJUST' OR reason <> ''),
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

CREATE FUNCTION racesim_events_in_order() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    last_seq BIGINT;
    last_at  DOUBLE PRECISION;
BEGIN
    SELECT seq, at INTO last_seq, last_at FROM events WHERE seq < NEW.seq
        ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> coalesce(last_seq, 0) + 1 OR NEW.at < last_at THEN
        RAISE EXCEPTION 'ledger event seq % at % does not follow the newest event '
            '(seq %, at %): events are numbered 1, 2, ... without gaps, in time order',
            NEW.seq, NEW.at, last_seq, last_at USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_in_order AFTER INSERT ON events
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
    status   TEXT    NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'fulfilled')),
    returned BIGINT  NOT NULL CHECK (returned >= 0 AND returned <= quantity),
    seq      BIGINT  NOT NULL,
    PRIMARY KEY (order_id, sku)
);

INSERT INTO meta (key, value) VALUES ('schema_version', '1');
