"""``racesim chaos --concurrency K --replay SEED --repeat N``, and ``--jobs`` above K = 1.

A repeat report counts how many of a seed's N concurrent runs failed. The alternating
engine (tests/alternating_engine.py) fails exactly its even-numbered runs, so the counts,
the interval, the files and the exit status are checked against known numbers; the real
ledger on memory:// passes every run. ``--jobs`` spreads seeds (or runs) over processes
and gives the same verdicts, in the same order, as one process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from racesim.chaos.concurrent import run_concurrent
from racesim.chaos.engines import EngineSpec
from racesim.chaos.history import read_history
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE
from racesim.chaos.repeat import MAX_REPEAT, repeat_seed
from racesim.cli import chaos as chaos_cli
from racesim.cli.main import main
from racesim.util.stats import wilson_interval

TESTS = Path(__file__).parent
ALTERNATING = f"python:{TESTS / 'alternating_engine.py'}:alternating_ledger"
RACY = EngineSpec("python", f"{TESTS / 'racy_engine.py'}:racy_ledger")
MEMORY = EngineSpec("ledger", "memory://")


def _chaos(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main(["chaos", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_repeat_counts_the_failing_runs_and_writes_each_ones_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status, printed, _ = _chaos(capsys, "--engine", ALTERNATING, "--concurrency", 8,
                                "--replay", 5, "--repeat", 5, "--out", out)
    assert status == 1
    assert "2 of 5 run(s) failed (40 %" in printed
    assert "3 linearizable, 2 not linearizable, 0 undecided" in printed
    assert "run 2 of seed 5" in printed and "respects real time" in printed

    summary = json.loads((out / "repeat.json").read_text(encoding="utf-8"))
    assert (summary["seed"], summary["repeat"], summary["concurrency"]) == (5, 5, 8)
    assert summary["failed_runs"] == [2, 4] and summary["first_failure"] == 2
    assert summary["verdicts"] == {LINEARIZABLE: 3, NOT_LINEARIZABLE: 2, "undecided": 0}
    low, high = wilson_interval(2, 5)
    assert (summary["interval"]["low"], summary["interval"]["high"]) == (low, high)
    assert summary["command"][:2] == ["racesim", "chaos"]
    assert sorted(p.name for p in out.glob("history-*")) == ["history-s5-r2.jsonl",
                                                            "history-s5-r4.jsonl"]
    for run in (2, 4):
        history = out / f"history-s5-r{run}.jsonl"
        assert len(read_history(history)) == summary["runs"][run - 1]["operations"]
        assert (out / f"witness-s5-r{run}.txt").read_text(encoding="utf-8").strip()
        assert main(["chaos", "--check", str(history)]) == 1  # fails again, from the file
    capsys.readouterr()


def test_the_ledger_passes_every_repeat_and_the_interval_bounds_how_rare_a_race_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status, _, _ = _chaos(capsys, "--concurrency", 4, "--replay", 3, "--repeat", 3,
                          "--jobs", 2, "--out", out, "--json")
    assert status == 0
    summary = json.loads((out / "repeat.json").read_text(encoding="utf-8"))
    assert summary["failures"] == 0 and summary["verdicts"][LINEARIZABLE] == 3
    assert summary["interval"]["low"] == 0 and summary["interval"]["high"] == pytest.approx(
        wilson_interval(0, 3)[1])
    assert [r["run"] for r in summary["runs"]] == [1, 2, 3]
    assert not list(out.glob("history-*"))  # nothing to keep when every run passed


def test_replay_alone_above_concurrency_1_runs_the_seed_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, _ = _chaos(capsys, "--concurrency", 4, "--replay", 2, "--json")
    summary = json.loads(printed)
    assert status == 0 and (summary["seed"], summary["repeat"]) == (2, 1)
    assert [r["verdict"] for r in summary["runs"]] == [LINEARIZABLE]


def test_undecided_runs_exit_4_and_keep_their_histories(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status, printed, _ = _chaos(capsys, "--concurrency", 4, "--replay", 3, "--repeat", 2,
                                "--max-states", 5, "--out", out)
    assert status == 4
    assert "0 of 2 run(s) failed" in printed
    assert "0 linearizable, 0 not linearizable, 2 undecided" in printed
    assert "never a pass" in printed
    assert sorted(p.name for p in out.glob("history-*")) == ["history-s3-r1.jsonl",
                                                            "history-s3-r2.jsonl"]


def test_a_repeat_in_python_lists_runs_in_order_whatever_the_jobs() -> None:
    report = repeat_seed(RACY, 2, 8, 3, jobs=2)
    assert len(report.runs) == 3 and all(run.seed == 2 for run in report.runs)
    assert report.failures == [1, 2, 3] and report.interval[0] > 0.2


def _verdicts(runs: list[Any]) -> list[tuple[int, str, bool]]:
    """Seed, verdict and final state: what the interleaving must not change (the number
    of operations may: a refused delivery is redelivered, a delivery that lands is not)."""
    return [(run.seed, run.check.status, run.final_state is None) for run in runs]


def test_two_jobs_give_the_verdicts_of_one_in_seed_order() -> None:
    one = run_concurrent(MEMORY, range(4), 4, jobs=1)
    two = run_concurrent(MEMORY, range(4), 4, jobs=2)
    assert _verdicts(two) == _verdicts(one)
    assert [seed for seed, _, _ in _verdicts(two)] == [0, 1, 2, 3]
    assert all(status == LINEARIZABLE for _, status, _ in _verdicts(two))


def test_two_jobs_stop_at_the_first_failing_seed() -> None:
    runs = run_concurrent(RACY, range(6), 8, jobs=2, stop_at_failure=True)
    assert runs[-1].check.status == NOT_LINEARIZABLE
    assert [run.seed for run in runs] == list(range(len(runs)))
    assert all(run.passed for run in runs[:-1])


def test_the_command_with_jobs_prints_what_one_job_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    found = []
    for jobs in (1, 2):
        status, printed, _ = _chaos(capsys, "--concurrency", 4, "--seeds", 3,
                                    "--first-seed", 7, "--jobs", jobs, "--json")
        summary = json.loads(printed)
        for run in summary["runs"]:
            # how much the search explored, and how many refusals were redelivered,
            # depend on the interleaving
            del run["states"], run["operations"]
        found.append((status, summary))
    assert found[0] == found[1]
    assert found[0][0] == 0 and [r["seed"] for r in found[0][1]["runs"]] == [7, 8, 9]


@pytest.mark.parametrize(("extra", "message"), [
    (["--repeat", "3"], "--repeat needs --replay SEED"),
    (["--check", "h.jsonl", "--repeat", "3"], "--repeat needs --replay SEED"),
    (["--replay", "3", "--repeat", "3"], "--repeat needs --concurrency above 1"),
    (["--seeds", "2", "--max-states", "9"], "--max-states applies to --check and to"),
])
def test_repeat_errors_are_one_line(extra: list[str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _chaos(capsys, *extra)
    assert status == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("value", "message"), [("0", "must be ≥ 1"),
                                                ("10001", "at most 10,000"), ("x", "whole")])
def test_a_repeat_out_of_bounds_is_refused(value: str, message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["chaos", "--concurrency", "2", "--replay", "1", "--repeat", value])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "--repeat" in err and message in err
    assert chaos_cli.MAX_REPEAT == MAX_REPEAT
