"""What the PostgreSQL store adds to the contract: rules kept by the schema, row locks that
close the last-unit race between connections, a clock that keeps the log gap-free and in
time order, clear errors — and the simulation and the webhook state machine on it.

Every test here needs the throwaway server of ``postgres_server.py``: without PostgreSQL
they are skipped (under ``CI=true`` they fail).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from postgres_server import fresh_postgres_url, require_postgres
from racesim.cli.main import main
from racesim.errors import OrderStateError, StoreError, StoreRefused, StoreRetryable
from racesim.ledger import CommandStatus, EventKind, Ledger, Stock
from racesim.ledger.postgres import PostgresStore
from racesim.study.replications import replication_store
from test_ledger_stateful import STEPS, LedgerMachine

RESERVED, REJECTED, DUPLICATE = (CommandStatus.RESERVED, CommandStatus.REJECTED,
                                 CommandStatus.DUPLICATE)
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def url() -> str:
    """A fresh, empty ledger schema on the test server."""
    require_postgres()
    return fresh_postgres_url("pg")


@pytest.fixture
def open_ledgers(url: str) -> Iterator[Callable[..., Ledger]]:
    """Open ledgers on ``url`` (each a connection of its own); all closed afterwards."""
    opened: list[Ledger] = []

    def open_(options: str = "") -> Ledger:
        opened.append(Ledger.open(url + options))
        return opened[-1]

    yield open_
    for ledger in opened:
        ledger.close()


def raw(url: str) -> psycopg.Connection[Any]:
    """A plain autocommit connection to the ledger's schema, to poke at the tables."""
    schema = url.split("schema=")[1]
    conn = psycopg.connect(url.split("?")[0], autocommit=True)
    conn.execute(f'SET search_path TO "{schema}"')
    return conn


# -- the schema keeps the rules ------------------------------------------------------------


def test_the_ledger_survives_a_reopen(url: str) -> None:
    with Ledger.open(url) as ledger:
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    with Ledger.open(url) as ledger:
        assert ledger.available("SKU-1") == 1
        again = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=2)
        assert again.status is DUPLICATE
        assert ledger.event_count() == 2
        assert ledger.verify() == []


def test_each_schema_holds_its_own_ledger(url: str) -> None:
    other = fresh_postgres_url("other")
    with Ledger.open(url) as first, Ledger.open(other) as second:
        first.restock("SKU-1", 2, ref="PO-1", at=0)
        assert second.stock("SKU-1") == Stock.empty("SKU-1")
        assert second.restock("SKU-1", 5, ref="PO-1", at=0).event.seq == 1
        assert (first.available("SKU-1"), second.available("SKU-1")) == (2, 5)


def test_events_are_append_only_in_the_schema(url: str) -> None:
    Ledger.open(url).restock("SKU-1", 2, ref="PO-1", at=0)
    with raw(url) as conn:
        for statement in ("UPDATE events SET quantity = 5", "DELETE FROM events",
                          "TRUNCATE events"):
            with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
                conn.execute(statement)


def test_idempotency_keys_and_figures_are_checked_in_the_schema(url: str) -> None:
    Ledger.open(url).restock("SKU-1", 2, ref="PO-1", at=0)
    insert = ("INSERT INTO events (seq, at, recorded_at, kind, sku, quantity, command, ref, "
              "reason) VALUES (2, %s, %s, %s, 'SKU-1', %s, %s, %s, %s)")
    with raw(url) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation, match="events_idempotency_key"):
            conn.execute(insert, (1.0, 1.0, "RESTOCK", 2, "restock", "PO-1", ""))
        with pytest.raises(psycopg.errors.CheckViolation, match="events_adjust_has_reason"):
            conn.execute(insert, (1.0, 1.0, "ADJUST", -1, "adjust", "CC-1", ""))  # no reason
        with pytest.raises(psycopg.errors.CheckViolation, match="events_at_finite"):
            conn.execute(insert, (float("nan"), 1.0, "RESTOCK", 1, "restock", "PO-2", ""))
        with pytest.raises(psycopg.errors.CheckViolation, match="events_recorded_after_at"):
            conn.execute(insert, (2.0, 1.0, "RESTOCK", 1, "restock", "PO-2", ""))
        with pytest.raises(psycopg.errors.CheckViolation, match="stock_on_hand_check"):
            conn.execute("UPDATE stock SET on_hand = -1")


