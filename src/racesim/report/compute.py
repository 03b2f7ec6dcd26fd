"""What a report simulates: today's buffer, the tuner, a buffer sweep, races, per channel.

No model code lives here: everything is a call to :func:`racesim.study.replications.run_scenario`
or :func:`racesim.study.tune.tune` with the report's seed, so each number in a report can be
reproduced with those functions on the same seed (common random numbers: replication r
of every run faces the same buyers and webhook delays).
"""

from __future__ import annotations

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
from racesim.sim.summary import DAY_S, MONTH_DAYS
from racesim.study.budget import Budget, check_report
from racesim.study.executors import LocalExecutor
from racesim.study.replications import RunResult, run_scenario
from racesim.study.tune import FAMILIES, Family, Tuning, tune
from racesim.study.tune_channels import ChannelTuning, TuneError, search_runs, tune_channels
from racesim.util.stats import (
    clustered_rate_interval,
    mean_interval,
    target_verdict,
    wilson_interval,
)

__all__ = ["DAY_S", "DRIFT_TARGET", "EPISODE_REPLICATIONS", "MONTH_S", "SYNC_TARGET_S",
           "Episode", "Progress", "ReportData", "channel_search_runs", "compute",
           "current_value", "per_channel", "stages", "sweep_values", "wants_per_channel"]

SYNC_TARGET_S = 90.0
"""The P99 sync latency a seller should stay under (seconds)."""
DRIFT_TARGET = 0.01
"""The ledger drift at cycle counts a seller should stay under (fraction of units)."""
MONTH_S = MONTH_DAYS * DAY_S
"""A month, for "per month" figures: 30 days of simulated time (seconds)."""
EPISODE_REPLICATIONS = 4
"""Replications re-run with full tables to find race episodes (the first ones of the run)."""
MAX_SWEEP_POINTS = 12
"""At most this many buffer values in the sweep."""
_DEFAULT_BUDGET = Budget()

STAGES = ("current buffer", "tuner", "sweep", "race episodes", "per-channel buffers")
"""The stages :func:`compute` goes through, in order: a progress bar's total is known first
(the last only with ``per_channel``: see :func:`stages`)."""


def stages(per_channel: bool) -> tuple[str, ...]:
    """The stages :func:`compute` announces: :data:`STAGES`, the per-channel search only
    when it runs."""
    return STAGES if per_channel else STAGES[:-1]


def wants_per_channel(scenario: Scenario, policy: str, per_channel: bool | None) -> bool:
    """Whether a report searches a buffer per marketplace: as asked, and by default
    (``None``) when the scenario has more than one channel and a ``[costs]`` table and the
    report tunes fixed buffers (the search's kind). Asked for where it cannot run — one
    channel, another policy family — it is a :class:`TuneError` (one line), before any
    work."""
    several = len(scenario.channels) > 1
    if per_channel is None:
        return several and scenario.costs is not None and policy == "fixed"
    if per_channel and not several:
        raise TuneError(f"{scenario.name}: a buffer per marketplace needs more than one "
                        f"marketplace (the scenario has {len(scenario.channels)})")
    if per_channel and policy != "fixed":
        raise TuneError(f"a buffer per marketplace is searched in units (policy fixed); "
                        f"policy {policy} is not supported with it")
    return per_channel


def channel_search_runs(scenario: Scenario, replications: int, target: float) -> int:
    """Replications the report's per-channel search simulates at most, besides the
    uniform tuner it reuses (:func:`racesim.study.tune_channels.search_runs`)."""
    return search_runs(scenario, target=target, replications=replications)


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
    channels: ChannelTuning | None = None
    """The per-channel search (:func:`racesim.study.tune_channels.tune_channels`) from the
    tuner's fixed buffer, when the report made one."""

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
    """The scenario's ``[buffer]`` as a value of ``family``'s parameter, or None.

    None too when a channel has a buffer of its own (one value cannot say them all).
    """
    buffer = scenario.buffer
    if buffer.policy != family.name or any(
            channel.publish is not None and channel.publish.buffer not in (None, buffer)
            for channel in scenario.channels):
        return None
    if buffer.policy == "fixed":
        return float(buffer.units)
    if buffer.policy == "percent" and buffer.min_units == 0:
        return float(buffer.percent)
    if buffer.policy == "seed_formula" and buffer.min_units == 0 and buffer.percent == 0:
        return float(buffer.latency_multiple)
    if buffer.policy == "poisson_quantile" and buffer.latency_multiple == 1:
        return float(buffer.epsilon)
    if buffer.policy == "allocation":
        return float(buffer.share)
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


