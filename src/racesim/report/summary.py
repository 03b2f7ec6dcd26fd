"""The report's headline numbers, as JSON-ready data (written as ``summary.json``).

Names follow :mod:`racesim.sim.summary`'s scheme: ``…_total`` is summed over the
replications, ``…_per_month`` is per 30 days of measured time (duration − warm-up), the
basis of every client-facing count; rates pool every order of every replication, with a
95 % interval that treats replications as clusters. The interval of an expected number
of oversells per month is that interval of the pooled rate times the orders per month:
it reads as "between a and b oversells a month". ``meets_target`` is judged the one way
racesim judges it everywhere (:func:`racesim.util.stats.target_verdict`) and
``meets_target_reason`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from racesim.report.compute import DAY_S, DRIFT_TARGET, MONTH_S, SYNC_TARGET_S, ReportData
from racesim.study.tune import Family
from racesim.util.stats import mean_interval, target_verdict

if TYPE_CHECKING:
    from racesim.scenario import BufferConfig, Scenario

__all__ = ["describe_buffer", "describe_publishing", "describe_value", "headline",
           "monthly_oversells"]


def _units(count: float) -> str:
    return f"{count:g} unit" + ("" if count == 1 else "s")


def describe_value(family: Family, value: float) -> str:
    """A value of a policy family's parameter in words, e.g. ``2 units`` or ``5 %``."""
    if family.name == "fixed":
        return _units(value)
    if family.name == "percent":
        return f"{value:g} % of available stock"
    if family.name == "seed_formula":
        return f"expected sales in {value:g} × the P99 sync latency"
    if family.name == "poisson_quantile":
        return f"Poisson quantile, ε = {value:g}"
    if family.name == "allocation":
        return f"{value:g} of available stock listed"
    return f"{family.parameter} = {value:g}"


def describe_buffer(config: BufferConfig) -> str:
    """A scenario's ``[buffer]`` table in words."""
    policy = config.policy
    if config.policy == "fixed":
        return f"fixed: {_units(config.units)} of every SKU"
    if config.policy == "percent":
        floor = f", at least {_units(config.min_units)}" if config.min_units else ""
        return f"percent: {config.percent:g} % of available stock{floor}"
    if config.policy == "seed_formula":
        return (f"seed formula: max({_units(config.min_units)}, {config.percent:g} % of "
                f"available, expected sales in {config.latency_multiple:g} × P99 sync latency)")
    if config.policy == "poisson_quantile":
        return (f"Poisson quantile: ε = {config.epsilon:g} over "
                f"{config.latency_multiple:g} × P99 sync latency")
    if config.policy == "allocation":
        return f"allocation: {config.share:g} of available stock listed"
    return str(policy)


def describe_publishing(scenario: Scenario,
                        describe: Callable[[BufferConfig], str] = describe_buffer) -> str:
    """The scenario's publishing rules in words (each buffer put in words by ``describe``).

    One phrase when every channel follows the same rule (``[buffer]`` and any common cap
    or threshold), else one per channel: ``amazon: 2 units…, at most 20 listed; shop: …``.
    """
    phrases = []
    for channel in scenario.channels:
        publish = channel.publish
        if publish is None:
            phrases.append(describe(scenario.buffer))
            continue
        phrase = describe(publish.buffer_config(scenario.buffer))
        if publish.cap is not None:
            phrase += f", at most {_units(publish.cap)} listed"
        if publish.threshold:
            phrase += f", none listed while fewer than {_units(publish.threshold)} are free"
        phrases.append(phrase)
    if len(set(phrases)) == 1:
        return phrases[0]
    return "; ".join(f"{channel.name}: {phrase}"
                     for channel, phrase in zip(scenario.channels, phrases, strict=True))


def monthly_oversells(oversold: int, orders: int, replications: int,
                      per_month: float, rate_ci: tuple[float, float] | list[float]
                      ) -> dict[str, Any]:
    """Expected oversells per month and its 95 % interval (the pooled rate's interval,
    ``rate_ci``, × orders per month)."""
    low, high = rate_ci
    orders_per_month = orders / replications * per_month if replications else 0.0
    return {"oversells_per_month": oversold / replications * per_month if replications else 0.0,
            "oversells_per_month_ci": [low * orders_per_month, high * orders_per_month],
            "orders_per_month": orders_per_month}


def paired_change(data: ReportData) -> dict[str, Any]:
    """Recommended minus current buffer, per month, on the same replications (same buyers).

    For ``oversold``, ``lost_sales`` and ``hidden_unit_hours``: the mean paired
    difference scaled to a month and its Student-t 95 % interval.
    """
    m = data.per_month
    current, recommended = data.current.per_replication, data.paired.per_replication
    change: dict[str, Any] = {"replications": len(current)}
    for metric in ("oversold", "lost_sales", "hidden_unit_hours"):
        diff = recommended[metric].to_numpy(dtype=float) - current[metric].to_numpy(dtype=float)
        mean, low, high = mean_interval(diff)
        change[f"{metric}_per_month"] = mean * m
        change[f"{metric}_per_month_ci"] = [low * m, high * m]
    return change


