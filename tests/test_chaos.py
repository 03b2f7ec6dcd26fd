"""``racesim chaos``: the seeded swarm, the auditor, shrinking, engines and the command line.

The ledger must hold on every seed, on every store; every broken engine — the naive
counter, and one mutant per kind of mistake in ``chaos_mutants.py`` — must be caught
within a few seeds, named by the invariant it breaks, and handed back as a seed that
reproduces it and a short trace.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
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
    shrink,
)
from racesim.chaos.engines import EngineUnderTest
from racesim.chaos.swarm import Plan, Planned, draw_plan, draw_settings
from racesim.cli.main import main
from racesim.errors import RacesimError
from racesim.ledger import Ledger
from racesim.ledger.protocol import EngineProtocolError
from racesim.sim.streams import Streams
from racesim.webhooks.format import Webhook, parse_webhook, read_header, read_log, write_log

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
    from racesim.ledger.naive import NaiveCounter

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

@pytest.mark.slow  # 500 seeds on two worker processes, per store: over a minute each
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


@pytest.mark.slow  # worker processes: about 6 s
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
    assert run_chaos(parse_engine("python:racesim.ledger.naive:NaiveCounter"),
                     range(5)).failures


@pytest.mark.parametrize(("engine", "store", "message"), [
    ("mysql", None, "unknown engine 'mysql'"),
    ("naive_counter", "memory://", "--store applies to --engine ledger only"),
    ("python:no_such_module:Factory", None, "cannot import no_such_module"),
    ("python:racesim.ledger.naive:Nothing", None, "has no callable 'Nothing'"),
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


@pytest.mark.slow  # two worker processes on SQLite: about 5 s
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
    for option in ("--engine", "--store", "--seeds", "--jobs", "--json", "--replay", "--out",
                   "--swarm-version"):
        assert option in text


# -- swarm versions and the key shapes of version 2 -------------------------------------------

def _plan(seed: int, version: int) -> Plan:
    streams = Streams(np.random.SeedSequence(seed))
    return draw_plan(draw_settings(streams, version), streams)


def _webhooks(plan: Plan) -> list[tuple[Webhook, tuple[float, ...]]]:
    planned = [*plan.initial, *plan.shipments.values(),
               *(p for parcels in plan.returns.values() for p in parcels),
               *plan.late_cancels.values(), *plan.seller_cancels.values()]
    return [(p.webhook, p.lateness) for p in planned]


def test_version_1_draws_exactly_what_racesim_drew_before_version_2() -> None:
    # the digest of seeds 0-99 as drawn by racesim before swarm versions existed: a seed
    # an older racesim reported still reproduces with --swarm-version 1
    digest = hashlib.sha256()
    for seed in range(100):
        for webhook, lateness in _webhooks(_plan(seed, 1)):
            digest.update(f"{webhook.to_line()} {lateness}\n".encode())
    assert digest.hexdigest() == \
        "6a78f5e5df0622471a0ddd783b42d9043ab1db346e3dea6d526ea804fd904e4c"
    assert _webhooks(_plan(3, 2)) != _webhooks(_plan(3, 1))


def _planned_text(planned: Planned) -> str:
    """Every field of a planned webhook and its copies' lateness, floats exact."""
    w = planned.webhook
    fields = (w.type, w.at, w.sku, w.order_id, w.quantity, w.channel, w.ref, w.reason, w.id,
              w.crash)
    return f"{fields!r} {planned.lateness!r}"


def _plan_text(plan: Plan) -> str:
    """The whole plan as text: each section in order, with the order line it follows up."""
    lines = [f"initial {_planned_text(p)}" for p in plan.initial]
    for name, section in (("shipment", plan.shipments), ("late_cancel", plan.late_cancels),
                          ("seller_cancel", plan.seller_cancels)):
        lines += [f"{name} {line!r} {_planned_text(p)}" for line, p in section.items()]
    lines += [f"return {line!r} {_planned_text(p)}" for line, parcels in plan.returns.items()
              for p in parcels]
    return "\n".join(lines)


@pytest.mark.parametrize(("version", "fingerprint"), [
    (1, "2e4266a74ab1aaea0cb2eefc1af22a2c26674cde1e4af586807745cd9b1b6598"),
    (2, "050415491a73519de79285b0f6accaf50f8ab9005f320792abfb50e7316b6e5f"),
])
def test_every_seed_draws_the_plan_it_always_drew(version: int, fingerprint: str) -> None:
    # the digest of seeds 0-49's whole plans (follow-ups and copies included), computed
    # before draw_plan was split into small functions: any change to the order or kind of
    # a draw changes it, and a seed reported by an older racesim would no longer reproduce
    digest = hashlib.sha256()
    for seed in range(50):
        digest.update(_plan_text(_plan(seed, version)).encode() + b"\n\n")
    assert digest.hexdigest() == fingerprint


