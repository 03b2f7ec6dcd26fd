"""How the command fails: exit statuses, signals, bad stores, help texts, bounded errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from racesim.cli.main import build_parser, main
from racesim.errors import InvalidCommand, shorten
from racesim.ledger import Ledger
from racesim.scenario import load_scenario
from racesim.study.executors import LocalExecutor
from racesim.webhooks.format import WebhookError, webhook_from_json

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
RACESIM = [sys.executable, "-m", "racesim"]
SRC = str(ROOT / "src")


def _environment() -> dict[str, str]:
    """This checkout's sources first, whatever the interpreter has installed."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": SRC + (os.pathsep + path if path else "")}


def _one_line(err: str) -> str:
    """The last line of stderr, after any progress bar's carriage returns."""
    return err.replace("\r", "\n").strip().splitlines()[-1]


# -- exit statuses ------------------------------------------------------------------------


def test_a_bare_racesim_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: racesim") and "COMMAND" in captured.err
    assert captured.out == ""


def test_an_unexpected_error_is_one_line_with_status_3(tmp_path: Path) -> None:
    # A full disk on standard output is nothing racesim raises on purpose.
    with open("/dev/full", "w") as full:
        result = subprocess.run([*RACESIM, "demo", "--json"], stdout=full, stderr=subprocess.PIPE,
                                text=True, env=_environment(), cwd=tmp_path, check=False,
                                timeout=120)
    assert result.returncode == 3
    assert result.stderr == ("racesim: internal error: OSError: [Errno 28] No space left on "
                             "device (run with --debug for the traceback)\n")


def test_debug_shows_the_traceback_of_an_unexpected_error(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run([*RACESIM, "demo", "--json", "--debug"], stdout=full,
                                stderr=subprocess.PIPE, text=True, env=_environment(),
                                cwd=tmp_path, check=False, timeout=120)
    assert result.returncode == 3
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.splitlines()[-1] == ("racesim: internal error: OSError: [Errno 28] "
                                              "No space left on device")


def test_a_closed_pipe_ends_quietly_with_status_141(tmp_path: Path) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # nobody will read: every write fails with EPIPE
    try:
        result = subprocess.run([*RACESIM, "demo", "--json"], stdout=writer,
                                stderr=subprocess.PIPE, text=True, env=_environment(),
                                cwd=tmp_path, check=False, timeout=120)
    finally:
        os.close(writer)
    assert result.returncode == 128 + signal.SIGPIPE
    assert result.stderr == ""


def test_bad_input_stays_status_2_and_a_found_problem_status_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--engine", "nonsense"]) == 2
    assert capsys.readouterr().err.startswith("racesim: error: unknown engine 'nonsense'")
    assert main(["chaos", "--engine", "naive_counter", "--seeds", "3", "--no-shrink",
                 "--json"]) == 1


# -- signals ------------------------------------------------------------------------------


def _start_a_long_run(tmp_path: Path) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    """``racesim run`` of replications that take about a minute each, once both workers run.

    Each replication outlasts the test's bounds by far, so a worker left to finish its
    task (rather than terminated) fails the test.
    """
    scenario = tmp_path / "long.toml"
    text = (SCENARIOS / "high_volume.toml").read_text()
    scenario.write_text(text.replace('duration = "1d"', 'duration = "20d"'))
    process = subprocess.Popen(
        [*RACESIM, "run", str(scenario), "--replications", "4", "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(),
        cwd=tmp_path, start_new_session=True)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while len(workers) < 2:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(f"no two workers appeared: {process.communicate()}")
        time.sleep(0.1)
        workers = parent.children(recursive=True)
    time.sleep(1.0)  # both are busy with a replication by now
    return process, workers


@pytest.mark.slow
@pytest.mark.parametrize(("send", "status", "line"), [
    pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), 143,
                 "racesim: stopped by SIGTERM", id="SIGTERM"),
    pytest.param(lambda pid: os.kill(pid, signal.SIGINT), 130,
                 "racesim: interrupted (SIGINT)", id="SIGINT"),
    pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), 130,
                 "racesim: interrupted (SIGINT)", id="Ctrl-C to the process group"),
])
def test_a_signal_stops_the_run_and_its_workers(tmp_path: Path, send: Callable[[int], None],
                                                status: int, line: str) -> None:
    process, workers = _start_a_long_run(tmp_path)
    try:
        send(process.pid)
        _, err = process.communicate(timeout=20)  # generous: one replication takes a minute
        assert process.returncode == status
        assert _one_line(err) == line
        assert "Traceback" not in err and "Error" not in err
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == []
    finally:  # whatever failed, leave nothing of ours running
        if process.poll() is None:
            process.kill()
        for worker in workers:
            if worker.is_running():
                worker.kill()