def test_the_log_refuses_a_gap_or_time_going_backwards(url: str) -> None:
    Ledger.open(url).restock("SKU-1", 2, ref="PO-1", at=10)
    insert = ("INSERT INTO events (seq, at, recorded_at, kind, sku, quantity, command, ref) "
              "VALUES (%s, %s, %s, 'RESTOCK', 'SKU-1', 1, 'restock', %s)")
    with raw(url) as conn:
        with pytest.raises(psycopg.errors.CheckViolation,
                           match="seq 3 recorded at 11 \\(at 11\\) does not follow"):
            conn.execute(insert, (3, 11.0, 11.0, "PO-2"))
        with pytest.raises(psycopg.errors.CheckViolation,
                           match="seq 2 recorded at 9 \\(at 9\\) does not follow"):
            conn.execute(insert, (2, 9.0, 9.0, "PO-2"))
        with pytest.raises(psycopg.errors.CheckViolation,
                           match="seq 2 recorded at 12 \\(at 9\\) does not follow"):
            conn.execute(insert, (2, 9.0, 12.0, "PO-2"))  # not max(at, last record time)
        conn.execute(insert, (2, 9.0, 10.0, "PO-2"))  # a trailing clock, recorded in order


def test_a_version_1_schema_is_migrated_in_place(url: str) -> None:
    """A schema written before record times existed opens, keeps every event and rule."""
    schema = url.split("schema=")[1]
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute((Path(__file__).parent / "data" / "postgres_schema_v1.sql").read_text())
        conn.execute("INSERT INTO events (seq, at, kind, sku, quantity, command, ref) "
                     "VALUES (1, 10, 'RESTOCK', 'SKU-1', 3, 'restock', 'PO-1')")
        conn.execute("INSERT INTO stock VALUES ('SKU-1', 3, 0, 0, 0, 1)")
        conn.execute("UPDATE clock SET seq = 1, at = 10")
    with Ledger.open(url) as ledger:
        assert [(e.seq, e.at, e.recorded_at) for e in ledger.iter_events()] == [
            (1, 10.0, 10.0)]
        assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="ebay",
                              at=8).event.recorded_at == 10.0
        assert ledger.verify() == []
    with raw(url) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == "2"
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            conn.execute("UPDATE events SET quantity = 5")
        with pytest.raises(psycopg.errors.CheckViolation, match="does not follow"):
            conn.execute("INSERT INTO events (seq, at, recorded_at, kind, sku, quantity, "
                         "command, ref) VALUES (3, 20, 25, 'RESTOCK', 'SKU-1', 1, 'restock', "
                         "'PO-2')")


def test_a_ledger_from_another_schema_version_is_refused(url: str) -> None:
    Ledger.open(url).close()
    with raw(url) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreRefused, match="schema version 99") as refused:
        Ledger.open(url)
    assert refused.value.retryable is False


# -- URLs and errors ----------------------------------------------------------------------


def test_urls_name_a_database_and_known_options_only(url: str) -> None:
    base = url.split("?")[0]
    with pytest.raises(StoreRefused, match=r"unknown option\(s\) \['journal'\]"):
        Ledger.open(f"{url}&journal=off")
    with pytest.raises(StoreRefused, match="timeout must be seconds"):
        Ledger.open(f"{url}&timeout=soon")
    with pytest.raises(StoreRefused, match="synchronous_commit='maybe'"):
        Ledger.open(f"{url}&synchronous_commit=maybe")
    with pytest.raises(StoreRefused, match="name one database"):
        Ledger.open(base.rsplit("/", 1)[0] + "/")
    with Ledger.open(url.replace("postgresql://", "postgres://", 1)) as ledger:
        assert isinstance(ledger.store, PostgresStore)
    with Ledger.open(f"{url}&synchronous_commit=off&timeout=5&application_name=t") as ledger:
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        assert ledger.available("SKU-1") == 1


