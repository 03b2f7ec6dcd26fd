"""The per-channel tuner: a fixed buffer per marketplace that meets the target for less.

One buffer for every channel is the wrong shape when channels race differently: a
marketplace whose listing takes minutes to update sells units that are gone, the
seller's own shop that updates at once hardly ever does, yet a uniform buffer hides the
same units from both. ``racesim tune --per-channel`` searches a fixed buffer (units) per
channel — per channel × SKU class for large catalogs (:func:`~racesim.study.classes.sku_classes`)
— that meets the oversell target while losing the fewest sales to the buffer
(``objective="sales"``) or the least money (``"cost"``: lost margin + oversell cost +
holding, from the scenario's ``[costs]``); with ``target=None`` the cost objective
minimises the total expected cost with no target. Each marketplace's
``cancel_rate_limit`` in ``[costs]`` is a constraint too, judged as ``racesim run``
reports it: the upper end of the channel's oversell-rate interval (oversold ÷ orders on
that channel, replications as clusters) at or below the limit — per class (a channel
whose every class is under the limit is under it).

**The search.** It starts from the best uniform buffer: today's tuner
(:func:`racesim.study.tune.tune`: the smallest fixed buffer whose interval meets the
target, confirmed on fresh seeds) on the same seed and replications, then — for the cost
objective, or to satisfy a cancellation limit — a descent along the uniform buffer. From
there, coordinate descent over the channels on common random numbers (every candidate on
the same replications): lower one channel's buffer, raise one, or lower one while raising
another by a unit, each move repeated with a doubling step while it pays; a move is kept
for a class when it leaves the class feasible and better — ordered by (how far the class
is from feasible, objective, hidden unit-hours), so an infeasible start climbs towards
feasibility first. SKUs of different classes do not interact, so every class moves in the
same simulations, and the loop is bounded (passes × moves × doublings, and at most
``max_evaluations`` simulations).

**Confirmation.** The answer and the uniform buffer are simulated again on fresh
replications (the next seed); where a class misses there, the channel with the most of
its oversells climbs a unit (at most :data:`~racesim.study.tune.CONFIRM_STEPS` times),
as today's tuner climbs. The per-channel rule is then compared with the uniform one on
those fresh replications, replication by replication (a paired difference with its
Student-t interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from racesim.errors import RacesimError
from racesim.policy.buffers import AnyPolicy, ByClass, FixedBuffer
from racesim.sim.summary import DAY_S
from racesim.study.budget import Budget, check_run, check_tune, tune_replications
from racesim.study.channel_report import tuning_json
from racesim.study.channel_runs import CandidateRun, class_figures, run_candidate
from racesim.study.classes import sku_classes
from racesim.study.tune import CONFIRM_STEPS, FAMILIES, Tuning, tune

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["OBJECTIVES", "STAGES", "ChannelTuning", "TuneError", "check_request", "preflight",
           "search_runs", "tune_channels"]

Objective = Literal["sales", "cost"]
OBJECTIVES: tuple[Objective, ...] = ("sales", "cost")
"""What the per-channel tuner minimises: sales lost to the buffer, or money."""

State = dict[str, tuple[int, ...]]
"""Units of buffer per channel (in scenario order), per SKU class."""

STAGES = ("uniform buffer", "per-channel descent", "confirmation")
"""The stages the tuner announces to ``on_stage`` (a progress bar's), in order."""
MAX_PASSES = 6
"""At most this many sweeps over the moves of a descent."""
MAX_EVALUATIONS = 60
"""At most this many candidate simulations on the search's replications, by default."""
_TOP = int(FAMILIES["fixed"].ladder[-1])
_DEFAULT_BUDGET = Budget()


class TuneError(RacesimError, ValueError):
    """The per-channel tuner cannot run as asked (e.g. a cost objective without [costs])."""


@dataclass(frozen=True, slots=True)
class Score:
    """How one class fares under one candidate: ``violation`` (0 when feasible: by how
    much its rate's upper end exceeds the target plus each channel's excess over its
    cancellation limit), the ``objective`` (lost sales or money) and hidden unit-hours."""

    violation: float
    objective: float
    hidden: float

    @property
    def key(self) -> tuple[float, float, float]:
        """The order of candidates: nearer feasible, then cheaper, then hiding less."""
        return (self.violation, self.objective, self.hidden)


@dataclass(frozen=True)
class Move:
    """A step: channel c's buffer changes by ``scale[c] × step + shift[c]`` units."""

    scale: tuple[int, ...]
    shift: tuple[int, ...]

    def apply(self, units: tuple[int, ...], step: int) -> tuple[int, ...]:
        """The units after the step (within 0 … the ladder's top); ``units`` unchanged
        when a stepping channel cannot move at all (a trade with nothing to give)."""
        moved = tuple(min(max(u + s * step + f, 0), _TOP)
                      for u, s, f in zip(units, self.scale, self.shift, strict=True))
        stuck = any(s and new == old for s, new, old in zip(self.scale, moved, units,
                                                            strict=True))
        return units if stuck else moved


@dataclass
class Problem:
    """What every candidate of one tuning shares, and the simulations made so far."""

    scenario: Scenario
    classes: dict[str, np.ndarray]
    """The group number of each class (one class ``*`` for small catalogs)."""
    groups: np.ndarray
    """The group (class) number of each SKU, by SKU number."""
    objective: Objective
    target: float | None
    confidence: float
    seed: int
    replications: int
    jobs: int
    max_evaluations: int
    on_evaluation: Callable[[str], None] | None = None
    runs: dict[tuple[int, tuple[tuple[str, tuple[int, ...]], ...]], CandidateRun] = field(
        default_factory=dict)
    evaluations: int = 0
    """Candidates simulated on the search's replications (fresh ones not counted)."""

    @property
    def channels(self) -> list[str]:
        return [channel.name for channel in self.scenario.channels]

    @property
    def exhausted(self) -> bool:
        return self.evaluations >= self.max_evaluations

    def buffer(self, state: State) -> dict[str, AnyPolicy]:
        """The per-channel policies of ``state`` (a class policy per channel if classed)."""
        if set(state) == {"*"}:
            return {name: FixedBuffer(units) for name, units in zip(
                self.channels, state["*"], strict=True)}
        return {name: ByClass({k: FixedBuffer(state[k][c]) for k in state})
                for c, name in enumerate(self.channels)}

    def run(self, state: State, seed: int | None = None) -> CandidateRun:
        """``state`` simulated on the search's replications of ``seed`` (default: the
        search seed), simulated once and remembered."""
        seed = self.seed if seed is None else seed
        key = (seed, tuple(sorted(state.items())))
        found = self.runs.get(key)
        if found is None:
            found = run_candidate(self.scenario, self.buffer(state), seed=seed,
                                  replications=self.replications, jobs=self.jobs,
                                  groups=self.groups)
            self.runs[key] = found
            self.evaluations += seed == self.seed
            if self.on_evaluation is not None:
                fresh = "" if seed == self.seed else " fresh"
                self.on_evaluation(f"tried {describe(self.channels, state)} on "
                                   f"{self.replications}{fresh} replications")
        return found

    def scores(self, state: State, seed: int | None = None) -> dict[str, Score]:
        """Each class's :class:`Score` under ``state``."""
        run = self.run(state, seed)
        return {name: self.score(run, name) for name in state}

    def score(self, run: CandidateRun, name: str) -> Score:
        figures = class_figures(self.scenario, run, self.classes[name])
        violation = 0.0
        if self.target is not None:
            violation += max(figures.rate_high(self.confidence) - self.target, 0.0)
        violation += sum(figures.limit_excess(self.scenario, self.confidence).values())
        objective = figures.lost_buffer if self.objective == "sales" else figures.total_cost
        return Score(violation, objective, figures.hidden_unit_hours)


def describe(channels: list[str], state: State) -> str:
    """``amazon=2, shop=0`` (per class: ``A: amazon=2 shop=0; B: …``)."""
    def one(units: tuple[int, ...], sep: str) -> str:
        return sep.join(f"{name}={u}" for name, u in zip(channels, units, strict=True))

    if set(state) == {"*"}:
        return one(state["*"], ", ")
    return "; ".join(f"{name}: {one(units, ' ')}" for name, units in sorted(state.items()))


def descend(problem: Problem, state: State, moves: Callable[[State], list[Move]]) -> State:
    """Coordinate descent from ``state``: keep each class's move when its score improves.

    Each pass tries every move of ``moves(state)``; a move that pays for some classes is
    repeated for them with a doubling step (1, 2, 4, … units) until it stops paying. The
    loop ends after a pass without a change, :data:`MAX_PASSES` passes or the problem's
    evaluation budget.
    """
    state = dict(state)
    for _ in range(MAX_PASSES):
        current = problem.scores(state)
        changed = False
        for move in moves(state):
            active, step = set(state), 1
            for _ in range(_TOP.bit_length() + 1):
                proposal = {k: move.apply(state[k], step) for k in active}
                proposal = {k: units for k, units in proposal.items() if units != state[k]}
                if not proposal or problem.exhausted:
                    break
                scores = problem.scores({**state, **proposal})
                better = {k for k in proposal if scores[k].key < current[k].key}
                for k in better:
                    state[k], current[k] = proposal[k], scores[k]
                if not better:
                    break
                changed, active, step = True, better, step * 2
        if not changed:
            break
    return state


def uniform_moves(channels: int) -> list[Move]:
    """Every channel down a step, or up a step, together."""
    zero = (0,) * channels
    return [Move((-1,) * channels, zero), Move((1,) * channels, zero)]


def channel_moves(channels: int, upward: bool) -> list[Move]:
    """One channel down a step (or up, with ``upward``); one down while another goes up."""
    def unit(c: int, sign: int) -> tuple[int, ...]:
        return tuple(sign if i == c else 0 for i in range(channels))

    zero = (0,) * channels
    moves = [Move(unit(c, -1), zero) for c in range(channels)]
    if upward:
        moves += [Move(unit(c, 1), zero) for c in range(channels)]
    moves += [Move(unit(c, -1), unit(d, 1)) for c in range(channels)
              for d in range(channels) if c != d]
    return moves


def confirm(problem: Problem, state: State) -> tuple[State, CandidateRun]:
    """Check ``state`` on fresh replications (the next seed); climb where a class misses.

    A class feasible on the search's replications but not on the fresh ones raises the
    buffer of the channel that oversold it most (or that broke its cancellation limit)
    by a unit, at most :data:`CONFIRM_STEPS` times. Returns the answer and its fresh run.
    """
    state, fresh_seed = dict(state), problem.seed + 1
    fresh = problem.run(state, fresh_seed)
    for _ in range(CONFIRM_STEPS):
        searched, checked = problem.scores(state), problem.scores(state, fresh_seed)
        missing = [k for k in state if searched[k].violation == 0 < checked[k].violation]
        if not missing:
            break
        for k in missing:
            figures = class_figures(problem.scenario, fresh, problem.classes[k])
            over = figures.limit_excess(problem.scenario, problem.confidence)
            worst = [c for c, channel in enumerate(problem.scenario.channels)
                     if over.get(channel.name, 0.0) > 0]
            c = worst[0] if worst else int(np.argmax(figures.channel_oversold.sum(axis=0)))
            state[k] = tuple(u + (i == c) if u < _TOP else u for i, u in enumerate(state[k]))
        problem.scores(state)  # its figures on the search's replications
        fresh = problem.run(state, fresh_seed)
    return state, fresh


@dataclass
class ChannelTuning:
    """What the per-channel tuner found, beside the best uniform buffer."""

    problem: Problem = field(repr=False)
    per_channel: State
    uniform: State
    per_channel_fresh: CandidateRun = field(repr=False)
    uniform_fresh: CandidateRun = field(repr=False)
    uniform_start: dict[str, float]
    """The uniform tuner's answer (units per class) before any descent."""

    @property
    def measured_days(self) -> float:
        scenario = self.problem.scenario
        return float(scenario.duration - scenario.warmup) / DAY_S

    def to_json(self) -> dict[str, object]:
        """The answer as JSON-ready data (see ``racesim tune --per-channel --json``)."""
        return tuning_json(self)


def _start(scenario: Scenario, *, objective: Objective, target: float | None,
           confidence: float, replications: int, max_replications: int, seed: int, jobs: int,
           per_class: bool, progress: bool, budget: Budget | None, source: str | None,
           on_evaluation: Callable[[str], None] | None) -> tuple[dict[str, float], int]:
    """The best uniform buffer at the target by today's tuner (units per class) and the
    replications it chose; with no target, no buffer on the given replications."""
    if target is None:
        return dict.fromkeys(sku_classes(scenario, per_class), 0.0), replications
    tuning = tune(scenario, "fixed", target=target, confidence=confidence,
                  replications=replications, max_replications=max_replications, seed=seed,
                  jobs=jobs, per_class=per_class, compare=False, progress=progress,
                  budget=budget, source=source, on_evaluation=on_evaluation)
    return dict(tuning.values), tuning.replications


def _given_start(scenario: Scenario, uniform: Tuning, *, target: float | None,
                 confidence: float, seed: int,
                 per_class: bool) -> tuple[dict[str, float], int]:
    """The uniform start from a tuning already made (a report's), after checking that it
    is the one :func:`_start` would make: fixed buffers, the same target, confidence,
    seed and SKU classes (else :class:`ValueError`: its answer would be another's)."""
    same = {"family": (uniform.family.name, "fixed"), "target": (uniform.target, target),
            "confidence": (uniform.confidence, confidence), "seed": (uniform.seed, seed),
            "classes": (set(uniform.values), set(sku_classes(scenario, per_class)))}
    for name, (given, wanted) in same.items():
        if given != wanted:
            raise ValueError(f"tune_channels: the uniform tuning given has {name} {given!r}, "
                             f"not {wanted!r}")
    return dict(uniform.values), uniform.replications


def check_request(scenario: Scenario, objective: str, target: float | None,
                  max_evaluations: int = MAX_EVALUATIONS, source: str | None = None) -> None:
    """Refuse (:class:`TuneError`, one line) a request the tuner cannot answer, before
    any work: an unknown objective, ``cost`` without ``[costs]``, no target without
    ``cost``, a target outside (0, 1), an evaluation budget outside 1 … 10,000."""
    if objective not in OBJECTIVES:
        raise TuneError(f"objective must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    if objective == "cost" and scenario.costs is None:
        raise TuneError(f"{source or scenario.name}: --objective cost needs a [costs] section "
                        "in the scenario (margins and the cost of an oversell)")
    if target is None and objective != "cost":
        raise TuneError("a target of none needs --objective cost (the least total cost); "
                        "the sales objective is only defined under a target")
    if target is not None and not 0 < target < 1:
        raise TuneError(f"target must be a rate in (0, 1) or none (got {target})")
    if not 1 <= max_evaluations <= 10_000:
        raise TuneError(f"max_evaluations must be in 1 … 10,000 (got {max_evaluations})")


def search_runs(scenario: Scenario, *, target: float | None = 0.003,
                confidence: float = 0.95, replications: int = 8, max_replications: int = 256,
                per_class: bool = True, max_evaluations: int = MAX_EVALUATIONS) -> int:
    """At most how many replications the search after the uniform start simulates:
    ``max_evaluations`` candidates and the confirmations, each on the replications the
    uniform tuner's pilot will choose (:func:`~racesim.study.budget.tune_replications`)."""
    count = replications if target is None else tune_replications(
        scenario, replications, max_replications, target, confidence, per_class)
    return count * (max_evaluations + 2 * CONFIRM_STEPS + 2)


def preflight(scenario: Scenario, *, objective: str = "sales", target: float | None = 0.003,
              confidence: float = 0.95, replications: int = 8, max_replications: int = 256,
              jobs: int = 1, per_class: bool = True, max_evaluations: int = MAX_EVALUATIONS,
              budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None,
              tuned: bool = False) -> None:
    """Everything :func:`tune_channels` refuses before it simulates anything: the request
    (:func:`check_request`), then the uniform tuner's estimate (unless ``tuned``: its
    answer is given) and that of the descent (:func:`search_runs`)."""
    check_request(scenario, objective, target, max_evaluations, source)
    if budget is None:
        return
    if target is not None and not tuned:
        check_tune(scenario, replications=replications, max_replications=max_replications,
                   jobs=jobs, ladder=len(FAMILIES["fixed"].ladder), target=target,
                   confidence=confidence, per_class=per_class, budget=budget, source=source)
    runs = search_runs(scenario, target=target, confidence=confidence,
                       replications=replications, max_replications=max_replications,
                       per_class=per_class, max_evaluations=max_evaluations)
    check_run(scenario, runs, jobs, budget=budget, source=source)


def tune_channels(scenario: Scenario, *, objective: Objective = "sales",
                  target: float | None = 0.003, confidence: float = 0.95,
                  replications: int = 8, max_replications: int = 256,
                  seed: int | None = None, jobs: int = 1, per_class: bool = True,
                  max_evaluations: int = MAX_EVALUATIONS, progress: bool = False,
                  budget: Budget | None = _DEFAULT_BUDGET, source: str | None = None,
                  on_stage: Callable[[str], None] | None = None,
                  on_evaluation: Callable[[str], None] | None = None,
                  uniform: Tuning | None = None) -> ChannelTuning:
    """Search a fixed buffer per channel (per class for large catalogs); see the module.

    ``objective`` is ``"sales"`` (fewest buyers lost to the buffer) or ``"cost"`` (least
    money; needs ``[costs]``). ``target=None`` (cost only) drops the oversell target.
    The uniform start is :func:`~racesim.study.tune.tune`'s answer on ``replications`` …
    ``max_replications``; the descent runs on the replications it chose and is estimated
    against ``budget`` before anything runs (:func:`preflight`; ``max_evaluations``
    candidates at most).
    ``uniform``, when given, is that answer already made (e.g. by a report, with
    :func:`~racesim.study.tune.tune` on the same seed, fixed family, target, confidence
    and classes): it is not made again. ``on_stage`` is told each of :data:`STAGES` as
    it starts, ``on_evaluation`` each candidate simulated (the uniform tuner's too).
    """
    preflight(scenario, objective=objective, target=target, confidence=confidence,
              replications=replications, max_replications=max_replications, jobs=jobs,
              per_class=per_class, max_evaluations=max_evaluations, budget=budget,
              source=source, tuned=uniform is not None)
    seed = scenario.run_seed(seed)
    stage = on_stage or (lambda name: None)
    stage(STAGES[0])
    start, chosen = _start(scenario, objective=objective, target=target,
                           confidence=confidence, replications=replications,
                           max_replications=max_replications, seed=seed, jobs=jobs,
                           per_class=per_class, progress=progress, budget=budget,
                           source=source, on_evaluation=on_evaluation) \
        if uniform is None else _given_start(scenario, uniform, target=target,
                                             confidence=confidence, seed=seed,
                                             per_class=per_class)
    names = list(start)
    number = {sku.sku: k for k, sku in enumerate(scenario.skus())}
    groups = np.zeros(len(number), dtype=np.int64)
    for g, members in enumerate(sku_classes(scenario, per_class)[name] for name in names):
        groups[[number[sku] for sku in members]] = g
    problem = Problem(scenario, {name: np.array([g]) for g, name in enumerate(names)},
                      groups, objective, target, confidence, seed, chosen, jobs,
                      max_evaluations, on_evaluation)
    count = len(scenario.channels)
    same: State = {name: (int(start[name]),) * count for name in names}
    scores = problem.scores(same)
    if objective == "cost" or any(score.violation > 0 for score in scores.values()):
        same = descend(problem, same, lambda _: uniform_moves(count))
    same, uniform_fresh = confirm(problem, same)
    stage(STAGES[1])

    def moves(state: State) -> list[Move]:
        infeasible = any(s.violation > 0 for s in problem.scores(state).values())
        return channel_moves(count, upward=objective == "cost" or infeasible)

    found = descend(problem, same, moves)
    stage(STAGES[2])
    found, found_fresh = confirm(problem, found)
    return ChannelTuning(problem, found, same, found_fresh, uniform_fresh, start)
