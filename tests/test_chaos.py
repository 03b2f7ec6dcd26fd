"""``racesim chaos``: the seeded swarm, the auditor, shrinking, engines and the command line.

The ledger must hold on every seed, on every store; every broken engine — the naive
counter, and one mutant per kind of mistake in ``chaos_mutants.py`` — must be caught
within a few seeds, named by the invariant it breaks, and handed back as a seed that
reproduces it and a short trace.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import store_url
from racesim.chaos import (
    INVARIANTS,
    SWARM_VERSION,
    Auditor,
    ReferenceModel,
    parse_engine,
    replay_trace,
    run_chaos,
    run_seed,
)
from racesim.chaos.engines import EngineProtocolError, EngineUnderTest
from racesim.cli import main
from racesim.errors import RacesimError
from racesim.ledger import Ledger
from racesim.webhooks import Webhook, read_log

MUTANTS = "python:" + str(Path(__file__).with_name("chaos_mutants.py"))


def order(at: float, order_id: str, qty: int = 1, sku: str = "MUG",
          channel: str = "amazon") -> Webhook:
    return Webhook("order.created", at, sku, order_id, qty, channel)


def restock(at: float, qty: int, ref: str, sku: str = "MUG") -> Webhook:
    return Webhook("stock.received", at, sku, quantity=qty, ref=ref)


def cancel(at: float, order_id: str, sku: str = "MUG") -> Webhook:
    return Webhook("order.cancelled", at, sku, order_id)


def ship(at: float, order_id: str, sku: str = "MUG") -> Webhook:
    return Webhook("order.shipped", at, sku, order_id)


# -- the reference model ---------------------------------------------------------------------

def test_the_reference_model_states_the_rules() -> None:
    model = ReferenceModel()
    assert model.apply(cancel(1, "A")).status == "refused"  # before its order: redeliver
    assert model.apply(restock(2, 1, "PO-1")).status == "applied"
    assert model.apply(restock(3, 1, "PO-1")).status == "duplicate"
    assert model.apply(restock(4, 2, "PO-1")).status == "mismatch"
    assert model.apply(order(5, "A")) == ("reserved", "reserved", "")
    assert model.apply(order(6, "B")) == ("rejected", "rejected", "")
    assert model.apply(order(7, "B")).status == "duplicate"
    assert model.apply(order(7, "B")).decision == "rejected"
    assert model.apply(order(8, "A", qty=2)) == ("mismatch", "reserved", "")
    assert model.apply(cancel(9, "B")) == ("duplicate", "rejected", "")  # nothing to free
    assert model.apply(ship(10, "A")).status == "applied"
    assert model.apply(cancel(11, "A")).status == "refused"  # shipped: too late
    assert model.figures("MUG") == (0, 0)
    back = Webhook("return.received", 12, "MUG", "A", 2, ref="RMA-1")
    assert model.apply(back).status == "refused"  # more back than shipped
    assert model.apply(replace(back, quantity=1)).status == "applied"
    count = Webhook("stock.adjusted", 13, "MUG", quantity=-2, reason="count", ref="C-1")
    assert model.apply(count).status == "refused"  # on-hand would go negative
    assert model.figures("MUG") == (1, 0)
    assert model.figures_at("MUG", 5) == (1, 1)  # history, for as-of checks
    assert model.figures_at("MUG", 4.9) == (1, 0)
    assert model.figures_at("MUG", 0) == (0, 0)


def test_the_auditor_names_a_duplicate_that_sells_twice() -> None:
    from racesim.naive_counter import NaiveCounter

    auditor = Auditor(EngineUnderTest(NaiveCounter(), "naive"))
    assert auditor.step(restock(0, 2, "PO-1")).violation is None
    assert auditor.step(order(1, "A")).violation is None
    violation = auditor.step(order(2, "A")).violation
    assert violation is not None and violation.invariant == "reserved_twice"
    assert violation.step == 2 and "A" in violation.detail
    assert set(INVARIANTS) >= {violation.invariant}


def test_a_crash_inside_the_transaction_leaves_the_ledger_as_it_was() -> None:
    with Ledger.open() as ledger:
        auditor = Auditor(EngineUnderTest(ledger, "ledger"))
        auditor.step(restock(0, 1, "PO-1"))
        result = auditor.step(Webhook("order.created", 1, "MUG", "A", 1, "ebay",
                                      crash="during"))
        assert result.outcome == "crashed" and result.violation is None
        assert ledger.available("MUG") == 1 and ledger.order_line("A", "MUG") is None
        assert auditor.step(order(2, "A", channel="ebay")).expected.status == "reserved"
        assert auditor.finish() is None


# -- the swarm against the ledger ------------------------------------------------------------

def test_the_ledger_holds_on_500_seeds_on_every_store(store_kind: str, tmp_path: Path) -> None:
    url = store_url(store_kind, tmp_path, "chaos")
    report = run_chaos(parse_engine("ledger", url), range(500), jobs=2)
    assert report.passed, report.failures[0].violation
    assert len(report.runs) == 500
    totals = Counter(report.totals())
    # the seeds were hostile: copies, conflicts, crashes, refusals, redeliveries all seen
    for outcome in ("duplicate", "mismatch", "crashed", "refused", "reserved", "rejected"):
        assert totals[outcome] > 100, outcome
    settings = report.frame()
    assert settings["duplicate_rate"].min() < 0.02 and settings["duplicate_rate"].max() > 0.48
    assert (settings["reorder_window"] > 300).any() and (settings["reorder_window"] == 0).any()
    if store_kind == "sqlite":  # every passing seed's throwaway database was deleted
        assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_report_does_not_depend_on_the_number_of_workers() -> None:
    ledger = parse_engine("ledger")
    assert run_chaos(ledger, range(30), jobs=1).frame().equals(
        run_chaos(ledger, range(30), jobs=2).frame())
    naive = parse_engine("naive_counter")
    one, two = run_chaos(naive, range(12), jobs=1), run_chaos(naive, range(12), jobs=2)
    assert one.frame().equals(two.frame())
    assert one.shortened == two.shortened


# -- broken engines are caught ---------------------------------------------------------------

def test_the_naive_counter_is_caught_within_a_few_seeds_and_reproduced() -> None:
    spec = parse_engine("naive_counter")
    report = run_chaos(spec, range(50))
    assert not report.passed
    first = report.failures[0]
    assert first.seed < 3
    again = run_seed(spec, first.seed)  # the seed alone reproduces the failure
    assert again.violation == first.violation and again.trace == first.trace
    short = report.shortened
    assert short is not None and 1 <= len(short) < len(first.trace)
    found, _ = replay_trace(spec, short)
    assert found is not None and found.invariant == first.violation.invariant
    broken = Counter(run.violation.invariant for run in report.failures)
    assert broken["reserved_twice"] > 0  # the classic: a duplicate webhook sells twice


@pytest.mark.parametrize(("mutant", "invariant"), [
    ("ForgetsOrderKeys", "reserved_twice"),
    ("RedecidesRejections", "rejected_revived"),
    ("SwallowsEarlyCancels", "lost_delivery"),
    ("TrustsTheCount", "oversold"),
    ("CommitsEarly", "not_atomic"),
    ("LosesReleaseEvents", "projection_replay"),
    ("ForgetsHistory", "as_of_replay"),
    ("CountsReturnsTwice", "conservation"),
    ("KeysOrdersWithoutSku", "wrong_answer"),
    ("AppliesCorrectedRestocks", "conservation"),
    ("AcknowledgesLateCancels", "lost_delivery"),
    ("SellsFromOnHand", "conservation"),
    ("CallsConflictsDuplicates", "wrong_answer"),
])
def test_each_kind_of_mistake_is_caught_and_named(mutant: str, invariant: str) -> None:
    spec = parse_engine(f"{MUTANTS}:{mutant}")
    report = run_chaos(spec, range(30), shrink_budget=150)
    broken = Counter(run.violation.invariant for run in report.failures)
    assert broken[invariant] > 0, broken
    assert report.failures[0].seed < 10
    found, _ = replay_trace(spec, report.shortened)
    assert found is not None and found.invariant == report.failures[0].violation.invariant


def test_a_correct_user_engine_passes_through_the_adapter_protocol() -> None:
    report = run_chaos(parse_engine(f"{MUTANTS}:correct"), range(40))
    assert report.passed
    assert run_chaos(parse_engine("python:racesim.naive_counter:NaiveCounter"),
                     range(5)).failures


@pytest.mark.parametrize(("engine", "store", "message"), [
    ("mysql", None, "unknown engine 'mysql'"),
    ("naive_counter", "memory://", "--store applies to --engine ledger only"),
    ("python:no_such_module:Factory", None, "cannot import no_such_module"),
    ("python:racesim.naive_counter:Nothing", None, "has no callable 'Nothing'"),
    ("python:missing/file.py:Factory", None, "no file"),
    ("python:Factory", None, "expected MODULE:FACTORY"),
    ("http://", None, "names no host"),
])
def test_a_bad_engine_spec_is_a_clear_error(engine: str, store: str | None,
                                            message: str) -> None:
    with pytest.raises(RacesimError, match=message):
        parse_engine(engine, store)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_answer_outside_the_protocol_stops_the_run_with_a_clear_error(
        jobs: int, capsys: pytest.CaptureFixture[str]) -> None:
    spec = parse_engine(f"{MUTANTS}:AnswersNothing")
    with pytest.raises(EngineProtocolError, match=r"stock\.received returned None; expected"):
        run_chaos(spec, range(4), jobs=jobs)
    assert main(["chaos", "--engine", f"{MUTANTS}:AnswersNothing", "--seeds", "4",
                 "--jobs", str(jobs)]) == 2
    err = capsys.readouterr().err.split("\r")[-1]  # after the progress bar's last frame
    assert err.startswith("racesim: error: engine python ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_store_someone_else_wrote_is_never_wiped(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'shop-s0.db'}") as ledger:
        ledger.restock("PRECIOUS", 100, ref="PO-1", at=0)
    with pytest.raises(RacesimError, match="holds a ledger that racesim chaos did not write"):
        run_chaos(parse_engine("ledger", f"sqlite:///{tmp_path / 'shop.db'}"), range(1))
    with Ledger.open(f"sqlite:///{tmp_path / 'shop-s0.db'}") as ledger:
        assert ledger.available("PRECIOUS") == 100


def test_an_object_missing_commands_is_refused_by_name() -> None:
    with pytest.raises(RacesimError, match="lacks release, fulfill"):
        EngineUnderTest(type("Half", (), {"restock": print, "reserve": print,
                                          "return_": print, "adjust": print,
                                          "available": print})(), "half")


# -- the command line ------------------------------------------------------------------------

def test_chaos_fails_the_naive_counter_with_a_seed_that_reproduces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--engine", "naive_counter", "--seeds", "50",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    seed = int(out.split("first failing seed ")[1].split(":")[0])
    assert f"reproduce: racesim chaos --engine naive_counter --replay {seed}" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["first_failure"]["seed"] == seed and not summary["passed"]
    lines, malformed = read_log(tmp_path / f"seed-{seed}.short.jsonl")
    assert not malformed and len(lines) == len(summary["first_failure"]["shortened_trace"])
    assert (tmp_path / "seeds.csv").read_text().count("\n") == 51

    assert main(["chaos", "--engine", "naive_counter", "--replay", str(seed)]) == 1
    replayed = capsys.readouterr().out
    assert replayed.startswith(f"seed {seed} (naive_counter, swarm v{SWARM_VERSION}): "
                               f"{summary['first_failure']['invariant']}")
    assert "step by step" in replayed
    assert main(["chaos", "--engine", "naive_counter", "--replay", str(seed),
                 "--no-shrink"]) == 1
    whole = capsys.readouterr().out
    failing_step = summary["first_failure"]["step"]
    assert f"\n{failing_step} of {failing_step} deliveries" in whole  # up to the break


def test_chaos_passes_the_ledger_on_sqlite_and_prints_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'chaos.db'}"
    assert main(["chaos", "--store", url, "--seeds", "20", "--jobs", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["seeds"] == 20 and report["first_failure"] is None
    assert report["engine"] == f"ledger on {url}"
    assert main(["chaos", "--replay", "7"]) == 0
    assert "every invariant held" in capsys.readouterr().out


def test_chaos_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["chaos", "--help"])
    text = capsys.readouterr().out
    for option in ("--engine", "--store", "--seeds", "--jobs", "--json", "--replay", "--out"):
        assert option in text
