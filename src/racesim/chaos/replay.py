"""Apply a recorded webhook log to a ledger: ``racesim replay TRACE.jsonl --store URL``.

The log is JSON Lines in the format of :mod:`racesim.webhooks.format`, one delivery per line.
Every line is read and checked before anything is applied: a malformed line is reported
with its line number and either stops the run before the first write
(``on_malformed="stop"``, the default) or is left out whole (``"skip"``) — a line is
never half-applied, and each delivery is one ledger transaction.

Optionally the log is made hostile first, reproducibly from ``seed``: ``duplicate=(p2,
p3)`` delivers each line twice with probability p2 and three times with probability p3;
``shuffle=W`` delays each copy by U(0, W) seconds, so deliveries less than W apart may
swap. A delivery the ledger refuses (a cancellation before its order, a return before its
shipment) is redelivered after 30 s, 60 s, … like a job runner would, up to ``attempts``
deliveries, then counted as a dead letter.

The auditor of ``racesim chaos`` watches every step against its reference model, so the
report lists any invariant the ledger broke, besides the resulting projection. Replaying
into a ledger that already holds events is allowed: the auditor first reads them in.
A line's optional ``crash`` marker (written by ``racesim chaos --out``) is honoured — the
delivery is skipped, rolled back inside its transaction, or applied — and, since such a
trace already holds every redelivery, a crashed line is not redelivered.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from racesim.chaos.audit import OUTCOMES, Auditor, Violation
from racesim.chaos.engines import EngineUnderTest
from racesim.chaos.run import BACKOFF
from racesim.errors import RacesimError
from racesim.ledger import Ledger
from racesim.ledger.engine import DEFAULT_FUTURE_WINDOW
from racesim.webhooks.format import MalformedLine, Webhook, read_log

__all__ = ["ReplayReport", "replay_log"]

def _within_the_window(lines: list[tuple[int, Webhook]]
                       ) -> tuple[list[tuple[int, Webhook]], list[MalformedLine]]:
    """Lines dated beyond the ledger's future window from now are malformed: any ledger
    would refuse them, and the replay's clock, which only moves forward, would carry their
    date to every delivery after them."""
    horizon = time.time() + DEFAULT_FUTURE_WINDOW
    kept, late = [], []
    for number, webhook in lines:
        if webhook.at > horizon:
            late.append(MalformedLine(number, f"field 'at' ({webhook.at:.6g} s) lies more than "
                                              f"{DEFAULT_FUTURE_WINDOW:g} s after this machine's "
                                              "clock", webhook.to_line()[:200]))
        else:
            kept.append((number, webhook))
    return kept, late


class MalformedLog(RacesimError, ValueError):
    """A log has malformed lines and the replay was asked to stop on them."""

    def __init__(self, path: Path, malformed: list[MalformedLine]) -> None:
        self.path, self.malformed = path, malformed
        shown = "\n".join(f"  {path}: {line}" for line in malformed[:20])
        more = f"\n  … and {len(malformed) - 20} more" if len(malformed) > 20 else ""
        super().__init__(f"{path}: {len(malformed)} malformed line(s); nothing was applied "
                         f"(use --malformed skip to apply the rest):\n{shown}{more}")


@dataclass
class ReplayReport:
    """What a replay did: counts by outcome, dead letters, problems, final projection."""

    path: str
    store: str
    lines: int  # deliveries read from the log (malformed ones excluded)
    deliveries: int  # deliveries applied, injected copies and redeliveries included
    outcomes: dict[str, int]
    dead_letters: list[Webhook]
    malformed: list[MalformedLine]
    violation: Violation | None
    projection: pd.DataFrame = field(repr=False)

    @property
    def sound(self) -> bool:
        """True when no invariant broke."""
        return self.violation is None

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (the projection as records)."""
        return {
            "path": self.path, "store": self.store, "lines": self.lines,
            "deliveries": self.deliveries, "outcomes": self.outcomes,
            "dead_letters": [w.to_json() for w in self.dead_letters],
            "malformed": [{"line": m.line, "message": m.message} for m in self.malformed],
            "violation": None if self.violation is None else {
                "invariant": self.violation.invariant, "step": self.violation.step + 1,
                "detail": self.violation.detail},
            "projection": self.projection.reset_index().to_dict("records"),
        }


