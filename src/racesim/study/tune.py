"""The tuner: the smallest buffer of a policy family that meets an oversell target.

"Meets" means the upper end of the oversell rate's interval (at the chosen confidence,
95 % by default; replications as clusters, :func:`racesim.util.stats.clustered_rate_interval`)
is at or below the target (0.3 % of orders by default): the target is met with
confidence, not just on average — judged as ``run``, ``sweep`` and ``report`` judge it
(:func:`racesim.util.stats.target_verdict`), with the reason in words.

The search reuses common random numbers: every candidate is simulated on the *same*
replications (same seeds, so the same buyers and the same webhook delays), so candidates
differ only by the buffer and the oversell rate falls with it replication by replication.
It probes candidates 0, 1, 2, 4, 8, … of the family's ladder until one meets the target,
then bisects between the last miss and the first hit — a handful of evaluations instead
of a full grid. Where the catalog has SKU classes (``class`` = A/B/C…), each class gets
its own parameter; SKUs of different classes do not interact, so all classes are searched
in the same runs.

The answer is then confirmed on fresh replications (the next seed) — where it misses
there, the next rung up is tried, a few times at most. Where its interval still
straddles the target (too few orders to tell), the whole search runs again on more
replications — the same ones plus new ones — up to ``max_replications``; each such
round runs more than the last, so the rounds are bounded too. The answer is set beside
the seed formula's own choice on the same replications, with what each costs: units
hidden (unit-hours) and buyers turned away (lost sales).

In code: :class:`Search` holds one round's brackets; :func:`_bracket` closes them
(:func:`_record` the outcome of a simulation, :func:`_next_candidate` the next probe);
:func:`_confirm` checks on fresh replications; :func:`_add_replications` decides on
another round.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from racesim.policy.buffers import (
    AllocationBuffer,
    AnyPolicy,
    ByClass,
    FixedBuffer,
    PercentBuffer,
    PoissonQuantile,
    SeedFormula,
)
from racesim.policy.kinds import BUFFER_KINDS, BufferKind
from racesim.sim.summary import DAY_S, per_month
from racesim.study.budget import Budget, check_tune
from racesim.study.classes import sku_classes
from racesim.study.replications import RunResult, run_scenario
from racesim.util.stats import (
    RateInterval,
    TargetVerdict,
    clustered_rate_interval,
    target_verdict,
    wilson_interval,
)

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["FAMILIES", "Family", "Tuning", "more_orders_needed", "tune"]

_DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Family:
    """A one-parameter family of buffer policies and its ladder of candidate values.

    ``ladder`` is ordered so that buffers grow along it.
    """

    name: BufferKind
    parameter: str
    ladder: tuple[float, ...]
    make: Callable[[float], AnyPolicy]


def _units(value: float) -> FixedBuffer:
    return FixedBuffer(int(value))


def _percent(value: float) -> PercentBuffer:
    return PercentBuffer(value)


def _latency_multiple(value: float) -> SeedFormula:
    return SeedFormula(min_units=0, percent=0.0, latency_multiple=value)


def _epsilon(value: float) -> PoissonQuantile:
    return PoissonQuantile(epsilon=value)


def _share(value: float) -> AllocationBuffer:
    return AllocationBuffer(share=value)


def _families(*families: Family) -> dict[str, Family]:
    """The families by name, checked against the one list of buffer kinds."""
    found: dict[str, Family] = {family.name: family for family in families}
    if tuple(found) != BUFFER_KINDS:
        raise TypeError(f"tuner families {tuple(found)} do not match "
                        f"racesim.policy.kinds.BUFFER_KINDS {BUFFER_KINDS}")
    return found


FAMILIES: dict[str, Family] = _families(
    Family("fixed", "units", tuple(float(u) for u in range(0, 513)), _units),
    Family("percent", "percent",
           tuple(float(p) for p in np.round(np.arange(0, 100.25, 0.5), 2)), _percent),
    # The latency term alone (min_units = 0, percent = 0): how many P99 windows of
    # expected demand to hide.
    Family("seed_formula", "latency_multiple",
           tuple(float(m) for m in np.round(np.arange(0, 20.01, 0.25), 2)), _latency_multiple),
    Family("poisson_quantile", "epsilon",
           tuple(float(e) for e in (0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01, 5e-3, 2e-3, 1e-3,
                                    5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5, 1e-6, 1e-7)),
           _epsilon),
    # The share of available stock listed: smaller shares hide more.
    Family("allocation", "share",
           tuple(float(s) for s in np.round(np.arange(1.0, 0.0, -0.05), 2)), _share),
)
"""The tuner's one-parameter family of each buffer kind, by name."""


