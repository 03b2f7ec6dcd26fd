"""Replications of a scenario: independent seeds, optional worker processes, pooled totals.

Replication r of a run seeded with s always uses ``SeedSequence(s).spawn(R)[r]``, never
anything about the worker that ran it, and results are gathered in replication order —
so the same seed gives the same numbers whatever ``jobs`` is.
"""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from racesim.ledger.store import store_variant
from racesim.sim.model import Simulation
from racesim.sim.money import MONEY, RunCosts, pool_costs
from racesim.sim.results import SimulationResult
from racesim.sim.streams import replication_seeds
from racesim.sim.summary import DAY_S, RunSummary
from racesim.study.budget import Budget, check_run
from racesim.study.executors import Executor, LocalExecutor
from racesim.util.collector import without_cyclic_gc
from racesim.util.jsonable import jsonable
from racesim.util.progress import progress as with_progress

if TYPE_CHECKING:
    from racesim.policy.publishing import ChannelBuffers
    from racesim.scenario import Scenario

__all__ = ["ReplicationTask", "RunResult", "replication_store",
           "run_replication", "run_scenario", "run_task", "scratch_store", "workers_of"]

_DEFAULT_BUDGET = Budget()


def replication_store(store: str | None, replication: int) -> str | None:
    """Give each replication its own ledger.

    ``sqlite:///run.db`` → ``sqlite:///run-r3.db``; ``postgresql://…/db?schema=run`` →
    ``…?schema=run_r3`` (schema ``public`` when none is named); ``memory://`` as it is.
    """
    return None if store is None else store_variant(store, f"r{replication}")


def scratch_store(store: str, replication: int) -> str:
    """A throwaway ledger beside ``store`` for one replication of a sweep, tuner or report.

    Those run the same replication numbers many times (once per grid point or candidate),
    so each gets a name of its own (``run-t1a2b3c4d5-r3.db``), deleted when it ends.
    """
    return store_variant(store, f"t{secrets.token_hex(5)}-r{replication}")


def run_replication(scenario: Scenario, seed: np.random.SeedSequence, replication: int = 0, *,
                    store: str | None = None, engine: str | None = None,
                    buffer: ChannelBuffers | None = None, tables: bool = True,
                    scratch: bool = False) -> SimulationResult:
    """Simulate one replication; with ``tables=False`` drop the large per-event tables.

    The ledger is ``store`` or else the scenario's ``[engine] store``, and each
    replication gets its own (see :func:`replication_store`). With ``scratch`` it is a
    throwaway one (see :func:`scratch_store`), deleted when the replication ends.

    The cyclic garbage collector is paused until the model is freed (it makes no cycles;
    :mod:`racesim.util.collector`), so that its passes do not walk a replication's state.
    """
    url = store if store is not None else scenario.engine.store
    own = scratch_store(url, replication) if scratch else replication_store(url, replication)
    with without_cyclic_gc():  # until the model is freed: see racesim.util.collector
        simulation = Simulation(scenario, seed, store=own, engine=engine, buffer=buffer,
                                tables=tables, discard=scratch)
        result = simulation.run()
        del simulation
    return result


@dataclass(frozen=True, slots=True)
class ReplicationTask:
    """One replication to simulate: everything a worker needs, nothing about the worker.

    A run, a sweep point or a tuner candidate is a list of these, mapped over an
    :class:`~racesim.study.executors.Executor` with :func:`run_task`; the arguments are those
    of :func:`run_replication`.
    """

    scenario: Scenario
    seed: np.random.SeedSequence
    replication: int
    store: str | None = None
    engine: str | None = None
    buffer: ChannelBuffers | None = None
    tables: bool = True
    scratch: bool = False


def run_task(task: ReplicationTask) -> SimulationResult:
    """Simulate ``task`` (see :func:`run_replication`)."""
    return run_replication(task.scenario, task.seed, task.replication, store=task.store,
                           engine=task.engine, buffer=task.buffer, tables=task.tables,
                           scratch=task.scratch)


