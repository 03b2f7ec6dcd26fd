"""What a report simulates: a run at today's buffer, the tuner, a buffer sweep, races.

No model code lives here: everything is a call to :func:`racesim.study.replications.run_scenario`
or :func:`racesim.study.tune.tune` with the report's seed, so each number in a report can be
reproduced with those functions on the same seed (common random numbers: replication r
of every run faces the same buyers and webhook delays).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from racesim.policy.buffers import ByClass
from racesim.report.timelines import (
    Race1,
    Race2,
    Race3,
    find_race1,
    find_race2,
    find_race3,
)
from racesim.scenario import Scenario
from racesim.sim.results import SimulationResult
from racesim.study.budget import Budget, check_report
from racesim.study.executors import LocalExecutor
from racesim.study.replications import RunResult, run_scenario
from racesim.study.tune import FAMILIES, Family, Tuning, tune
from racesim.util.stats import mean_interval, wilson_interval

__all__ = ["DAY_S", "DRIFT_TARGET", "EPISODE_REPLICATIONS", "MONTH_S", "SYNC_TARGET_S",
           "Episode", "Progress", "ReportData", "compute", "current_value", "per_channel",
           "sweep_values"]

SYNC_TARGET_S = 90.0
"""The P99 sync latency a seller should stay under (seconds)."""
DRIFT_TARGET = 0.01
"""The ledger drift at cycle counts a seller should stay under (fraction of units)."""
DAY_S = 86_400.0
MONTH_S = 30 * DAY_S
"""A month, for "per month" figures: 30 days of simulated time (seconds)."""
EPISODE_REPLICATIONS = 4
"""Replications re-run with full tables to find race episodes (the first ones of the run)."""
MAX_SWEEP_POINTS = 12
"""At most this many buffer values in the sweep."""
_DEFAULT_BUDGET = Budget()



STAGES = ("current buffer", "tuner", "sweep", "race episodes")
"""The stages :func:`compute` goes through, in order: a progress bar's total is known first."""


class Progress(Protocol):
    """Told the name of each stage (of :data:`STAGES`) as it starts, and how it is going."""

    def stage(self, name: str) -> None:
        """Stage ``name`` starts (the one before it has finished)."""

    def detail(self, text: str) -> None:
        """How the current stage is getting on."""


class _Silent:
    def stage(self, name: str) -> None:
        pass

    def detail(self, text: str) -> None:
        pass


RACES: tuple[tuple[int, str, Callable[[SimulationResult], Any]], ...] = (
    (1, "the last unit sold twice", find_race1),
    (2, "a returned unit nobody can buy", find_race2),
    (3, "a stale snapshot pushed", find_race3),
)


@dataclass(frozen=True)
class Episode:
    """One race looked for in the run: the first episode found, or None."""

    race: int
    title: str
    found: Race1 | Race2 | Race3 | None
    replication: int | None
    searched: int
    """Replications searched (the run's first ones, re-run with full tables)."""


@dataclass
class ReportData:
    """Everything a report shows, as simulated."""

    scenario: Scenario
    seed: int
    replications: int
    target: float
    family: Family
    current: RunResult
    """The run at the scenario's own buffer."""
    tuning: Tuning
    sweep: pd.DataFrame
    """One row per buffer value of the family (see :func:`sweep_frame`)."""
    current_value: float | None
    """The scenario's buffer as a value of the family's parameter, when it is one."""
    episodes: tuple[Episode, ...]
    paired: RunResult
    """The recommended buffer on the same ``replications`` as :attr:`current` (paired)."""

    @property
    def measured_s(self) -> float:
        """Simulated seconds that count in each replication (duration − warm-up)."""
        return float(self.scenario.duration - self.scenario.warmup)

    @property
    def per_month(self) -> float:
        """Factor from "per replication" to "per 30 days"."""
        return MONTH_S / self.measured_s

    @property
    def recommended(self) -> RunResult:
        """The tuner's chosen buffer simulated on the report's seed."""
        return self.tuning.chosen.result


