"""Several processes racing for the last units of one SKU in one SQLite file or PostgreSQL
database.

This is race 1 (the cross-marketplace double-buy) at the database level: the ledger
must hand out exactly the units it has, however the writers interleave.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from conftest import store_url
from postgres_server import require_postgres
from racesim.ledger import EventKind, Ledger

WORKERS = 8
RESERVATIONS_PER_WORKER = 50
UNITS = 100


def _race(url: str, worker: int, barrier: Barrier, results: Queue) -> None:
    """One marketplace's webhook handler: reserve 1 unit per order as fast as it can."""
    with Ledger.open(url) as ledger:
        barrier.wait(timeout=60)
        statuses = Counter(
            ledger.reserve("SKU-1", 1, order_id=f"W{worker}-{i}",
                           channel=f"channel-{worker}").status.value
            for i in range(RESERVATIONS_PER_WORKER))
    results.put(statuses)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_eight_processes_never_reserve_more_than_the_stock(tmp_path: Path, kind: str) -> None:
    if kind == "postgres":
        require_postgres()
    url = store_url(kind, tmp_path, "race")
    with Ledger.open(url) as ledger:
        ledger.restock("SKU-1", UNITS, ref="PO-1")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WORKERS), context.Queue()
    workers = [context.Process(target=_race, args=(url, w, barrier, results))
               for w in range(WORKERS)]
    for worker in workers:
        worker.start()
    totals = sum((results.get(timeout=240) for _ in workers), Counter())
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert totals == Counter(reserved=UNITS, rejected=WORKERS * RESERVATIONS_PER_WORKER - UNITS)
    with Ledger.open(url) as ledger:
        stock = ledger.stock("SKU-1")
        assert (stock.on_hand, stock.reserved, stock.available) == (UNITS, UNITS, 0)
        assert ledger.verify() == []
        kinds = Counter(ledger.events()["kind"])
        assert kinds == {EventKind.RESTOCK.value: 1, EventKind.RESERVE.value: UNITS,
                         EventKind.REJECT.value: WORKERS * RESERVATIONS_PER_WORKER - UNITS}
        assert sorted(ledger.events()["seq"]) == list(range(1, 1 + WORKERS *
                                                            RESERVATIONS_PER_WORKER + 1))


CLOCK_WORKERS = 4
CLOCK_ROUNDS = 25


def _stamp_on_receipt(url: str, worker: int, barrier: Barrier, results: Queue) -> None:
    """A webhook handler that stamps each command with its own receipt time, then waits for
    every other handler to have stamped too: commits then land in any order of stamps."""
    import time

    sent, refused = [], 0
    with Ledger.open(url) as ledger:
        for i in range(CLOCK_ROUNDS):
            at = time.time()
            barrier.wait(timeout=60)
            order_id = f"W{worker}-{i}"
            try:
                ledger.reserve("SKU-1", 1, order_id=order_id, channel=f"ch-{worker}", at=at)
                sent.append((order_id, at))
            except ValueError:
                refused += 1
    results.put((sent, refused))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_processes_stamping_their_own_clocks_are_never_refused(tmp_path: Path,
                                                               kind: str) -> None:
    """Receipt times from several processes interleave by milliseconds: the ledger takes
    every command, keeps each caller's time, and records them in non-decreasing order."""
    if kind == "postgres":
        require_postgres()
    url = store_url(kind, tmp_path, "clocks")
    with Ledger.open(url) as ledger:
        ledger.restock("SKU-1", CLOCK_WORKERS * CLOCK_ROUNDS, ref="PO-1")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(CLOCK_WORKERS), context.Queue()
    workers = [context.Process(target=_stamp_on_receipt, args=(url, w, barrier, results))
               for w in range(CLOCK_WORKERS)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sum(refused for _, refused in outcomes) == 0
    sent = dict(pair for pairs, _ in outcomes for pair in pairs)
    with Ledger.open(url) as ledger:
        events = [e for e in ledger.iter_events() if e.kind is EventKind.RESERVE]
        assert ledger.verify() == []
    assert {e.order_id: e.at for e in events} == sent  # each caller's time, exactly
    recorded = [e.recorded_at for e in events]
    assert recorded == sorted(recorded)
    assert any(e.recorded_at > e.at for e in events)  # some commit did trail another's stamp