def test_a_password_never_shows_in_the_url(url: str) -> None:
    with Ledger.open(url.replace("postgres@", "postgres:s3cret@", 1)) as ledger:
        assert "s3cret" not in ledger.url and ":***@" in ledger.url
    with pytest.raises(StoreError) as refused:
        Ledger.open("postgresql://postgres:s3cret@127.0.0.1:1/db?connect_timeout=2")
    assert "s3cret" not in str(refused.value)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to the ledger database") as refused:
        Ledger.open("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    assert isinstance(refused.value.__cause__, psycopg.OperationalError)


def test_a_write_the_database_refuses_is_a_store_error_and_rolls_back(url: str) -> None:
    ledger = Ledger.open(url)
    ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    with (pytest.raises(StoreRefused, match="refused a write") as refused,
          ledger.store.transaction() as tx):
        tx.put_stock(Stock("SKU-1", -1, 0, 0, 0, 1))
    assert isinstance(refused.value.__cause__, psycopg.errors.CheckViolation)
    assert not refused.value.retryable
    assert ledger.stock("SKU-1").on_hand == 2
    assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1).status is RESERVED
    assert ledger.verify() == []
    ledger.close()


def test_a_rolled_back_batch_leaves_no_gap_in_the_sequence(url: str) -> None:
    ledger = Ledger.open(url)
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)

    def crash_midway() -> None:
        with ledger.batch():
            ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
            ledger.restock("SKU-NEW", 1, ref="PO-2", at=1)
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        crash_midway()
    assert ledger.reserve("SKU-1", 1, order_id="A-2", channel="shop", at=2).event.seq == 2
    assert ledger.event_count() == 2
    assert [e.seq for e in ledger.iter_events()] == [1, 2]
    assert "SKU-NEW" not in ledger.levels()
    ledger.close()


def test_a_refused_command_on_a_new_sku_inside_a_batch_leaves_no_row(url: str) -> None:
    ledger = Ledger.open(url)
    with ledger.batch():
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        with pytest.raises(LookupError):
            ledger.fulfill("NOPE", "SKU-NEVER-SEEN", at=1)
    assert set(ledger.levels()) == {"SKU-1"}
    assert ledger.verify() == []
    ledger.close()


# -- locks between connections ------------------------------------------------------------


def test_the_second_buyer_of_the_last_unit_waits_and_is_refused(
        open_ledgers: Callable[..., Ledger]) -> None:
    first, second = open_ledgers(), open_ledgers()
    first.restock("SKU-1", 1, ref="PO-1", at=0)
    with ThreadPoolExecutor(1) as pool, first.batch():
        assert first.reserve("SKU-1", 1, order_id="AMZ-1", channel="amazon",
                             at=1).status is RESERVED
        waiting = pool.submit(second.reserve, "SKU-1", 1, order_id="EBAY-1", channel="ebay",
                              at=2)
        with pytest.raises(TimeoutError):
            waiting.result(timeout=0.5)  # blocked on SKU-1's row until the batch commits
    assert waiting.result(timeout=10).status is REJECTED
    assert first.verify() == []


def test_a_repeated_command_does_not_wait_for_the_clock(
        open_ledgers: Callable[..., Ledger]) -> None:
    holder, other = open_ledgers(), open_ledgers()
    holder.restock("SKU-1", 5, ref="PO-1", at=0)
    holder.reserve("SKU-2", 1, order_id="A-1", channel="shop", at=1)
    with ThreadPoolExecutor(1) as pool, holder.store.transaction() as tx:
        tx.last_at()  # hold the clock, as a writer between its append and its commit
        repeat = pool.submit(other.reserve, "SKU-2", 1, order_id="A-1", channel="shop", at=2)
        assert repeat.result(timeout=10).status is DUPLICATE
        write = pool.submit(other.restock, "SKU-1", 1, ref="PO-2", at=3)
        with pytest.raises(TimeoutError):
            write.result(timeout=0.5)
    assert write.result(timeout=10).event.seq == 3


def test_a_lock_held_too_long_is_a_clear_error(open_ledgers: Callable[..., Ledger]) -> None:
    holder, impatient = open_ledgers(), open_ledgers("&timeout=0.2")
    holder.restock("SKU-1", 5, ref="PO-1", at=0)
    with holder.batch():
        holder.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
        with pytest.raises(StoreRetryable,
                           match="gave up waiting for another writer's lock") as waited:
            impatient.reserve("SKU-1", 1, order_id="A-2", channel="shop", at=2)
        assert isinstance(waited.value.__cause__, psycopg.errors.LockNotAvailable)
    assert impatient.reserve("SKU-1", 1, order_id="A-2", channel="shop",
                             at=2).status is RESERVED