def more_orders_needed(oversold: int, orders: int, target: float,
                       confidence: float = 0.95, rate: RateInterval | None = None) -> int | None:
    """Orders still to simulate before the interval can fall below ``target``.

    0 if it already does; None if the observed rate itself is above the target (more
    orders will not help). Uses the Wilson bound's large-sample form, at the effective
    orders of ``rate`` (the clustered interval of the same counts) when given: clustered
    oversells need more orders than independent ones.
    """
    if rate is None:
        low, high = wilson_interval(oversold, orders, confidence) if orders else (0.0, 1.0)
        rate = RateInterval(oversold / orders if orders else 0.0, low, high, 1.0, orders)
    if orders > 0 and rate.high <= target:
        return 0
    if rate.rate >= target:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    needed = z * z * (1 - target) / target if rate.rate == 0 else \
        z * z * rate.rate * (1 - rate.rate) / (target - rate.rate) ** 2
    inflation = orders / rate.effective_trials if rate.effective_trials > 0 else 1.0
    return max(math.ceil(needed * inflation) - orders, 1)


@dataclass
class Evaluation:
    """One simulated candidate (one parameter per class) and its per-class outcome.

    ``oversold``, ``orders``, ``hidden_unit_hours`` and ``lost_sales`` are totals over the
    replications; ``by_replication`` holds each class's (oversold, orders) per replication,
    for the clustered interval of its rate.
    """

    values: dict[str, float]
    result: RunResult = field(repr=False)
    oversold: dict[str, int]
    orders: dict[str, int]
    hidden_unit_hours: dict[str, float]
    lost_sales: dict[str, int]
    by_replication: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False,
                                                                     default_factory=dict)

    def rate(self, name: str | None = None, confidence: float = 0.95) -> RateInterval:
        """Class ``name``'s pooled oversell rate and its clustered interval (None: all
        classes). A class without ``by_replication`` counts as one cluster (Wilson)."""
        names = list(self.orders) if name is None else [name]
        oversold, orders = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        for n in names:
            k, m = self.by_replication.get(n, (np.array([self.oversold[n]]),
                                               np.array([self.orders[n]])))
            oversold, orders = oversold + k, orders + m  # per replication, over classes
        return clustered_rate_interval(oversold, orders, confidence)


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
    measured_days: float = 0.0
    """Measured simulated days of each replication (``duration − warmup``)."""

    def verdict(self, rate: RateInterval, oversold: int, orders: int) -> TargetVerdict:
        """``rate`` judged against the target (:func:`~racesim.util.stats.target_verdict`)."""
        return target_verdict(rate.rate, rate.high, oversold, orders, self.target,
                              self.confidence)

    def _rate(self, rate: RateInterval, oversold: int, orders: int) -> dict[str, object]:
        verdict = self.verdict(rate, oversold, orders)
        return {"oversell_rate": rate.rate, "oversell_rate_ci": [rate.low, rate.high],
                "oversell_design_effect": rate.design_effect,
                "meets_target": verdict.meets, "meets_target_reason": verdict.reason}

    def _costs(self, oversold: int, orders: int, lost_sales: float, hidden: float,
               replications: int) -> dict[str, object]:
        """Totals over ``replications`` and the same per month (30 measured days)."""
        days = self.measured_days
        return {"orders_total": orders, "oversold_total": oversold,
                "orders_per_month": per_month(orders, replications, days),
                "oversold_per_month": per_month(oversold, replications, days),
                "lost_sales_total": lost_sales,
                "lost_sales_per_month": per_month(lost_sales, replications, days),
                "hidden_unit_hours_total": hidden,
                "hidden_unit_hours_per_month": per_month(hidden, replications, days)}

    def to_json(self) -> dict[str, object]:
        """The answer as a JSON-ready dict (see ``racesim tune --json``).

        Names follow :mod:`racesim.sim.summary`'s scheme: ``…_total`` over the tuner's
        replications, ``…_per_month`` per 30 measured days, rates pooled with their
        clustered interval; ``meets_target_reason`` says why ``meets_target`` is what it is.
        """
        chosen, count = self.chosen, self.replications
        oversold, orders = sum(chosen.oversold.values()), sum(chosen.orders.values())
        rate = chosen.rate(confidence=self.confidence)
        needed = more_orders_needed(oversold, orders, self.target, self.confidence, rate)
        report: dict[str, object] = {
            "policy": self.family.name, "parameter": self.family.parameter,
            "value": self.values["*"] if set(self.values) == {"*"} else dict(self.values),
            **self._rate(rate, oversold, orders),
            **self._costs(oversold, orders, sum(chosen.lost_sales.values()),
                          sum(chosen.hidden_unit_hours.values()), count),
            "target": self.target, "confidence": self.confidence, "seed": self.seed,
            "replications": count, "measured_days": self.measured_days,
            "evaluations": len(self.evaluations),
            "simulated_replications": len(self.evaluations) * count,
            "more_orders_needed": needed,
        }
        per_replication = orders / count if orders else 0
        report["more_replications_needed"] = (
            None if needed is None else math.ceil(needed / per_replication)
            if per_replication else None)
        if set(self.values) != {"*"}:
            report["per_class"] = {
                name: {"value": value,
                       **self._rate(chosen.rate(name, self.confidence), chosen.oversold[name],
                                    chosen.orders[name]),
                       **self._costs(chosen.oversold[name], chosen.orders[name],
                                     chosen.lost_sales[name], chosen.hidden_unit_hours[name],
                                     count)}
                for name, value in self.values.items()}
        for key, run in (("confirmation", self.confirmation), ("seed_formula", self.seed_formula)):
            if run is not None:
                s = run.summary()
                run_rate = RateInterval(s.oversell_rate, *s.oversell_rate_ci,
                                        s.oversell_design_effect, math.nan)
                report[key] = {"seed": s.seed, "replications": s.replications,
                               **self._rate(run_rate, s.oversold_total, s.orders_total),
                               **self._costs(s.oversold_total, s.orders_total,
                                             s.lost_sales_total, s.hidden_unit_hours_total,
                                             s.replications)}
        return report