def replay_log(path: str | Path, store: str = "memory://", *,
               duplicate: tuple[float, float] = (0.0, 0.0), shuffle: float = 0.0,
               seed: int = 0, on_malformed: str = "stop", attempts: int = 4) -> ReplayReport:
    """Replay the webhook log at ``path`` into the ledger at ``store`` (see module doc)."""
    path = Path(path)
    p2, p3 = duplicate
    if not (0 <= p2 <= 1 and 0 <= p3 <= 1 and p2 + p3 <= 1):
        raise RacesimError(f"duplicate probabilities must be in [0, 1] and sum to at most 1 "
                           f"(got p2={p2:g}, p3={p3:g})")
    if not 0 <= shuffle < math.inf:  # NaN and infinity too
        raise RacesimError(f"shuffle window must be ≥ 0 seconds (got {shuffle:g})")
    if on_malformed not in ("stop", "skip"):
        raise RacesimError(f"on_malformed must be 'stop' or 'skip' (got {on_malformed!r})")
    if seed < 0:  # numpy's SeedSequence would raise a bare ValueError
        raise RacesimError(f"seed must be ≥ 0 (got {seed})")
    if attempts < 1:
        raise RacesimError(f"attempts must be ≥ 1 (got {attempts})")
    if not path.is_file():
        raise RacesimError(f"{path}: " + ("a directory, not a webhook log" if path.is_dir()
                                          else "no such webhook log"))
    lines, malformed = read_log(path)
    lines, too_late = _within_the_window(lines)
    malformed = sorted(malformed + too_late)
    if malformed and on_malformed == "stop":
        raise MalformedLog(path, malformed)
    queue = _schedule([w for _, w in lines], p2, p3, shuffle, seed)
    ledger = Ledger.open(store)
    try:
        engine = EngineUnderTest(ledger, f"ledger on {ledger.url}")
        auditor = Auditor(engine)
        clock, violation = auditor.adopt(list(ledger.iter_events()))
        dead: list[Webhook] = []
        index = len(queue)
        while queue and violation is None:
            at, _, webhook, attempt = heapq.heappop(queue)
            clock = max(clock, at)  # the ledger's log stays in time order
            result = auditor.step(replace(webhook, at=clock))
            violation = result.violation
            if result.outcome == "refused":
                if attempt + 1 < attempts:
                    heapq.heappush(queue, (at + BACKOFF * 2 ** attempt, index, webhook,
                                           attempt + 1))
                    index += 1
                else:
                    dead.append(webhook)
        if violation is None:
            violation = auditor.finish()
        projection = ledger.snapshot()
        url = ledger.url
    finally:
        ledger.close()
    return ReplayReport(str(path), url, len(lines), auditor.steps, dict(auditor.outcomes), dead,
                        malformed, violation, projection)


def _schedule(webhooks: list[Webhook], p2: float, p3: float, shuffle: float,
              seed: int) -> list[tuple[float, int, Webhook, int]]:
    """The deliveries in arrival order: (time, tie-break, webhook, attempt) heap entries."""
    streams = np.random.SeedSequence(seed).spawn(2)
    copies_rng, delay_rng = (np.random.default_rng(s) for s in streams)
    queue: list[tuple[float, int, Webhook, int]] = []
    latest = 0.0  # without shuffling: file order, whatever the times say
    for webhook in webhooks:
        u = copies_rng.random() if (p2 or p3) else 1.0
        copies = 3 if u < p3 else 2 if u < p3 + p2 else 1
        latest = max(latest, webhook.at)
        for _ in range(copies):
            at = webhook.at + float(delay_rng.uniform(0, shuffle)) if shuffle else latest
            queue.append((at, len(queue), webhook, 0))
    heapq.heapify(queue)
    return queue


def format_report(report: ReplayReport) -> str:
    """The report as text: counts, dead letters, verdict, projection."""
    counts = Counter(report.outcomes)
    lines = [f"{report.path} → {report.store}: {report.lines} deliveries read, "
             f"{report.deliveries} handled (injected copies and redeliveries included)",
             "  " + ", ".join(f"{counts[k]} {k}" for k in OUTCOMES if counts[k])]
    if report.malformed:
        lines.append(f"  {len(report.malformed)} malformed line(s) skipped:")
        lines += [f"    {m}" for m in report.malformed[:20]]
    if report.dead_letters:
        lines.append(f"  {len(report.dead_letters)} delivery(ies) refused on every attempt "
                     "(dead letters):")
        lines += [f"    {w.describe()}" for w in report.dead_letters[:20]]
    lines.append("  invariants: " + ("all held" if report.sound else
                                     f"BROKEN — {report.violation}; the replay stopped "
                                     "there, later deliveries were not applied"))
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        lines += ["", report.projection.to_string() if len(report.projection) else
                  "(the ledger holds no stock)"]
    return "\n".join(lines)
