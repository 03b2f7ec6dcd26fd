"""Run seeds against an engine, shrink a failing trace, and gather the verdicts.

A seed's run is a small deterministic simulation: the shop's webhooks (drawn by
:mod:`racesim.chaos.swarm`) arrive as 1–3 late copies; our job runner hands each to the
engine, redelivers what was refused or whose handler crashed (after 30 s, 60 s, … up to
six attempts) and now and then redelivers what went through. Every delivery the handler
sees — retries included — is one step of the run's *trace*, and the auditor checks the
engine after each. A trace is a list of webhooks with their processing times and crash
points, so it replays on its own (:func:`replay_trace`) and shrinks: :func:`shrink`
removes deliveries while the same invariant still breaks (delta debugging).

A seed's run depends on the seed and the swarm version
(:data:`~racesim.chaos.swarm.SWARM_VERSION` by default); a stored trace depends on
neither, since it holds the deliveries themselves.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from racesim.chaos.audit import OUTCOMES, Auditor, Violation
from racesim.chaos.engines import EngineSpec
from racesim.chaos.swarm import (
    SWARM_VERSION,
    SWARM_VERSIONS,
    ChaosSettings,
    Delivery,
    Plan,
    Planned,
    copies,
    draw_plan,
    draw_settings,
)
from racesim.errors import RacesimError
from racesim.sim.streams import Streams
from racesim.webhooks.format import CRASH_POINTS, Webhook

__all__ = ["ChaosReport", "SeedRun", "replay_trace", "run_chaos", "run_seed", "shrink"]

MAX_ATTEMPTS = 6
"""Deliveries of one copy our job runner makes before it gives up (dead letter)."""

BACKOFF = 30.0
"""Seconds before the first redelivery of a refused or crashed delivery; doubles each time."""


@dataclass
class SeedRun:
    """One seed's run: its settings, counts, verdict and (if it failed) its trace."""

    seed: int
    settings: ChaosSettings
    webhooks: int  # sent by the shop, each once
    deliveries: int  # steps: every delivery the handler saw
    outcomes: dict[str, int]  # expected statuses, plus 'crashed'
    dead_letters: int
    violation: Violation | None
    trace: list[Webhook] = field(default_factory=list)  # kept for failing seeds only
    store: str = ""  # where a failing ledger run was kept

    @property
    def passed(self) -> bool:
        return self.violation is None

    def row(self) -> dict[str, Any]:
        """One row of the per-seed table."""
        v = self.violation
        return {"seed": self.seed, "passed": self.passed,
                "invariant": v.invariant if v else "", "step": v.step + 1 if v else 0,
                "detail": v.detail if v else "", "webhooks": self.webhooks,
                "deliveries": self.deliveries,
                **{name: self.outcomes.get(name, 0) for name in OUTCOMES},
                "dead_letters": self.dead_letters, **self.settings.to_json()}


def run_seed(spec: EngineSpec, seed: int, *, keep_trace: bool = False,
             swarm_version: int = SWARM_VERSION) -> SeedRun:
    """Run one seed of swarm ``swarm_version`` against a fresh engine.

    The trace is kept if the seed fails (or if asked).
    """
    streams = Streams(np.random.SeedSequence(seed))
    settings = draw_settings(streams, swarm_version)
    plan = draw_plan(settings, streams)
    crashes, redelivery = streams("crashes"), streams("redelivery")
    queue: list[Delivery] = []
    next_index = 0

    def send(planned: Planned, at: float, tag: str) -> None:
        nonlocal next_index
        for delivery in copies(planned, at, next_index, tag):
            heapq.heappush(queue, delivery)
        next_index += len(planned.lateness)

    for n, planned in enumerate(plan.initial):
        send(planned, planned.webhook.at, f"W{n}")
    triggered: set[tuple[str, str, str]] = set()
    engine = spec.open(f"s{seed}")
    auditor = Auditor(engine)
    trace: list[Webhook] = []
    dead = 0
    violation: Violation | None = None
    try:
        while queue:
            delivery = heapq.heappop(queue)
            crash = ""
            if crashes.random() < settings.crash_rate:
                crash = CRASH_POINTS[int(crashes.integers(len(CRASH_POINTS)))]
            webhook = replace(delivery.webhook, at=delivery.at, crash=crash)
            trace.append(webhook)
            result = auditor.step(webhook)
            if result.violation is not None:
                violation = result.violation
                break
            for planned, tag in _follow_ups(plan, webhook, result.answer, triggered):
                send(planned, delivery.at + planned.webhook.at, tag)
            again: float | None = None
            if result.outcome != "applied":  # refused, or the handler crashed: retry
                if delivery.attempt + 1 < MAX_ATTEMPTS:
                    again = delivery.at + BACKOFF * 2 ** delivery.attempt
                else:
                    dead += 1
            elif redelivery.random() < settings.redelivery_rate:
                again = delivery.at + float(redelivery.uniform(1.0, 600.0))
            if again is not None:
                heapq.heappush(queue, Delivery(again, next_index, delivery.webhook,
                                               delivery.attempt + 1))
                next_index += 1
        else:
            violation = auditor.finish()
    finally:
        store = getattr(engine.engine, "url", "")
        if violation is None:
            spec.discard(engine)
        else:
            engine.close()
    return SeedRun(seed, settings, plan.webhooks, len(trace), dict(auditor.outcomes), dead,
                   violation, trace if violation is not None or keep_trace else [],
                   store if violation is not None and spec.kind == "ledger"
                   and not store.startswith("memory:") else "")


