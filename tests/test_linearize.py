"""The linearizability checker: hand-made histories, the history file, and the CLI.

A history is a list of operations with their intervals (invoked → completed, seconds) and
the engine's answers; it is linearizable when one order that respects real time makes the
reference model give every answer. Each test below builds the smallest history that
shows one rule.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from racesim.chaos.engines import parse_engine
from racesim.chaos.history import (
    HistoryError,
    Operation,
    operation_from_json,
    read_history,
    write_history,
)
from racesim.chaos.linearize import (
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    UNDECIDED,
    check_history,
    components,
)
from racesim.chaos.recorder import record_trace
from racesim.chaos.run import run_seed
from racesim.chaos.timeline import timeline_figure, timeline_text
from racesim.chaos.witness import minimal_witness
from racesim.cli.main import main

# -- building histories by hand -----------------------------------------------------------


def restock(worker: int, t: tuple[float, float], sku: str = "MUG", quantity: int = 1,
            ref: str = "PO-1", status: str = "applied") -> dict[str, Any]:
    return {"worker": worker, "op": "restock", "invoked": t[0], "completed": t[1],
            "args": {"sku": sku, "quantity": quantity, "ref": ref, "at": 0.0},
            "answer": {"status": status}}


def reserve(worker: int, t: tuple[float, float], order_id: str, status: str,
            sku: str = "MUG", quantity: int = 1, decision: str = "",
            channel: str = "amazon") -> dict[str, Any]:
    answer = {"status": status, **({"decision": decision} if decision else {})}
    return {"worker": worker, "op": "reserve", "invoked": t[0], "completed": t[1],
            "args": {"order_id": order_id, "sku": sku, "quantity": quantity,
                     "channel": channel, "at": 1.0}, "answer": answer}


def available(worker: int, t: tuple[float, float], value: int,
              sku: str = "MUG") -> dict[str, Any]:
    return {"worker": worker, "op": "available", "invoked": t[0], "completed": t[1],
            "args": {"sku": sku}, "answer": {"value": value}}


def history(*records: dict[str, Any]) -> list[Operation]:
    return [operation_from_json(record, n) for n, record in enumerate(records)]


def verdict(*records: dict[str, Any], max_states: int = 100_000) -> str:
    return check_history(history(*records), max_states).status


DOUBLE_BUY = (
    restock(0, (0, 1)),
    available(3, (1.5, 1.8), 0, sku="CUP"),  # another SKU: another component
    reserve(1, (2, 5), "AMZ-1", "reserved"),
    reserve(2, (3, 6), "EBAY-7", "reserved", channel="ebay"),
    available(3, (7, 8), 0, sku="CUP"),
)


# -- verdicts -----------------------------------------------------------------------------


def test_a_sequential_history_whose_answers_the_model_gives_is_linearizable() -> None:
    assert verdict(restock(0, (0, 1), quantity=2), reserve(0, (2, 3), "A", "reserved"),
                   reserve(0, (4, 5), "B", "reserved"), reserve(0, (6, 7), "C", "rejected"),
                   available(0, (8, 9), 0),
                   {"worker": 0, "op": "release", "invoked": 10, "completed": 11,
                    "args": {"order_id": "A", "sku": "MUG", "at": 2.0},
                    "answer": {"status": "applied", "decision": "reserved"}},
                   {"worker": 0, "op": "stock", "invoked": 12, "completed": 13,
                    "args": {"sku": "MUG"}, "answer": {"on_hand": 2, "reserved": 1}}
                   ) == LINEARIZABLE


def test_the_double_buy_is_not_linearizable_and_its_witness_is_the_race() -> None:
    operations = history(*DOUBLE_BUY)
    check = check_history(operations)
    assert check.status == NOT_LINEARIZABLE
    assert check.failing is not None and check.failing.skus == ("MUG",)
    assert [v.status for v in check.verdicts] == [LINEARIZABLE, NOT_LINEARIZABLE]  # CUP, MUG
    mug = [o for o in operations if o.index in check.failing.operations]
    witness = minimal_witness(mug)
    assert [o.index for o in witness] == [0, 2, 3]  # the restock and the two reserves
    # Deleting either reserve makes it linearizable; deleting the restock leaves a reserve
    # answered "reserved" on an empty shelf, which its (absent) predecessors contradict.
    for gone in (2, 3):
        assert check_history([o for o in witness if o.index != gone]).status == LINEARIZABLE
    assert check_history([o for o in witness if o.index == 2]).status == NOT_LINEARIZABLE


@pytest.mark.parametrize(("first", "second"), [("reserved", "rejected"),
                                           ("rejected", "reserved")])
def test_two_overlapping_reserves_of_the_last_unit_one_refused_linearize_either_way(
        first: str, second: str) -> None:
    assert verdict(restock(0, (0, 1)), reserve(1, (2, 5), "A", first),
                   reserve(2, (3, 6), "B", second)) == LINEARIZABLE


@pytest.mark.parametrize(("seen", "expected"), [(2, LINEARIZABLE), (1, LINEARIZABLE),
                                            (0, NOT_LINEARIZABLE), (5, NOT_LINEARIZABLE)])
def test_a_read_overlapping_a_reserve_sees_it_or_not_but_nothing_else(
        seen: int, expected: str) -> None:
    assert verdict(restock(0, (0, 1), quantity=2), reserve(1, (2, 5), "A", "reserved"),
                   available(2, (3, 4), seen)) == expected


def test_a_read_after_a_completed_reserve_must_see_it() -> None:
    base = (restock(0, (0, 1)), reserve(1, (2, 3), "A", "reserved"))
    assert verdict(*base, available(2, (4, 5), 1)) == NOT_LINEARIZABLE
    assert verdict(*base, available(2, (4, 5), 0)) == LINEARIZABLE
    assert verdict(*base, available(2, (2.5, 3.5), 1)) == LINEARIZABLE  # overlapping


def test_a_replayed_order_is_answered_as_the_reference_says() -> None:
    stocked = restock(0, (0, 1))
    assert verdict(stocked, reserve(1, (2, 3), "A", "reserved"),
                   reserve(1, (4, 5), "A", "duplicate", decision="reserved")) == LINEARIZABLE
    assert verdict(stocked, reserve(1, (2, 3), "A", "reserved"),
                   reserve(1, (4, 5), "A", "reserved")) == NOT_LINEARIZABLE  # taken twice
    assert verdict(stocked, reserve(1, (2, 3), "A", "reserved"),
                   reserve(1, (4, 5), "A", "mismatch", quantity=2, decision="reserved")
                   ) == LINEARIZABLE
    # Two copies racing: whichever came first reserved, the other is the duplicate.
    for a, b in (("reserved", "duplicate"), ("duplicate", "reserved")):
        assert verdict(stocked, reserve(1, (2, 5), "A", a, decision="reserved"),
                       reserve(2, (3, 6), "A", b, decision="reserved")) == LINEARIZABLE
    assert verdict(stocked, reserve(1, (2, 5), "A", "reserved"),
                   reserve(2, (3, 6), "A", "reserved")) == NOT_LINEARIZABLE


def test_an_error_is_explained_only_where_a_correct_engine_refuses() -> None:
    release = {"worker": 1, "op": "release", "invoked": 2, "completed": 3,
               "args": {"order_id": "A", "sku": "MUG", "at": 1.0},
               "answer": {"error": "LedgerError: no such line"}}
    assert verdict(release) == LINEARIZABLE  # a cancellation before its order
    assert verdict(reserve(0, (0, 1), "A", "reserved", quantity=1) | {
        "answer": {"status": "rejected"}}, release) == NOT_LINEARIZABLE


def test_a_batch_joins_the_skus_it_touches_and_is_all_or_nothing() -> None:
    def batch(t: tuple[float, float], answer: dict[str, Any]) -> dict[str, Any]:
        return {"worker": 5, "op": "batch", "invoked": t[0], "completed": t[1],
                "args": {"commands": [
                    {"op": "reserve", "args": {"order_id": "M", "sku": "MUG", "quantity": 1,
                                               "channel": "shop", "at": 1.0}},
                    {"op": "release", "args": {"order_id": "Z", "sku": "CAP", "at": 1.0}}]},
                "answer": answer}

    stocked = (restock(0, (0, 1)), restock(0, (1, 2), sku="CAP"), restock(0, (2, 3), sku="HAT"))
    rolled_back = history(*stocked, batch((4, 5), {"error": "no such line Z"}),
                          available(1, (6, 7), 1))
    assert [sorted({s for o in group for s in o.skus}) for group in components(rolled_back)
            ] == [["CAP", "MUG"], ["HAT"]]
    assert check_history(rolled_back).status == LINEARIZABLE
    applied = {"answers": [{"status": "reserved"}, {"status": "applied"}]}
    assert verdict(*stocked, batch((4, 5), applied)) == NOT_LINEARIZABLE  # Z does not exist
    assert verdict(*stocked, batch((4, 5), {"error": "x"}),
                   available(1, (6, 7), 0)) == NOT_LINEARIZABLE  # rolled back: still 1


def test_the_state_bound_gives_undecided_never_a_pass() -> None:
    racing = [restock(n, (0, 10), ref=f"PO-{n}") for n in range(8)]
    records = (*racing, available(9, (11, 12), 9))  # 8 units, read as 9: no order explains
    check = check_history(history(*records), max_states=50)
    assert check.status == UNDECIDED != LINEARIZABLE
    assert str(check) == f"undecided (state bound reached after {check.states} states)"
    assert check_history(history(*records)).status == NOT_LINEARIZABLE
    assert check_history(history(*racing), max_states=8).status == LINEARIZABLE
    with pytest.raises(ValueError, match="max_states"):
        check_history(history(*racing), max_states=0)


def test_the_check_and_the_witness_are_the_same_every_time() -> None:
    operations = history(*DOUBLE_BUY, reserve(4, (5.5, 6.5), "X", "rejected"),
                         available(5, (4, 4.5), 0))
    runs = [(str(check_history(operations)),
             [o.index for o in minimal_witness([o for o in operations if o.skus == ("MUG",)])])
            for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][1] == [0, 2, 3]


def test_the_timeline_draws_each_interval_on_one_axis() -> None:
    witness = history(*DOUBLE_BUY)
    text = timeline_text(witness, width=20).splitlines()
    assert len(text) == 1 + len(witness) and "operation" in text[0] and "8 s" in text[0]
    assert text[1].startswith("w0") and "restock" in text[1] and "applied" in text[1]
    bar = text[3].split("|")[1]
    assert bar.index("=") == int(2 / 8 * 19) and bar.rindex("=") == int(5 / 8 * 19)
    figure = timeline_figure(witness)
    assert len(figure.axes[0].patches) == len(witness)


# -- the history file ---------------------------------------------------------------------


def test_a_history_survives_the_json_lines_round_trip(tmp_path: Path) -> None:
    operations = history(*DOUBLE_BUY, {
        "worker": 7, "op": "batch", "invoked": 9, "completed": 9.5,
        "args": {"commands": [{"op": "adjust", "args": {"sku": "MUG", "delta": -1,
                                                        "reason": "count", "ref": "C-1",
                                                        "at": 3.0}}]},
        "answer": {"answers": [{"status": "applied"}]}})
    path = write_history(tmp_path / "h.jsonl", operations)
    assert json.loads(path.read_text().splitlines()[0]) == {"racesim_history": 1}
    again = read_history(path)
    assert [o.to_json() for o in again] == [o.to_json() for o in operations]
    assert again == operations


GOOD = json.dumps(restock(0, (0, 1)))


@pytest.mark.parametrize(("line", "where"), [
    ("{not json", "line 2: not JSON"),
    ('[1, 2]', "line 2: field '(line)': must be a JSON object"),
    (json.dumps({**restock(0, (2, 3)), "op": "sell"}), "line 2: field 'op': must be one of"),
    (json.dumps({**restock(0, (2, 3)), "extra": 1}), "line 2: field '(line)': unknown key"),
    (json.dumps(restock(0, (2, 3), quantity=0)), "line 2: field 'args.quantity': must be ≥ 1"),
    (json.dumps({**restock(0, (2, 3)), "completed": 1}), "line 2: field 'completed'"),
    (json.dumps({**restock(0, (2, 3)), "worker": -1}), "line 2: field 'worker'"),
    (json.dumps({**restock(0, (2, 3)), "invoked": "soon"}), "line 2: field 'invoked'"),
    (json.dumps({**restock(0, (2, 3)), "invoked": 10**400}), "line 2: field 'invoked'"),
    (json.dumps(restock(0, (2, 3), status="done")), "line 2: field 'answer.status'"),
    (json.dumps(available(0, (2, 3), 1) | {"answer": {"value": 1.5}}),
     "line 2: field 'answer.value'"),
    (json.dumps(reserve(0, (0.5, 3), "A", "reserved")), "line 2: field 'invoked': worker 0"),
])
def test_a_malformed_line_is_one_error_naming_the_file_line_and_field(
        tmp_path: Path, line: str, where: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(f"{GOOD}\n{line}\n")
    with pytest.raises(HistoryError) as caught:
        read_history(path)
    assert str(caught.value).startswith(f"{path}: {where}")
    assert "\n" not in str(caught.value)


# -- racesim chaos --check ------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main(["chaos", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_cli_exit_status_is_the_verdict(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_history(tmp_path / "bad.jsonl", history(*DOUBLE_BUY))
    good = write_history(tmp_path / "good.jsonl", history(*DOUBLE_BUY[:3]))
    status, out, _ = _cli(capsys, "--check", good)
    assert status == 0 and out.rstrip().endswith(": linearizable")
    status, out, _ = _cli(capsys, "--check", bad, "--out", tmp_path / "out")
    assert status == 1 and "not linearizable" in out and "AMZ-1" in out and "EBAY-7" in out
    witness = read_history(tmp_path / "out" / "witness.jsonl")
    assert [o.describe() for o in witness] == [o.describe() for o in history(*DOUBLE_BUY)
                                               if o.skus == ("MUG",)]
    assert (tmp_path / "out" / "witness.png").stat().st_size > 1000
    report = json.loads((tmp_path / "out" / "check.json").read_text())
    assert report["verdict"] == NOT_LINEARIZABLE and report["failing_skus"] == ["MUG"]
    again = _cli(capsys, "--check", bad)
    assert again[:2] == (1, out)  # the same verdict and witness, printed the same way
    status, out, _ = _cli(capsys, "--check", bad, "--max-states", 2)
    assert status == 4 and "undecided (state bound reached after 2 states)" in out
    (tmp_path / "broken.jsonl").write_text('{"op": "reserve"}\n')
    status, _, err = _cli(capsys, "--check", tmp_path / "broken.jsonl")
    assert status == 2 and "broken.jsonl: line 1: field '(line)': missing key(s)" in err
    status, _, err = _cli(capsys, "--check", tmp_path / "absent.jsonl")
    assert status == 2 and "absent.jsonl: cannot read it" in err
    status, _, err = _cli(capsys, "--max-states", 5)
    assert status == 2 and "--max-states applies to --check and to --concurrency above 1" in err


# -- the swarm, recorded ------------------------------------------------------------------


def _flipped(operation: Operation) -> Operation:
    """The same operation with an answer a correct engine never gives there."""
    answer = dict(operation.answer)
    if "value" in answer:
        answer["value"] += 1
    elif "on_hand" in answer:
        answer["reserved"] += 1
    elif "error" in answer:
        answer = {"status": "applied"}
    else:
        answer = {"status": {"reserved": "rejected", "rejected": "reserved",
                             "applied": "duplicate"}.get(answer["status"], "applied")}
    return Operation(operation.index, operation.worker, operation.op, operation.invoked_s,
                     operation.completed_s, operation.commands, operation.sku, answer)


@pytest.mark.parametrize("seed", range(8))
def test_the_swarm_recorded_on_the_ledger_is_linearizable_and_one_flip_is_not(
        seed: int) -> None:
    spec = parse_engine("ledger")
    run = run_seed(spec, seed, keep_trace=True)
    engine = spec.open(f"linearize{seed}")
    ticks = itertools.count()
    try:
        operations = record_trace(engine, run.trace, clock=lambda: float(next(ticks)))
    finally:
        spec.discard(engine)
    assert {o.op for o in operations} >= {"restock", "reserve", "available", "stock"}
    assert check_history(operations).status == LINEARIZABLE
    rng = np.random.default_rng(seed)
    for victim in rng.choice(len(operations), size=3, replace=False):
        changed = [_flipped(o) if o.index == victim else o for o in operations]
        check = check_history(changed)
        assert check.status == NOT_LINEARIZABLE, operations[victim]
        assert check.failing is not None and int(victim) in check.failing.operations


def test_a_flipped_answer_in_a_swarm_history_shrinks_to_it_and_its_context() -> None:
    spec = parse_engine("ledger")
    run = run_seed(spec, 1, keep_trace=True)
    engine = spec.open("linearize-witness")
    ticks = itertools.count()
    try:
        operations = record_trace(engine, run.trace, clock=lambda: float(next(ticks)))
    finally:
        spec.discard(engine)
    victim = int(np.random.default_rng(1).integers(len(operations)))
    changed = [_flipped(o) if o.index == victim else o for o in operations]
    failing = check_history(changed).failing
    assert failing is not None
    group = [o for o in changed if o.index in failing.operations]
    witness = minimal_witness(group)
    assert len(witness) > 1, "the flipped answer alone explains nothing"
    assert len(witness) < len(group), "the witness kept the whole group"
    assert witness[-1].index == victim, "the witness ends elsewhere than the flip"
    assert check_history(witness).status == NOT_LINEARIZABLE
    assert check_history([o for o in witness if o.index != victim]).status == LINEARIZABLE
    assert all(o.op not in ("available", "stock") for o in witness[:-1])  # reads explain nothing
    assert [o.index for o in minimal_witness(group)] == [o.index for o in witness]


def test_the_naive_counter_recorded_on_a_failing_seed_is_not_linearizable() -> None:
    spec = parse_engine("naive_counter")
    run = run_seed(spec, 0, keep_trace=True)
    assert run.violation is not None  # the sequential auditor catches it too
    engine = spec.open("linearize-naive")
    ticks = itertools.count()
    try:
        operations = record_trace(engine, run.trace, clock=lambda: float(next(ticks)))
    finally:
        spec.discard(engine)
    check = check_history(operations)
    assert check.status == NOT_LINEARIZABLE
    assert check.failing is not None
    witness = minimal_witness([o for o in operations if o.index in check.failing.operations])
    assert witness and check_history(witness).status == NOT_LINEARIZABLE
