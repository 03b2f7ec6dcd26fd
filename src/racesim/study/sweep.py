"""Parameter sweeps: every point of a grid, R replications each, on common random numbers.

::

    from racesim.study.grid import Grid
    from racesim.scenario import load_scenario
    from racesim.study.sweep import sweep

    scenario = load_scenario("scenarios/race1_double_buy.toml")
    result = sweep(scenario, {"buffer.units": [0, 1, 2, 3]}, replications=20, seed=1, jobs=2)
    result.summary[["buffer.units", "oversell_rate", "lost_sales_per_month",
                    "hidden_unit_hours_per_month", "meets_target"]]
    result.monotone_share("buffer.units")        # share of replications where it never rises
    result.save("out/buffer-sweep")              # Parquet + CSV + manifest.json

**Common random numbers.** Replication r uses the same ``SeedSequence`` —
``replication_seeds(seed, R)[r]`` — at every point of the grid, and every source of
randomness in the model has its own named stream, so at every point replication r faces
the same buyers, latencies and duplicate webhooks; only the swept fields differ. Two
points are compared on the same demand, which takes most of the noise out of their
difference.

**Where it runs.** Each (point, replication) is one pure task: (the point's validated
scenario, the replication's ``SeedSequence``, its index, an optional buffer policy) → the
replication's summary. They run on an :class:`~racesim.study.executors.Executor` (``jobs``
local processes by default, or Dask) and come back in task order, so the tables are
identical whatever ran them.

The whole grid is checked against the scenario before anything runs
(:meth:`racesim.study.grid.Grid.resolve`): a bad path, type or value is a
:class:`~racesim.errors.ScenarioError` with one line per problem.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from racesim.scenario import Scenario
from racesim.sim.streams import replication_seeds
from racesim.sim.summary import DAY_S, SUMMED, Summary, per_month
from racesim.study.budget import Budget, check_sweep
from racesim.study.executors import Executor, LocalExecutor
from racesim.study.grid import Grid, GridPoint
from racesim.study.replications import ReplicationTask, run_task, workers_of
from racesim.util.csvsafe import write_csv
from racesim.util.jsonable import jsonable, plain
from racesim.util.manifest import record
from racesim.util.outdir import OutputFolder, as_folder
from racesim.util.progress import progress as with_progress
from racesim.util.stats import (
    clustered_rate_interval,
    mean_interval,
    target_verdict,
    wilson_interval,
)

if TYPE_CHECKING:
    from racesim.policy.buffers import AnyPolicy

__all__ = ["POLICY_COLUMN", "SweepResult", "format_summary", "sweep"]

_DEFAULT_BUDGET = Budget()

DEFAULT_TARGET = 0.003
"""The oversell-rate target a sweep judges its points against by default (0.3 % of orders)."""

POLICY_COLUMN = "policy"
"""The column naming the buffer policy when :func:`sweep` is given ``policies``."""

INTERVAL_METRICS = ("oversold", "lost_sales", "hidden_unit_hours")
"""Summed metrics whose per-month figure gets a Student-t 95 % interval over replications
(``…_per_month_low``, ``…_per_month_high``)."""

def _summarise_task(task: ReplicationTask) -> Summary:
    """Simulate one (point, replication) and return its summary metrics."""
    return run_task(task).summary


@dataclass(frozen=True, eq=False)  # tables do not compare with ==
class SweepResult:
    """A finished sweep: one row per (point, replication), and one per point.

    ``runs`` columns: ``point`` (0, 1, …), one column per swept path (named by the
    path, e.g. ``buffer.units``; tables and lists as compact JSON), ``policy`` when
    policies were given, ``replication``, then every metric of a replication's summary
    (counts, seconds, unit-hours; ``oversell_rate`` is a fraction, its Wilson 95 %
    interval split into ``oversell_rate_ci_low`` and ``oversell_rate_ci_high``).

    ``summary`` columns, one row per point (names follow :mod:`racesim.sim.summary`'s
    scheme): ``point``, the swept paths, ``replications``, ``measured_days`` (of each
    replication); ``oversell_rate``, every order of every replication pooled, with its 95 %
    interval ``oversell_rate_low`` / ``_high`` (replications as clusters, inside [0, 1]),
    the Wilson interval of the same counts as if orders were independent
    (``oversell_rate_wilson_low`` / ``_high``) and ``oversell_design_effect``;
    ``meets_target`` and ``meets_target_reason`` (the upper end against ``target``); for
    every summed metric of a replication its ``…_total`` (over the replications) and
    ``…_per_month`` (per 30 measured days), with Student-t 95 % intervals
    ``…_per_month_low`` / ``_high`` for oversold, lost sales and hidden unit-hours; the
    sync latency percentiles as ``…_replication_mean`` (mean of the replications' own
    percentiles, seconds); ``ledger_drift_max`` (largest at any count) and
    ``ledger_drift_mean`` (mean of the replications' means).
    """

    scenario: Scenario = field(repr=False)
    grid: Grid
    seed: int
    replications: int
    parameters: tuple[str, ...]
    """The swept columns of ``runs`` and ``summary``, in grid order (then ``policy``)."""
    runs: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    executor: Mapping[str, object] = field(default_factory=dict)
    """What ran the tasks (from :meth:`Executor.describe`)."""
    policies: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    """Wall-clock seconds the replications took (not part of the tables)."""
    target: float = DEFAULT_TARGET
    """The oversell-rate target ``meets_target`` judges against (a fraction)."""

    def monotone_share(self, parameter: str, metric: str = "oversell_rate",
                       tolerance: float = 1e-12) -> float:
        """For a 1-D sweep, the share of replications whose ``metric`` never rises.

        Points are taken in increasing order of ``parameter`` (in grid order if its
        values are not all numbers); replication r counts when its metric at each point
        is ≤ the previous point's + ``tolerance``. With common random numbers, a metric
        that truly falls with the parameter gives a share near 1.
        """
        if parameter not in self.parameters:
            raise ValueError(f"monotone_share: {parameter!r} is not a swept parameter "
                             f"(swept: {', '.join(self.parameters)})")
        if metric not in self.runs.columns:
            raise ValueError(f"monotone_share: unknown metric {metric!r}")
        points = self.summary.set_index("point")
        varying = [p for p in self.parameters
                   if p != parameter and points[p].astype(str).nunique() > 1]
        if varying:
            raise ValueError(f"monotone_share needs a one-dimensional sweep: besides "
                             f"{parameter}, {', '.join(varying)} also vary")
        values = points[parameter]
        numeric = all(isinstance(v, int | float | np.number) and not isinstance(v, bool)
                      for v in values)
        order = list(values.sort_values(kind="stable").index) if numeric else list(points.index)
        table = self.runs.pivot(index="replication", columns="point", values=metric)[order]
        steps = np.diff(table.to_numpy(dtype=float), axis=1)
        return float(np.mean(np.all(steps <= tolerance, axis=1)))

    def to_json(self) -> dict[str, object]:
        """Scenario, seed, grid and the per-point summary as JSON-ready data."""
        return {
            "scenario": self.scenario.name,
            "scenario_digest": self.scenario.digest(),
            "seed": self.seed,
            "replications": self.replications,
            "target": self.target,
            "grid": self.grid.to_dict(),
            "parameters": list(self.parameters),
            "policies": list(self.policies),
            "points": len(self.summary),
            "executor": dict(self.executor),
            "elapsed_s": self.elapsed_s,
            "summary": _records(self.summary),
        }

    def save(self, out_dir: OutputFolder | str | os.PathLike[str],
             scenario_path: str | os.PathLike[str] | None = None,
             force: bool = False) -> dict[str, Path]:
        """Write ``runs`` and ``summary`` as Parquet and CSV, and ``manifest.json``.

        The manifest records the scenario (canonical TOML, its digest, and the file's own
        text when ``scenario_path`` is given), the grid, seed, replications, package
        versions and the executor. ``out_dir`` follows :mod:`racesim.util.outdir`'s rules
        (``force`` writes into a folder racesim did not write); the CSVs neutralise
        formula-like text, the Parquet files keep it raw. Returns the written files by name.
        """
        folder = as_folder(out_dir, force=force)
        with folder.staged() as stage:
            for name, frame in (("runs", self.runs), ("summary", self.summary)):
                _storable(frame, self.parameters).to_parquet(stage.path(f"{name}.parquet"),
                                                             index=False)
                write_csv(frame, stage.path(f"{name}.csv"))
            stage.manifest.update(self.manifest(scenario_path))
        return {name: folder.root / name for name in stage.files}

    def manifest(self, scenario_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """What produced these tables, JSON-ready (what :meth:`save` writes)."""
        return record(
            "racesim sweep", scenario_path=scenario_path,
            scenario_name=self.scenario.name, scenario_digest=self.scenario.digest(),
            scenario_toml=self.scenario.to_toml(), grid=self.grid.to_dict(),
            grid_source=self.grid.source, parameters=list(self.parameters),
            policies=list(self.policies), points=len(self.summary),
            replications=self.replications, seed=self.seed,
            seeds=f"replication r uses numpy SeedSequence({self.seed}).spawn"
                  f"({self.replications})[r] at every point (common random numbers)",
            executor=dict(self.executor), elapsed_s=self.elapsed_s)


def sweep(scenario: Scenario, grid: Grid | Mapping[str, Any] | str | os.PathLike[str],
          replications: int = 1, seed: int | None = None, *, executor: Executor | None = None,
          jobs: int = 1, progress: bool = False,
          policies: Mapping[str, AnyPolicy] | None = None,
          budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None,
          target: float = DEFAULT_TARGET) -> SweepResult:
    """Run ``replications`` replications of ``scenario`` at every point of ``grid``.

    Each point's oversell rate is judged against ``target`` (a fraction, default 0.3 %)
    the way ``run``, ``tune`` and ``report`` judge it (columns ``meets_target`` and
    ``meets_target_reason``).

    ``grid`` is a :class:`~racesim.study.grid.Grid`, its plain-data form or a grid file. Every
    point is validated first; a :class:`~racesim.errors.ScenarioError` lists every
    problem before any simulation runs. ``policies`` (name → buffer policy: a callable
    ``(sku, available, now) -> units`` or an object with ``bind(scenario)``, such as
    those of :mod:`racesim.policy.buffers`; picklable for worker processes) adds one more axis,
    column ``policy``, each policy replacing the scenario's buffer. Tasks run on
    ``executor`` (kept open; the caller closes it) or on ``jobs`` local processes — give
    one or the other; results do not depend on it. ``seed=None`` takes the scenario's own
    (:meth:`~racesim.scenario.Scenario.run_seed`). ``progress=True`` shows a bar
    (``tqdm.auto``). The whole grid is estimated against ``budget`` first (every point ×
    ``replications``; see :mod:`racesim.study.budget`) and refused with a
    :class:`~racesim.study.budget.BudgetError` naming ``source`` when it would exceed it.
    """
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"sweep: replications must be a whole number ≥ 1 (got {replications!r})")
    seed = scenario.run_seed(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"sweep: seed must be a whole number ≥ 0 (got {seed!r})")
    if not 0 < target < 1:
        raise ValueError(f"sweep: target must be a rate in (0, 1) (got {target!r})")
    if executor is not None and jobs != 1:
        raise ValueError(f"sweep: give jobs (got {jobs}) or an executor ({executor!r}), "
                         "not both")
    grid = _as_grid(grid)
    points = grid.resolve(scenario)  # raises before anything runs
    chosen = _policies(policies)
    parameters = grid.parameters + ((POLICY_COLUMN,) if policies is not None else ())
    cells = [(point, name, policy) for point in points for name, policy in chosen]
    if budget is not None:
        workers = jobs if executor is None else workers_of(executor)
        check_sweep([point.scenario for point, _, _ in cells], replications, workers,
                    budget=budget, source=source)
    seeds = replication_seeds(seed, replications)  # the same seeds at every point: CRN
    # only summaries come back, each task on a throwaway ledger; the model binds the policy
    tasks = [ReplicationTask(point.scenario, seeds[r], r, buffer=policy, tables=False,
                             scratch=True)
             for point, _, policy in cells for r in range(replications)]

    owned = executor is None
    runner = LocalExecutor(jobs) if executor is None else executor
    with runner if owned else nullcontext(runner):
        runner.start()  # a cluster's start-up is not part of elapsed_s
        started = time.perf_counter()
        results = list(with_progress(runner.map(_summarise_task, tasks), len(tasks), progress,
                                     desc="sweep", unit="run"))
        elapsed = time.perf_counter() - started
        described = runner.describe()

    runs = _runs_frame(cells, results, replications, policies is not None)
    return SweepResult(scenario=scenario, grid=grid, seed=seed, replications=replications,
                       parameters=parameters, runs=runs,
                       summary=_summarise(runs, parameters, target),
                       executor=described, policies=tuple(name for name, _ in chosen
                                                          if name is not None),
                       elapsed_s=elapsed, target=target)


# -- building the tables ------------------------------------------------------------------


def _as_grid(grid: Grid | Mapping[str, Any] | str | os.PathLike[str]) -> Grid:
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid.from_dict(grid)
    if isinstance(grid, str | os.PathLike):
        return Grid.from_toml(grid)
    raise TypeError(f"sweep: grid must be a Grid, a mapping or a grid file "
                    f"(got a {type(grid).__name__})")


def _policies(policies: Mapping[str, AnyPolicy] | None
              ) -> list[tuple[str | None, AnyPolicy | None]]:
    """(name, callable) pairs; [(None, None)] (the scenario's own buffer) when not given."""
    if policies is None:
        return [(None, None)]
    if not isinstance(policies, Mapping) or not policies:
        raise ValueError("sweep: policies must be a non-empty mapping of name → buffer policy")
    for name, policy in policies.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"sweep: policy names must be non-empty text (got {name!r})")
        if not callable(policy) and not callable(getattr(policy, "bind", None)):
            raise TypeError(f"sweep: policy {name!r} is neither callable nor has a bind "
                            f"method (got {policy!r})")
    return list(policies.items())


def _runs_frame(cells: list[tuple[GridPoint, str | None, AnyPolicy | None]],
                results: list[Summary], replications: int,
                with_policy: bool) -> pd.DataFrame:
    """One row per (point, replication), in that order."""
    rows: list[dict[str, object]] = []
    results_iter = iter(results)
    for index, (point, name, _) in enumerate(cells):
        for r in range(replications):
            summary = next(results_iter)
            row: dict[str, object] = {"point": index, **point.labels}
            if with_policy:
                row[POLICY_COLUMN] = name
            row["replication"] = r
            for key, value in summary.to_dict().items():
                if isinstance(value, list):  # an interval: …_low and …_high columns
                    row[f"{key}_low"], row[f"{key}_high"] = value
                else:
                    row[key] = value
            rows.append(row)
    frame = pd.DataFrame(rows)
    for column in frame.columns:  # metrics that may be None (no cycle counts) → NaN
        if frame[column].dtype == object and frame[column].map(_is_none_or_number).all():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _summarise(runs: pd.DataFrame, parameters: tuple[str, ...], target: float) -> pd.DataFrame:
    """One row per point: the pooled rate and its clustered interval, totals, per month."""
    summed = [m for m in SUMMED if m in runs.columns]
    rows: list[dict[str, object]] = []
    for point, group in runs.groupby("point", sort=True):
        # pandas-stubs types a groupby key as any Scalar; "point" holds ints.
        days = float(group["measured_s"].iloc[0]) / DAY_S
        count = len(group)
        row: dict[str, object] = {"point": int(point),  # type: ignore[arg-type]
                                  **{p: plain(group[p].iloc[0]) for p in parameters},
                                  "replications": count, "measured_days": days}
        row.update(_rate_columns(group, target))
        for metric in summed:
            total = plain(group[metric].sum())
            row[f"{metric}_total"] = total
            row[f"{metric}_per_month"] = per_month(total, count, days)
            if metric in INTERVAL_METRICS:
                scale = per_month(1.0, 1, days)  # one replication's count → per month
                _, low, high = mean_interval(group[metric].to_numpy(dtype=float))
                row[f"{metric}_per_month_low"] = low * scale
                row[f"{metric}_per_month_high"] = high * scale
        for metric in ("sync_latency_p50_s", "sync_latency_p99_s"):
            row[f"{metric}_replication_mean"] = _mean(group[metric])
        drift = pd.to_numeric(group["ledger_drift_max"], errors="coerce").dropna()
        row["ledger_drift_max"] = float(drift.max()) if len(drift) else math.nan
        row["ledger_drift_mean"] = _mean(group["ledger_drift_mean"])
        rows.append(row)
    return pd.DataFrame(rows)


def _rate_columns(group: pd.DataFrame, target: float) -> dict[str, object]:
    """A point's pooled oversell rate, its intervals and its verdict against ``target``."""
    oversold, orders = int(group["oversold"].sum()), int(group["orders"].sum())
    rate = clustered_rate_interval(group["oversold"].to_numpy(), group["orders"].to_numpy())
    wilson_low, wilson_high = wilson_interval(oversold, orders)
    verdict = target_verdict(rate.rate, rate.high, oversold, orders, target)
    return {"oversell_rate": rate.rate, "oversell_rate_low": rate.low,
            "oversell_rate_high": rate.high, "oversell_rate_wilson_low": wilson_low,
            "oversell_rate_wilson_high": wilson_high,
            "oversell_design_effect": rate.design_effect,
            "meets_target": verdict.meets, "meets_target_reason": verdict.reason}


def _mean(values: pd.Series) -> float:
    data = pd.to_numeric(values, errors="coerce").dropna()
    return float(data.mean()) if len(data) else math.nan


def _is_none_or_number(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _storable(frame: pd.DataFrame, parameters: tuple[str, ...]) -> pd.DataFrame:
    """Parameter columns mixing kinds of value (``"30s"`` and ``60``) as text, for Parquet."""
    frame = frame.copy()
    for column in parameters:
        kinds = {type(v) for v in frame[column] if v is not None}
        if frame[column].dtype == object and len(kinds) > 1:
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts of plain Python values; NaN and infinities become None."""
    return [{str(key): jsonable(value) for key, value in row.items()}
            for row in frame.to_dict("records")]


def format_summary(result: SweepResult) -> str:
    """The per-point summary as a plain-text table (what ``racesim sweep`` prints).

    Each column names its unit and basis: the pooled oversell rate in % with its 95 %
    interval (replications as clusters); orders, oversells, lost sales and hidden
    unit-hours per month (30 measured days); the mean of the replications' P99 sync
    latency (seconds); and whether the point meets the target.
    """
    s = result.summary

    def pct(value: float) -> str:
        return "–" if not math.isfinite(value) else f"{100 * value:.3f}"

    def num(value: float) -> str:
        return "–" if not math.isfinite(value) else f"{value:,.1f}"

    table = pd.DataFrame({p: s[p].map(lambda v: "–" if v is None else str(v))
                          for p in result.parameters})
    table["orders/month"] = s["orders_per_month"].map(num)
    table["oversold/month"] = s["oversold_per_month"].map(num)
    table["oversell %"] = s["oversell_rate"].map(pct)
    table["95 % CI %"] = [f"[{pct(lo)}, {pct(hi)}]" for lo, hi in
                          zip(s["oversell_rate_low"], s["oversell_rate_high"], strict=True)]
    table[f"≤ {100 * result.target:g} %"] = s["meets_target"].map(
        lambda met: "yes" if met else "no")
    table["lost sales/month"] = s["lost_sales_per_month"].map(num)
    table["hidden unit-h/month"] = s["hidden_unit_hours_per_month"].map(num)
    table["sync p99 s"] = s["sync_latency_p99_s_replication_mean"].map(num)
    head = (f"{result.scenario.name}: {len(s)} point(s) × {result.replications} "
            f"replication(s), seed {result.seed} (common random numbers). Oversell rate: "
            "every order of every replication pooled, 95 % CI with replications as "
            "clusters; counts per month = per 30 measured days; sync p99: mean of the "
            "replications' own.")
    return head + "\n\n" + table.to_string(index=False)
