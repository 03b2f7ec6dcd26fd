"""What the SQLite store adds to the contract: durability and rules kept by the schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from racesim.errors import StoreError, StoreRefused, StoreRetryable
from racesim.ledger import CommandStatus, Ledger, Stock

DATA = Path(__file__).parent / "data"


def test_the_ledger_survives_a_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    with Ledger.open(url) as ledger:
        assert ledger.available("SKU-1") == 1
        again = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=2)
        assert again.status is CommandStatus.DUPLICATE
        assert ledger.verify() == []


def test_the_file_uses_wal_and_full_sync_by_default(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        conn = ledger.store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with Ledger.open(f"sqlite:///{tmp_path / 'fast.db'}?synchronous=NORMAL") as ledger:
        assert ledger.store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_events_are_append_only_in_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET quantity = 5")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def test_idempotency_keys_are_unique_in_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO events (at, recorded_at, kind, sku, quantity, command, ref) "
                     "VALUES (1, 1, 'RESTOCK', 'SKU-1', 2, 'restock', 'PO-1')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO events (at, recorded_at, kind, sku, quantity, command, ref) "
                     "VALUES (1, 1, 'ADJUST', 'SKU-1', -1, 'adjust', 'CC-1')")  # no reason
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO events (at, recorded_at, kind, sku, quantity, command, ref) "
                     "VALUES (2, 1, 'RESTOCK', 'SKU-1', 2, 'restock', 'PO-2')")  # before at
    conn.close()


def test_a_version_1_file_is_migrated_in_place(tmp_path: Path) -> None:
    """A file written before record times existed opens, keeps every event and rule."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "sqlite_schema_v1.sql").read_text())
    conn.executescript(
        "INSERT INTO events (at, kind, sku, quantity, command, ref) "
        "VALUES (10, 'RESTOCK', 'SKU-1', 3, 'restock', 'PO-1');"
        "INSERT INTO events (at, kind, sku, quantity, command, order_id, channel) "
        "VALUES (20, 'RESERVE', 'SKU-1', 1, 'reserve', 'A-1', 'ebay');"
        "INSERT INTO stock VALUES ('SKU-1', 3, 1, 0, 0, 2);"
        "INSERT INTO order_lines VALUES ('A-1', 'SKU-1', 'ebay', 1, 'reserved', 0, 2);")
    conn.close()
    with Ledger.open(f"sqlite:///{path}") as ledger:
        assert [(e.seq, e.at, e.recorded_at) for e in ledger.iter_events()] == [
            (1, 10.0, 10.0), (2, 20.0, 20.0)]
        assert ledger.verify() == []
        assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="ebay",
                              at=30).status is CommandStatus.DUPLICATE
        assert ledger.reserve("SKU-1", 1, order_id="A-2", channel="ebay",
                              at=17).event.recorded_at == 20.0
        assert ledger.stock("SKU-1", as_of=15).reserved == 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta").fetchone()[0] == "2"
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET quantity = 5")
    conn.close()
    with Ledger.open(f"sqlite:///{path}") as ledger:  # opening again changes nothing
        assert ledger.event_count() == 3 and ledger.verify() == []


def test_a_database_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreRefused, match="schema version 99") as refused:
        Ledger.open(f"sqlite:///{path}")
    assert not refused.value.retryable


def test_an_unopenable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreRefused, match="cannot open the ledger database"):
        Ledger.open(f"sqlite:///{tmp_path / 'missing-dir' / 'ledger.db'}")


def test_a_write_lock_held_beyond_the_timeout_is_retryable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}?timeout=0.1"
    ledger = Ledger.open(url)
    ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process, mid-write
    try:
        with pytest.raises(StoreRetryable, match=r"database is locked.*retry it") as busy:
            ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
        assert busy.value.retryable
        assert isinstance(busy.value.__cause__, sqlite3.OperationalError)
        with pytest.raises(StoreRetryable, match="cannot open the ledger database"):
            Ledger.open(url)  # opening takes the write lock too (to create or migrate)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.event_count() == 1  # nothing of the refused command was written
    assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop",
                          at=1).status is CommandStatus.RESERVED  # sent again: it goes through
    ledger.close()


def test_a_write_the_schema_refuses_is_refused_not_retryable(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    with (pytest.raises(StoreRefused, match="refused a write: CHECK constraint") as refused,
          ledger.store.transaction() as tx):
        tx.put_stock(Stock("SKU-1", -1, 0, 0, 0, 1))
    assert not refused.value.retryable and isinstance(refused.value, StoreError)
    assert isinstance(refused.value.__cause__, sqlite3.IntegrityError)
    assert ledger.stock("SKU-1").on_hand == 2 and ledger.verify() == []
    ledger.close()
