"""The sequential auditor's invariants, checked on the state a concurrent run leaves.

The linearizability check (:mod:`racesim.chaos.linearize`) judges every answer and read
the workers saw; an engine can pass it and still leave a broken state behind — a log that
misses events its projection counts, a line reserved twice in the log, figures as of a
past instant that were never true. After the workers finish, :func:`audit_final_state`
reads the engine once more and checks the invariants of :mod:`racesim.chaos.audit` that
make sense on a final state:

===================  ======================================================================
invariant            broken when, at the end of the run
===================  ======================================================================
conservation         a SKU's ``available()`` differs from its ``stock()``, or either from the
                     figures the history's answers account for (the reference model after
                     the linearization the checker found: the answers fix which commands
                     applied and every reservation's decision, so any linearization gives
                     the same figures); the second part only when the history linearized
projection_replay    ``stock()`` differs from the engine's event log folded, the log has a
                     gap, an event contradicts the rules given the events before it, or
                     ``verify()`` reports a difference
reserved_twice       the log holds two RESERVEs for one order line
oversold             the log, replayed in its own order, holds a RESERVE of more than the
                     events before it leave available (no reservation beyond what was
                     available in the engine's own serial order)
refused_sellable     the log holds a REJECT where the events before it leave enough
as_of_replay         ``stock(sku, as_of=t)`` at a few of the rounds' instants differs from the
                     linearization's figures after everything stamped at or before ``t``
===================  ======================================================================

The log is replayed through the rules only for records with every field of a ledger
:class:`~racesim.ledger.Event` (``at``, ``channel``, ``ref``, ``reason``); the as-of
check only when the linearization's times never go back on a SKU (a round's deliveries
share one time and rounds follow one another, so they do not unless a writer's clock
did).

Left to the checker: ``wrong_answer``, ``refused_valid``, ``lost_delivery``,
``rejected_revived`` and the per-delivery ``oversold``/``reserved_twice`` judge one
answer against the state it met, which in a concurrent run is whatever the interleaving
made it — the linearizability check judges every answer against the reference model in
some order that respects real time, which is those invariants for concurrent histories.
``not_atomic`` compares reads before and after one delivery, which other workers' writes
overlap; a refused command that changed the figures shows up as a read no order explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from racesim.chaos.audit import event_webhook
from racesim.chaos.engines import EngineUnderTest, Observed
from racesim.chaos.history import READS, Operation
from racesim.chaos.linearize import LINEARIZABLE, Check
from racesim.chaos.reference import Figures, LogFold, ReferenceModel

__all__ = ["AS_OF_PROBES", "FINAL_INVARIANTS", "FinalBreak", "audit_final_state",
           "expected_state"]

AS_OF_PROBES = 4
"""Instants at which the as-of figures of every SKU are compared (spread over the run)."""

FINAL_INVARIANTS: dict[str, str] = {
    "conservation": "the figures at the end differ from what the history's answers account "
                    "for, or available() from stock()",
    "projection_replay": "the figures at the end differ from a replay of the event log, or "
                         "the log contradicts the rules",
    "reserved_twice": "the event log holds two RESERVEs for one order line",
    "oversold": "the event log reserves more than its earlier events leave available",
    "refused_sellable": "the event log rejects an order its earlier events leave enough for",
    "as_of_replay": "figures as of a past instant differ from the history's linearization",
}
"""Every invariant :func:`audit_final_state` checks, with what breaking it means."""

_LOG_FIELDS = ("at", "channel", "ref", "reason")
_RECORDED = {"RESERVE": "reserved", "REJECT": "rejected"}
_ZERO = Figures(0, 0)


class FinalBreak(NamedTuple):
    """The first invariant the final state breaks: which, on which SKU, and how."""

    invariant: str
    sku: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def audit_final_state(engine: EngineUnderTest, operations: Sequence[Operation],
                      check: Check, probes: int = AS_OF_PROBES) -> FinalBreak | None:
    """Check the engine's state after a concurrent run (see the module docstring).

    ``operations``: the run's history; ``check``: its verdict (a linearizable one carries
    the order the figures are computed from). None when the state is sound.
    """
    expected, in_time_order = expected_state(operations, check)
    fold, problem = _fold_log(engine.events_after(0)) if engine.has_log else (None, None)
    if problem is not None:
        return problem
    skus = {sku for operation in operations for sku in operation.skus}
    skus |= set(fold.figures if fold is not None else ())
    skus |= set(expected.skus if expected is not None else ())
    return (_figures(engine, sorted(skus), expected, fold) or _verified(engine)
            or (_as_of(engine, sorted(skus), expected, operations, probes)
                if expected is not None and in_time_order else None))


def expected_state(operations: Sequence[Operation],
                   check: Check) -> tuple[ReferenceModel | None, bool]:
    """The reference model after the history's linearization (None unless linearizable),
    and whether the linearization's times never go back on any SKU."""
    if check.status != LINEARIZABLE:
        return None, False
    by_index = {operation.index: operation for operation in operations}
    model = ReferenceModel()
    last_at: dict[str, float] = {}
    in_time_order = True
    for verdict in check.verdicts:
        for index in verdict.order:  # bounded: one pass per operation of the history
            operation = by_index[index]
            if operation.op in READS or "error" in operation.answer:
                continue  # a read, or refused (rolled back): nothing changed
            for webhook in operation.commands:
                in_time_order &= webhook.at >= last_at.get(webhook.sku, webhook.at)
                last_at[webhook.sku] = webhook.at
                model.apply(webhook)
    return model, in_time_order


