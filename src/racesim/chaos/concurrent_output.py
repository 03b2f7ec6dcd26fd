"""What ``racesim chaos --concurrency K`` prints and writes about its runs.

Printed: one line of totals and, for the first seed that is not linearizable, its
checker's witness as a timeline. Written with ``--out``: ``concurrent.json`` (every seed's
verdict), and for each seed that failed or was undecided its whole history
(``history-sSEED.jsonl``, to re-check with ``--check``) and, on failure, the witness as
``witness-sSEED.txt`` and ``witness-sSEED.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from racesim.chaos.concurrent import ConcurrentRun
from racesim.chaos.history import write_history
from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE
from racesim.chaos.timeline import timeline_text
from racesim.util.manifest import versions, written_at
from racesim.util.outdir import OutputFolder

__all__ = ["concurrent_json", "print_concurrent", "write_concurrent"]


def concurrent_json(label: str, concurrency: int, runs: Sequence[ConcurrentRun],
                    workers: str = "thread") -> dict[str, Any]:
    """The runs' verdicts as one JSON-ready dict (``workers``: thread or process)."""
    return {"engine": label, "concurrency": concurrency, "workers": workers,
            "seeds": len(runs), "passed": all(r.passed for r in runs),
            "not_linearizable": [r.seed for r in runs if r.check.status == NOT_LINEARIZABLE],
            "undecided": [r.seed for r in runs
                          if r.check.status not in (LINEARIZABLE, NOT_LINEARIZABLE)],
            "runs": [{"seed": r.seed, "verdict": r.check.status,
                      "operations": len(r.operations), "states": r.check.states,
                      "witness": len(r.witness)} for r in runs]}


def print_concurrent(label: str, concurrency: int, runs: Sequence[ConcurrentRun]) -> None:
    """Totals, and the first failing seed's witness timeline."""
    summary = concurrent_json(label, concurrency, runs)
    operations = sum(len(r.operations) for r in runs)
    print(f"racesim chaos --concurrency {concurrency} ({label}): {len(runs)} seed(s), "
          f"{operations:,} operations, {len(summary['not_linearizable'])} not "
          f"linearizable, {len(summary['undecided'])} undecided")
    failed = next((r for r in runs if r.check.status == NOT_LINEARIZABLE), None)
    if failed is not None:
        skus = ", ".join(failed.check.failing.skus) if failed.check.failing else ""
        print(f"\nseed {failed.seed}, SKU(s) {skus}: no order of these {len(failed.witness)} "
              "operations respects real time and gives every answer the "
              "engine gave:\n")
        print(timeline_text(failed.witness))
    elif summary["undecided"]:
        print(f"seed(s) {summary['undecided']}: the search reached --max-states before it "
              "could pass or fail the history (never a pass)")


def write_concurrent(folder: OutputFolder, label: str, concurrency: int,
                     runs: Sequence[ConcurrentRun], command: list[str],
                     workers: str = "thread") -> None:
    """Write concurrent.json, and the histories and witnesses of seeds that did not pass."""
    with folder.staged() as stage:
        stage.path("concurrent.json").write_text(
            json.dumps({**concurrent_json(label, concurrency, runs, workers),
                        "command": command},
                       indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        for run in runs:
            if run.passed:
                continue
            write_history(stage.path(f"history-s{run.seed}.jsonl"), run.operations)
            if run.witness:
                write_history(stage.path(f"witness-s{run.seed}.jsonl"), run.witness)
                stage.path(f"witness-s{run.seed}.txt").write_text(
                    timeline_text(run.witness) + "\n", encoding="utf-8")
        stage.manifest.update({"what": "racesim chaos --concurrency", "command": command,
                               "versions": versions(), "written_at": written_at()})
