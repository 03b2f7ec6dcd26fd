"""The tuner: the smallest buffer of a policy family that meets an oversell target.

"Meets" means the upper end of the oversell rate's Wilson interval (at the chosen
confidence, 95 % by default) is at or below the target (0.3 % of orders by default): the
target is met with confidence, not just on average.

The search reuses common random numbers: every candidate is simulated on the *same*
replications (same seeds, so the same buyers and the same webhook delays), so candidates
differ only by the buffer and the oversell rate falls with it replication by replication.
It probes candidates 0, 1, 2, 4, 8, … of the family's ladder until one meets the target,
then bisects between the last miss and the first hit — a handful of evaluations instead
of a full grid. Where the catalog has SKU classes (``class`` = A/B/C…), each class gets
its own parameter; SKUs of different classes do not interact, so all classes are searched
in the same runs.

The answer is then confirmed on fresh replications (the next seed) — where it misses
there, the next rung up is tried, a few times at most — and set beside the seed
formula's own choice on the same replications, with what each costs: units hidden
(unit-hours) and buyers turned away (lost sales).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from racesim.budget import Budget, check_tune
from racesim.buffers import (
    ByClass,
    FixedBuffer,
    PercentBuffer,
    PoissonQuantile,
    SeedFormula,
)
from racesim.runner import RunResult, run_scenario
from racesim.stats import wilson_interval

__all__ = ["FAMILIES", "Family", "Tuning", "more_orders_needed", "tune"]

_DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Family:
    """A one-parameter family of buffer policies and its ladder of candidate values.

    ``ladder`` is ordered so that buffers grow along it.
    """

    name: str
    parameter: str
    ladder: tuple[float, ...]
    make: Callable[[float], Any]


def _units(value: float) -> FixedBuffer:
    return FixedBuffer(int(value))


def _percent(value: float) -> PercentBuffer:
    return PercentBuffer(value)


def _latency_multiple(value: float) -> SeedFormula:
    return SeedFormula(min_units=0, percent=0.0, latency_multiple=value)


def _epsilon(value: float) -> PoissonQuantile:
    return PoissonQuantile(epsilon=value)


FAMILIES: dict[str, Family] = {
    "fixed": Family("fixed", "units", tuple(float(u) for u in range(0, 513)), _units),
    "percent": Family("percent", "percent",
                      tuple(float(p) for p in np.round(np.arange(0, 100.25, 0.5), 2)), _percent),
    # The latency term alone (min_units = 0, percent = 0): how many P99 windows of
    # expected demand to hide.
    "seed_formula": Family("seed_formula", "latency_multiple",
                           tuple(float(m) for m in np.round(np.arange(0, 20.01, 0.25), 2)),
                           _latency_multiple),
    "poisson_quantile": Family("poisson_quantile", "epsilon",
                               tuple(float(e) for e in (0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01,
                                                        5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4,
                                                        5e-5, 2e-5, 1e-5, 1e-6, 1e-7)),
                               _epsilon),
}


def more_orders_needed(oversold: int, orders: int, target: float,
                       confidence: float = 0.95) -> int | None:
    """Orders still to simulate before the interval can fall below ``target``.

    0 if it already does; None if the observed rate itself is above the target (more
    orders will not help). Uses the Wilson bound's large-sample form.
    """
    if orders > 0 and wilson_interval(oversold, orders, confidence)[1] <= target:
        return 0
    rate = oversold / orders if orders else 0.0
    if rate >= target:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    needed = z * z * (1 - target) / target if rate == 0 else \
        z * z * rate * (1 - rate) / (target - rate) ** 2
    return max(math.ceil(needed) - orders, 1)


@dataclass
class Evaluation:
    """One simulated candidate (one parameter per class) and its per-class outcome."""

    values: dict[str, float]
    result: RunResult = field(repr=False)
    oversold: dict[str, int]
    orders: dict[str, int]
    hidden_unit_hours: dict[str, float]
    lost_sales: dict[str, int]


@dataclass
class Tuning:
    """What the tuner found, what it costs, and how sure it is."""

    family: Family
    target: float
    confidence: float
    seed: int
    replications: int
    values: dict[str, float]
    evaluations: list[Evaluation] = field(repr=False)
    chosen: Evaluation = field(repr=False)
    confirmation: RunResult | None = field(repr=False)
    seed_formula: RunResult | None = field(repr=False)

    def _rate(self, oversold: int, orders: int) -> dict[str, object]:
        low, high = wilson_interval(oversold, orders, self.confidence)
        return {"oversell_rate": oversold / orders if orders else 0.0,
                "oversell_rate_ci": [low, high], "meets_target": high <= self.target}

    def to_json(self) -> dict[str, object]:
        """The answer as a JSON-ready dict (see ``racesim tune --json``)."""
        chosen = self.chosen
        oversold, orders = sum(chosen.oversold.values()), sum(chosen.orders.values())
        report: dict[str, object] = {
            "policy": self.family.name, "parameter": self.family.parameter,
            "value": self.values["*"] if set(self.values) == {"*"} else dict(self.values),
            **self._rate(oversold, orders),
            "orders": orders, "oversold": oversold,
            "hidden_unit_hours": sum(chosen.hidden_unit_hours.values()) / self.replications,
            "lost_sales": sum(chosen.lost_sales.values()) / self.replications,
            "target": self.target, "confidence": self.confidence, "seed": self.seed,
            "replications": self.replications, "evaluations": len(self.evaluations),
            "simulated_replications": len(self.evaluations) * self.replications,
            "more_orders_needed": more_orders_needed(oversold, orders, self.target,
                                                     self.confidence),
        }
        needed = report["more_orders_needed"]
        per_replication = orders / self.replications if orders else 0
        report["more_replications_needed"] = (
            None if needed is None else math.ceil(needed / per_replication)
            if per_replication else None)
        if set(self.values) != {"*"}:
            report["per_class"] = {
                name: {"value": value, **self._rate(chosen.oversold[name], chosen.orders[name]),
                       "hidden_unit_hours": chosen.hidden_unit_hours[name] / self.replications,
                       "lost_sales": chosen.lost_sales[name] / self.replications}
                for name, value in self.values.items()}
        for key, run in (("confirmation", self.confirmation), ("seed_formula", self.seed_formula)):
            if run is not None:
                s = run.summary()
                report[key] = {"seed": s["seed"], "replications": s["replications"],
                               **self._rate(int(s["oversold"]), int(s["orders"])),
                               "hidden_unit_hours": s["hidden_unit_hours"] / s["replications"],
                               "lost_sales": s["lost_sales"] / s["replications"]}
        return report


CONFIRM_STEPS = 4
"""How many rungs the confirmation on fresh replications may climb above the search's answer."""

