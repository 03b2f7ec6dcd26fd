"""The per-channel tuner's answer as data: its figures beside the uniform buffer's.

Names follow :mod:`racesim.sim.summary`'s scheme: ``…_per_month`` per 30 measured days
over the replications, ``hidden_unit_hours_per_day`` the units the buffers keep off the
listings on an average day (each channel's hidden units weighted by its demand share, as
the run's tables weigh them), rates pooled over every order with their clustered 95 %
interval. Money figures (``lost_margin_per_month``, ``oversell_cost_per_month``,
``holding_cost_per_month``, ``total_cost_per_month``) are None without ``[costs]``.
The paired comparison takes the fresh replications one by one: the same buyers meet
the uniform buffer and the per-channel one, so their difference is measured without the
noise of the demand itself. The ``frontier`` lists, for uniform and per-channel
candidates the search simulated, those no other beats on both the oversell rate and the
money lost a month: the trade-off a report can draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from racesim.sim.summary import MONTH_DAYS, per_month
from racesim.study.channel_runs import CandidateRun, class_figures
from racesim.util.jsonable import jsonable
from racesim.util.stats import clustered_rate_interval, mean_interval, target_verdict

if TYPE_CHECKING:
    from racesim.study.tune_channels import ChannelTuning, State

__all__ = ["figures", "frontier", "paired", "tuning_json"]


def _shown(channels: list[str], state: State) -> dict[str, object]:
    """Channel → units, or channel → {class → units} when tuned per class."""
    if set(state) == {"*"}:
        return dict(zip(channels, state["*"], strict=True))
    return {name: {k: state[k][c] for k in sorted(state)} for c, name in enumerate(channels)}


def figures(tuning: ChannelTuning, run: CandidateRun) -> dict[str, object]:
    """The catalog's figures in ``run``: rate and verdict, losses, money, per channel."""
    problem = tuning.problem
    scenario, days = problem.scenario, tuning.measured_days
    count = len(run.replications)
    totals = class_figures(scenario, run)
    oversold, orders = int(totals.oversold.sum()), int(totals.orders.sum())
    rate = clustered_rate_interval(totals.oversold, totals.orders, problem.confidence)
    excess = totals.limit_excess(scenario, problem.confidence)
    broken = [name for name, over in excess.items() if over > 0]
    if problem.target is None:
        meets, reason = not broken, "no oversell target: the least expected total cost"
    else:
        verdict = target_verdict(rate.rate, rate.high, oversold, orders, problem.target,
                                 problem.confidence)
        meets, reason = verdict.meets and not broken, verdict.reason
    if broken:
        reason += f"; over the cancellation-rate limit on {', '.join(broken)}"
    costs = scenario.costs
    limits = (costs.cancel_rate_limit if costs is not None else None) or {}
    rates = totals.channel_rates(problem.confidence)

    def month(total: float | None) -> float | None:
        return None if total is None else per_month(total, count, days)

    return jsonable({
        "oversell_rate": rate.rate, "oversell_rate_ci": [rate.low, rate.high],
        "oversell_design_effect": rate.design_effect,
        "meets_target": meets, "meets_target_reason": reason,
        "orders_per_month": month(orders), "oversold_per_month": month(oversold),
        "buffer_lost_sales_per_month": month(totals.lost_buffer),
        "hidden_unit_hours_per_day": totals.hidden_unit_hours / (count * days) if days else 0.0,
        "lost_margin_per_month": month(totals.lost_margin),
        "oversell_cost_per_month": month(totals.oversell_cost),
        "holding_cost_per_month": month(totals.holding_cost),
        "total_cost_per_month": None if costs is None else month(totals.total_cost),
        "channels": {channel.name: {
            "oversell_rate": rates[c].rate, "oversell_rate_ci": [rates[c].low, rates[c].high],
            "cancel_rate_limit": limits.get(channel.name),
            "within_limit": None if channel.name not in limits else excess[channel.name] == 0}
            for c, channel in enumerate(scenario.channels)},
    })


