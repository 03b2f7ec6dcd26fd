"""Advice when a target is missed: what would fix it, and its simulated effect.

When the slowest stock changes take longer than :data:`~racesim.report.compute.SYNC_TARGET_S`
to reach every listing (or no buffer meets the oversell target), the report says what
would shorten that delay — event-driven sync instead of a periodic one, a shorter
interval, no debounce — and simulates each change on a few replications of the report's
own seed (:data:`ADVICE_REPLICATIONS`, the same buyers as today's run: common random
numbers), so the effect is measured, not guessed. When the sync already pushes every
change at once, what remains is a marketplace's own listing delay: the advice says so and
simulates that marketplace as fast as the fastest one, to show how much it accounts for.

The extra runs are small and counted in the report's pre-flight estimate
(:data:`ADVICE_RUN_REPLICATIONS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from racesim.report.compute import SYNC_TARGET_S, ReportData
from racesim.report.method import plain_duration as duration_text
from racesim.scenario import Scenario
from racesim.sim.summary import RunSummary
from racesim.study.replications import RunResult, run_scenario
from racesim.util.stats import mean_interval

__all__ = ["ADVICE_REPLICATIONS", "ADVICE_RUN_REPLICATIONS", "Advice", "Change", "Outcome",
           "advise", "simulate_changes", "sync_changes"]

ADVICE_REPLICATIONS = 20
"""Replications simulated for each suggested change (the report's first ones)."""
MAX_CHANGES = 2
"""At most this many changes are simulated."""
ADVICE_RUN_REPLICATIONS = ADVICE_REPLICATIONS * MAX_CHANGES
"""The most replications the advice adds to a report (for its pre-flight estimate)."""
ROUND_INTERVALS_S = (10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0,
                     1800.0, 3600.0)
"""Sync intervals a shorter-interval suggestion picks from (seconds)."""


@dataclass(frozen=True)
class Change:
    """One change to the scenario that could fix a missed target."""

    name: str
    """A short name: ``event-driven sync``."""
    action: str
    """What to do, in plain words."""
    overrides: dict[str, Any]
    """The scenario fields it changes (dotted paths, as ``--set`` takes them)."""
    sellers_own: bool = True
    """False when it is the marketplace's to change, not the seller's."""


@dataclass(frozen=True)
class Outcome:
    """What a change did on the advice's replications (or today's, for the baseline)."""

    change: Change | None
    """None for today's setup."""
    slowest_sync_s: float
    """Seconds within which 99 in 100 stock changes reached every listing."""
    oversell_rate: float
    """Oversold orders / orders at today's buffer (a fraction)."""
    oversells_per_month: float
    """Oversold orders per 30 days at today's buffer."""
    oversells_change: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Oversells a month minus today's on the same replications (paired): mean, and its
    Student-t 95 % interval (0s for today's own outcome)."""

    @property
    def clear_oversell_change(self) -> bool:
        """True when the paired interval of the change in oversells excludes 0."""
        _, low, high = self.oversells_change
        return math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)

    @property
    def meets_sync_target(self) -> bool:
        """True when the slowest 1 in 100 stock changes took at most the target."""
        return self.slowest_sync_s <= SYNC_TARGET_S


@dataclass(frozen=True)
class Advice:
    """Why a target was missed, and the simulated effect of each change that could fix it."""

    problems: tuple[str, ...]
    """The missed targets, in plain words."""
    cause: str
    """Where the delay comes from, in plain words."""
    today: Outcome
    """Today's setup on the same replications (the comparison)."""
    outcomes: tuple[Outcome, ...]
    replications: int


def _slowest_listing(scenario: Scenario) -> tuple[int, float]:
    """The channel whose listing updates are slowest (index) and their P99 (seconds)."""
    p99 = [float(c.listing_latency.quantile(0.99)) for c in scenario.channels]
    slowest = max(range(len(p99)), key=p99.__getitem__)
    return slowest, p99[slowest]


def _shorter_interval(interval_s: float, listing_s: float) -> float | None:
    """A round sync interval short enough for the target, else about half of today's."""
    room = SYNC_TARGET_S - listing_s
    wanted = room if room >= ROUND_INTERVALS_S[0] else interval_s / 2
    shorter = [v for v in ROUND_INTERVALS_S if v <= min(wanted, interval_s / 2)]
    return shorter[-1] if shorter else None


def sync_changes(scenario: Scenario) -> tuple[str, list[Change]]:
    """Where the sync delay comes from, and the changes that could shorten it."""
    sync = scenario.sync
    slowest, listing_s = _slowest_listing(scenario)
    channel = scenario.channels[slowest].name
    listing = (f"{channel} shows an update within {duration_text(listing_s)} for 99 "
               "updates in 100")
    if sync.mode != "event_driven":
        interval = float(sync.interval)  # type: ignore[union-attr]
        changes = [Change("event-driven sync", "push every stock change to every marketplace "
                          f"as it happens, instead of every {duration_text(interval)}",
                          {"sync": {"mode": "event_driven"}})]
        shorter = _shorter_interval(interval, listing_s)
        if shorter is not None:
            changes.append(Change(f"sync every {duration_text(shorter)}",
                                  f"keep the periodic sync but run it every "
                                  f"{duration_text(shorter)} instead of every "
                                  f"{duration_text(interval)}",
                                  {"sync.interval": shorter}))
        cause = (f"Stock is pushed every {duration_text(interval)}, so a change waits up to "
                 f"that long before it is sent; then {listing}.")
        return cause, changes
    if sync.debounce > 0:
        cause = (f"Each change waits {duration_text(sync.debounce)} of quiet before it is "
                 f"pushed (the debounce); then {listing}.")
        return cause, [Change("no debounce", "push each change at once instead of waiting "
                              f"{duration_text(sync.debounce)} for quiet",
                              {"sync.debounce": 0.0})]
    cause = _marketplace_delay(scenario)
    fastest = min(range(len(scenario.channels)),
                  key=lambda i: float(scenario.channels[i].listing_latency.quantile(0.99)))
    if fastest == slowest:
        return cause, []
    other = scenario.channels[fastest].name
    fast = scenario.to_dict()["channels"][fastest]["listing_latency"]
    return cause, [Change(f"{channel} as fast as {other}",
                          f"if {channel} showed updates as fast as {other} does (its "
                          "listing delay is not the seller's to change: ask the marketplace "
                          "or its connector for a faster inventory update)",
                          {f"channels[{slowest}].listing_latency": fast}, sellers_own=False)]


def _marketplace_delay(scenario: Scenario) -> str:
    """Why an event-driven sync without debounce is still slow: each listing's own delay."""
    p99 = {c.name: float(c.listing_latency.quantile(0.99)) for c in scenario.channels}
    each = ", ".join(f"{s:,.0f} s on {name}" for name, s in p99.items())
    slow = [name for name, s in p99.items() if s > SYNC_TARGET_S]
    verdict = ("so no change to your sync can meet the target" if len(slow) == len(p99) else
               f"so the target depends on {' and '.join(slow)} showing updates faster"
               if slow else "so the slow changes are the ones several updates queue behind")
    return (f"Your sync already pushes every change as it happens; what remains is the "
            f"marketplaces' own delay in showing it. 99 updates in 100 show within {each}, "
            f"against the {SYNC_TARGET_S:g} s target, {verdict}.")


def _does_it_matter(headline: dict[str, Any]) -> str:
    """Whether a delay the seller cannot shorten matters: the buffer is what covers it."""
    rec = headline["recommended"]
    per_month = f"{rec['oversells_per_month']:,.1f}"
    oversold = ("no simulated order was oversold" if per_month == "0.0" else
                f"about {per_month} orders a month are oversold")
    if rec["meets_target"]:
        return ("The marketplaces' own listing delay causes the slow changes, and the "
                "recommended buffer is what makes them harmless: with it, "
                f"{oversold}. The slow changes matter only without it.")
    return ("The marketplaces' own listing delay causes the slow changes, and no buffer tried "
            f"covers it either: with the largest, {oversold}.")


def _outcome(change: Change | None, summary: RunSummary, replications: int,
             per_month: float, paired: tuple[float, float, float] = (0.0, 0.0, 0.0)
             ) -> Outcome:
    return Outcome(change=change, slowest_sync_s=float(summary.sync_latency_p99_s),
                   oversell_rate=float(summary.oversell_rate),
                   oversells_per_month=summary.oversold_total / replications * per_month,
                   oversells_change=paired)


def _paired_oversells(run: RunResult, today: RunResult,
                      per_month: float) -> tuple[float, float, float]:
    """Oversells a month of ``run`` minus ``today``'s, replication by replication."""
    diff = (run.per_replication["oversold"].to_numpy(dtype=float)
            - today.per_replication["oversold"].to_numpy(dtype=float))
    mean, low, high = mean_interval(diff)
    return mean * per_month, low * per_month, high * per_month


def _problems(data: ReportData, headline: dict[str, Any]) -> list[str]:
    """The missed targets this module can advise on, in plain words."""
    problems = []
    slowest = headline["sync_latency"]["p99_s"]
    if slowest is not None and math.isfinite(slowest) and slowest > SYNC_TARGET_S:
        problems.append(f"1 stock change in 100 takes longer than {slowest:,.0f} s to reach "
                        f"every listing; the target is {SYNC_TARGET_S:g} s.")
    if not headline["recommended"]["meets_target"]:
        problems.append(f"No buffer could be shown to keep oversold orders under "
                        f"{100 * data.target:g} % of orders.")
    return problems


def advise(data: ReportData, headline: dict[str, Any], *, jobs: int = 1) -> Advice | None:
    """Simulate the changes that could fix the missed targets; None when none was missed.

    Each change runs on the report's first :data:`ADVICE_REPLICATIONS` replications (same
    seed: the same buyers and delays as today's run) at today's buffer.
    """
    problems = _problems(data, headline)
    if not problems:
        return None
    cause, changes = sync_changes(data.scenario)
    if not any(change.sellers_own for change in changes):
        cause += " " + _does_it_matter(headline)
    count = min(ADVICE_REPLICATIONS, len(data.current.replications))
    today = RunResult(seed=data.seed, replications=data.current.replications[:count])
    outcomes = simulate_changes(data.scenario, today, changes[:MAX_CHANGES], data.per_month,
                                jobs=jobs)
    return Advice(problems=tuple(problems), cause=cause, today=outcomes[0],
                  outcomes=tuple(outcomes[1:]), replications=count)


def simulate_changes(scenario: Scenario, today: RunResult, changes: list[Change],
                     per_month: float, *, jobs: int = 1) -> list[Outcome]:
    """Today's outcome, then each change's, on ``today``'s seed and replication count."""
    count = len(today.replications)
    outcomes = [_outcome(None, today.summary(), count, per_month)]
    for change in changes:
        changed = scenario.with_overrides(change.overrides, source=change.name)
        run = run_scenario(changed, seed=today.seed, replications=count,
                           jobs=min(jobs, count), scratch=True, budget=None)
        outcomes.append(_outcome(change, run.summary(), count, per_month,
                                 _paired_oversells(run, today, per_month)))
    return outcomes