PER_CLASS_MIN_SKUS = 30
"""Catalogs smaller than this are tuned as a whole: small classes have too few orders."""


def _classes(scenario: Any, per_class: bool) -> dict[str, list[str]]:
    """SKUs by class label; one class "*" for small catalogs or when classes are off."""
    skus = scenario.skus()
    labels = {sku.class_ for sku in skus}
    if not per_class or len(skus) < PER_CLASS_MIN_SKUS or len(labels) < 2 or None in labels:
        return {"*": [sku.sku for sku in skus]}
    return {label: [sku.sku for sku in skus if sku.class_ == label] for label in sorted(labels)}


def _policy(family: Family, values: dict[str, float]) -> Any:
    if set(values) == {"*"}:
        return family.make(values["*"])
    return ByClass({name: family.make(value) for name, value in values.items()})


def _evaluate(scenario: Any, family: Family, values: dict[str, float],
              classes: dict[str, list[str]], seed: int, replications: int, jobs: int,
              progress: bool) -> Evaluation:
    result = run_scenario(scenario, seed=seed, replications=replications, jobs=jobs,
                          buffer=_policy(family, values), progress=progress, scratch=True,
                          budget=None)
    oversold, orders, hidden, lost = {}, {}, {}, {}
    for name, skus in classes.items():
        rows = [r.per_sku.loc[skus] for r in result.replications]
        oversold[name] = int(sum(int(t["oversold"].sum()) for t in rows))
        orders[name] = int(sum(int(t["orders"].sum()) for t in rows))
        hidden[name] = float(sum(float(t["hidden_unit_hours"].sum()) for t in rows))
        lost[name] = int(sum(int(t["lost_sales"].sum()) for t in rows))
    return Evaluation(dict(values), result, oversold, orders, hidden, lost)


def _meets(evaluation: Evaluation, name: str, target: float, confidence: float) -> bool:
    return wilson_interval(evaluation.oversold[name], evaluation.orders[name],
                           confidence)[1] <= target


