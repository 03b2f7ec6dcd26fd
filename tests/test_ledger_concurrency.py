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