CONFIRM_STEPS = 4
"""How many rungs the confirmation on fresh replications may climb above the search's answer."""


def _policy(family: Family, values: dict[str, float]) -> AnyPolicy:
    if set(values) == {"*"}:
        return family.make(values["*"])
    return ByClass({name: family.make(value) for name, value in values.items()})


@dataclass(frozen=True)
class _Problem:
    """What every simulation of the search shares: scenario, family, classes and target."""

    scenario: Scenario
    family: Family
    classes: dict[str, list[str]]
    target: float
    confidence: float
    seed: int
    jobs: int
    progress: bool
    on_evaluation: Callable[[str], None] | None = None
    """Told each candidate once it has been simulated (``units=2 on 40 replications``)."""

    def meets(self, evaluation: Evaluation, name: str) -> bool:
        """Whether class ``name``'s oversell interval (replications as clusters) is at or
        below the target."""
        return evaluation.rate(name, self.confidence).high <= self.target


def _evaluate(problem: _Problem, values: dict[str, float], seed: int,
              replications: int) -> Evaluation:
    """Simulate one candidate (a parameter per class) and total its outcome per class."""
    result = run_scenario(problem.scenario, seed=seed, replications=replications,
                          jobs=problem.jobs, buffer=_policy(problem.family, values),
                          progress=problem.progress, scratch=True, budget=None)
    if problem.on_evaluation is not None:
        tried = ", ".join(f"{'' if name == '*' else name + ': '}{problem.family.parameter}="
                          f"{value:g}" for name, value in values.items())
        problem.on_evaluation(f"tried {tried} on {replications} replications")
    oversold, orders, hidden, lost = {}, {}, {}, {}
    by_replication = {}
    counts = [r.sku_counts for r in result.replications]  # arrays: no table per replication
    for name, skus in problem.classes.items():
        rows = counts[0].rows(skus) if counts else np.empty(0, dtype=np.int64)
        each = np.array([[int(c["oversold"][rows].sum()), int(c["orders"][rows].sum())]
                         for c in counts], dtype=np.int64).reshape(-1, 2)
        by_replication[name] = (each[:, 0], each[:, 1])
        oversold[name], orders[name] = int(each[:, 0].sum()), int(each[:, 1].sum())
        hidden[name] = float(sum(float(c["hidden_unit_hours"][rows].sum()) for c in counts))
        lost[name] = int(sum(int(c["lost_sales"][rows].sum()) for c in counts))
    return Evaluation(dict(values), result, oversold, orders, hidden, lost, by_replication)


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