def _replications_for(evaluation: Evaluation, replications: int, target: float,
                      confidence: float, most: int) -> int:
    """Replications enough to show a zero-oversell class under the target (30 % spare)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    orders_needed = z * z * (1 - target) / target
    needed = replications
    for orders in evaluation.orders.values():
        per_replication = orders / replications
        if per_replication > 0:
            needed = max(needed, math.ceil(1.3 * orders_needed / per_replication))
    return min(max(needed, replications), most)


def tune(scenario: Any, policy: str = "fixed", *, target: float = 0.003,
         confidence: float = 0.95, replications: int = 8, max_replications: int = 256,
         seed: int = 0, jobs: int = 1, per_class: bool = True, confirm: bool = True,
         compare: bool = True, progress: bool = False,
         budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None) -> Tuning:
    """Find the smallest buffer of family ``policy`` whose oversell interval meets ``target``.

    ``policy`` is one of :data:`FAMILIES`. A pilot run at no buffer sets the number of
    replications: enough orders per class that a class with no oversells can show it is
    under the target (at least ``replications``, at most ``max_replications``; the first
    replications are the same whatever the count, so nothing is wasted). Returns a
    :class:`Tuning`; where no candidate can be shown to meet the target — the rate stays
    above it, or a bigger buffer only hides the stock buyers would have bought — the
    last rung tried is returned with ``meets_target`` false and the shortfall stated.

    The search is estimated against ``budget`` before it starts (see
    :func:`racesim.budget.check_tune`), and again before it grows its replications;
    ``None`` skips the check.
    """
    if policy not in FAMILIES:
        raise ValueError(f"unknown policy family {policy!r} (known: {', '.join(FAMILIES)})")
    if not 0 < target < 1:
        raise ValueError(f"target must be a rate in (0, 1) (got {target})")
    family = FAMILIES[policy]
    if budget is not None:
        check_tune(scenario, replications=replications, max_replications=max_replications,
                   jobs=jobs, ladder=len(family.ladder), target=target,
                   confidence=confidence, per_class=per_class, budget=budget, source=source)
    classes = _classes(scenario, per_class)
    ladder: Sequence[float] = family.ladder
    pilot = _evaluate(scenario, family, dict.fromkeys(classes, ladder[0]), classes, seed,
                      replications, jobs, progress)
    replications = _replications_for(pilot, replications, target, confidence,
                                     max(max_replications, replications))
    top = len(ladder) - 1
    # Per class: the highest rung known to miss and the lowest known to meet.
    miss = dict.fromkeys(classes, -1)
    hit: dict[str, int | None] = dict.fromkeys(classes)
    probe = dict.fromkeys(classes, 0)
    evaluations: list[Evaluation] = []
    by_rungs: dict[tuple[int, ...], Evaluation] = {}
    starved: set[str] = set()
    baseline: dict[str, int] = {}
    while True:
        rungs = {name: probe[name] for name in classes}
        key = tuple(rungs[name] for name in classes)
        evaluation = by_rungs.get(key)
        if evaluation is None:
            evaluation = _evaluate(scenario, family, {n: ladder[r] for n, r in rungs.items()},
                                   classes, seed, replications, jobs, progress)
            by_rungs[key] = evaluation
            evaluations.append(evaluation)
        if not evaluations[:-1] and key == (0,) * len(classes):
            baseline = evaluation.orders  # what buyers take when nothing is hidden
        for name, rung in rungs.items():
            if _meets(evaluation, name, target, confidence):
                hit[name] = rung if hit[name] is None else min(hit[name], rung)
            else:
                miss[name] = max(miss[name], rung)
                if evaluation.orders[name] < 0.5 * baseline[name]:
                    starved.add(name)  # the buffer now hides what buyers would buy
        done = True
        for name in classes:
            if hit[name] is None:  # still probing upwards: 0, 1, 2, 4, 8, …
                if miss[name] >= top or name in starved:
                    probe[name] = miss[name]
                    continue
                probe[name] = min(top, max(1, 2 * miss[name]) if miss[name] > 0 else 1)
                done = False
            elif hit[name] - miss[name] > 1:  # bisect between the last miss and first hit
                probe[name] = (hit[name] + miss[name] + 1) // 2
                done = False
            else:
                probe[name] = hit[name]
        if done:
            break
    final = {name: probe[name] for name in classes}
    key = tuple(final[name] for name in classes)
    chosen = by_rungs.get(key)
    if chosen is None:
        chosen = _evaluate(scenario, family, {n: ladder[r] for n, r in final.items()},
                           classes, seed, replications, jobs, progress)
        evaluations.append(chosen)
    values = {name: ladder[final[name]] for name in classes}
    confirmation = None
    for _ in range(CONFIRM_STEPS if confirm else 0):
        # Fresh replications (the next seed) must agree; where a class misses there, the
        # next rung up is tried on both the search and the fresh replications.
        confirmation_eval = _evaluate(scenario, family, values, classes, seed + 1,
                                      replications, jobs, progress)
        confirmation = confirmation_eval.result
        missing = [name for name in classes if hit[name] is not None and
                   not _meets(confirmation_eval, name, target, confidence)]
        if not missing:
            break
        for name in missing:
            final[name] = min(final[name] + 1, top)
        values = {name: ladder[final[name]] for name in classes}
        chosen = _evaluate(scenario, family, values, classes, seed, replications, jobs,
                           progress)
        evaluations.append(chosen)
    oversold, orders = sum(chosen.oversold.values()), sum(chosen.orders.values())
    shortfall = more_orders_needed(oversold, orders, target, confidence)
    if shortfall and orders and replications < max_replications:
        # Not enough orders to show the rate is under the target (it may well be): run
        # the search again on more replications — the same ones, plus new ones.
        more = math.ceil(1.3 * shortfall / (orders / replications))
        return tune(scenario, policy, target=target, confidence=confidence,
                    replications=min(replications + more, max_replications),
                    max_replications=max_replications, seed=seed, jobs=jobs,
                    per_class=per_class, confirm=confirm, compare=compare, progress=progress,
                    budget=budget, source=source)
    seed_formula = run_scenario(scenario, seed=seed, replications=replications, jobs=jobs,
                                buffer=SeedFormula(), progress=progress,
                                scratch=True, budget=None) if compare else None
    return Tuning(family, target, confidence, seed, replications, values, evaluations, chosen,
                  confirmation, seed_formula)
