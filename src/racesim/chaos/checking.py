"""``racesim chaos --check HISTORY.jsonl``: a saved history checked again, the same way
every time, and what is printed and written about it.

The verdict, the failing component's SKUs and its 1-minimal witness
(:mod:`racesim.chaos.witness`) depend on the file and ``max_states`` alone — the search
is bounded by states, not time — so re-checking a history gives the same answer on any
machine. With ``--out`` the folder gets ``check.json`` (verdict and witness),
``witness.jsonl`` (the witness as a history, to check again on its own), ``witness.txt``
(the timeline) and ``witness.png`` (its figure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racesim.chaos.history import Operation, read_history, write_history
from racesim.chaos.linearize import DEFAULT_MAX_STATES, NOT_LINEARIZABLE, Check, check_history
from racesim.chaos.timeline import timeline_figure, timeline_text
from racesim.chaos.witness import history_witness
from racesim.util.manifest import versions, written_at
from racesim.util.outdir import OutputFolder

__all__ = ["CheckReport", "check_file", "print_check", "write_check"]


@dataclass(frozen=True)
class CheckReport:
    """A history file's verdict and, when it is not linearizable, its witness."""

    path: str
    operations: int
    check: Check
    witness: tuple[Operation, ...]
    max_states: int

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        failing = self.check.failing
        return {"history": self.path, "operations": self.operations,
                "verdict": self.check.status, "detail": str(self.check),
                "max_states": self.max_states, "states": self.check.states,
                "components": len(self.check.verdicts),
                "failing_skus": list(failing.skus) if failing else [],
                "witness": [{"index": o.index, **o.to_json()} for o in self.witness]}


def check_file(path: str | Path, max_states: int = DEFAULT_MAX_STATES) -> CheckReport:
    """Read and check a history file; find the witness if it is not linearizable."""
    operations = read_history(path)
    check = check_history(operations, max_states)
    witness = history_witness(operations, check, max_states)
    return CheckReport(str(path), len(operations), check, tuple(witness), max_states)


def print_check(report: CheckReport) -> None:
    """Print the verdict and, on failure, the witness as a timeline."""
    check = report.check
    print(f"racesim chaos --check {report.path}: {report.operations:,} operations, "
          f"{len(check.verdicts)} independent component(s), {check.states:,} states "
          f"explored: {check}")
    failing = check.failing
    if failing is None:
        return
    skus = ", ".join(failing.skus)
    if check.status != NOT_LINEARIZABLE:
        print(f"  SKU(s) {skus}: the search stopped at --max-states {report.max_states:,}; "
              "the history is neither passed nor failed (raise --max-states, or record "
              "a shorter history)")
        return
    print(f"  SKU(s) {skus}: no order of these {len(report.witness)} operations respects "
          "real time and gives every answer the engine gave; deleting any one makes the "
          "rest linearizable or takes away what explains the others' answers:\n")
    print(timeline_text(report.witness))


def write_check(folder: OutputFolder, report: CheckReport, command: list[str]) -> None:
    """Write check.json and, with a witness, witness.jsonl, witness.txt and witness.png."""
    with folder.staged() as stage:
        stage.path("check.json").write_text(
            json.dumps({**report.to_json(), "command": command}, indent=2,
                       ensure_ascii=False) + "\n", encoding="utf-8")
        if report.witness:
            write_history(stage.path("witness.jsonl"), report.witness)
            stage.path("witness.txt").write_text(timeline_text(report.witness) + "\n",
                                                 encoding="utf-8")
            figure = timeline_figure(list(report.witness),
                                     f"{Path(report.path).name}: not linearizable")
            figure.savefig(stage.path("witness.png"), dpi=110)
        stage.manifest.update({"what": "racesim chaos --check", "command": command,
                               "versions": versions(), "written_at": written_at()})