@dataclass
class RunResult:
    """All replications of a run: totals with intervals, and each replication's results."""

    seed: int
    replications: list[SimulationResult] = field(repr=False)

    @property
    def per_replication(self) -> pd.DataFrame:
        """One row per replication with its summary metrics.

        The columns are :class:`~racesim.sim.summary.Summary`'s fields, except that each
        interval ``…_ci`` becomes two columns ``…_low`` and ``…_high``, placed last.
        """
        rows = []
        for r, result in enumerate(self.replications):
            row = result.summary.to_dict()
            intervals = {key: row.pop(key) for key, value in list(row.items())
                         if isinstance(value, list)}
            for key, (low, high) in intervals.items():
                name = key.removesuffix("_ci")
                row[f"{name}_low"], row[f"{name}_high"] = low, high
            rows.append({"replication": r, **row})
        return pd.DataFrame(rows).set_index("replication")

    def summary(self) -> RunSummary:
        """Totals and per-month figures; rates pooled, with intervals that treat
        replications as clusters.

        See :class:`~racesim.sim.summary.RunSummary` for every field's unit and basis.
        Pooled from the replications' records and arrays, without building a table.
        """
        latencies = np.concatenate([r.sync_latency for r in self.replications])
        summaries = [r.summary for r in self.replications]
        return RunSummary.pool(summaries, latencies, self.seed, costs=self._costs())

    def _costs(self) -> RunCosts | None:
        """The run's money (:func:`racesim.sim.money.pool_costs`); None without ``[costs]``."""
        rates = self.replications[0].costs if self.replications else None
        if rates is None:
            return None
        channels = [r.channel_counts for r in self.replications]
        money = {name: np.array([getattr(r.summary, name) for r in self.replications],
                                dtype=float) for name in MONEY}
        days = float(self.replications[0].summary.measured_s) / DAY_S
        return pool_costs(rates, money, np.stack([c["oversold"] for c in channels]),
                          np.stack([c["orders"] for c in channels]), days)

    def to_json(self, target: float | None = None) -> dict[str, object]:
        """The summary plus ``per_replication``, JSON-ready.

        With an oversell ``target`` (a fraction) also ``target``, ``meets_target`` and
        ``meets_target_reason`` (:meth:`RunSummary.verdict`).
        """
        summary = self.summary()
        data: dict[str, object] = summary.to_dict()
        if target is not None:
            verdict = summary.verdict(target)
            data.update(target=target, meets_target=verdict.meets,
                        meets_target_reason=verdict.reason)
        data["per_replication"] = [
            {key: jsonable(value) for key, value in result.summary.to_dict().items()}
            for result in self.replications]
        return {key: jsonable(value) for key, value in data.items()}


def run_scenario(scenario: Scenario, seed: int | None = None, replications: int = 1,
                 jobs: int = 1, *,
                 store: str | None = None, engine: str | None = None,
                 buffer: ChannelBuffers | None = None, tables: bool = False,
                 progress: bool = False,
                 executor: Executor | None = None, scratch: bool = False,
                 budget: Budget | None = _DEFAULT_BUDGET,
                 source: str | None = None) -> RunResult:
    """Run ``replications`` independent replications of ``scenario``.

    They run on ``jobs`` local processes, or on ``executor`` (a
    :class:`~racesim.study.executors.LocalExecutor`, a
    :class:`~racesim.study.executors.DaskExecutor`, …), which the caller keeps open and
    closes; give one or the other. The same ``seed`` gives identical results whatever
    runs them; ``None`` takes the scenario's own
    (:meth:`~racesim.scenario.Scenario.run_seed`). Each replication records to its own
    ledger (``store``, else the scenario's ``[engine] store``; see
    :func:`run_replication`); ``scratch`` makes them throwaway ledgers, deleted as each
    replication ends.

    Before anything runs, the run is estimated against ``budget`` (see
    :mod:`racesim.study.budget`; ``None`` skips the check, for callers that checked a larger
    job themselves) and refused with a :class:`~racesim.study.budget.BudgetError` naming
    ``source`` (default: the scenario's name) and the fields that drive it.
    """
    seed = scenario.run_seed(seed)
    if replications < 1:
        raise ValueError(f"replications must be ≥ 1 (got {replications})")
    if jobs < 1:
        raise ValueError(f"jobs must be ≥ 1 (got {jobs})")
    if executor is not None and jobs != 1:
        raise ValueError(f"give jobs (got {jobs}) or an executor ({executor!r}), not both")
    if budget is not None:
        workers = jobs if executor is None else workers_of(executor)
        check_run(scenario, replications, workers, tables=tables, budget=budget,
                  source=source)
    seeds = replication_seeds(seed, replications)
    work = [ReplicationTask(scenario, seeds[r], r, store=store, engine=engine, buffer=buffer,
                            tables=tables, scratch=scratch) for r in range(replications)]
    owned = executor is None
    runner = LocalExecutor(jobs) if executor is None else executor
    with runner if owned else nullcontext(runner):
        # results come back in replication order, whatever finishes first
        results = list(with_progress(runner.map(run_task, work), replications, progress,
                                     desc="replications", unit="rep"))
    return RunResult(seed=seed, replications=results)


def workers_of(executor: Executor) -> int:
    """How many replications ``executor`` runs at once (1 when it does not say)."""
    count = getattr(executor, "jobs", None) or getattr(executor, "workers", None) or 1
    return int(count)