def _follow_ups(plan: Plan, webhook: Webhook, answer: str,
                triggered: set[tuple[str, str, str]]) -> list[tuple[Planned, str]]:
    """What the shop sends because of the engine's answer (each follow-up once)."""
    line, kind = (webhook.order_id, webhook.sku), webhook.type
    if kind == "order.created" and answer in ("reserved", "rejected"):
        what = "ship" if answer == "reserved" else "cancel"
        follow = (plan.shipments if answer == "reserved" else plan.seller_cancels).get(line)
    elif kind == "order.shipped" and answer == "applied":
        what, follow = "return", None
    else:
        return []
    if (what, *line) in triggered:
        return []
    triggered.add((what, *line))
    tag = f"{webhook.id}-{what}"
    if what != "return":
        return [] if follow is None else [(follow, tag)]
    late = plan.late_cancels.get(line)
    return ([(late, f"{tag}-cancel")] if late else []) + \
        [(planned, f"{tag}{p}") for p, planned in enumerate(plan.returns.get(line, []))]


def replay_trace(spec: EngineSpec, trace: Sequence[Webhook],
                 run_id: str = "replay") -> tuple[Violation | None, Auditor]:
    """Apply a trace in order to a fresh engine, auditing each step; stop at a violation.

    No retries are added: the trace already holds every delivery. The engine's storage is
    deleted afterwards.
    """
    engine = spec.open(run_id)
    auditor = Auditor(engine)
    try:
        for webhook in trace:
            violation = auditor.step(webhook).violation
            if violation is not None:
                return violation, auditor
        return auditor.finish(), auditor
    finally:
        spec.discard(engine)


def shrink(spec: EngineSpec, trace: Sequence[Webhook], violation: Violation,
           run_id: str = "shrink", budget: int = 400) -> list[Webhook]:
    """A shorter trace that breaks the same invariant (delta debugging, ≤ ``budget`` tries).

    Starts from the prefix that ends at the failing step, then removes chunks of
    deliveries — halves, quarters, … single deliveries — keeping each removal after
    which the same invariant still breaks.
    """
    current = list(trace[:violation.step + 1])
    tries = 0

    def still_fails(candidate: list[Webhook]) -> bool:
        nonlocal tries
        tries += 1
        found, _ = replay_trace(spec, candidate, f"{run_id}x{tries}")
        return found is not None and found.invariant == violation.invariant

    parts = 2
    while len(current) >= 2 and tries < budget:
        size = math.ceil(len(current) / parts)
        for start in range(0, len(current), size):
            candidate = current[:start] + current[start + size:]
            if candidate and still_fails(candidate):
                current = candidate
                parts = max(parts - 1, 2)
                break
            if tries >= budget:
                break
        else:
            if size == 1:
                break
            parts = min(len(current), parts * 2)
    return current