def test_batches_that_lock_two_skus_in_opposite_orders_fail_one_as_retryable(
        open_ledgers: Callable[..., Ledger]) -> None:
    """A deadlock: PostgreSQL finds it within deadlock_timeout (1 s) and rolls one back."""
    a, b = open_ledgers(), open_ledgers()
    a.restock("SKU-1", 5, ref="PO-1", at=0)
    a.restock("SKU-2", 5, ref="PO-2", at=0)
    a.reserve("SKU-2", 1, order_id="B-0", channel="shop", at=0)
    b_holds_sku2 = threading.Event()

    def b_batch() -> None:
        with b.batch():
            b.reserve("SKU-2", 1, order_id="B-0", channel="shop")  # a repeat: locks SKU-2 only
            b_holds_sku2.set()
            b.reserve("SKU-1", 1, order_id="B-2", channel="shop")

    errors: list[StoreError | None] = []
    with ThreadPoolExecutor(1) as pool:
        try:
            with a.batch():
                a.reserve("SKU-1", 1, order_id="A-1", channel="shop")
                other = pool.submit(b_batch)
                assert b_holds_sku2.wait(timeout=10)
                a.reserve("SKU-2", 1, order_id="A-2", channel="shop")
            errors.append(None)
        except StoreError as exc:
            errors.append(exc)
        errors.append(other.exception(timeout=30))  # type: ignore[arg-type]
    refused = [error for error in errors if error is not None]
    assert len(refused) == 1, errors  # exactly one of the two batches was rolled back
    victim = refused[0]
    assert isinstance(victim, StoreRetryable) and victim.retryable, repr(victim)
    assert isinstance(victim.__cause__, psycopg.errors.DeadlockDetected)
    assert "conflicted with another writer" in str(victim) and "retry it" in str(victim)
    assert a.verify() == []
    written = 5 if errors[0] is None else 4  # a's batch adds two events, b's one (and a repeat)
    assert [e.seq for e in a.iter_events()] == list(range(1, written + 1))
    if errors[0] is None:  # retried, as the class invites, the rolled-back batch goes through
        b_batch()
    else:
        with a.batch():
            a.reserve("SKU-1", 1, order_id="A-1", channel="shop")
            a.reserve("SKU-2", 1, order_id="A-2", channel="shop")
    assert a.event_count() == 6 and a.verify() == []


def _terminate(url: str, application_name: str) -> None:
    """End the server session of the ledger connected as ``application_name``."""
    with raw(url) as conn:
        ended = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE application_name = %s", (application_name,)).fetchall()
    assert ended == [(True,)]


def test_a_connection_lost_before_the_commit_is_retryable(url: str) -> None:
    with Ledger.open(url) as setup:
        setup.restock("SKU-1", 5, ref="PO-1", at=0)
    victim = Ledger.open(f"{url}&application_name=victim-1")

    def lose_the_connection_midway() -> None:
        with victim.batch():
            victim.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
            _terminate(url, "victim-1")
            victim.reserve("SKU-1", 1, order_id="A-2", channel="shop", at=2)

    with pytest.raises(StoreRetryable, match="lost before anything was committed") as lost:
        lose_the_connection_midway()
    assert lost.value.retryable
    victim.close()
    with Ledger.open(url) as again:  # on a new store, the retried batch goes through
        assert again.event_count() == 1 and again.order_line("A-1", "SKU-1") is None
        with again.batch():
            again.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
            again.reserve("SKU-1", 1, order_id="A-2", channel="shop", at=2)
        assert again.available("SKU-1") == 3


def test_a_connection_lost_while_committing_leaves_the_outcome_unknown(url: str) -> None:
    with Ledger.open(url) as setup:
        setup.restock("SKU-1", 5, ref="PO-1", at=0)
    victim = Ledger.open(f"{url}&application_name=victim-2")

    def lose_the_connection_before_the_commit() -> None:
        with victim.batch():
            victim.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
            _terminate(url, "victim-2")  # the commit is what finds the session gone

    with pytest.raises(StoreError, match="may or may not have been made") as lost:
        lose_the_connection_before_the_commit()
    assert type(lost.value) is StoreError and not lost.value.retryable
    victim.close()