def _shapes(version: int, seeds: range) -> tuple[set[str], list[int]]:
    """Which key shapes the swarm's plans reach over ``seeds``, and every line's quantity."""
    found: set[str] = set()
    quantities: list[int] = []
    for seed in seeds:
        skus_of: dict[tuple[str, str], set[str]] = defaultdict(set)  # (type, ref) -> SKUs
        returns: dict[str, set[tuple[str, str]]] = defaultdict(set)  # ref -> (order, SKU)
        lines: dict[str, set[str]] = defaultdict(set)  # SKU -> order ids
        for webhook, _ in _webhooks(_plan(seed, version)):
            assert parse_webhook(webhook.to_json()) == webhook  # within validation limits
            if webhook.type == "order.created":
                quantities.append(webhook.quantity)
                lines[webhook.sku].add(webhook.order_id)
            if webhook.type == "return.received":
                returns[webhook.ref].add((webhook.order_id, webhook.sku))
            elif webhook.ref:
                skus_of[(webhook.type, webhook.ref)].add(webhook.sku)
        if any(len(s) > 1 for (kind, _), s in skus_of.items() if kind == "stock.received"):
            found.add("one restock ref, several SKUs")
        if any(len(s) > 1 and ref != "OPENING" for (kind, ref), s in skus_of.items()
               if kind == "stock.received"):
            found.add("one purchase order, several SKUs")
        if any(len(s) > 1 for (kind, _), s in skus_of.items() if kind == "stock.adjusted"):
            found.add("one count, several SKUs")
        if any(skus_of.get(("stock.received", ref), set()) & s
               for (kind, ref), s in skus_of.items()
               if kind == "stock.adjusted"):
            found.add("one ref, a restock and an adjustment of one SKU")
        for keys in returns.values():
            if len({order for order, _ in keys}) < len(keys):
                found.add("one RMA, two SKUs of an order")
            if len({sku for _, sku in keys}) < len(keys):
                found.add("one parcel, one SKU of two orders")
        for ids in lines.values():
            if len({i.strip().casefold() for i in ids}) < len(ids):
                found.add("order ids that differ only in case or spaces")
            if len({i[:32] for i in ids}) < len(ids):
                found.add("long order ids sharing a prefix")
        skus = {sku for sku in lines}
        if len({sku.encode("ascii", "ignore") for sku in skus}) < len(skus):
            found.add("SKUs that differ only in non-ASCII characters")
    return found, quantities


def test_the_swarm_reaches_every_idempotency_key_shape() -> None:
    every = {"one restock ref, several SKUs", "one purchase order, several SKUs",
             "one count, several SKUs", "one ref, a restock and an adjustment of one SKU",
             "one RMA, two SKUs of an order", "one parcel, one SKU of two orders",
             "order ids that differ only in case or spaces", "long order ids sharing a prefix",
             "SKUs that differ only in non-ASCII characters"}
    found, quantities = _shapes(2, range(50))
    assert found == every
    lines = pd.Series(quantities)
    assert lines.max() >= 40 and lines.le(3).mean() > 0.8  # mostly 1-3, now and then bulk
    assert lines.gt(9).sum() > 20
    old, old_quantities = _shapes(1, range(50))
    assert old == {"one restock ref, several SKUs"}  # only the opening stock did it
    assert max(old_quantities) <= 4


NEW_SHAPE_MUTANTS = [
    ("KeysRestocksOnRef", "conservation"),
    ("KeysPurchaseOrdersOnRef", "conservation"),
    ("KeysCountsOnRef", "conservation"),
    ("KeysReturnsWithoutSku", "conservation"),
    ("KeysReturnsWithoutOrder", "conservation"),
    ("SharesRestockAndAdjustKeys", "conservation"),
    ("CapsLineQuantities", "oversold"),
    ("NormalisesOrderIds", "wrong_answer"),
    ("TruncatesOrderIds", "wrong_answer"),
    ("KeysSkusAsAscii", "conservation"),
]