def explain_trace(spec: EngineSpec, trace: Sequence[Webhook],
                  run_id: str = "explain") -> pd.DataFrame:
    """Each step of a trace with what a correct engine does, what happened and the figures."""
    engine = spec.open(run_id)
    auditor = Auditor(engine)
    rows = []
    try:
        for number, webhook in enumerate(trace, start=1):
            result = auditor.step(webhook)
            seen = engine.observe(webhook.sku)
            rows.append({"step": number, "delivery": webhook.describe(),
                         "expected": result.expected.status if result.expected else "",
                         "answer": result.answer, "outcome": result.outcome,
                         "available": seen.available,
                         "violation": result.violation.invariant if result.violation else ""})
            if result.violation is not None:
                break
    finally:
        spec.discard(engine)
    return pd.DataFrame(rows)


def _run_chunk(task: tuple[EngineSpec, list[int], int]) -> list[SeedRun]:
    spec, seeds, version = task
    return [run_seed(spec, seed, swarm_version=version) for seed in seeds]


@dataclass
class ChaosReport:
    """Every seed's verdict, and the first failing seed's shortened trace."""

    engine: str
    seeds: list[int]
    runs: list[SeedRun]
    shortened: list[Webhook] | None = None
    swarm_version: int = SWARM_VERSION

    @property
    def failures(self) -> list[SeedRun]:
        """The seeds that broke an invariant, lowest seed first."""
        return [run for run in self.runs if not run.passed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def frame(self) -> pd.DataFrame:
        """One row per seed: verdict, counts of each outcome, and the drawn settings."""
        return pd.DataFrame([run.row() for run in self.runs])

    def totals(self) -> dict[str, int]:
        """Deliveries and outcomes summed over every seed."""
        total: Counter[str] = Counter()
        for run in self.runs:
            total.update(run.outcomes)
            total["deliveries"] += run.deliveries
            total["webhooks"] += run.webhooks
            total["dead_letters"] += run.dead_letters
        return dict(total)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        first = self.failures[0] if self.failures else None
        return {
            "engine": self.engine,
            "swarm_version": self.swarm_version,
            "seeds": len(self.seeds),
            "first_seed": self.seeds[0] if self.seeds else None,
            "passed": self.passed,
            "failed_seeds": [run.seed for run in self.failures],
            "invariants_broken": dict(Counter(run.violation.invariant  # type: ignore[union-attr]
                                              for run in self.failures)),
            "totals": self.totals(),
            "first_failure": None if first is None else {
                "seed": first.seed, "invariant": first.violation.invariant,  # type: ignore[union-attr]
                "step": first.violation.step + 1,  # type: ignore[union-attr]
                "detail": first.violation.detail,  # type: ignore[union-attr]
                "deliveries": first.deliveries, "store": first.store,
                "shortened_trace": [w.to_json() for w in self.shortened or []],
            },
        }


def run_chaos(spec: EngineSpec, seeds: Iterable[int], *, jobs: int = 1, shrink_first: bool = True,
              shrink_budget: int = 400, progress: bool = False,
              swarm_version: int = SWARM_VERSION) -> ChaosReport:
    """Run every seed of swarm ``swarm_version`` against fresh engines of ``spec``.

    The lowest failing seed's trace is shrunk (unless ``shrink_first`` is false).

    Seeds run in chunks on ``jobs`` local processes; each seed's result depends on the
    seed alone, so the report is the same whatever ``jobs`` is.
    """
    from racesim.study.executors import LocalExecutor
    from racesim.util.progress import open_bar

    if swarm_version not in SWARM_VERSIONS:  # before any worker starts
        raise RacesimError(f"swarm version {swarm_version} is unknown (known: "
                           f"{', '.join(map(str, SWARM_VERSIONS))})")
    seeds = list(seeds)
    chunk = max(1, min(16, math.ceil(len(seeds) / max(1, 4 * jobs))))
    tasks = [(spec, seeds[i:i + chunk], swarm_version) for i in range(0, len(seeds), chunk)]
    runs: list[SeedRun] = []
    with LocalExecutor(jobs=jobs) as executor, \
            open_bar(len(seeds), desc="chaos seeds", unit="seed", leave=False,
                     enabled=progress) as bar:
        for done in executor.map(_run_chunk, tasks):
            runs.extend(done)
            failed = sum(not run.passed for run in runs)
            if failed:
                bar.set_postfix_str(f"failed={failed}")
            bar.update(len(done))
    report = ChaosReport(spec.label, seeds, runs, swarm_version=swarm_version)
    failures = report.failures
    if failures and shrink_first:
        first = failures[0]
        report.shortened = shrink(spec, first.trace, first.violation,  # type: ignore[arg-type]
                                  f"s{first.seed}shrink", shrink_budget)
    return report
