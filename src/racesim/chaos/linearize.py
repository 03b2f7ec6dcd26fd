"""The linearizability checker: is there one order of a history's operations that explains
every answer the engine gave?

A history (:mod:`racesim.chaos.history`) is *linearizable* when its operations can be put
in one sequence that respects real time — if ``a`` completed before ``b`` was invoked,
``a`` comes first — and in which the reference model (:mod:`racesim.chaos.reference`: the
same rules the sequential auditor uses) gives every answer the engine gave. That is the
correctness condition of a concurrent stock engine: whatever its workers did at once, it
behaved as if it applied them one at a time, each at some instant between its call and
its answer.

The search is Wing & Gong's, with Lowe's memoisation, as Porcupine does it: the calls and
returns sorted by time in a linked list; the first call in it is tried against the model
and, if the model gives its answer and the pair (operations linearized so far as a bitset,
model state) is new, it is taken out of the list; reaching a return whose call is still in
the list means the choices so far are wrong, so the last one is undone. SKUs are
independent (every idempotency key includes the SKU), so the history is split into
components — SKUs joined by union-find wherever one operation (a multi-SKU batch) touches
several — and each is searched alone. The search is bounded by the number of states it
explores, ``max_states`` per component, never by time, so a verdict does not depend on
the machine; a component that reaches the bound is *undecided*, which is never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from racesim.chaos.history import READS, Operation
from racesim.chaos.reference import ReferenceModel

__all__ = [
    "DEFAULT_MAX_STATES",
    "LINEARIZABLE",
    "NOT_LINEARIZABLE",
    "UNDECIDED",
    "Check",
    "Verdict",
    "check_history",
    "components",
    "linearization",
    "model_answer",
    "search",
    "step",
]

DEFAULT_MAX_STATES = 100_000
"""States one component's search may explore before it is undecided. Each state kept
costs about a kilobyte for a SKU with a few order lines, more for one with hundreds, so
the bound is also the search's memory bound."""

LINEARIZABLE = "linearizable"
NOT_LINEARIZABLE = "not linearizable"
UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One component's verdict: its SKUs, its operations (indices), the states explored
    and, when linearizable, the order found (indices of the operations, in that order)."""

    status: str
    skus: tuple[str, ...]
    operations: tuple[int, ...]
    states: int
    order: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.status == UNDECIDED:
            return f"undecided (state bound reached after {self.states:,} states)"
        return self.status


@dataclass(frozen=True, slots=True)
class Check:
    """A whole history's verdict: each component's, and the overall one.

    ``status`` is ``not linearizable`` if any component is, else ``undecided`` if any is,
    else ``linearizable``; ``failing`` is the first component (by SKU) behind that.
    """

    verdicts: tuple[Verdict, ...]

    @property
    def status(self) -> str:
        statuses = {v.status for v in self.verdicts}
        for status in (NOT_LINEARIZABLE, UNDECIDED):
            if status in statuses:
                return status
        return LINEARIZABLE

    @property
    def failing(self) -> Verdict | None:
        return next((v for v in self.verdicts if v.status == self.status != LINEARIZABLE),
                    None)

    @property
    def states(self) -> int:
        return sum(v.states for v in self.verdicts)

    def __str__(self) -> str:
        failing = self.failing
        return self.status if failing is None else str(failing)


def _matches(status: Any, expected_status: str, decision: str, expected_decision: str) -> bool:
    if status != expected_status:
        return False
    return not (decision and expected_decision and decision != expected_decision)


def step(model: ReferenceModel, operation: Operation) -> ReferenceModel | None:
    """The model after ``operation`` if the model gives the engine's answer, else None.

    An ``error`` answer is explained only where a correct engine refuses (and changes
    nothing); a batch is explained when each command is, applied in order, or — answered
    with an error — when one of them is refused (the transaction rolled back). An empty
    answer accepts whatever the model answers.
    """
    answer = operation.answer
    if not answer:  # unconstrained (only the witness search makes one): whatever it answered
        return model if operation.op in READS else _applied(model, operation)
    if operation.op in READS:
        figures = model.figures(operation.sku)
        if operation.op == "available":
            return model if answer["value"] == figures.available else None
        ok = (answer["on_hand"], answer["reserved"]) == (figures.on_hand, figures.reserved)
        return model if ok else None
    after = model.clone()
    if "error" in answer:  # rolled back: explained if a correct engine refuses a command
        refused = any(after.apply(w).status == "refused" for w in operation.commands)
        return model if refused else None
    for webhook, given in zip(operation.commands, answer.get("answers", [answer]),
                              strict=True):
        expected = after.apply(webhook)
        if "error" in given or expected.status == "refused":
            return None  # a command raised inside a batch that answered: not atomic
        if not _matches(given["status"], expected.status, given.get("decision", ""),
                        expected.decision):
            return None
    return after


def model_answer(model: ReferenceModel, operation: Operation) -> dict[str, Any]:
    """The answer a correct engine gives ``operation`` in state ``model`` (unchanged)."""
    if operation.op in READS:
        figures = model.figures(operation.sku)
        if operation.op == "available":
            return {"value": figures.available}
        return {"on_hand": figures.on_hand, "reserved": figures.reserved}
    after, answers = model.clone(), []
    for webhook in operation.commands:
        expected = after.apply(webhook)
        if expected.status == "refused":
            return {"error": f"refused: {expected.reason}"}
        answers.append({"status": expected.status,
                        **({"decision": expected.decision} if expected.decision else {})})
    return {"answers": answers} if operation.op == "batch" else answers[0]


def _applied(model: ReferenceModel, operation: Operation) -> ReferenceModel:
    after = model.clone()
    for webhook in operation.commands:
        after.apply(webhook)
    return after


def components(operations: Sequence[Operation]) -> list[list[Operation]]:
    """Operations grouped by SKU, SKUs that share an operation joined; sorted by SKU."""
    parent: dict[str, str] = {}

    def root(sku: str) -> str:
        parent.setdefault(sku, sku)
        while parent[sku] != sku:  # bounded: each pass moves one step closer to the root
            parent[sku] = parent[parent[sku]]
            sku = parent[sku]
        return sku

    for operation in operations:
        skus = operation.skus
        for other in skus[1:]:
            a, b = root(skus[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
        root(skus[0])
    groups: dict[str, list[Operation]] = {}
    for operation in operations:
        groups.setdefault(root(operation.skus[0]), []).append(operation)
    return [groups[key] for key in sorted(groups)]


class _Timeline:
    """Calls and returns sorted by time (a call first at a tie: equal instants overlap),
    as a doubly linked list from which linearized operations are lifted out."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        events = sorted([(o.invoked_s, 0, k) for k, o in enumerate(operations)]
                        + [(o.completed_s, 1, k) for k, o in enumerate(operations)])
        size = len(events) + 1  # node 0 is the head
        self.next = [*range(1, size), -1]
        self.prev = [-1, *range(size - 1)]
        self.op = [-1] * size
        self.is_call = [False] * size
        self.match = [-1] * size
        call_of: dict[int, int] = {}
        for node, (_, kind, k) in enumerate(events, start=1):
            self.op[node], self.is_call[node] = k, kind == 0
            if kind == 0:
                call_of[k] = node
            else:
                self.match[call_of[k]] = node

    def lift(self, call: int) -> None:
        for node in (call, self.match[call]):
            self.next[self.prev[node]] = self.next[node]
            if self.next[node] != -1:
                self.prev[self.next[node]] = self.prev[node]

    def unlift(self, call: int) -> None:
        for node in (self.match[call], call):
            self.next[self.prev[node]] = node
            if self.next[node] != -1:
                self.prev[self.next[node]] = node


