"""``racesim chaos --concurrency K``: K threads deliver a seed at once; the history is checked.

The racy engine (tests/racy_engine.py: the ledger over a store that does not lock, with
a yield between reading a stock row and writing) passes the sequential harness and is
caught by the concurrent one; the real ledger on memory:// and SQLite passes the same
seeds.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from racesim.chaos import run_chaos
from racesim.chaos.concurrent import draw_rounds, run_concurrent, run_concurrent_seed
from racesim.chaos.engines import EngineSpec
from racesim.chaos.history import read_history
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE
from racesim.cli.main import main
from racesim.webhooks.format import Webhook

RACY_FILE = Path(__file__).with_name("racy_engine.py")
RACY = EngineSpec("python", f"{RACY_FILE}:racy_ledger")
CATCH_SEEDS = range(10)


def _key(webhook: Webhook) -> tuple[str, str, str, str]:
    return (webhook.type, webhook.order_id, webhook.sku, webhook.ref)


def test_one_worker_draws_the_sequential_deliveries_and_no_contention() -> None:
    rounds = draw_rounds(3, 1)
    assert all(len(r) == 1 for r in rounds)
    assert not any(w.ref.startswith("BURST-") for r in rounds for w in r)
    eight = draw_rounds(3, 8)
    assert all(1 <= len(r) <= 8 for r in eight)
    assert draw_rounds(3, 8) == eight  # the rounds depend on the seed alone
    assert all(len({w.at for w in r}) == 1 for r in eight)  # one time per round
    sequential = Counter(_key(w) for r in rounds for w in r)
    concurrent = Counter(_key(w) for r in eight for w in r  # races have names of their own
                         if not any(name.startswith(("BURST", "RACE"))
                                    for name in (w.ref, w.order_id, w.id)))
    assert set(concurrent) == set(sequential)  # every delivery, plus racing copies
    assert all(concurrent[k] >= n for k, n in sequential.items())
    assert sum(concurrent.values()) > sum(sequential.values())


def test_bursts_race_several_channels_for_the_last_units() -> None:
    bursts = [r for seed in range(5) for r in draw_rounds(seed, 8)
              if len(r) == 8 and all(w.order_id.startswith("BURST") for w in r)]
    assert bursts, "no burst in five seeds"
    assert all(len({w.channel for w in r}) > 1 and len({w.sku for w in r}) == 1
               for r in bursts)


def test_the_racy_engine_passes_the_sequential_harness() -> None:
    report = run_chaos(RACY, range(5))
    assert report.passed, report.failures[0].violation
    assert all(run.passed for run in run_concurrent(RACY, range(5), 1))


def test_the_racy_engine_is_caught_at_concurrency_8_within_a_few_seeds() -> None:
    runs = run_concurrent(RACY, CATCH_SEEDS, 8, stop_at_failure=True)
    failed = runs[-1]
    assert failed.check.status == NOT_LINEARIZABLE, "not caught within 10 seeds"
    # one operation alone can be the witness: an error no refusal explains, say
    assert failed.witness, "a failed run has no witness"
    assert len(failed.witness) < len(failed.operations), "the witness is the whole run"
    assert len({op.worker for op in failed.operations}) == 8


@pytest.mark.slow  # 200 seeds of the sequential harness, on two processes
def test_the_racy_engine_passes_200_seeds_one_delivery_at_a_time() -> None:
    report = run_chaos(RACY, range(200), jobs=2, shrink_first=False)
    assert report.passed and len(report.runs) == 200, report.failures[0].violation


@pytest.mark.slow  # an interleaving is not a seed: ten runs of up to 20 seeds each
def test_the_racy_engine_is_caught_within_20_seeds_in_9_of_10_runs() -> None:
    caught = [run_concurrent(RACY, range(20), 8, stop_at_failure=True)[-1].check.status
              == NOT_LINEARIZABLE for _ in range(10)]
    assert sum(caught) >= 9, caught


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_the_ledger_passes_the_same_seeds_at_concurrency_8(store: str, tmp_path: Path) -> None:
    url = store if store == "memory://" else f"sqlite:///{tmp_path / 'chaos.db'}"
    seeds = CATCH_SEEDS if store == "memory://" else range(3)
    for seed in seeds:
        run = run_concurrent_seed(EngineSpec("ledger", url), seed, 8)
        assert run.check.status == LINEARIZABLE, (seed, str(run.check))
        assert len({op.worker for op in run.operations}) == 8
    assert not list(tmp_path.glob("chaos-*.db"))  # passing seeds' files are deleted


def test_the_command_prints_the_witness_and_writes_the_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(["chaos", "--engine", f"python:{RACY_FILE}:racy_ledger",
                   "--concurrency", "8", "--seeds", str(len(CATCH_SEEDS)), "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "not linearizable" in printed and "respects real time" in printed
    summary = json.loads((out / "concurrent.json").read_text())
    seed = summary["not_linearizable"][0]
    history = out / f"history-s{seed}.jsonl"
    assert len(read_history(history)) == next(r["operations"] for r in summary["runs"]
                                              if r["seed"] == seed)
    assert main(["chaos", "--check", str(history)]) == 1  # the saved history fails again
    assert (out / f"witness-s{seed}.txt").read_text().strip()


@pytest.mark.parametrize("value", ["0", "65", "x"])
def test_a_concurrency_out_of_bounds_is_refused(value: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["chaos", "--seeds", "1", "--concurrency", value])
    assert stopped.value.code == 2
    assert "--concurrency" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "message"), [
    (["--workers", "process"], "--workers process needs --concurrency above 1"),
    (["--concurrency", "4", "--workers", "process", "--store", "sqlite:///x.db", "--jobs", "2"],
     "with --workers process use --jobs 1"),
])
def test_options_concurrency_does_not_combine_with_yet_are_one_line_errors(
        extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--seeds", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
