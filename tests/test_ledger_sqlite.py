"""What the SQLite store adds to the contract: durability and rules kept by the schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from racesim.errors import StoreError
from racesim.ledger import CommandStatus, Ledger


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
        conn.execute("INSERT INTO events (at, kind, sku, quantity, command, ref) "
                     "VALUES (1, 'RESTOCK', 'SKU-1', 2, 'restock', 'PO-1')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO events (at, kind, sku, quantity, command, ref) "
                     "VALUES (1, 'ADJUST', 'SKU-1', -1, 'adjust', 'CC-1')")  # no reason
    conn.close()


def test_a_database_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Ledger.open(f"sqlite:///{path}")


def test_an_unopenable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the ledger database"):
        Ledger.open(f"sqlite:///{tmp_path / 'missing-dir' / 'ledger.db'}")