@pytest.mark.parametrize(("mutant", "invariant"), NEW_SHAPE_MUTANTS)
def test_each_key_shape_catches_its_mistake_within_50_seeds(mutant: str,
                                                            invariant: str) -> None:
    spec = parse_engine(f"{MUTANTS}:{mutant}")
    run = next((run for run in (run_seed(spec, seed, swarm_version=2) for seed in range(50))
                if not run.passed), None)
    assert run is not None and run.violation is not None, f"{mutant} passed 50 seeds"
    assert run.violation.invariant == invariant, run.violation
    short = shrink(spec, run.trace, run.violation, budget=150)
    found, _ = replay_trace(spec, short)
    assert found is not None and found.invariant == invariant
    assert run_seed(parse_engine("ledger"), run.seed).passed  # the ledger holds on it


@pytest.mark.slow
@pytest.mark.parametrize(("mutant", "invariant"), NEW_SHAPE_MUTANTS)
def test_version_1_misses_what_only_the_new_shapes_catch(mutant: str, invariant: str) -> None:
    report = run_chaos(parse_engine(f"{MUTANTS}:{mutant}"), range(50), shrink_first=False,
                       swarm_version=1)
    if mutant == "KeysRestocksOnRef":  # the opening stock: one ref, every SKU, in version 1
        assert not report.passed
    else:
        assert report.passed, (mutant, report.failures[0].violation)


def test_the_swarm_version_is_recorded_and_an_old_seed_reproduces(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new, old = tmp_path / "v2", tmp_path / "v1"
    assert main(["chaos", "--engine", "naive_counter", "--seeds", "5", "--out", str(new)]) == 1
    capsys.readouterr()
    assert main(["chaos", "--engine", "naive_counter", "--seeds", "5", "--swarm-version", "1",
                 "--out", str(old)]) == 1
    out = capsys.readouterr().out
    for folder, version in ((new, SWARM_VERSION), (old, 1)):
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["swarm_version"] == version
        assert set(pd.read_csv(folder / "seeds.csv")["swarm_version"]) == {version}
        seed = summary["first_failure"]["seed"]
        for name in (f"seed-{seed}.trace.jsonl", f"seed-{seed}.short.jsonl"):
            assert read_header(folder / name) == {"racesim_trace": "chaos", "seed": seed,
                                                  "swarm_version": version}
            lines, malformed = read_log(folder / name)
            assert not malformed and lines[0][0] == 2  # the header is line 1, and skipped
    seed = json.loads((old / "summary.json").read_text())["first_failure"]["seed"]
    assert f"reproduce: racesim chaos --engine naive_counter --swarm-version 1 --replay {seed}" \
        in out
    assert main(["chaos", "--engine", "naive_counter", "--swarm-version", "1",
                 "--replay", str(seed), "--json"]) == 1
    replayed = json.loads(capsys.readouterr().out)
    first = json.loads((old / "summary.json").read_text())["first_failure"]
    assert (replayed["swarm_version"], replayed["invariant"], replayed["step"]) == \
        (1, first["invariant"], first["step"])
    # a trace racesim wrote before it had headers replays as it did: deliveries, no swarm
    trace = [w for _, w in read_log(old / f"seed-{seed}.trace.jsonl")[0]]
    bare = write_log(tmp_path / "old.jsonl", trace)
    assert read_header(bare) is None and [w for _, w in read_log(bare)[0]] == trace
    spec = parse_engine("naive_counter")
    found, _ = replay_trace(spec, trace)
    assert found is not None and found.invariant == first["invariant"]
    assert found.step + 1 == first["step"]
    assert main(["replay", str(old / f"seed-{seed}.trace.jsonl"), "--json"]) == 0  # ledger
    assert json.loads(capsys.readouterr().out)["deliveries"] == len(trace)


def test_an_unknown_swarm_version_is_refused_before_any_seed_runs(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RacesimError, match=r"swarm version 3 is unknown \(known: 1, 2\)"):
        run_chaos(parse_engine("ledger"), range(3), swarm_version=3)
    assert main(["chaos", "--swarm-version", "3", "--seeds", "2"]) == 2
    err = capsys.readouterr().err
    assert "--swarm-version 3: unknown (known: 1, 2)" in err and err.count("\n") == 1


def test_a_kept_ledger_of_non_ascii_skus_is_ours_and_wiped(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'shop-s0.db'}") as ledger:
        ledger.restock("TEE-紅", 5, ref="PO-1", at=0)  # a failing seed's ledger, kept
    assert run_chaos(parse_engine("ledger", f"sqlite:///{tmp_path / 'shop.db'}"),
                     range(1)).passed
