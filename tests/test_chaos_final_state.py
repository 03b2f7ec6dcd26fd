"""The sequential auditor's invariants on the state a concurrent run leaves behind.

The engines of tests/concurrent_mutants.py answer every concurrent delivery as the real
ledger does, so their histories linearize; each leaves one thing broken at rest — its log,
its own check, its figures as of the past — and the final-state audit fails the seed for
it, on the command line too. The real ledger passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from racesim.chaos.concurrent import run_concurrent_seed
from racesim.chaos.contention import deliver_share, draw_rounds
from racesim.chaos.engines import EngineSpec, EngineUnderTest
from racesim.chaos.final_state import FINAL_INVARIANTS, audit_final_state
from racesim.chaos.linearize import LINEARIZABLE, check_history
from racesim.chaos.recorder import Recorder
from racesim.cli.main import main
from racesim.ledger import Ledger

MUTANTS = Path(__file__).with_name("concurrent_mutants.py")
RACY = Path(__file__).with_name("racy_engine.py")


def mutant(name: str) -> EngineSpec:
    return EngineSpec("python", f"{MUTANTS}:{name}")


@pytest.mark.parametrize(("name", "invariants"), [
    ("LosesReleaseEvents", {"projection_replay", "oversold"}),
    ("LogsFirstReserveTwice", {"reserved_twice"}),
    ("LogsReservationsFirst", {"oversold"}),
    ("ComplainsAtRest", {"projection_replay"}),
    ("ForgetsHistory", {"as_of_replay"}),
])
def test_a_state_broken_at_rest_fails_a_seed_whose_history_linearizes(
        name: str, invariants: set[str]) -> None:
    run = run_concurrent_seed(mutant(name), 1, 4)
    assert run.check.status == LINEARIZABLE
    assert run.final_state is not None and not run.passed
    assert run.final_state.invariant in invariants & set(FINAL_INVARIANTS)
    assert run.final_state.detail in str(run.final_state)


@pytest.mark.parametrize("store", ["memory", "sqlite", "shared"])
def test_the_ledger_leaves_a_sound_state(store: str, tmp_path: Path) -> None:
    spec = {"memory": EngineSpec("ledger", "memory://"),
            "sqlite": EngineSpec("ledger", f"sqlite:///{tmp_path / 'chaos.db'}"),
            "shared": mutant("shared_ledger")}[store]
    for seed in (0, 1) if store != "sqlite" else (2,):
        run = run_concurrent_seed(spec, seed, 8)
        assert run.passed, (seed, str(run.check), run.final_state)


class _Drifting:
    """The ledger, its ``available()`` off by one once told to drift."""

    def __init__(self) -> None:
        self.ledger, self.drift = Ledger.open("memory://"), 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)

    def available(self, sku: str) -> int:
        return self.ledger.available(sku) + self.drift


def _sequential_run(seed: int) -> tuple[EngineUnderTest, Any, Any]:
    engine = EngineUnderTest(_Drifting(), "drifting ledger")
    recorder = Recorder(engine)
    deliver_share(recorder, draw_rounds(seed, 1), 0, lambda: None)
    operations = recorder.operations
    return engine, operations, check_history(operations)


def test_figures_the_answers_do_not_account_for_break_conservation() -> None:
    engine, operations, check = _sequential_run(4)
    assert check.status == LINEARIZABLE
    assert audit_final_state(engine, operations, check) is None
    sku = operations[0].commands[0].sku
    last = max(w.at for o in operations for w in o.commands)
    engine.engine.ledger.restock(sku, 5, "GHOST-1", at=last)  # a write no answer explains
    found = audit_final_state(engine, operations, check)
    assert found is not None and found.invariant == "conservation" and found.sku == sku
    assert "the history's answers account for" in found.detail


def test_available_and_stock_that_disagree_at_the_end_break_conservation() -> None:
    engine, operations, check = _sequential_run(5)
    engine.engine.drift = 1
    found = audit_final_state(engine, operations, check)
    assert found is not None and found.invariant == "conservation"
    assert "but stock(" in found.detail


def test_the_racy_engine_leaves_a_log_that_contradicts_the_rules() -> None:
    racy = EngineSpec("python", f"{RACY}:racy_ledger")
    for seed in range(10):  # its lost updates show at rest too, not only in the history
        run = run_concurrent_seed(racy, seed, 8)
        if run.final_state is not None:
            break
    assert run.final_state is not None, "ten seeds and the racy engine's state looks sound"
    assert run.final_state.invariant in ("oversold", "refused_sellable", "projection_replay")


def test_the_command_prints_and_writes_a_broken_final_state(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(["chaos", "--engine", f"python:{MUTANTS}:LogsFirstReserveTwice",
                   "--concurrency", "4", "--seeds", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "0 not linearizable" in printed
    assert "2 seed(s) left a broken final state; seed 0: reserved_twice: the event log" \
        in printed
    summary = json.loads((out / "concurrent.json").read_text())
    assert summary["passed"] is False and summary["broken_final_state"] == [0, 1]
    first = summary["runs"][0]
    assert first["verdict"] == LINEARIZABLE
    assert first["final_state"]["invariant"] == "reserved_twice"
    assert main(["chaos", "--check", str(out / "history-s0.jsonl")]) == 0  # it linearizes
