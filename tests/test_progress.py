"""Progress bars: off unless asked for, totals fixed before they start, readable in a log.

On a terminal a bar is tqdm's, redrawn with carriage returns; anywhere else (a log file,
a pipe, CI) it is whole lines — one per completed chunk or per stage — with no ``\\r``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from racesim.report.compute import compute, stages
from racesim.scenario import load_scenario
from racesim.util.progress import LINES_PER_BAR, StageBar, open_bar, progress

RACE1 = Path(__file__).resolve().parents[1] / "scenarios" / "race1_double_buy.toml"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, so tqdm draws its bar there."""

    def isatty(self) -> bool:
        return True


def _frames(text: str) -> list[str]:
    """Every frame a terminal bar drew (carriage returns and newlines split them)."""
    return [frame for frame in re.split(r"[\r\n]", text) if frame.strip()]


def test_progress_is_silent_when_off_and_whole_lines_when_stderr_is_no_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress(iter(range(3)), 3, False, desc="sweep", unit="run")) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    assert list(progress(iter(range(3)), 3, True, desc="sweep", unit="run")) == [0, 1, 2]
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert "\r" not in err
    assert [re.sub(r"\(\d+ s\)", "(t)", line) for line in err.splitlines()] == [
        "sweep: 1/3 runs (t)", "sweep: 2/3 runs (t)", "sweep: 3/3 runs (t)"]


def test_a_long_count_writes_one_line_per_tenth_and_one_for_the_last_item() -> None:
    log = io.StringIO()
    with open_bar(95, desc="tune", unit="point", file=log) as bar:
        for _ in range(95):
            bar.update(1)
    lines = log.getvalue().splitlines()
    assert len(lines) == LINES_PER_BAR
    assert [int(re.match(r"tune: (\d+)/95 points \(\d+ s\)$", line)[1])  # type: ignore[index]
            for line in lines] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]


def test_a_chunked_count_writes_a_line_per_chunk_with_its_postfix() -> None:
    log = io.StringIO()
    with open_bar(8, desc="chaos seeds", unit="seed", file=log, leave=False) as bar:
        bar.update(3)
        bar.set_postfix_str("failed=1")
        bar.update(5)
    assert [re.sub(r"\(\d+ s\)", "(t)", line) for line in log.getvalue().splitlines()] == [
        "chaos seeds: 3/8 seeds (t)", "chaos seeds: 8/8 seeds (t) — failed=1"]


def test_a_bar_that_is_off_writes_nothing_and_a_bad_total_is_refused() -> None:
    log = io.StringIO()
    with open_bar(4, desc="x", unit="run", file=log, enabled=False) as bar:
        bar.update(4)
    assert log.getvalue() == ""
    with pytest.raises(ValueError, match=r"total must be a whole number ≥ 0 \(got -1\)"):
        open_bar(-1, desc="x", unit="run")
    with pytest.raises(ValueError, match=r"stages must be a whole number ≥ 1 \(got 0\)"):
        StageBar(True, "report", 0)


def test_a_stage_bar_off_a_terminal_writes_one_line_per_stage() -> None:
    log = io.StringIO()
    bar = StageBar(True, "report", 3, file=log)
    bar.stage("current buffer")
    bar.stage("sweep")
    bar.detail("units=2, 1/4 values done")
    bar.stage("figures and files")
    bar.close()
    assert [re.sub(r" \(\d+ s\)$", "", line) for line in log.getvalue().splitlines()] == [
        "report: stage 1/3 current buffer", "report: stage 2/3 sweep",
        "report: stage 2/3 sweep: units=2, 1/4 values done",
        "report: stage 3/3 figures and files", "report: 3/3 stages done"]


def test_a_stage_bar_says_where_a_job_stopped_and_refuses_a_stage_too_many() -> None:
    log = io.StringIO()
    bar = StageBar(True, "report", 3, file=log)
    bar.stage("current buffer")
    bar.stage("tuner")
    bar.close()
    assert log.getvalue().splitlines()[-1].startswith("report: stopped in stage 2/3 tuner")
    silent = StageBar(False, "report", 1)
    silent.stage("one")
    with pytest.raises(ValueError, match="stage 'two' would be stage 2 of 1 announced"):
        silent.stage("two")


def test_a_stage_bar_on_a_terminal_keeps_its_total_from_first_frame_to_last() -> None:
    screen = Terminal()
    bar = StageBar(True, "report", 3, file=screen)
    for name in ("current buffer", "tuner", "figures and files"):
        bar.stage(name)
        assert bar.bar.total == 3
    bar.close()
    counts = [re.match(r"report: (\d+)/(\d+) stages", frame) for frame in _frames(
        screen.getvalue())]
    assert counts and all(counts)
    assert {int(c[2]) for c in counts if c} == {3}
    assert [int(c[1]) for c in counts if c][-1] == 3


def test_the_report_runs_the_stages_it_announces_in_order() -> None:
    """A real (short) report computation on a terminal bar: its total never moves."""
    scenario = load_scenario(RACE1).with_overrides(
        {"duration": "2d"})
    screen = Terminal()
    announced = stages(per_channel=True)  # the per-channel search is the last
    bar = StageBar(True, "report", len(announced), file=screen)
    seen: list[str] = []
    stage = bar.stage
    bar.stage = lambda name: (seen.append(name), stage(name))[1]  # type: ignore[method-assign]
    compute(scenario, seed=1, replications=1, target=0.1, per_channel=True, progress=bar)
    bar.close()
    assert seen == list(announced)
    totals = {m[1] for m in re.finditer(r"report: \d+/(\d+) stages", screen.getvalue())}
    assert totals == {str(len(announced))}
    assert f"{len(announced)}/{len(announced)} stages" in screen.getvalue()