def _rate_columns(oversold: np.ndarray, orders: np.ndarray,
                  target: float | None) -> dict[str, Any]:
    """Pooled oversell rate, its clustered and Wilson intervals, and the target verdict."""
    k, n = int(oversold.sum()), int(orders.sum())
    rate = clustered_rate_interval(oversold, orders)
    wilson_low, wilson_high = wilson_interval(k, n)
    row: dict[str, Any] = {
        "oversell_rate": rate.rate, "oversell_rate_low": rate.low,
        "oversell_rate_high": rate.high, "oversell_rate_wilson_low": wilson_low,
        "oversell_rate_wilson_high": wilson_high, "oversell_design_effect": rate.design_effect}
    if target is not None:
        verdict = target_verdict(rate.rate, rate.high, k, n, target)
        row["meets_target"], row["meets_target_reason"] = verdict.meets, verdict.reason
    return row


def sweep_frame(runs: list[tuple[float, RunResult]], per_month: float,
                target: float | None = None) -> pd.DataFrame:
    """One row per buffer value: the pooled rate and its intervals, totals, per month.

    Names follow :mod:`racesim.sim.summary`'s scheme. Columns: ``value``;
    ``replications``; ``orders_total``, ``oversold_total`` (over the replications);
    ``oversell_rate`` (every order pooled) with its 95 % interval ``_low`` / ``_high``
    (replications as clusters, inside [0, 1]), the Wilson interval of the same counts as if
    orders were independent (``oversell_rate_wilson_low`` / ``_high``) and
    ``oversell_design_effect``; with a ``target``, ``meets_target`` and
    ``meets_target_reason``; ``lost_sales_total`` and ``hidden_unit_hours_total``; and
    ``orders_per_month``, ``oversells_per_month``, ``lost_sales_per_month`` and
    ``hidden_unit_hours_per_month`` (per 30 measured days; ``per_month`` scales one
    replication to a month), the last two with Student-t 95 % intervals
    (``…_per_month_low`` / ``_high``).
    """
    rows = []
    for value, run in runs:
        frame = run.per_replication
        count = len(frame)
        orders, oversold = frame["orders"].to_numpy(), frame["oversold"].to_numpy()
        row: dict[str, Any] = {
            "value": value, "replications": count, "orders_total": int(orders.sum()),
            "oversold_total": int(oversold.sum()), **_rate_columns(oversold, orders, target)}
        row["orders_per_month"] = int(orders.sum()) / count * per_month
        row["oversells_per_month"] = int(oversold.sum()) / count * per_month
        for metric in ("lost_sales", "hidden_unit_hours"):
            values = frame[metric].to_numpy(dtype=float)
            mean, low, high = mean_interval(values)
            row[f"{metric}_total"] = float(values.sum())
            row[f"{metric}_per_month"] = mean * per_month
            row[f"{metric}_per_month_low"] = low * per_month
            row[f"{metric}_per_month_high"] = high * per_month
        rows.append(row)
    return pd.DataFrame(rows)