@dataclass
class Search:
    """One round of the search on a fixed set of replications, and what it has learnt.

    For each class it keeps a bracket on the family's ladder (indices, "rungs"): ``miss``,
    the highest rung seen to miss the target (-1 before any), and ``hit``, the lowest
    rung seen to meet it (None before any), plus ``probe``, the rung to simulate next.
    Every candidate is simulated on the same replications (common random numbers), so a
    combination of rungs simulated once is known: ``by_rungs`` keeps it, ``evaluations``
    lists each simulation of the search seed in the order made. ``starved`` holds the
    classes whose buffer already hides half of what buyers took at rung 0 (``baseline``):
    a bigger one would only turn more away, so their climb stops there.
    """

    problem: _Problem
    replications: int
    miss: dict[str, int]
    hit: dict[str, int | None]
    probe: dict[str, int]
    evaluations: list[Evaluation] = field(default_factory=list)
    by_rungs: dict[tuple[int, ...], Evaluation] = field(default_factory=dict)
    starved: set[str] = field(default_factory=set)
    baseline: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, problem: _Problem, replications: int) -> Search:
        """A search with nothing known yet, about to probe rung 0 for every class."""
        classes = problem.classes
        return cls(problem, replications, miss=dict.fromkeys(classes, -1),
                   hit=dict.fromkeys(classes), probe=dict.fromkeys(classes, 0))

    @property
    def ladder(self) -> tuple[float, ...]:
        return self.problem.family.ladder

    @property
    def top(self) -> int:
        """The highest rung."""
        return len(self.ladder) - 1

    @property
    def max_steps(self) -> int:
        """At most how many probes a class's bracket needs (see :func:`_bracket`)."""
        return 2 * self.top.bit_length() + 2

    def values(self, rungs: dict[str, int]) -> dict[str, float]:
        """The family's parameter at each class's rung."""
        return {name: self.ladder[rung] for name, rung in rungs.items()}

    def simulated(self, rungs: dict[str, int]) -> Evaluation:
        """The evaluation of ``rungs`` on the search's replications, simulated if new."""
        key = tuple(rungs[name] for name in self.problem.classes)
        evaluation = self.by_rungs.get(key)
        if evaluation is None:
            evaluation = _evaluate(self.problem, self.values(rungs), self.problem.seed,
                                   self.replications)
            self.by_rungs[key] = evaluation
            self.evaluations.append(evaluation)
        return evaluation


def _record(search: Search, rungs: dict[str, int], evaluation: Evaluation) -> None:
    """Narrow each class's bracket by the outcome of ``evaluation`` (at ``rungs``)."""
    if not search.baseline:  # the first, at rung 0: what buyers take when nothing is hidden
        search.baseline = evaluation.orders
    for name, rung in rungs.items():
        if search.problem.meets(evaluation, name):
            known = search.hit[name]
            search.hit[name] = rung if known is None else min(known, rung)
        else:
            search.miss[name] = max(search.miss[name], rung)
            if evaluation.orders[name] < 0.5 * search.baseline[name]:
                search.starved.add(name)  # the buffer now hides what buyers would buy


