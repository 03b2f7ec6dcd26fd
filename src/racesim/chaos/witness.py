"""The smallest part of a non-linearizable history that still cannot be linearized.

A failing component may hold hundreds of operations; the reader needs the few that
conflict. :func:`minimal_witness` deletes operations greedily, one at a time, re-checking
after each deletion, until no single deletion keeps it a *witness*:

- the sub-history is not linearizable, and
- every operation in it is explained by the others that may precede it: with the
  operations that completed before it was invoked, and those that overlap it (answering
  whatever the model answers them), it is linearizable — except, when the failure is that
  one answer contradicts what may precede it outright, that one operation.

The second rule keeps the context an answer needs: without it, deleting the restock of
the classic double-buy (two overlapping reserves of the last unit, both answered
``reserved``) would leave "a reserve answered ``reserved`` on an empty shelf", which is
not linearizable either but no longer shows the race. For the same reason, when one
answer is the culprit, the operations kept must still explain the answer a correct engine
gives it there (a ``stock`` read that should say "reserved 2" keeps the restocks and
reserves that make it 2). So the result is 1-minimal in this sense: deleting any one of
its operations makes it linearizable or takes away what explains the answers of the
others. Deletions are tried latest operation first, pass after pass until a pass deletes
nothing, so the result is the same every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from racesim.chaos.history import READS, Operation
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Check,
    linearization,
    model_answer,
    search,
    step,
)
from racesim.chaos.reference import ReferenceModel

__all__ = ["history_witness", "minimal_witness"]


def _before(a: Operation, b: Operation) -> bool:
    """Real-time precedence: ``a`` completed before ``b`` was invoked."""
    return a.completed_s < b.invoked_s


class _Checker:
    """Searches sub-histories (kept in history order), bounded by ``max_states`` each."""

    def __init__(self, max_states: int) -> None:
        self.max_states = max_states

    def status(self, operations: Sequence[Operation]) -> str:
        return search(sorted(operations, key=lambda o: o.index), self.max_states)[0]

    def explained(self, operation: Operation, within: Sequence[Operation]) -> bool:
        """Whether what may precede the operation in ``within`` explains its answer."""
        context = [o if _before(o, operation) else replace(o, answer={}) for o in within
                   if o is not operation and not _before(operation, o)]
        return self.status([*context, operation]) == LINEARIZABLE


def minimal_witness(operations: Sequence[Operation],
                    max_states: int = DEFAULT_MAX_STATES) -> list[Operation]:
    """A 1-minimal witness (see the module docstring) inside one non-linearizable
    component, in history order; ``[]`` if the component is not shown non-linearizable
    within ``max_states`` states."""
    checker = _Checker(max_states)
    if checker.status(operations) != NOT_LINEARIZABLE:
        return []
    by_completion = sorted(operations, key=lambda o: (o.completed_s, o.invoked_s, o.index))
    culprit = next((o for o in by_completion if not checker.explained(o, operations)), None)
    kept = list(operations) if culprit is None else \
        [o for o in operations if _before(o, culprit)] + [culprit]
    corrected = None if culprit is None else _corrected(culprit, operations, max_states)
    changed = True
    while changed:  # bounded: every pass but the last deletes at least one operation
        changed = False
        for victim in sorted(kept, key=lambda o: o.index, reverse=True):
            if victim is culprit:
                continue
            rest = [o for o in kept if o is not victim]
            if checker.status(rest) != NOT_LINEARIZABLE:
                continue
            if victim.op in READS:  # changes no state: every explanation still holds
                kept, changed = rest, True
                continue
            if corrected is not None and not checker.explained(
                    corrected, [o for o in rest if o is not culprit]):
                continue  # the culprit's right answer would lose its explanation
            touched = [o for o in rest if o is not culprit and not _before(o, victim)]
            if all(checker.explained(o, rest) for o in touched):
                kept, changed = rest, True
    return sorted(kept, key=lambda o: o.index)


def _corrected(culprit: Operation, operations: Sequence[Operation],
               max_states: int) -> Operation | None:
    """The culprit with the answer a correct engine gives it after what may precede it
    (None if that context has no linearization of its own)."""
    free = replace(culprit, answer={})
    context = sorted([o if _before(o, culprit) else replace(o, answer={})
                      for o in operations if o is not culprit and not _before(culprit, o)]
                     + [free], key=lambda o: o.index)
    status, _, order = linearization(context, max_states)
    if status != LINEARIZABLE:
        return None
    model = ReferenceModel()
    for position in order:  # bounded: one step per operation of the order
        operation = context[position]
        if operation is free:
            return replace(culprit, answer=model_answer(model, culprit))
        after = step(model, operation)
        assert after is not None  # the order was found with these very steps
        model = after
    return None


def history_witness(operations: Sequence[Operation], check: Check,
                    max_states: int = DEFAULT_MAX_STATES) -> list[Operation]:
    """The 1-minimal witness of a whole history ``check`` found non-linearizable, from its
    first failing component; ``[]`` when the check did not find it non-linearizable."""
    failing = check.failing
    if check.status != NOT_LINEARIZABLE or failing is None:
        return []
    chosen = set(failing.operations)
    return minimal_witness([o for o in operations if o.index in chosen], max_states)
