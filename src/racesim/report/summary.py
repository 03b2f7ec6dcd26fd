"""The report's headline numbers, as JSON-ready data (written as ``summary.json``).

Counts "per month" are per-replication means scaled to 30 days of simulated time
(duration − warm-up of one replication). The interval of an expected number of
oversells per month is the Wilson 95 % interval of the pooled oversell rate times the
orders per month: it reads as "between a and b oversells a month".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from racesim.report.compute import DAY_S, DRIFT_TARGET, MONTH_S, SYNC_TARGET_S, ReportData
from racesim.study.tune import Family
from racesim.util.stats import mean_interval, wilson_interval

if TYPE_CHECKING:
    from racesim.scenario import BufferConfig

__all__ = ["describe_buffer", "describe_value", "headline", "monthly_oversells"]


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
    return str(policy)


def monthly_oversells(oversold: int, orders: int, replications: int,
                      per_month: float) -> dict[str, Any]:
    """Expected oversells per month and its 95 % interval (Wilson rate × orders/month)."""
    low, high = wilson_interval(oversold, orders)
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


def headline(data: ReportData) -> dict[str, Any]:
    """Every number of the summary box, JSON-ready.

    ``run`` is :meth:`RunResult.summary` of the run at the scenario's own buffer (as
    :meth:`RunSummary.to_dict` gives it) and ``tuning`` is :meth:`Tuning.to_json`, exactly
    as those return them on the report's seed; the other keys are built from them.
    """
    m = data.per_month
    run = data.current.summary()
    tuning: dict[str, Any] = data.tuning.to_json()
    count = run.replications
    current = {
        "buffer": describe_buffer(data.scenario.buffer), "value": data.current_value,
        "orders": run.orders, "oversold": run.oversold,
        "oversell_rate": run.oversell_rate, "oversell_rate_ci": list(run.oversell_rate_ci),
        "oversell_rate_between_ci": list(run.oversell_rate_between_ci),
        **monthly_oversells(run.oversold, run.orders, count, m),
        "lost_sales_per_month": float(run.lost_sales) / count * m,
        "hidden_unit_hours_per_month": float(run.hidden_unit_hours) / count * m,
    }
    recommended = {
        "policy": tuning["policy"], "parameter": tuning["parameter"], "value": tuning["value"],
        "per_class": tuning.get("per_class"), "meets_target": tuning["meets_target"],
        "confirmed": (tuning.get("confirmation") or {}).get("meets_target"),
        "orders": tuning["orders"], "oversold": tuning["oversold"],
        "replications": tuning["replications"],
        "oversell_rate": tuning["oversell_rate"], "oversell_rate_ci": tuning["oversell_rate_ci"],
        **monthly_oversells(int(tuning["oversold"]), int(tuning["orders"]),
                            int(tuning["replications"]), m),
        "lost_sales_per_month": float(tuning["lost_sales"]) * m,
        "hidden_unit_hours_per_month": float(tuning["hidden_unit_hours"]) * m,
    }
    seed_formula = None
    if tuning.get("seed_formula"):
        formula = data.tuning.seed_formula.summary()  # type: ignore[union-attr]
        seed_formula = {
            "oversell_rate": formula.oversell_rate,
            "oversell_rate_ci": list(formula.oversell_rate_ci),
            "meets_target": tuning["seed_formula"]["meets_target"],
            **monthly_oversells(formula.oversold, formula.orders, formula.replications, m),
            "lost_sales_per_month": float(tuning["seed_formula"]["lost_sales"]) * m,
            "hidden_unit_hours_per_month":
                float(tuning["seed_formula"]["hidden_unit_hours"]) * m,
        }
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
        "stranded_reservations": {"total": run.stranded_reservations,
                                  "per_month": run.stranded_reservations / count * m},
        "ledger_drift": {"max": drift, "mean": run.ledger_drift_mean, "target": DRIFT_TARGET,
                         "meets_target": None if drift is None else drift <= DRIFT_TARGET},
        "run": run.to_dict(),
        "tuning": tuning,
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