def _numbers(rate: float, rate_ci: list[float], oversold: int, orders: int,
             replications: int, lost_sales: float, hidden: float, m: float,
             target: float) -> dict[str, Any]:
    """One buffer's numbers: totals, the pooled rate, per month, and the verdict."""
    verdict = target_verdict(rate, rate_ci[1], oversold, orders, target)
    return {"orders_total": orders, "oversold_total": oversold,
            "oversell_rate": rate, "oversell_rate_ci": list(rate_ci),
            "meets_target": verdict.meets, "meets_target_reason": verdict.reason,
            **monthly_oversells(oversold, orders, replications, m, rate_ci),
            "lost_sales_total": lost_sales, "hidden_unit_hours_total": hidden,
            "lost_sales_per_month": float(lost_sales) / replications * m,
            "hidden_unit_hours_per_month": float(hidden) / replications * m}


def headline(data: ReportData) -> dict[str, Any]:
    """Every number of the summary box, JSON-ready.

    ``run`` is :meth:`RunResult.summary` of the run at the scenario's own buffer (as
    :meth:`RunSummary.to_dict` gives it) and ``tuning`` is :meth:`Tuning.to_json`, exactly
    as those return them on the report's seed; ``current``, ``recommended`` and
    ``seed_formula`` hold the same numbers under the same names (plus
    ``oversells_per_month`` and its interval), judged against the report's target. With
    ``[costs]``, ``current`` (like ``run``) also holds the money figures by their
    :class:`~racesim.sim.summary.RunSummary` names (``currency``,
    ``lost_margin_per_month`` and its ``…_ci``, …). ``per_channel`` is the per-channel
    search's answer as ``racesim tune --per-channel --json`` prints it
    (:func:`racesim.study.channel_report.tuning_json`; None when the report made none):
    the money a month the answer box states are its ``confirmation`` figures (the fresh
    simulated periods) and ``paired.total_cost_saved_per_month`` (against the same buffer
    everywhere, on those periods).
    """
    m = data.per_month
    run = data.current.summary()
    tuning: dict[str, Any] = data.tuning.to_json()
    count = run.replications
    current = {
        "buffer": describe_publishing(data.scenario), "value": data.current_value,
        **_numbers(run.oversell_rate, list(run.oversell_rate_ci), run.oversold_total,
                   run.orders_total, count, run.lost_sales_total, run.hidden_unit_hours_total,
                   m, data.target),
        "oversell_rate_wilson_ci": list(run.oversell_rate_wilson_ci),
        "oversell_design_effect": run.oversell_design_effect,
        **({} if run.costs is None else run.costs.to_dict()),  # with [costs]: the money
    }
    recommended = {
        "policy": tuning["policy"], "parameter": tuning["parameter"], "value": tuning["value"],
        "per_class": tuning.get("per_class"),
        "confirmed": (tuning.get("confirmation") or {}).get("meets_target"),
        "replications": tuning["replications"],
        **_numbers(tuning["oversell_rate"], tuning["oversell_rate_ci"],
                   int(tuning["oversold_total"]), int(tuning["orders_total"]),
                   int(tuning["replications"]), tuning["lost_sales_total"],
                   tuning["hidden_unit_hours_total"], m, data.target),
    }
    seed_formula = None
    if tuning.get("seed_formula"):
        formula = tuning["seed_formula"]
        seed_formula = _numbers(formula["oversell_rate"], formula["oversell_rate_ci"],
                                int(formula["oversold_total"]), int(formula["orders_total"]),
                                int(formula["replications"]), formula["lost_sales_total"],
                                formula["hidden_unit_hours_total"], m, data.target)
    drift = run.ledger_drift_max
    return _jsonable_tree({
        "scenario": data.scenario.name, "seed": data.seed, "replications": count,
        "target": data.target, "month_days": MONTH_S / DAY_S,
        "measured_days": data.measured_s / DAY_S, "per_month_factor": m,
        "current": current, "recommended": recommended, "seed_formula": seed_formula,
        "change": paired_change(data),
        "sync_latency": {"p50_s": run.sync_latency_p50_s, "p99_s": run.sync_latency_p99_s,
                         "target_s": SYNC_TARGET_S,
                         "meets_target": run.sync_latency_p99_s <= SYNC_TARGET_S},
        "stranded_reservations": {
            "total": run.stranded_reservations_total,
            "per_month": run.per_month(run.stranded_reservations_total)},
        "ledger_drift": {"max": drift, "mean": run.ledger_drift_mean, "target": DRIFT_TARGET,
                         "meets_target": None if drift is None else drift <= DRIFT_TARGET},
        "run": run.to_dict(),
        "tuning": tuning,
        "per_channel": None if data.channels is None else data.channels.to_json(),
    })


def _jsonable_tree(value: Any) -> Any:
    """Plain Python values all the way down; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_tree(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