def _interrupt_while_busy(executor: LocalExecutor, workers: list[psutil.Process]) -> None:
    with executor:
        executor.map(time.sleep, [60.0, 60.0, 60.0])
        assert executor._pool is not None
        workers += [psutil.Process(pid) for pid in executor._pool._processes]
        time.sleep(0.5)  # both workers are inside time.sleep(60) by now
        raise KeyboardInterrupt


def test_leaving_an_executor_by_an_exception_terminates_its_busy_workers() -> None:
    executor, workers = LocalExecutor(jobs=2), []
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _interrupt_while_busy(executor, workers)
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert len(workers) == 2 and alive == [] and executor._pool is None
    assert time.monotonic() - started < 30  # not the 60 s the tasks would have slept


# -- store URLs before any work -----------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["run", str(SCENARIOS / "high_volume.toml"), "--replications", "20", "--jobs", "2"],
    ["chaos", "--seeds", "500"],
    ["replay", str(ROOT / "tests" / "data" / "missing-on-purpose.jsonl")],
    ["serve", "--port", "0"],
    ["demo"],
], ids=lambda command: command[0])
def test_a_bad_store_url_is_refused_before_any_work(command: list[str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path / 'no-such-folder' / 'ledger.db'}"
    started = time.monotonic()
    assert main([*command, "--store", store]) == 2
    err = capsys.readouterr().err
    assert err == (f"racesim: error: store URL {store!r}: folder "
                   f"{tmp_path / 'no-such-folder'} does not exist\n")
    assert time.monotonic() - started < 5 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("url", "problem"), [
    ("mysql://db", "unknown scheme 'mysql'"),
    ("sqlite:///ledger.db?journal=WAL", "unknown option(s) ['journal']"),
    ("sqlite:///ledger.db?synchronous=SOMETIMES", "synchronous='SOMETIMES' is not one of"),
    ("sqlite:///ledger.db?timeout=-1", "timeout must be 0 to 86400 seconds"),
    ("postgresql://user:secret@localhost/db?schema=", "schema must be a non-empty name"),
    ("postgresql://user:secret@localhost/db?pool=3", "unknown option(s) ['pool']"),
    ("memory://somewhere", "memory:// takes no path or options"),
])
def test_store_urls_are_checked_without_opening(url: str, problem: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["replay", "no-such-log.jsonl", "--store", url]) == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1
    assert "secret" not in err  # a password never reaches the terminal
    assert list(tmp_path.iterdir()) == []  # nothing created, no server contacted