def current_value(scenario: Scenario, family: Family) -> float | None:
    """The scenario's ``[buffer]`` as a value of ``family``'s parameter, or None."""
    buffer = scenario.buffer
    if buffer.policy != family.name:
        return None
    if buffer.policy == "fixed":
        return float(buffer.units)
    if buffer.policy == "percent" and buffer.min_units == 0:
        return float(buffer.percent)
    if buffer.policy == "seed_formula" and buffer.min_units == 0 and buffer.percent == 0:
        return float(buffer.latency_multiple)
    if buffer.policy == "poisson_quantile" and buffer.latency_multiple == 1:
        return float(buffer.epsilon)
    return None


def sweep_values(family: Family, chosen: dict[str, float], current: float | None,
                 most: int = MAX_SWEEP_POINTS) -> list[float]:
    """Buffer values to sweep: from none to about twice the chosen one, at most ``most``.

    Always includes the tuner's values and the scenario's own when they are on the
    family's ladder.
    """
    ladder = family.ladder
    rung = {value: i for i, value in enumerate(ladder)}
    marks = [rung[v] for v in chosen.values() if v in rung]
    if current is not None and current in rung:
        marks.append(rung[current])
    highest = max(marks, default=0)
    top = min(len(ladder) - 1, max(2 * highest, highest + 3, 5))
    if top + 1 <= most:
        rungs = list(range(top + 1))
    else:
        spread = np.unique(np.round(np.linspace(0, top, most - len(marks))).astype(int))
        rungs = sorted({*spread.tolist(), *marks})
    return [ladder[i] for i in rungs]


def sweep_frame(runs: list[tuple[float, RunResult]], per_month: float) -> pd.DataFrame:
    """One row per buffer value: pooled and between-replication intervals, costs.

    Columns: ``value``; ``replications``; ``orders``, ``oversold`` (totals);
    ``oversell_rate`` with its Wilson 95 % interval (``_low``, ``_high``, all orders
    pooled) and the Student-t 95 % interval of the replication rates (``_t_low``,
    ``_t_high``); ``lost_sales`` and ``hidden_unit_hours`` (mean per replication, with
    Student-t intervals); and ``…_per_month``: the means scaled to 30 days.
    """
    rows = []
    for value, run in runs:
        summaries = [replication.summary for replication in run.replications]
        orders, oversold = sum(s.orders for s in summaries), sum(s.oversold for s in summaries)
        low, high = wilson_interval(oversold, orders)
        _, t_low, t_high = mean_interval(np.array([s.oversell_rate for s in summaries],
                                                  dtype=float))
        row: dict[str, Any] = {
            "value": value, "replications": len(summaries), "orders": orders,
            "oversold": oversold, "oversell_rate": oversold / orders if orders else 0.0,
            "oversell_rate_low": low, "oversell_rate_high": high,
            "oversell_rate_t_low": max(t_low, 0.0) if math.isfinite(t_low) else math.nan,
            "oversell_rate_t_high": t_high}
        for metric, values in (("lost_sales", [s.lost_sales for s in summaries]),
                               ("hidden_unit_hours", [s.hidden_unit_hours for s in summaries])):
            mean, m_low, m_high = mean_interval(np.array(values, dtype=float))
            row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = mean, m_low, m_high
        row["oversells_per_month"] = oversold / len(summaries) * per_month
        row["lost_sales_per_month"] = float(row["lost_sales"]) * per_month
        row["hidden_unit_hours_per_month"] = float(row["hidden_unit_hours"]) * per_month
        rows.append(row)
    return pd.DataFrame(rows)


def per_channel(run: RunResult, per_month: float) -> pd.DataFrame:
    """Orders, oversells and lost sales per marketplace over every replication.

    ``oversell_rate`` with its Wilson 95 % interval; ``oversells_per_month`` and
    ``lost_sales_per_month`` are per-replication means scaled to 30 days.
    """
    columns = ["orders", "oversold", "lost_sales", "duplicate_deliveries"]
    total = sum((r.per_channel[columns] for r in run.replications),
                start=pd.DataFrame(0, index=run.replications[0].per_channel.index,
                                   columns=columns)).astype(int)
    intervals = [wilson_interval(int(o), int(n))
                 for o, n in zip(total["oversold"], total["orders"], strict=True)]
    total["oversell_rate"] = total["oversold"] / total["orders"].clip(lower=1)
    total["oversell_rate_low"] = [low for low, _ in intervals]
    total["oversell_rate_high"] = [high for _, high in intervals]
    count = len(run.replications)
    total["oversells_per_month"] = total["oversold"] / count * per_month
    total["lost_sales_per_month"] = total["lost_sales"] / count * per_month
    return total