def search(operations: Sequence[Operation], max_states: int = DEFAULT_MAX_STATES,
           ) -> tuple[str, int]:
    """Search one component for a linearization: (verdict status, states explored)."""
    status, states, _ = linearization(operations, max_states)
    return status, states


def linearization(operations: Sequence[Operation], max_states: int = DEFAULT_MAX_STATES,
                  ) -> tuple[str, int, list[int]]:
    """As :func:`search`, with the order found (positions in ``operations``; empty unless
    linearizable)."""
    timeline = _Timeline(operations)
    model = ReferenceModel()
    seen: set[tuple[int, Any]] = set()
    done: list[tuple[int, ReferenceModel]] = []  # (call node, model before it)
    linearized = 0
    node = timeline.next[0]
    while node != -1:  # bounded: each pass adds a state (≤ max_states) or undoes one
        if timeline.is_call[node]:
            k = timeline.op[node]
            after = step(model, operations[k])
            key = (linearized | 1 << k, after.state_key()) if after is not None else None
            if key is None or key in seen:
                node = timeline.next[node]
                continue
            if len(seen) >= max_states:
                return UNDECIDED, len(seen), []
            seen.add(key)
            done.append((node, model))
            model, linearized = after, key[0]  # type: ignore[assignment]
            timeline.lift(node)
            node = timeline.next[0]
        else:
            if not done:
                return NOT_LINEARIZABLE, len(seen), []
            node, model = done.pop()
            linearized &= ~(1 << timeline.op[node])
            timeline.unlift(node)
            node = timeline.next[node]
    return LINEARIZABLE, len(seen), [timeline.op[call] for call, _ in done]


def check_history(operations: Sequence[Operation],
                  max_states: int = DEFAULT_MAX_STATES) -> Check:
    """Check every component of a history (see the module docstring)."""
    if max_states < 1:
        raise ValueError(f"max_states(={max_states}) must be ≥ 1")
    verdicts = []
    for group in components(operations):
        status, states, order = linearization(group, max_states)
        skus = tuple(sorted({sku for o in group for sku in o.skus}))
        verdicts.append(Verdict(status, skus, tuple(o.index for o in group), states,
                                tuple(group[k].index for k in order)))
    return Check(tuple(verdicts))