def test_a_scenario_store_is_checked_before_the_progress_bar(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SCENARIOS / "minimal.toml").read_text()
    scenario = tmp_path / "stored.toml"
    scenario.write_text(text + f'[engine]\nstore = "sqlite:///{tmp_path}/gone/run.db"\n')
    load_scenario(scenario)  # a well-formed scenario: only its store is wrong
    assert main(["run", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("racesim: error: store URL") and "gone does not exist" in err
    assert "replications" not in err


# -- help texts ---------------------------------------------------------------------------


def _commands() -> list[str]:
    actions = [a for a in build_parser()._actions if a.dest == "command"]
    return sorted(actions[0].choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("command", [None, *_commands()])
def test_no_help_text_shows_a_doubled_percent_sign(command: str | None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"] if command is None else [command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out and "--debug" in out


def test_run_help_shows_a_95_percent_interval(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "its 95 % interval" in " ".join(capsys.readouterr().out.split())


# -- bounded errors -----------------------------------------------------------------------


def test_shorten_cuts_long_values_and_says_how_long() -> None:
    assert shorten("MUG-RED") == "'MUG-RED'"
    assert shorten(10**400) == "1" + "0" * 79 + "…(401 chars)"
    assert shorten("x" * 5_000_000) == "'" + "x" * 79 + "…(5,000,000 chars)"
    assert shorten(10**5000) == "<a whole number of about 5,001 digits>"


def test_a_400_digit_at_in_a_replayed_log_is_not_echoed_whole(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "huge-at.jsonl"
    log.write_text('{"type": "stock.received", "at": 1' + "0" * 400
                   + ', "sku": "MUG", "quantity": 2, "ref": "PO-1"}\n')
    assert main(["replay", str(log)]) == 2
    err = capsys.readouterr().err
    assert "field 'at' must be a finite number of seconds ≥ 0" in err
    assert "…(401 chars)" in err and "0" * 100 not in err and len(err) < 600


def test_a_huge_seed_is_refused_without_being_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(SCENARIOS / "minimal.toml"), "--seed", "9" * 400])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seed: expected a whole number of at most 19 digits" in err
    assert "…(400 chars)" in err and "9" * 100 not in err


def test_a_huge_unknown_argument_is_not_echoed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", "log.jsonl", "--malformed", "z" * 100_000])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --malformed: invalid choice: 'zzz" in err
    assert "…(100,0" in err and len(err) < 1500


@pytest.mark.parametrize(("option", "value", "problem"), [
    ("--seed", str(2**63), "must be at most 9,223,372,036,854,775,807"),
    ("--seed", "-1", "must be ≥ 0 (got -1)"),
    ("--jobs", "100000", "must be at most 256 (got 100,000)"),
    ("--replications", "1000001", "must be at most 1,000,000"),
])
def test_numeric_options_are_bounded(option: str, value: str, problem: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(SCENARIOS / "minimal.toml"), option, value])
    assert exit_info.value.code == 2
    assert problem in capsys.readouterr().err


def test_a_huge_webhook_field_is_not_echoed_whole() -> None:
    name = "x" * 5_000_000 + "\n"  # a control character: refused before the length check
    record = {"type": "order.cancelled", "at": 1.0, "order_id": name, "sku": "MUG"}
    with pytest.raises(WebhookError) as error:
        webhook_from_json(json.dumps(record))
    assert "must not contain control characters" in str(error.value)
    assert len(str(error.value)) < 200
    many = {"type": "order.cancelled", "at": 1.0, "order_id": "A", "sku": "MUG",
            **{f"{'k' * 1000}{i}": 1 for i in range(1000)}}
    with pytest.raises(WebhookError) as error:
        webhook_from_json(json.dumps(many))
    assert "and 995 more" in str(error.value) and len(str(error.value)) < 600


def test_a_huge_ledger_argument_is_not_echoed_whole() -> None:
    with Ledger.open() as ledger, pytest.raises(InvalidCommand) as error:
        ledger.reserve("MUG", 1, "x" * 5_000_000 + "\x00", "amazon")
    assert len(str(error.value)) < 200 and "5,000,001 chars" in str(error.value)


def test_a_huge_scenario_key_or_tag_is_not_echoed_whole(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SCENARIOS / "minimal.toml").read_text()
    huge = "z" * 100_000
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('dist = "fixed", value = "30s"', f'dist = "{huge}", value = "30s"')
                   .replace("[sync]", f"[sync]\n{huge} = 1"))
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown dist 'zzz" in err and "sync.zzz" in err
    assert "z" * 100 not in err and len(err) < 1000