def _paired(scenario: Scenario, tuning: Tuning, seed: int, replications: int,
            executor: LocalExecutor) -> RunResult:
    """The tuner's choice on the first ``replications`` replications of the seed.

    The tuner ran at least that many on the same seed, and replication r is the same
    whatever the count, so its first ones are reused; they are simulated only if not.
    """
    chosen = tuning.chosen.result
    if len(chosen.replications) >= replications:
        return RunResult(seed=seed, replications=chosen.replications[:replications])
    values = tuning.values
    policy: Any = tuning.family.make(values["*"]) if set(values) == {"*"} else \
        ByClass({name: tuning.family.make(value) for name, value in values.items()})
    return run_scenario(scenario, seed=seed, replications=replications, buffer=policy,
                        executor=executor, scratch=True, budget=None)


def _episodes(scenario: Scenario, seed: int, replications: int,
              executor: LocalExecutor) -> tuple[Episode, ...]:
    """The first episode of each race in the run's first replications, with tables."""
    searched = min(replications, EPISODE_REPLICATIONS)
    run = run_scenario(scenario, seed=seed, replications=searched, tables=True,
                       executor=executor, scratch=True, budget=None)
    episodes = []
    for race, title, find in RACES:
        found, where = None, None
        for r, replication in enumerate(run.replications):
            found = find(replication)
            if found is not None:
                where = r
                break
        episodes.append(Episode(race, title, found, where, searched))
    return tuple(episodes)


def compute(scenario: Scenario, *, seed: int | None = None, replications: int = 20, jobs: int = 1,
            target: float = 0.003, policy: str = "fixed",
            progress: Progress | None = None,
            budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None) -> ReportData:
    """Simulate everything a report shows.

    In order: ``replications`` replications at the scenario's own buffer; the tuner
    (:func:`racesim.study.tune.tune` with the same seed, starting from ``replications``); a
    sweep of the policy family around its answer, ``replications`` replications per
    value on the same seeds; and the first replications again with full tables, to
    find race episodes. ``progress`` is told of each stage as it starts. The whole is
    estimated against ``budget`` first (:func:`racesim.study.budget.check_report`; ``None``
    skips it) and refused, naming ``source``, when it would exceed it. ``seed=None``
    takes the scenario's own (:meth:`~racesim.scenario.Scenario.run_seed`).
    """
    seed = scenario.run_seed(seed)
    if policy not in FAMILIES:
        raise ValueError(f"unknown policy family {policy!r} (known: {', '.join(FAMILIES)})")
    family = FAMILIES[policy]
    if budget is not None:
        check_report(scenario, replications=replications, jobs=jobs, ladder=len(family.ladder),
                     target=target, sweep_points=MAX_SWEEP_POINTS,
                     episodes=EPISODE_REPLICATIONS, budget=budget, source=source)
    bar = progress or _Silent()
    per_month = MONTH_S / float(scenario.duration - scenario.warmup)
    with LocalExecutor(jobs) as executor:
        bar.stage(STAGES[0])
        current = run_scenario(scenario, seed=seed, replications=replications,
                               executor=executor, scratch=True, budget=None)
        bar.stage(STAGES[1])
        tuning = tune(scenario, policy, target=target, replications=replications, seed=seed,
                      jobs=jobs, budget=None)
        today = current_value(scenario, family)
        values = sweep_values(family, tuning.values, today)
        bar.stage(STAGES[2])
        runs = []
        for done, value in enumerate(values):
            bar.detail(f"{family.parameter}={value:g}, {done}/{len(values)} values done")
            runs.append((value, run_scenario(scenario, seed=seed, replications=replications,
                                             buffer=family.make(value), executor=executor,
                                             scratch=True, budget=None)))
        bar.stage(STAGES[3])
        episodes = _episodes(scenario, seed, replications, executor)
        paired = _paired(scenario, tuning, seed, replications, executor)
    return ReportData(scenario=scenario, seed=seed, replications=replications, target=target,
                      family=family, current=current, tuning=tuning,
                      sweep=sweep_frame(runs, per_month), current_value=today,
                      episodes=episodes, paired=paired)
