"""Several ``Ledger`` objects over one in-memory store, one per thread: isolated transactions.

The memory store holds one lock from a transaction's begin to its commit and every read
takes it, so no reader sees another's uncommitted or rolled-back writes and check-then-act
inside one transaction is atomic. A ledger nobody holds any more is freed at once, by
reference counting alone.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from racesim.ledger import Ledger
from racesim.ledger.memory import MemoryStore

SKU = "MUG-RED"


def _race_last_unit(store: MemoryStore) -> list[str]:
    """Two threads, each with its own Ledger on ``store``, reserve the one unit at once."""
    ledgers = [Ledger(store), Ledger(store)]
    ledgers[0].restock(SKU, 1, "PO-1", at=1.0)
    barrier = threading.Barrier(2)
    answers: list[str] = ["", ""]

    def buy(n: int) -> None:
        barrier.wait()
        answers[n] = ledgers[n].reserve(SKU, 1, f"O-{n}", "web", at=2.0).status.value

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def test_two_ledgers_racing_for_the_last_unit_never_both_get_it() -> None:
    for _ in range(300):
        store = MemoryStore()
        assert _race_last_unit(store) == ["rejected", "reserved"]
        assert Ledger(store).available(SKU) == 0
        assert Ledger(store).verify() == []


def test_a_write_inside_an_open_transaction_is_not_seen_by_another_ledger() -> None:
    store = MemoryStore()
    writer, reader = Ledger(store), Ledger(store)
    inside, seen = threading.Event(), {}

    def fail_inside() -> None:
        with writer.batch():
            writer.restock(SKU, 5, "PO-1", at=1.0)
            inside.set()
            time.sleep(0.05)  # the reader is waiting now
            raise RuntimeError("the handler died before commit")

    def write_then_fail() -> None:
        with pytest.raises(RuntimeError):
            fail_inside()

    thread = threading.Thread(target=write_then_fail)
    thread.start()
    inside.wait()
    seen["available"] = reader.available(SKU)
    seen["on_hand"] = reader.stock(SKU).on_hand
    seen["events"] = reader.event_count()
    seen["log"] = len(list(reader.iter_events()))
    thread.join()
    assert seen == {"available": 0, "on_hand": 0, "events": 0, "log": 0}
    assert reader.available(SKU) == 0 and reader.event_count() == 0


def test_a_committed_write_is_seen_once_the_transaction_ends() -> None:
    store = MemoryStore()
    writer, reader = Ledger(store), Ledger(store)
    inside, seen = threading.Event(), []

    def write() -> None:
        with writer.batch():
            writer.restock(SKU, 5, "PO-1", at=1.0)
            inside.set()
            time.sleep(0.05)

    thread = threading.Thread(target=write)
    thread.start()
    inside.wait()
    seen.append(reader.available(SKU))  # blocks until commit: never a half-written batch
    thread.join()
    assert seen == [5]


def test_a_second_ledger_in_the_same_thread_joins_as_a_savepoint() -> None:
    store = MemoryStore()
    outer, inner = Ledger(store), Ledger(store)

    def inner_fails() -> None:
        with inner.batch():
            inner.restock("CUP-BLUE", 2, "PO-2", at=1.0)
            raise RuntimeError("inner fails")

    with outer.batch():
        outer.restock(SKU, 3, "PO-1", at=1.0)
        with pytest.raises(RuntimeError):
            inner_fails()
        assert inner.available(SKU) == 3  # the same thread sees its own open writes
    assert outer.available(SKU) == 3 and outer.available("CUP-BLUE") == 0
    assert outer.event_count() == 1 and outer.verify() == []
    # the rolled-back restock left its key behind it too: the same one now applies
    assert outer.restock("CUP-BLUE", 2, "PO-2", at=2.0).event.seq == 2
    assert outer.stock("CUP-BLUE", as_of=1.5).on_hand == 0 and outer.available("CUP-BLUE") == 2


def test_a_dropped_memory_ledger_is_freed_without_the_cycle_collector() -> None:
    """Its store and every event go as soon as the last reference does: a sweep runs
    thousands of replications, and the collector's pass over each finished ledger would
    cost more than its commands."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        ledger = Ledger.open("memory://")
        ledger.restock(SKU, 2, "PO-1", at=1.0)
        ledger.reserve(SKU, 1, "O-1", "web", at=2.0)
        with ledger.batch():
            ledger.fulfill("O-1", SKU, at=3.0)
        store = weakref.ref(ledger.store)
        del ledger
        assert store() is None
    finally:
        if was_on:
            gc.enable()