def paired(tuning: ChannelTuning) -> dict[str, object]:
    """Uniform minus per-channel on the same fresh replications, per month, with the
    Student-t 95 % interval of the per-replication differences (None with one)."""
    scenario, days = tuning.problem.scenario, tuning.measured_days
    scale = MONTH_DAYS / days if days else 0.0
    pairs = zip(tuning.uniform_fresh.replications, tuning.per_channel_fresh.replications,
                strict=True)
    lost, money = [], []
    for uniform, chosen in pairs:
        one = [class_figures(scenario, CandidateRun(0, [cells]))
               for cells in (uniform, chosen)]
        lost.append((one[0].lost_buffer - one[1].lost_buffer) * scale)
        money.append((one[0].total_cost - one[1].total_cost) * scale)
    result: dict[str, object] = {"seed": tuning.per_channel_fresh.seed,
                                 "replications": len(lost)}
    for name, values in (("buffer_lost_sales_saved_per_month", lost),
                         ("total_cost_saved_per_month", money)):
        if name.startswith("total_cost") and scenario.costs is None:
            result[name], result[f"{name}_ci"] = None, None
            continue
        mean, low, high = mean_interval(values)
        result[name] = mean
        result[f"{name}_ci"] = None if np.isnan(low) else [low, high]
    return jsonable(result)


def _efficient(points: list[dict[str, object]], cost: str) -> list[dict[str, object]]:
    """The points no other point beats on both oversell rate and ``cost``, by rate."""
    def key(point: dict[str, object]) -> tuple[float, float]:
        return (float(point["oversell_rate"]), float(point[cost]))  # type: ignore[arg-type]

    kept: list[dict[str, object]] = []
    for point in sorted(points, key=key):
        if not kept or key(point)[1] < key(kept[-1])[1]:
            kept.append(point)
    return kept


def frontier(tuning: ChannelTuning) -> dict[str, list[dict[str, object]]]:
    """The trade-off the search saw: for the uniform candidates and the per-channel ones
    it simulated on its replications, those no other of their kind beats on both the
    oversell rate and the money lost a month (sales lost to the buffer without
    ``[costs]``), by rising oversell rate."""
    problem = tuning.problem
    scenario, days = problem.scenario, tuning.measured_days
    cost = "total_cost_per_month" if scenario.costs is not None \
        else "buffer_lost_sales_per_month"
    kinds: dict[str, list[dict[str, object]]] = {"uniform": [], "per_channel": []}
    for (seed, items), run in problem.runs.items():
        if seed != problem.seed:
            continue
        state = dict(items)
        totals = class_figures(scenario, run)
        count = len(run.replications)
        rate = clustered_rate_interval(totals.oversold, totals.orders, problem.confidence)
        uniform = all(len(set(units)) == 1 for units in state.values())
        kinds["uniform" if uniform else "per_channel"].append({
            "per_channel": _shown(problem.channels, state),
            "oversell_rate": rate.rate, "oversell_rate_ci": [rate.low, rate.high],
            "buffer_lost_sales_per_month": per_month(totals.lost_buffer, count, days),
            "total_cost_per_month": None if scenario.costs is None
            else per_month(totals.total_cost, count, days)})
    return {kind: jsonable(_efficient(points, cost)) for kind, points in kinds.items()}


def tuning_json(tuning: ChannelTuning) -> dict[str, object]:
    """Everything ``racesim tune --per-channel --json`` prints (see the module)."""
    problem = tuning.problem
    channels, fresh = problem.channels, problem.seed + 1
    costs = problem.scenario.costs
    uniform = tuning.uniform
    start = tuning.uniform_start
    return jsonable({
        "objective": problem.objective, "target": problem.target,
        "confidence": problem.confidence, "seed": problem.seed,
        "replications": problem.replications, "measured_days": tuning.measured_days,
        "evaluations": problem.evaluations,
        "currency": None if costs is None else costs.currency,
        "per_channel": _shown(channels, tuning.per_channel),
        **figures(tuning, problem.run(tuning.per_channel)),
        "confirmation": {"seed": fresh, **figures(tuning, tuning.per_channel_fresh)},
        "uniform": {
            "value": uniform["*"][0] if set(uniform) == {"*"}
            else {k: units[0] for k, units in sorted(uniform.items())},
            "tuner_value": start["*"] if set(start) == {"*"} else start,
            **figures(tuning, problem.run(uniform)),
            "confirmation": {"seed": fresh, **figures(tuning, tuning.uniform_fresh)}},
        "paired": paired(tuning),
        "frontier": frontier(tuning),
    })
