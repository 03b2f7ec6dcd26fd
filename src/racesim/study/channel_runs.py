"""Candidate runs of per-channel buffers: what each channel × SKU group did, per replication.

The per-channel tuner (:mod:`racesim.study.tune_channels`) judges a candidate — one
buffer per channel, or per channel and SKU class — by counts the run's per-channel and
per-SKU tables cannot give once they are summed one way: a class's oversells *on one
channel* (a marketplace's cancellation-rate limit), its lost sales on each channel, and
the money they cost (an oversell on Amazon costs Amazon's penalty). So each replication
is simulated here and returned as channel × group count arrays (a group: the SKUs of one
class, summed in the worker so that a large catalog's candidates stay small) read
straight from the model's records — orders and oversells placed after the warm-up,
exactly as the run's tables count them, buyers, units and margin lost to the buffer —
with each group's hidden unit-hours and the replication's
:class:`~racesim.sim.summary.Summary`.

Replication r of seed s is ``SeedSequence(s).spawn(R)[r]`` as everywhere, on a
throwaway ledger, so a candidate run here faces the same buyers as ``racesim run``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from racesim.sim.model import Simulation
from racesim.sim.money import CostRates
from racesim.sim.state import set_mask
from racesim.sim.streams import replication_seeds
from racesim.sim.summary import Summary
from racesim.study.executors import LocalExecutor
from racesim.study.replications import scratch_store
from racesim.util.collector import without_cyclic_gc
from racesim.util.stats import RateInterval, clustered_rate_interval

if TYPE_CHECKING:
    from racesim.policy.buffers import AnyPolicy
    from racesim.scenario import Scenario
    from racesim.sim.state import SimulationState

__all__ = ["CandidateRun", "CellCounts", "ClassFigures", "class_figures", "run_candidate"]


@dataclass(frozen=True, slots=True)
class CellCounts:
    """One replication's counts per channel (rows) × SKU group (columns), and per group.

    A group is a set of SKUs counted together (the tuner's classes; by default the whole
    catalog). ``orders``: accepted orders placed after the warm-up; ``oversold``: those
    the engine refused; ``lost_buffer``: buyers the buffer turned away (cause
    ``buffer``); ``lost_buffer_units``: the units they lost (see :mod:`racesim.sim.money`);
    ``lost_margin``: those units × each SKU's margin (zeros without ``[costs]``);
    ``hidden_unit_hours``: per group, units withheld × hours (weighted by channel demand
    shares, as the run's tables).
    """

    orders: np.ndarray
    oversold: np.ndarray
    lost_buffer: np.ndarray
    lost_buffer_units: np.ndarray
    lost_margin: np.ndarray
    hidden_unit_hours: np.ndarray
    summary: Summary


@dataclass(frozen=True, slots=True)
class _CandidateTask:
    """One replication of a candidate: everything a worker needs (picklable)."""

    scenario: Scenario
    seed: np.random.SeedSequence
    replication: int
    buffer: Mapping[str, AnyPolicy]
    groups: np.ndarray
    """The group number of each SKU, by SKU number."""


def _cells(state: SimulationState, hidden_unit_hours: np.ndarray, summary: Summary,
           groups: np.ndarray, margin: np.ndarray | None) -> CellCounts:
    """The channel × group counts of a finished replication (orders after the warm-up)."""
    size = int(groups.max()) + 1 if groups.size else 0
    shape = (len(state.channel_names), size)

    def by_group(values: np.ndarray) -> np.ndarray:
        return np.bincount(groups, weights=values, minlength=size)

    orders, oversold = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    lost, units = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    money = np.zeros(shape, dtype=float)
    for c, channel in enumerate(state.channels):
        skus = np.asarray(channel.arrivals.skus, dtype=np.int64)
        counted = np.asarray(channel.arrivals.times, dtype=float) >= state.warmup
        accepted = np.asarray(channel.accepted, dtype=bool) & counted
        refused = accepted & set_mask(np.asarray(channel.oversold, dtype=float))
        orders[c] = np.bincount(groups[skus[accepted]], minlength=size)
        oversold[c] = np.bincount(groups[skus[refused]], minlength=size)
        lost[c] = by_group(np.asarray(channel.lost_buffer, dtype=float))
        wanted = np.asarray(channel.lost_buffer_units, dtype=float)
        units[c] = by_group(wanted)
        if margin is not None:
            money[c] = by_group(wanted * margin)
    return CellCounts(orders, oversold, lost, units, money, by_group(hidden_unit_hours),
                      summary)


def _run_cells(task: _CandidateTask) -> CellCounts:
    """Simulate one replication of a candidate and count it per channel × group."""
    scenario = task.scenario
    rates = CostRates.of(scenario)
    with without_cyclic_gc():  # until the model is freed: see racesim.util.collector
        simulation = Simulation(scenario, task.seed,
                                store=scratch_store(scenario.engine.store, task.replication),
                                buffer=task.buffer,  # type: ignore[arg-type]
                                tables=False, discard=True)
        result = simulation.run()
        cells = _cells(simulation.state(), result.sku_counts["hidden_unit_hours"],
                       result.summary, task.groups, None if rates is None else rates.margin)
        del simulation
    return cells


@dataclass(frozen=True)
class CandidateRun:
    """A candidate simulated on R replications: the counts stacked (replication first)."""

    seed: int
    replications: list[CellCounts] = field(repr=False)

    def stacked(self, name: str) -> np.ndarray:
        """Field ``name`` of every replication as one array, replication first."""
        return np.stack([getattr(cells, name) for cells in self.replications])


def run_candidate(scenario: Scenario, buffer: Mapping[str, AnyPolicy], *, seed: int,
                  replications: int, jobs: int = 1,
                  groups: np.ndarray | None = None) -> CandidateRun:
    """Simulate the per-channel ``buffer`` (channel name → policy) on ``replications``.

    Channels not named keep the scenario's rule; a named channel keeps its cap and
    threshold. ``groups`` numbers each SKU's group (0, 1, …; default: one group), the
    columns of the counts. Results come back in replication order whatever ``jobs`` is.
    """
    seeds = replication_seeds(seed, replications)
    numbers = np.zeros(len(scenario.skus()), dtype=np.int64) if groups is None \
        else np.asarray(groups, dtype=np.int64)
    work = [_CandidateTask(scenario, seeds[r], r, dict(buffer), numbers)
            for r in range(replications)]
    with LocalExecutor(jobs) as runner:
        counted = list(runner.map(_run_cells, work))
    return CandidateRun(seed, counted)


@dataclass(frozen=True)
class ClassFigures:
    """Totals of a set of SKUs (a class, or the catalog) in a candidate run."""

    oversold: np.ndarray
    """Per replication, summed over channels and the SKUs."""
    orders: np.ndarray
    channel_oversold: np.ndarray
    """Per replication (rows) and channel (columns), summed over the SKUs."""
    channel_orders: np.ndarray
    lost_buffer: float
    hidden_unit_hours: float
    lost_margin: float | None
    oversell_cost: float | None
    holding_cost: float | None

    @property
    def total_cost(self) -> float:
        parts = (self.lost_margin, self.oversell_cost, self.holding_cost)
        return math.fsum(part or 0.0 for part in parts)

    def rate_high(self, confidence: float) -> float:
        return clustered_rate_interval(self.oversold, self.orders, confidence).high

    def channel_rates(self, confidence: float = 0.95) -> list[RateInterval]:
        """Each channel's pooled oversell rate (its cancellation rate) with its clustered
        interval, replications as clusters, as ``racesim run`` gives it."""
        return [clustered_rate_interval(self.channel_oversold[:, c], self.channel_orders[:, c],
                                        confidence)
                for c in range(self.channel_orders.shape[1])]

    def limit_excess(self, scenario: Scenario, confidence: float = 0.95) -> dict[str, float]:
        """Channel → by how much the upper end of its rate's interval exceeds its
        ``cancel_rate_limit`` (0 when at or below: met with confidence, as the target
        is); only channels with a limit."""
        rates = CostRates.of(scenario)
        limits = dict(rates.cancel_rate_limit) if rates is not None else {}
        shares = self.channel_rates(confidence) if limits else []
        return {channel.name: max(shares[c].high - limits[channel.name], 0.0)
                for c, channel in enumerate(scenario.channels) if channel.name in limits}


def class_figures(scenario: Scenario, run: CandidateRun,
                  which: np.ndarray | None = None) -> ClassFigures:
    """The totals of groups ``which`` (indices; None: every group) in ``run``, with their
    money under ``[costs]``: lost margin (units lost to the buffer × margin), oversell
    cost (oversold orders × ``oversell + penalty[channel]``), holding (hidden unit-days ×
    rate)."""
    def cells(name: str) -> np.ndarray:
        stacked = run.stacked(name)
        return stacked[..., which] if which is not None else stacked

    oversold, orders = cells("oversold"), cells("orders")
    hidden = float(cells("hidden_unit_hours").sum())
    money: list[float | None] = [None, None, None]
    rates = CostRates.of(scenario)
    if rates is not None:
        money = [float(cells("lost_margin").sum()),
                 float(oversold.sum(axis=(0, 2)) @ rates.per_oversell),
                 hidden * rates.holding_per_unit_hour]
    return ClassFigures(oversold.sum(axis=(1, 2)), orders.sum(axis=(1, 2)),
                        oversold.sum(axis=2), orders.sum(axis=2),
                        float(cells("lost_buffer").sum()), hidden, *money)