def _next_candidate(search: Search) -> bool:
    """Set each class's next probe; False when every bracket is closed.

    A class with no hit yet climbs the ladder 0, 1, 2, 4, 8, … (doubling its last
    miss) — unless it has reached the top or is starved, when it rests on its last miss.
    A class with a hit bisects between its last miss and its first hit until they are
    neighbours, and then rests on the hit.
    """
    open_ = False
    for name in search.problem.classes:
        miss, hit = search.miss[name], search.hit[name]
        if hit is None:
            if miss >= search.top or name in search.starved:
                search.probe[name] = miss
                continue
            search.probe[name] = min(search.top, max(1, 2 * miss) if miss > 0 else 1)
            open_ = True
        elif hit - miss > 1:
            search.probe[name] = (hit + miss + 1) // 2
            open_ = True
        else:
            search.probe[name] = hit
    return open_


def _bracket(search: Search) -> Evaluation:
    """Close every class's bracket; the evaluation of the rungs each class rests on.

    All classes move together (one simulation per step: SKUs of different classes do
    not interact). The loop is bounded: a class's climb simulates at most
    ``bit_length(top) + 2`` rungs (0, then the powers of two below the top, then the
    top); the bracket it then holds spans at most half the ladder, and each bisection
    halves it, so ``bit_length(top)`` more steps close it. Each step simulates only a
    class's own probe, so what the other classes do cannot lengthen its path.
    """
    for _ in range(search.max_steps):
        rungs = dict(search.probe)
        _record(search, rungs, search.simulated(rungs))
        if not _next_candidate(search):
            return search.simulated(search.probe)
    raise AssertionError(f"the tuner's search did not close in {search.max_steps} steps")


def _confirm(search: Search, chosen: Evaluation,
             steps: int) -> tuple[Evaluation, dict[str, float], RunResult | None]:
    """Check the answer on fresh replications (the next seed); climb where it misses.

    Only classes that met the target in the search are checked; each that misses on
    the fresh replications moves one rung up (at most ``steps`` times, never past the
    top), and the new answer is simulated again on the search's replications. Returns
    the answer's evaluation, its values, and the last fresh run (None if ``steps`` is 0).
    """
    problem, final = search.problem, dict(search.probe)
    values = search.values(final)
    confirmation = None
    for _ in range(steps):
        fresh = _evaluate(problem, values, problem.seed + 1, search.replications)
        confirmation = fresh.result
        missing = [name for name in problem.classes
                   if search.hit[name] is not None and not problem.meets(fresh, name)]
        if not missing:
            break
        for name in missing:
            final[name] = min(final[name] + 1, search.top)
        values = search.values(final)
        chosen = _evaluate(problem, values, problem.seed, search.replications)
        search.evaluations.append(chosen)
    return chosen, values, confirmation


def _add_replications(search: Search, chosen: Evaluation, most: int) -> int | None:
    """The replications a new round needs to show the answer under the target, or None.

    None when the answer's interval is already under the target, when more orders
    would not help (its rate is above the target), or when the round already ran
    ``most`` replications. Otherwise the shortfall in orders, with 30 % spare, at the
    answer's orders per replication, capped at ``most`` — always more than this round.
    """
    problem = search.problem
    oversold, orders = sum(chosen.oversold.values()), sum(chosen.orders.values())
    shortfall = more_orders_needed(oversold, orders, problem.target, problem.confidence,
                                   chosen.rate(confidence=problem.confidence))
    if not shortfall or not orders or search.replications >= most:
        return None
    more = math.ceil(1.3 * shortfall / (orders / search.replications))
    return min(search.replications + more, most)


