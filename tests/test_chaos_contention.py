"""Contention drawn on purpose for ``--concurrency K``: the rounds, the races, redelivery.

The rounds at K = 1 and the rounds the first two contention streams draw are pinned to
what earlier versions drew; cancels racing their orders and restocks racing
reservations only add rounds, and the checker gives the right verdict for each way they
can interleave. A delivery the engine refuses is redelivered in the next round.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from typing import Any

import pytest

from racesim.chaos.concurrent import draw_rounds as draw_rounds_reexported
from racesim.chaos.concurrent import run_concurrent_seed
from racesim.chaos.contention import deliver_share, draw_rounds
from racesim.chaos.engines import EngineSpec, EngineUnderTest
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from racesim.chaos.recorder import Recorder
from racesim.chaos.reference import ReferenceModel
from racesim.chaos.run import MAX_ATTEMPTS
from racesim.ledger import Ledger
from racesim.webhooks.format import Webhook
from test_linearize import available, reserve, restock, verdict

SEEDS = (0, 1, 2, 3, 7)

# Fingerprints of draw_rounds(seed, K) as drawn before cancels and restocks raced (K = 1:
# the sequential deliveries; K > 1: the rounds with duplicates and bursts only).
BEFORE_RACES = {
    1: {0: "d3931afe78829872", 1: "4f98db5cb6bc4b93", 2: "5fa85fadeadee47e",
        3: "b935c0b2d3fa753e", 7: "0aaba9d52c54b252"},
    2: {0: "a88d626d8b59729f", 1: "e9017a5bf1fb55fa", 2: "8689c9bbaf7090b8",
        3: "3fed21dffabb75ad", 7: "5bd06ebc2f0af396"},
    8: {0: "437b4323843ae318", 1: "ac43649a98ef4ce7", 2: "39104740f73c798c",
        3: "f0f6ce0b238b3dd8", 7: "028c58997f92365a"},
}


def fingerprint(rounds: list[list[Webhook]]) -> str:
    text = json.dumps([[w.to_json() for w in r] for r in rounds], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_race(round_: list[Webhook]) -> bool:
    return any(name.startswith("RACE") for w in round_ for name in (w.ref, w.order_id, w.id))


def test_one_worker_draws_exactly_what_it_drew_before() -> None:
    assert draw_rounds_reexported is draw_rounds
    for seed in SEEDS:
        rounds = draw_rounds(seed, 1)
        assert fingerprint(rounds) == BEFORE_RACES[1][seed], seed
        assert not any(is_race(r) for r in rounds)


@pytest.mark.parametrize("concurrency", [2, 8])
def test_races_only_add_rounds_to_what_the_first_streams_drew(concurrency: int) -> None:
    added = 0
    for seed in SEEDS:
        rounds = draw_rounds(seed, concurrency)
        kept = [r for r in rounds if not is_race(r)]
        assert fingerprint(kept) == BEFORE_RACES[concurrency][seed], seed
        assert all(1 <= len(r) <= concurrency for r in rounds)
        assert all(len({w.at for w in r}) == 1 for r in rounds)
        times = [r[0].at for r in rounds]
        assert times == sorted(times)  # rounds follow one another in time
        added += len(rounds) - len(kept)
    assert added > 0


def _line(w: Webhook) -> tuple[str, str]:
    return (w.order_id, w.sku)


def test_a_buyers_cancel_races_its_order_first_delivered_or_repeated() -> None:
    first_delivery = repeat = 0
    for seed in range(10):
        delivered: set[tuple[str, str]] = set()
        for round_ in draw_rounds(seed, 8):
            cancels = [w for w in round_ if w.type == "order.cancelled"
                       and w.id.startswith("RACE")]
            for cancel in cancels:
                orders = [w for w in round_ if w.type == "order.created"
                          and _line(w) == _line(cancel)]
                assert orders, "a racing cancel without its order in the round"
                if _line(cancel) in delivered:
                    repeat += 1
                else:
                    first_delivery += 1
            delivered |= {_line(w) for w in round_ if w.type == "order.created"}
    assert first_delivery > 0 and repeat > 0, (first_delivery, repeat)


def test_a_restock_races_orders_for_more_than_the_sku_held() -> None:
    races = 0
    for seed in range(10):
        model = ReferenceModel()
        for round_ in draw_rounds(seed, 8):
            if round_[0].ref.startswith("RACE-"):
                races += 1
                received, orders = round_[0], round_[1:]
                before = max(model.figures(received.sku).available, 0)
                wanted = sum(w.quantity for w in orders)
                assert received.type == "stock.received" and orders
                assert all(w.type == "order.created" and w.sku == received.sku
                           for w in orders)
                assert len({w.channel for w in orders}) == min(len(orders), 4)
                assert before < wanted <= before + received.quantity
            for webhook in round_:
                model.apply(webhook)
    assert races > 0


# -- the checker on each interleaving -------------------------------------------------------

def release(worker: int, t: tuple[float, float], order_id: str,
            answer: dict[str, Any], sku: str = "MUG") -> dict[str, Any]:
    return {"worker": worker, "op": "release", "invoked": t[0], "completed": t[1],
            "args": {"order_id": order_id, "sku": sku, "at": 1.0}, "answer": answer}


APPLIED, REFUSED = {"status": "applied"}, {"error": "InvalidCommand: cannot be applied yet"}


@pytest.mark.parametrize(("records", "expected"), [
    # the cancel lands first, refused; the order is reserved and stays so
    ([restock(0, (0, 1)), release(1, (2, 5), "A-1", REFUSED),
      reserve(2, (3, 4), "A-1", "reserved"), available(1, (6, 7), 0)], LINEARIZABLE),
    # the order lands first; the cancel frees it
    ([restock(0, (0, 1)), release(1, (2, 5), "A-1", APPLIED),
      reserve(2, (3, 4), "A-1", "reserved"), available(1, (6, 7), 1)], LINEARIZABLE),
    # a cancel acknowledged before its order was ever sent: lost, never redelivered
    ([restock(0, (0, 1)), release(1, (2, 3), "A-1", APPLIED),
      reserve(2, (4, 5), "A-1", "reserved")], NOT_LINEARIZABLE),
    # a cancel refused although its order was reserved before it was sent
    ([restock(0, (0, 1)), reserve(2, (2, 3), "A-1", "reserved"),
      release(1, (4, 5), "A-1", REFUSED)], NOT_LINEARIZABLE),
    # the refused cancel redelivered after its order: applied
    ([restock(0, (0, 1)), release(1, (2, 5), "A-1", REFUSED),
      reserve(2, (3, 4), "A-1", "reserved"), release(1, (6, 7), "A-1", APPLIED),
      available(1, (8, 9), 1)], LINEARIZABLE),
    # a repeat of a reserved order in flight while its cancel frees it: either order
    ([restock(0, (0, 1)), reserve(0, (2, 3), "A-1", "reserved"),
      release(1, (4, 7), "A-1", APPLIED),
      reserve(2, (5, 6), "A-1", "duplicate", decision="reserved"),
      available(1, (8, 9), 1)], LINEARIZABLE),
    # ... but the repeat may not reserve the line again
    ([restock(0, (0, 1)), reserve(0, (2, 3), "A-1", "reserved"),
      release(1, (4, 7), "A-1", APPLIED), reserve(2, (5, 6), "A-1", "reserved")],
     NOT_LINEARIZABLE),
])
def test_the_checker_judges_a_cancel_racing_its_order(records: list[dict[str, Any]],
                                                      expected: str) -> None:
    assert verdict(*records) == expected


def _orders(answers: tuple[str, ...], t: tuple[float, float]) -> list[dict[str, Any]]:
    return [reserve(k + 2, t, f"R-{k}", answer) for k, answer in enumerate(answers)]


@pytest.mark.parametrize(("restocked_at", "answers", "expected"), [
    ((2, 6), ("reserved", "reserved", "rejected"), LINEARIZABLE),  # restock landed last
    ((2, 6), ("reserved", "reserved", "reserved"), LINEARIZABLE),  # restock landed first
    ((2, 6), ("rejected", "rejected", "rejected"), NOT_LINEARIZABLE),  # one unit was there
    ((2, 6), ("reserved", "reserved", "reserved", "reserved"), NOT_LINEARIZABLE),  # 3 units
    ((0.5, 0.8), ("reserved", "reserved", "rejected"), NOT_LINEARIZABLE),  # restock done
])
def test_the_checker_judges_a_restock_racing_reservations(
        restocked_at: tuple[float, float], answers: tuple[str, ...], expected: str) -> None:
    records = [restock(0, (0, 0.4)), restock(1, restocked_at, quantity=2, ref="RACE-1"),
               *_orders(answers, (1, 5))]
    assert verdict(*records) == expected


# -- redelivery -------------------------------------------------------------------------------

def _counter() -> Any:
    ticks = itertools.count()
    return lambda: float(next(ticks))


def test_a_refused_delivery_is_redelivered_in_the_next_round_until_it_applies() -> None:
    engine = EngineUnderTest(Ledger.open("memory://"), "ledger")
    recorder = Recorder(engine, 0, _counter())
    rounds = [[Webhook("stock.received", 0.0, "MUG", quantity=1, ref="PO-1")],
              [Webhook("order.cancelled", 1.0, "MUG", "A-1")],
              [Webhook("order.created", 2.0, "MUG", "A-1", 1, "amazon")],
              [Webhook("return.received", 3.0, "MUG", "B-1", 1, ref="RMA-1")]]
    deliver_share(recorder, rounds, 0, lambda: None)
    commands = [(o.op, o.commands[0].at, o.answer_text()) for o in recorder.operations
                if o.commands]
    assert commands[:5] == [("restock", 0.0, "applied"), ("release", 1.0, commands[1][2]),
                            ("release", 2.0, commands[2][2]), ("reserve", 2.0, "reserved"),
                            ("release", 3.0, "applied (reserved)")]
    assert commands[1][2].startswith("error") and commands[2][2].startswith("error")
    returns = [c for c in commands if c[0] == "return_"]
    assert len(returns) == MAX_ATTEMPTS  # never applies: given up after MAX_ATTEMPTS
    assert all(answer.startswith("error") for _, _, answer in returns)
    assert {at for _, at, _ in returns} == {3.0}  # after the last round: its time
    assert check_history(recorder.operations).status == LINEARIZABLE
    assert engine.engine.order_line("A-1", "MUG").status.value == "released"


def test_workers_redeliver_what_the_engine_refused_at_concurrency_8() -> None:
    run = run_concurrent_seed(EngineSpec("ledger", "memory://"), 3, 8)
    assert run.passed, (str(run.check), run.final_state)
    sent: Counter[tuple[int, tuple[str, str, str, str]]] = Counter()
    refused = []
    for operation in run.operations:
        if operation.commands:
            key = (operation.worker, operation.commands[0].key)
            sent[key] += 1
            if "error" in operation.answer:
                refused.append((operation, key, sent[key]))
    assert refused
    for operation, key, times in refused:
        later = [o for o in run.operations if o.index > operation.index
                 and o.worker == key[0] and o.commands and o.commands[0].key == key[1]]
        assert later or times == MAX_ATTEMPTS, operation.describe()
    racing = {w.order_id for r in draw_rounds(3, 8) for w in r if w.id.startswith("RACE")}
    last = {o.commands[0].order_id: o.answer_text() for o in run.operations
            if o.op == "release" and o.commands[0].order_id in racing}
    assert racing and set(last) == racing
    assert all(answer.startswith(("applied", "duplicate")) for answer in last.values())
