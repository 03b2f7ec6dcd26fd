"""What ``racesim chaos --concurrency K`` prints and writes about its runs.

Printed: one line of totals and, for the first seed that is not linearizable, its
checker's witness as a timeline; for the first seed whose final state broke an invariant,
which and how. Written with ``--out``: ``concurrent.json`` (every seed's verdict and
final-state audit), and for each seed that failed or was undecided its whole history
(``history-sSEED.jsonl``, to re-check with ``--check``) and, on failure, the witness as
``witness-sSEED.txt`` and ``witness-sSEED.jsonl``.

With ``--replay SEED --repeat N`` (:mod:`racesim.chaos.repeat`): how many of the N runs
failed, with the rate's Wilson interval, the count of each verdict and the first failing
run's witness; ``--out`` writes ``repeat.json`` and, for each run R that did not pass,
``history-sSEED-rR.jsonl`` and its witness (``witness-sSEED-rR.txt``, ``.jsonl``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from racesim.chaos.concurrent import ConcurrentRun
from racesim.chaos.history import write_history
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE, UNDECIDED
from racesim.chaos.repeat import CONFIDENCE, RepeatReport
from racesim.chaos.timeline import timeline_text
from racesim.util.manifest import versions, written_at
from racesim.util.outdir import OutputFolder, Staging

__all__ = ["concurrent_json", "print_concurrent", "print_repeat", "write_concurrent",
           "write_repeat"]


def concurrent_json(label: str, concurrency: int, runs: Sequence[ConcurrentRun],
                    workers: str = "thread") -> dict[str, Any]:
    """The runs' verdicts as one JSON-ready dict (``workers``: thread or process)."""
    return {"engine": label, "concurrency": concurrency, "workers": workers,
            "seeds": len(runs), "passed": all(r.passed for r in runs),
            "not_linearizable": [r.seed for r in runs if r.check.status == NOT_LINEARIZABLE],
            "undecided": [r.seed for r in runs
                          if r.check.status not in (LINEARIZABLE, NOT_LINEARIZABLE)],
            "broken_final_state": [r.seed for r in runs if r.final_state is not None],
            "runs": [{"seed": r.seed, "verdict": r.check.status,
                      "operations": len(r.operations), "states": r.check.states,
                      "witness": len(r.witness),
                      "final_state": None if r.final_state is None else
                      r.final_state._asdict()} for r in runs]}


def _print_witness(failed: ConcurrentRun, what: str) -> None:
    """The witness of a run that was not linearizable, as a timeline; ``what`` names the
    run (``seed 3``, ``run 2 of seed 3``)."""
    skus = ", ".join(failed.check.failing.skus) if failed.check.failing else ""
    print(f"\n{what}, SKU(s) {skus}: no order of these {len(failed.witness)} "
          "operations respects real time and gives every answer the "
          "engine gave:\n")
    print(timeline_text(failed.witness))


def print_concurrent(label: str, concurrency: int, runs: Sequence[ConcurrentRun]) -> None:
    """Totals, and the first failing seed's witness timeline."""
    summary = concurrent_json(label, concurrency, runs)
    operations = sum(len(r.operations) for r in runs)
    print(f"racesim chaos --concurrency {concurrency} ({label}): {len(runs)} seed(s), "
          f"{operations:,} operations, {len(summary['not_linearizable'])} not "
          f"linearizable, {len(summary['undecided'])} undecided")
    failed = next((r for r in runs if r.check.status == NOT_LINEARIZABLE), None)
    if failed is not None:
        _print_witness(failed, f"seed {failed.seed}")
    elif summary["undecided"]:
        print(f"seed(s) {summary['undecided']}: the search reached --max-states before it "
              "could pass or fail the history (never a pass)")
    broken = next((r for r in runs if r.final_state is not None), None)
    if broken is not None:
        print(f"\n{len(summary['broken_final_state'])} seed(s) left a broken final state; "
              f"seed {broken.seed}: {broken.final_state}")


def print_repeat(report: RepeatReport) -> None:
    """How often the seed failed, with its interval and verdicts, and the first failing
    run's witness timeline."""
    low, high = report.interval
    runs, failures, verdicts = len(report.runs), len(report.failures), report.verdicts
    print(f"racesim chaos --concurrency {report.concurrency} --replay {report.seed} "
          f"--repeat {runs} ({report.label}): {failures} of {runs} run(s) failed "
          f"({_pct(failures / runs)}; {_pct(CONFIDENCE)} Wilson interval "
          f"{_pct(low, unit=False)}–{_pct(high)})")
    print(f"verdicts: {verdicts[LINEARIZABLE]} linearizable, {verdicts[NOT_LINEARIZABLE]} "
          f"not linearizable, {verdicts[UNDECIDED]} undecided")
    broken = [n for n, r in enumerate(report.runs, start=1) if r.final_state is not None]
    if broken:
        print(f"run(s) {broken} left a broken final state; run {broken[0]}: "
              f"{report.runs[broken[0] - 1].final_state}")
    first = next((n for n, r in enumerate(report.runs, start=1)
                  if r.check.status == NOT_LINEARIZABLE), None)
    if first is not None:
        _print_witness(report.runs[first - 1], f"run {first} of seed {report.seed}")
    elif verdicts[UNDECIDED]:
        undecided = [n for n, r in enumerate(report.runs, start=1)
                     if r.check.status == UNDECIDED]
        print(f"run(s) {undecided}: the search reached --max-states before it could pass "
              "or fail the history (never a pass)")


def _pct(fraction: float, *, unit: bool = True) -> str:
    """A fraction as a percentage of three significant digits: ``15 %``, ``3.67 %``."""
    return f"{100 * fraction:.3g}" + (" %" if unit else "")


def _write_unpassed(stage: Staging, run: ConcurrentRun, stem: str) -> None:
    """A run that did not pass: its history and, when it failed, its witness."""
    write_history(stage.path(f"history-{stem}.jsonl"), run.operations)
    if run.witness:
        write_history(stage.path(f"witness-{stem}.jsonl"), run.witness)
        stage.path(f"witness-{stem}.txt").write_text(timeline_text(run.witness) + "\n",
                                                     encoding="utf-8")


def _write_json(stage: Staging, name: str, summary: dict[str, Any], what: str,
                command: list[str]) -> None:
    stage.path(name).write_text(json.dumps({**summary, "command": command}, indent=2,
                                           ensure_ascii=False) + "\n", encoding="utf-8")
    stage.manifest.update({"what": what, "command": command, "versions": versions(),
                           "written_at": written_at()})


def write_concurrent(folder: OutputFolder, label: str, concurrency: int,
                     runs: Sequence[ConcurrentRun], command: list[str],
                     workers: str = "thread") -> None:
    """Write concurrent.json, and the histories and witnesses of seeds that did not pass."""
    with folder.staged() as stage:
        for run in runs:
            if not run.passed:
                _write_unpassed(stage, run, f"s{run.seed}")
        _write_json(stage, "concurrent.json", concurrent_json(label, concurrency, runs, workers),
                    "racesim chaos --concurrency", command)


def write_repeat(folder: OutputFolder, report: RepeatReport, command: list[str]) -> None:
    """Write repeat.json, and the history (``history-sSEED-rR.jsonl``) and witness of
    each run that did not pass."""
    with folder.staged() as stage:
        for n, run in enumerate(report.runs, start=1):
            if not run.passed:
                _write_unpassed(stage, run, f"s{report.seed}-r{n}")
        _write_json(stage, "repeat.json", report.to_json(),
                    "racesim chaos --concurrency --replay --repeat", command)