def _round(problem: _Problem, replications: int, max_replications: int,
           confirm: bool) -> tuple[Search, Evaluation, dict[str, float], RunResult | None]:
    """One round: a pilot at rung 0 sets the replications, then search and confirm."""
    ladder = problem.family.ladder
    pilot = _evaluate(problem, dict.fromkeys(problem.classes, ladder[0]), problem.seed,
                      replications)
    chosen_replications = _replications_for(pilot, replications, problem.target,
                                            problem.confidence,
                                            max(max_replications, replications))
    search = Search.start(problem, chosen_replications)
    if chosen_replications == replications:
        search.by_rungs[(0,) * len(problem.classes)] = pilot  # the same replications
        search.evaluations.append(pilot)
    chosen = _bracket(search)
    return search, *_confirm(search, chosen, CONFIRM_STEPS if confirm else 0)


def tune(scenario: Scenario, policy: str = "fixed", *, target: float = 0.003,
         confidence: float = 0.95, replications: int = 8, max_replications: int = 256,
         seed: int | None = None, jobs: int = 1, per_class: bool = True, confirm: bool = True,
         compare: bool = True, progress: bool = False,
         budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None,
         on_evaluation: Callable[[str], None] | None = None) -> Tuning:
    """Find the smallest buffer of family ``policy`` whose oversell interval meets ``target``.

    ``policy`` is one of :data:`FAMILIES`. A pilot run at no buffer sets the number of
    replications: enough orders per class that a class with no oversells can show it is
    under the target (at least ``replications``, at most ``max_replications``; the first
    replications are the same whatever the count, so nothing is wasted). Returns a
    :class:`Tuning`; where no candidate can be shown to meet the target — the rate stays
    above it, or a bigger buffer only hides the stock buyers would have bought — the
    last rung tried is returned with ``meets_target`` false and the shortfall stated.

    The search runs in rounds: each brackets, per class, the smallest rung whose upper
    confidence bound meets the target on common random numbers (:func:`_bracket`) and
    confirms it on fresh replications (:func:`_confirm`). While the answer's interval
    straddles the target, a new round starts on more replications (:func:`_add_replications`)
    — the same ones, plus new ones — up to ``max_replications``. Each round runs more
    replications than the last, so there are at most
    ``max_replications - replications + 1`` rounds.

    The search is estimated against ``budget`` before it starts (see
    :func:`racesim.study.budget.check_tune`), and again before each new round;
    ``None`` skips the check. ``seed=None`` takes the scenario's own
    (:meth:`~racesim.scenario.Scenario.run_seed`). ``on_evaluation``, if given, is told
    each candidate once it has been simulated (a long search then shows it is moving).
    """
    seed = scenario.run_seed(seed)
    if policy not in FAMILIES:
        raise ValueError(f"unknown policy family {policy!r} (known: {', '.join(FAMILIES)})")
    if not 0 < target < 1:
        raise ValueError(f"target must be a rate in (0, 1) (got {target})")
    family = FAMILIES[policy]
    problem = _Problem(scenario, family, sku_classes(scenario, per_class), target, confidence,
                       seed, jobs, progress, on_evaluation)
    for _ in range(max(max_replications - replications, 0) + 1):
        if budget is not None:
            check_tune(scenario, replications=replications, max_replications=max_replications,
                       jobs=jobs, ladder=len(family.ladder), target=target,
                       confidence=confidence, per_class=per_class, budget=budget, source=source)
        search, chosen, values, confirmation = _round(problem, replications,
                                                      max_replications, confirm)
        more = _add_replications(search, chosen, max_replications)
        if more is None:
            break
        replications = more
    else:
        raise AssertionError("the tuner grew its replications past max_replications")
    seed_formula = run_scenario(scenario, seed=seed, replications=search.replications,
                                jobs=jobs, buffer=SeedFormula(), progress=progress,
                                scratch=True, budget=None) if compare else None
    return Tuning(family, target, confidence, seed, search.replications, values,
                  search.evaluations, chosen, confirmation, seed_formula,
                  measured_days=float(scenario.duration - scenario.warmup) / DAY_S)
