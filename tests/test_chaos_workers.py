"""``racesim chaos --concurrency K --workers process``, HTTP engines at K > 1, retries.

K worker processes deliver a seed at a multiprocessing barrier and record the same
history records as K threads; only engines whose state lives outside a process qualify.
``racesim serve`` takes K connections at once and passes; a threaded HTTP service that
checks, then acts without a lock (tests/racy_service.py) passes one delivery at a time
and is caught at K = 8. Deadlocks between multi-SKU batches on PostgreSQL are sent again,
not reported.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from postgres_server import fresh_postgres_url, require_postgres
from racesim.chaos import recorder, run_chaos
from racesim.chaos.concurrent import draw_rounds, run_concurrent, run_concurrent_seed
from racesim.chaos.engines import EngineSpec, EngineUnderTest
from racesim.chaos.history import Operation
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from racesim.chaos.recorder import Recorder
from racesim.chaos.workers import ProcessWorkers, ThreadWorkers, merge
from racesim.cli.main import main
from racesim.errors import RacesimError, StoreRetryable
from racesim.ledger import Ledger
from racesim.ledger.protocol import EngineProtocolError
from racesim.webhooks.format import Webhook
from racesim.webhooks.server import WebhookServer
from racy_service import racy_service

TOKEN = "chaos-workers-test-token"


def _commands(operations: tuple[Operation, ...]) -> set[tuple[str, Webhook]]:
    """What was delivered, whoever delivered it and in whatever order (a refused delivery
    is sent again in a later round, stamped with its time: how often depends on the
    interleaving, so each delivery counts once, whatever its time)."""
    return {(op.op, replace(op.commands[0], at=0.0)) for op in operations if op.commands}


def test_processes_deliver_the_same_commands_as_threads_and_pass(tmp_path: Path) -> None:
    spec = EngineSpec("ledger", f"sqlite:///{tmp_path / 'chaos.db'}")
    by_process = run_concurrent(spec, [3], 4, workers="process")
    by_thread = run_concurrent(spec, [3], 4, workers="thread")
    for process_run, thread_run in zip(by_process, by_thread, strict=True):
        assert process_run.check.status == LINEARIZABLE, str(process_run.check)
        assert len({op.worker for op in process_run.operations}) == 4
        assert _commands(process_run.operations) == _commands(thread_run.operations)
        assert process_run.final_state is None and thread_run.passed
        assert [op.index for op in process_run.operations] == \
            list(range(len(process_run.operations)))
    assert not list(tmp_path.glob("chaos-*.db"))  # passing seeds' stores are deleted


FACTORY = '''
import os
from racesim.ledger import Ledger
from racesim.ledger.protocol import EngineProtocolError

def shared_ledger(run_id):
    """Every process of a run opens the run's one SQLite file, and says so."""
    folder = os.environ["CHAOS_WORKERS_DIR"]
    with open(os.path.join(folder, "calls.txt"), "a") as calls:
        calls.write(f"{os.getpid()} {run_id}\\n")
    return Ledger.open(f"sqlite:///{folder}/{run_id}.db")
'''


def test_a_factory_is_called_once_per_process_with_the_run_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "factory.py").write_text(FACTORY)
    monkeypatch.setenv("CHAOS_WORKERS_DIR", str(tmp_path))  # read in the workers, now
    spec = EngineSpec("python", f"{tmp_path / 'factory.py'}:shared_ledger")
    for run_id in ("s5", "s6"):  # SQLite may refuse three first opens at once (WAL switch)
        Ledger.open(f"sqlite:///{tmp_path / run_id}.db").close()
    runs = run_concurrent(spec, [5, 6], 3, workers="process")
    assert all(run.check.status == LINEARIZABLE for run in runs)
    calls = [line.split() for line in (tmp_path / "calls.txt").read_text().splitlines()]
    assert Counter(run_id for _, run_id in calls) == {"s5": 3, "s6": 3}
    assert len({pid for pid, _ in calls}) == 3 and str(os.getpid()) not in dict(calls)


DYING = '''
import os

def dying(run_id):
    os._exit(3)
'''


def test_a_worker_process_that_dies_stops_the_run_with_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "dying.py").write_text(DYING)
    spec = EngineSpec("python", f"{tmp_path / 'dying.py'}:dying")
    with pytest.raises(RacesimError, match=r"worker process \d died \(exit code 3\)"):
        run_concurrent_seed(spec, 0, 2, workers="process")


FAILS_ONCE = '''
from racesim.ledger import Ledger
from racesim.ledger.protocol import EngineProtocolError

def fails_in_seed_0(run_id):
    if run_id == "s0":
        raise OSError("cannot reach the shop's database")
    return Ledger.open(f"sqlite:///{__file__}.{run_id}.db")