def _kind(event: Any) -> str:
    return str(getattr(event.kind, "value", event.kind)).upper()


def _fold_log(events: list[Any]) -> tuple[LogFold, FinalBreak | None]:
    """The log folded into figures, and the first problem of the log itself: a gap, a line
    reserved twice, or an event the events before it do not allow."""
    fold, rules = LogFold(), ReferenceModel()
    replayable = all(hasattr(event, name) for event in events for name in _LOG_FIELDS)
    for event in events:  # bounded: one pass per event
        problem = fold.add(event)
        if problem:
            invariant = "reserved_twice" if "two RESERVE" in problem else "projection_replay"
            return fold, FinalBreak(invariant, event.sku, f"the event log: {problem}")
        if not replayable:
            continue
        before = rules.figures(event.sku)
        expected = rules.apply(event_webhook(event))
        kind = _kind(event)
        if expected.status != _RECORDED.get(kind, "applied"):
            return fold, _log_break(event, kind, expected.status, before)
    return fold, None


def _log_break(event: Any, kind: str, status: str, before: Figures) -> FinalBreak:
    what = (f"event {event.seq} ({kind} {event.quantity} × {event.sku}"
            + (f", order {event.order_id}" if event.order_id else "")
            + (f", ref {event.ref}" if event.ref else "") + ")")
    if kind == "RESERVE" and status == "rejected":
        return FinalBreak("oversold", event.sku,
                          f"{what} is in the log, but the events before it leave only "
                          f"{before.available} available: a correct engine rejects it")
    if kind == "REJECT" and status == "reserved":
        return FinalBreak("refused_sellable", event.sku,
                          f"{what} is in the log, but the events before it leave "
                          f"{before.available} available: a correct engine reserves it")
    invariant = "reserved_twice" if kind == "RESERVE" else "projection_replay"
    return FinalBreak(invariant, event.sku, f"{what} is in the log, but the events before "
                                            f"it make it {status}")


def _text(figures: Figures) -> str:
    return (f"on hand {figures.on_hand}, reserved {figures.reserved}, available "
            f"{figures.available}")


def _seen_text(seen: Observed) -> str:
    return _text(seen.figures) if seen.figures is not None else f"available {seen.available}"


def _differs(seen: Observed, want: Figures) -> bool:
    return seen.available != want.available or (seen.figures is not None
                                                 and seen.figures != want)


def _figures(engine: EngineUnderTest, skus: list[str], expected: ReferenceModel | None,
             fold: LogFold | None) -> FinalBreak | None:
    """Each SKU's figures now against each other, the answers and the log."""
    for sku in skus:  # bounded: one pass per SKU
        seen = engine.observe(sku)
        if seen.figures is not None and seen.available != seen.figures.available:
            return FinalBreak("conservation", sku,
                              f"at the end, available({sku!r}) is {seen.available} but "
                              f"stock({sku!r}) gives {_text(seen.figures)}")
        want = expected.figures(sku) if expected is not None else None
        if want is not None and _differs(seen, want):
            return FinalBreak("conservation", sku,
                              f"at the end, {sku} shows {_seen_text(seen)}; the history's "
                              f"answers account for {_text(want)}")
        replayed = fold.figures.get(sku, _ZERO) if fold is not None else None
        if replayed is not None and _differs(seen, replayed):
            return FinalBreak("projection_replay", sku,
                              f"at the end, {sku} shows {_seen_text(seen)}; its event log "
                              f"replayed gives {_text(replayed)}")
    return None


def _verified(engine: EngineUnderTest) -> FinalBreak | None:
    """The engine's own integrity check."""
    if not engine.has_verify:
        return None
    differences = engine.verify()
    if not differences:
        return None
    return FinalBreak("projection_replay", "",
                      f"at the end, verify() found {len(differences)} difference(s), e.g. "
                      f"{differences[0]}")


def _as_of(engine: EngineUnderTest, skus: list[str], expected: ReferenceModel,
           operations: Sequence[Operation], probes: int) -> FinalBreak | None:
    """Figures as of a few of the run's instants against the linearization's."""
    if not engine.has_history or probes < 1:
        return None
    times = sorted({w.at for operation in operations for w in operation.commands})
    if not times:
        return None
    picks = sorted({times[(len(times) - 1) * p // max(probes - 1, 1)]
                    for p in range(probes)})
    for at in picks:  # bounded: probes × SKUs reads
        for sku in skus:
            seen = engine.figures_at(sku, at)
            want = expected.figures_at(sku, at)
            if seen is not None and seen != want:
                return FinalBreak("as_of_replay", sku,
                                  f"{sku} as of {at:g} s: the engine says {_text(seen)}; the "
                                  f"history's linearization up to then gives {_text(want)}")
    return None