def per_channel(run: RunResult, per_month: float) -> pd.DataFrame:
    """Orders, oversells and lost sales per marketplace over every replication.

    ``orders_total``, ``oversold_total``, ``lost_sales_total`` and
    ``duplicate_deliveries_total`` are summed over the replications; ``oversell_rate``
    is pooled, with its 95 % interval (replications as clusters, inside [0, 1]);
    ``orders_per_month``, ``oversells_per_month`` and ``lost_sales_per_month`` are per 30
    measured days (``per_month`` scales one replication to a month).
    """
    columns = ["orders", "oversold", "lost_sales", "duplicate_deliveries"]
    index = run.replications[0].per_channel.index
    each = [r.per_channel[columns].reindex(index, fill_value=0) for r in run.replications]
    total = sum(each, start=pd.DataFrame(0, index=index, columns=columns)).astype(int)
    rates = [clustered_rate_interval(np.array([int(t.loc[name, "oversold"]) for t in each]),
                                     np.array([int(t.loc[name, "orders"]) for t in each]))
             for name in index]
    table = total.add_suffix("_total")
    table["oversell_rate"] = [r.rate for r in rates]
    table["oversell_rate_low"] = [r.low for r in rates]
    table["oversell_rate_high"] = [r.high for r in rates]
    count = len(run.replications)
    table["orders_per_month"] = total["orders"] / count * per_month
    table["oversells_per_month"] = total["oversold"] / count * per_month
    table["lost_sales_per_month"] = total["lost_sales"] / count * per_month
    return table


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
            target: float = 0.003, policy: str = "fixed", per_channel: bool = False,
            progress: Progress | None = None,
            budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None) -> ReportData:
    """Simulate everything a report shows.

    In order: ``replications`` replications at the scenario's own buffer; the tuner
    (:func:`racesim.study.tune.tune` with the same seed, starting from ``replications``); a
    sweep of the policy family around its answer, ``replications`` replications per
    value on the same seeds; and the first replications again with full tables, to
    find race episodes; with ``per_channel`` (fixed buffers only), a fixed buffer per
    marketplace searched from the tuner's answer (:func:`_channels`). ``progress`` is told
    of each stage (:func:`stages`) as it starts. The whole is
    estimated against ``budget`` first (:func:`racesim.study.budget.check_report`; ``None``
    skips it) and refused, naming ``source``, when it would exceed it. ``seed=None``
    takes the scenario's own (:meth:`~racesim.scenario.Scenario.run_seed`).
    """
    seed = scenario.run_seed(seed)
    if policy not in FAMILIES:
        raise ValueError(f"unknown policy family {policy!r} (known: {', '.join(FAMILIES)})")
    family = FAMILIES[policy]
    per_channel = wants_per_channel(scenario, policy, per_channel)
    if budget is not None:
        check_report(scenario, replications=replications, jobs=jobs, ladder=len(family.ladder),
                     target=target, sweep_points=MAX_SWEEP_POINTS,
                     episodes=EPISODE_REPLICATIONS, budget=budget, source=source,
                     channel_runs=channel_search_runs(scenario, replications, target)
                     if per_channel else 0)
    bar = progress or _Silent()
    per_month = MONTH_S / float(scenario.duration - scenario.warmup)
    with LocalExecutor(jobs) as executor:
        bar.stage(STAGES[0])
        current = run_scenario(scenario, seed=seed, replications=replications,
                               executor=executor, scratch=True, budget=None)
        bar.stage(STAGES[1])
        tuning = tune(scenario, policy, target=target, replications=replications, seed=seed,
                      jobs=jobs, budget=None, on_evaluation=bar.detail)
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
    channels = None
    if per_channel:
        bar.stage(STAGES[4])
        channels = _channels(scenario, tuning, replications, jobs, bar)
    return ReportData(scenario=scenario, seed=seed, replications=replications, target=target,
                      family=family, current=current, tuning=tuning,
                      sweep=sweep_frame(runs, per_month, target), current_value=today,
                      episodes=episodes, paired=paired, channels=channels)


def _channels(scenario: Scenario, tuning: Tuning, replications: int, jobs: int,
              bar: Progress) -> ChannelTuning:
    """A fixed buffer per marketplace, searched from the report's own tuning (the best
    uniform fixed buffer on the same seed: not tuned again), for the least money with
    ``[costs]`` (else the fewest buyers turned away by the buffer), under the target."""
    return tune_channels(
        scenario, objective="cost" if scenario.costs is not None else "sales",
        target=tuning.target, confidence=tuning.confidence, replications=replications,
        seed=tuning.seed, jobs=jobs, budget=None, uniform=tuning,
        on_stage=bar.detail, on_evaluation=bar.detail)