'''


def test_an_engine_error_in_a_worker_is_raised_and_the_workers_go_on(tmp_path: Path) -> None:
    (tmp_path / "fails.py").write_text(FAILS_ONCE)
    spec = EngineSpec("python", f"{tmp_path / 'fails.py'}:fails_in_seed_0")
    Ledger.open(f"sqlite:///{tmp_path / 'fails.py'}.s1.db").close()
    with ProcessWorkers(2) as workers:
        with pytest.raises(EngineProtocolError, match="cannot reach the shop's database"):
            run_concurrent_seed(spec, 0, 2, workers=workers)
        assert run_concurrent_seed(spec, 1, 2, workers=workers).passed  # the barrier is reset


@pytest.mark.parametrize(("engine", "store", "shown"), [
    ("ledger", None, "memory:// store lives in one process"),
    ("ledger", "sqlite:///:memory:", "lives in one process's memory"),
    ("naive_counter", None, "naive_counter keeps its state in one process"),
])
def test_engines_whose_state_lives_in_one_process_are_refused_before_any_work(
        engine: str, store: str | None, shown: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["chaos", "--engine", engine, "--concurrency", "4", "--workers", "process",
            "--seeds", "1", "--out", str(out), *(["--store", store] if store else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert shown in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before any work


def test_process_workers_need_more_than_one_worker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--seeds", "1", "--workers", "process"]) == 2
    assert "needs --concurrency above 1" in capsys.readouterr().err


# -- HTTP engines at K > 1 ----------------------------------------------------------------

def test_racesim_serve_passes_eight_connections_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RACESIM_TOKEN", TOKEN)
    with WebhookServer.for_store(f"sqlite:///{tmp_path / 'served.db'}",
                                 token=TOKEN).start() as server:
        status = main(["chaos", "--engine", server.url, "--concurrency", "8",
                       "--seeds", "1", "--json"])
        assert server.engines.in_use == 0
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert '"not_linearizable": []' in printed and '"seeds": 1' in printed


@pytest.fixture
def racy_url() -> Iterator[str]:
    server = racy_service()
    try:
        yield server.url
    finally:
        server.stop()


def _racy(url: str) -> EngineSpec:
    return EngineSpec("http", url, f"r{time.monotonic_ns()}-")


def test_the_racy_service_passes_one_delivery_at_a_time(racy_url: str) -> None:
    report = run_chaos(_racy(racy_url), range(1))
    assert report.passed, report.failures[0].violation
    assert all(run.passed for run in run_concurrent(_racy(racy_url), range(2), 1))


def test_the_racy_service_is_caught_at_concurrency_8(racy_url: str) -> None:
    runs = run_concurrent(_racy(racy_url), range(20), 8, stop_at_failure=True)
    failed = runs[-1]
    assert failed.check.status == NOT_LINEARIZABLE, "not caught within 20 seeds"
    # a witness may be one read alone (an oversold SKU's negative available)
    assert failed.witness, "a failed run has no witness"
    assert len(failed.witness) < len(failed.operations), "the witness is the whole run"
    assert check_history(failed.witness).status == NOT_LINEARIZABLE
    assert len({op.worker for op in failed.operations}) == 8


SEQUENTIAL_SEEDS = 30
"""Seeds the racy service must pass one delivery at a time. 200 pass as well (≈ 55 s on an
idle 2-core machine: ~230 HTTP round trips a seed); 30 keep the suite within its budget."""


@pytest.mark.slow
def test_the_racy_service_passes_many_seeds_one_delivery_at_a_time(racy_url: str) -> None:
    runs = run_concurrent(_racy(racy_url), range(SEQUENTIAL_SEEDS), 1, stop_at_failure=True)
    assert len(runs) == SEQUENTIAL_SEEDS and all(run.passed for run in runs), \
        str(runs[-1].check)


def _caught_within(url: str, seeds: int, concurrency: int) -> bool:
    """Whether one of the first ``seeds`` seeds is not linearizable (the verdict alone:
    the witness, shown by the test above, is not searched for)."""
    workers = ThreadWorkers(concurrency)
    for seed in range(seeds):
        delivered = workers.deliver(_racy(url), f"s{seed}", draw_rounds(seed, concurrency))
        if check_history(delivered.operations).status == NOT_LINEARIZABLE:
            return True
    return False


@pytest.mark.slow
def test_the_racy_service_is_caught_within_20_seeds_in_9_of_10_runs(racy_url: str) -> None:
    caught = [_caught_within(racy_url, 20, 8) for _ in range(10)]
    assert sum(caught) >= 9, caught


def test_the_racy_service_is_caught_by_worker_processes(racy_url: str) -> None:
    runs = run_concurrent(_racy(racy_url), range(20), 4, workers="process",
                          stop_at_failure=True)
    assert runs[-1].check.status == NOT_LINEARIZABLE, "not caught within 20 seeds"


# -- retries ------------------------------------------------------------------------------

class _RollsBackFirst:
    """A real ledger whose store rolls back the first ``times`` commands as retryable."""

    def __init__(self, ledger: Ledger, times: int) -> None:
        self.ledger, self.left = ledger, times

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.ledger, name)
        if name not in ("restock", "reserve"):
            return method

        def rolled_back_first(*args: Any, **kwargs: Any) -> Any:
            if self.left:
                self.left -= 1
                raise StoreRetryable("deadlock detected: the transaction was rolled back")
            return method(*args, **kwargs)
        return rolled_back_first


def test_a_retryable_store_error_is_sent_again_over_http_and_in_process() -> None:
    restock = Webhook("stock.received", 0.0, "MUG", quantity=2, ref="PO-1")
    order = Webhook("order.created", 0.0, "MUG", "A-1", 1, "amazon")
    direct = Recorder(EngineUnderTest(_RollsBackFirst(Ledger.open(), 3), "flaky"))
    assert direct.command(restock) == {"status": "applied"}
    with WebhookServer(_RollsBackFirst(Ledger.open(), 2), auth=False).start() as server:
        served = Recorder(EngineSpec("http", server.url, "retry-").open("r"))
        assert served.command(order) == {"status": "rejected", "decision": "rejected"}
        assert served.command(restock) == {"status": "applied"}
    assert all("error" not in op.answer for op in direct.operations + served.operations)


def test_a_store_that_stays_unavailable_is_answered_as_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "RETRIES", 3)
    engine = EngineUnderTest(_RollsBackFirst(Ledger.open(), 10**6), "down")
    answer = Recorder(engine).command(Webhook("stock.received", 0.0, "MUG", quantity=1,
                                              ref="PO-1"))
    assert answer["error"].startswith("StoreRetryable")


@pytest.fixture
def postgres_url() -> str:
    require_postgres()
    return fresh_postgres_url("chaos_workers")


class _SlowBatches(Ledger):
    """The ledger, pausing after each reservation so that two batches interleave, and
    counting its batches the store rolled back as retryable."""

    rolled_back = 0

    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        result = super().reserve(*args, **kwargs)
        time.sleep(0.05)
        return result

    @contextlib.contextmanager
    def batch(self) -> Iterator[Ledger]:
        try:
            with super().batch() as ledger:
                yield ledger
        except StoreRetryable:
            self.rolled_back += 1
            raise


def test_postgres_deadlocks_between_multi_sku_batches_are_retried(postgres_url: str) -> None:
    ledgers = [_SlowBatches.open(postgres_url) for _ in range(2)]
    setup = Recorder(EngineUnderTest(ledgers[0], "pg"), 2)
    for sku in ("SKU-1", "SKU-2"):
        setup.command(Webhook("stock.received", 0.0, sku, quantity=5, ref=f"PO-{sku}"))
    recorders = [Recorder(EngineUnderTest(ledger, "pg"), w) for w, ledger in enumerate(ledgers)]
    batches = [[Webhook("order.created", 1.0, sku, f"{who}-{sku}", 1, "shop") for sku in skus]
               for who, skus in (("A", ("SKU-1", "SKU-2")), ("B", ("SKU-2", "SKU-1")))]
    barrier = threading.Barrier(2)

    def send(recorder: Recorder, batch: list[Webhook]) -> None:
        barrier.wait()  # both batches start together: each locks its first SKU
        recorder.batch(batch)

    threads = [threading.Thread(target=send, args=pair)
               for pair in zip(recorders, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sku in ("SKU-1", "SKU-2"):
        setup.read(sku)
    sent = [op for r in recorders for op in r.operations]
    # at least one deadlock, one victim each time; the victim's retry may deadlock again
    # (a batch holding the clock while it waits for a SKU row the other holds: see
    # racesim.ledger.postgres_transaction), so more than one is legitimate
    assert sum(ledger.rolled_back for ledger in ledgers) >= 1
    assert [op.answer for op in sent] == [{"answers": [{"status": "reserved",
                                                        "decision": "reserved"}] * 2}] * 2
    history = merge(op for r in (setup, *recorders) for op in r.operations)
    assert check_history(history).status == LINEARIZABLE
    assert ledgers[0].available("SKU-1") == ledgers[0].available("SKU-2") == 3
    ledgers[1].close()
    ledgers[0].destroy()


@pytest.mark.parametrize("workers", ["thread", "process"])
def test_the_ledger_on_postgres_passes_at_concurrency_8(postgres_url: str,
                                                        workers: str) -> None:
    runs = run_concurrent(EngineSpec("ledger", postgres_url), [1], 8, workers=workers)
    assert all(run.check.status == LINEARIZABLE for run in runs), [str(r.check) for r in runs]
    assert all(len({op.worker for op in run.operations}) == 8 for run in runs)