def test_writers_on_many_skus_keep_one_gap_free_log_in_time_order(url: str) -> None:
    """Four connections at once, on their own and on shared SKUs, with wall-clock times."""
    with Ledger.open(url) as setup:
        for sku in ("SHARED", "OWN-0", "OWN-1", "OWN-2", "OWN-3"):
            setup.restock(sku, 40, ref="PO-0")

    def worker(w: int) -> None:
        with Ledger.open(url) as ledger:
            for i in range(30):
                sku = "SHARED" if i % 3 == 0 else f"OWN-{w}"
                order = f"W{w}-{i}"
                ledger.reserve(sku, 1, order_id=order, channel=f"ch-{w}")
                ledger.reserve(sku, 1, order_id=order, channel=f"ch-{w}")  # webhook retry
                if i % 4 == 1:
                    ledger.release(order, sku)
                elif i % 4 == 2:
                    ledger.fulfill(order, sku)
                if i % 10 == 0:
                    ledger.restock(sku, 1, ref=f"PO-{w}-{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    with Ledger.open(url) as ledger:
        events = list(ledger.iter_events())
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(a.at <= b.at for a, b in itertools.pairwise(events))
        assert len(events) == ledger.event_count() == 5 + 4 * (30 + 15 + 3)
        assert ledger.verify() == []


def test_a_release_racing_a_shipment_of_the_same_line_lets_exactly_one_win(url: str) -> None:
    lines = [f"ORD-{i}" for i in range(25)]
    with Ledger.open(url) as setup:
        setup.restock("SKU-1", len(lines), ref="PO-1")
        for order in lines:
            setup.reserve("SKU-1", 1, order_id=order, channel="shop")
    start = threading.Barrier(2)

    def cancel_or_ship(command: str) -> int:
        won = 0
        with Ledger.open(url) as ledger:
            start.wait(timeout=10)
            for order in lines:
                try:
                    result = getattr(ledger, command)(order, "SKU-1")
                except OrderStateError:
                    continue  # the other handler got there first
                won += result.status is CommandStatus.APPLIED
        return won

    with ThreadPoolExecutor(2) as pool:
        released, shipped = pool.map(cancel_or_ship, ["release", "fulfill"])
    assert released + shipped == len(lines)
    with Ledger.open(url) as ledger:
        kinds = [e.kind for e in ledger.iter_events() if e.kind in (EventKind.RELEASE,
                                                                    EventKind.FULFILL)]
        assert (kinds.count(EventKind.RELEASE), kinds.count(EventKind.FULFILL)) == (
            released, shipped)
        assert ledger.stock("SKU-1").reserved == 0
        assert ledger.verify() == []


# -- the simulation on PostgreSQL ------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["minimal.toml", "race1_double_buy.toml"])
def test_racesim_run_gives_the_same_summary_on_postgresql_as_in_memory(
        url: str, scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    summaries = []
    for store in ("memory://", url):
        assert main(["run", str(SCENARIOS / scenario), "--seed", "3", "--store", store,
                     "--json"]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
    assert summaries[0] == summaries[1]
    assert summaries[0]["orders_total"] >= 1
    with Ledger.open(replication_store(url, 0)) as ledger:  # each replication its own schema
        assert ledger.event_count() > 0 and ledger.verify() == []


# -- the webhook state machine on PostgreSQL ------------------------------------------------


class PostgresLedgerMachine(LedgerMachine):
    """The webhook traffic of ``test_ledger_stateful`` against a PostgreSQL schema."""

    store_kind = "postgres"

    def __init__(self) -> None:
        require_postgres()
        super().__init__()


TestPostgresLedgerUnderWebhookTraffic = PostgresLedgerMachine.TestCase
TestPostgresLedgerUnderWebhookTraffic.settings = settings(
    max_examples=max(10, settings.default.max_examples // 4), stateful_step_count=STEPS,
    deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestPostgresLedgerUnderWebhookTraffic.pytestmark = [pytest.mark.slow]  # about 40 s
