"""The ledger under real webhook traffic: duplicated, reordered, late — on every store.

A Hypothesis state machine plays a seller's week: purchase orders arrive, marketplaces
sell (some orders have two lines), buyers cancel and return, the warehouse ships and
recounts. Every message is a *command* that the job runner delivers 1–3 times, picking
the next delivery from a window of the oldest pending ones, so copies interleave and a
cancellation can arrive before the order it cancels. The ledger then raises
:class:`~racesim.errors.UnknownOrder` and the runner redelivers it later; a message that
can never succeed (shipping a cancelled line) is dead-lettered.

A reference model — the ledger's rules in plain dicts — predicts every delivery's
outcome, and after every step the machine checks that

- each (order, SKU) line is reserved (or refused) at most once in the event log;
- a reservation never takes available stock below zero (only a recount may), and
  on-hand stock is never negative;
- stock is conserved: on hand = restocked + returned + adjusted − shipped, per SKU;
- the incremental projection equals a replay of the log (``verify() == []``);
- ``stock(sku, as_of=now)`` equals ``stock(sku)``;
- figures and order lines equal the reference model's.

Each delivery also checks that a refused command changed nothing, that a repeat points at
the event first recorded under its key, and that a refused reservation stays refused
when it is redelivered after stock arrived. ``auditor_reads_the_past`` checks
``levels(as_of=t)`` against the model's figures at earlier times.

When the runner has caught up, and at the end of every run, a fresh ledger that receives
each applied command exactly once, in the order the ledger first applied it, must end
with the same event log and projection. (Not the order the commands were *sent* in:
reordering legitimately changes which of two orders wins the last unit.)

Runs 200 examples per store by default; ``HYPOTHESIS_PROFILE=dev`` runs 25.
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, NamedTuple

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from conftest import store_url
from racesim.errors import InvariantViolation, LedgerError, OrderStateError, UnknownOrder
from racesim.ledger import (
    CommandResult,
    CommandStatus,
    Event,
    EventKind,
    Ledger,
    OrderLine,
    OrderStatus,
    Stock,
)
from strategies import (
    Adjust,
    Command,
    Fulfill,
    Key,
    Release,
    Reserve,
    Restock,
    Return,
    channels,
    copies,
    delivery_gaps,
    deltas,
    quantities,
    reasons,
    skus,
)

APPLIED, RESERVED, REJECTED = CommandStatus.APPLIED, CommandStatus.RESERVED, CommandStatus.REJECTED
DUPLICATE, MISMATCH = CommandStatus.DUPLICATE, CommandStatus.MISMATCH
WRITES = frozenset({APPLIED, RESERVED, REJECTED})
"""Statuses of a command that appended an event."""

WINDOW = 6
"""The runner delivers any of its oldest ``WINDOW`` pending deliveries next."""

STEPS = 50
"""Rules per generated run (each run is one seller's stream of webhooks)."""

LineKey = tuple[str, str]
"""An order line: (order_id, sku)."""


class Outcome(NamedTuple):
    """What a delivery should do: return ``status``/``decision``, or raise ``error``.

    ``recorded`` is the idempotency key of the event the result must point to: the event
    written now, or for a duplicate or mismatch the one written before.
    """

    status: CommandStatus | None = None
    decision: CommandStatus | None = None
    error: type[LedgerError] | None = None
    recorded: Key | None = None

    @property
    def writes(self) -> bool:
        """True when the delivery must append exactly one event."""
        return self.status in WRITES


@dataclass
class StockFigures:
    """The reference model's running totals for one SKU, in units."""

    restocked: int = 0
    adjusted: int = 0
    returned: int = 0
    shipped: int = 0
    reserved: int = 0
    seq: int = 0

    @property
    def on_hand(self) -> int:
        """Conservation: what came in, minus what shipped."""
        return self.restocked + self.returned + self.adjusted - self.shipped

    @property
    def available(self) -> int:
        """On hand and not promised to a buyer."""
        return self.on_hand - self.reserved

    def as_stock(self, sku: str) -> Stock:
        """The figures as the ledger reports them."""
        return Stock(sku, self.on_hand, self.reserved, self.shipped, self.returned, self.seq)


class ReferenceLedger:
    """The ledger's rules in plain dicts: predicts each command's outcome, then folds it.

    It is deliberately naive — no store, no transactions, no replay — so that it is an
    independent second opinion on the engine.
    """

    def __init__(self) -> None:
        self.figures: dict[str, StockFigures] = {}
        self.lines: dict[LineKey, OrderLine] = {}
        self.first: dict[Key, Command] = {}
        """The command that first wrote under each idempotency key."""
        self.events = 0
        self.deficit: set[str] = set()
        """SKUs whose available stock a recount (adjust) took below zero."""
        self.restocked_after_refusal: set[LineKey] = set()
        """Refused lines whose SKU received stock after the refusal."""
        self.history: dict[float, dict[str, Stock]] = {}
        """Every SKU's figures after the last event at each time (seconds)."""

    def stock(self, sku: str) -> StockFigures:
        """The SKU's running totals (all zero if no event named it yet)."""
        return self.figures.get(sku) or StockFigures()

    def levels(self) -> dict[str, Stock]:
        """Every SKU any event named, as the ledger's ``levels()`` reports them."""
        return {sku: figures.as_stock(sku) for sku, figures in self.figures.items()}

    def expect(self, command: Command) -> Outcome:
        """The outcome the engine's documented rules give ``command`` now."""
        if isinstance(command, Restock | Adjust | Return) and command.key in self.first:
            return self._repeat(command)
        match command:
            case Restock():
                return Outcome(APPLIED, recorded=command.key)
            case Adjust(sku=sku, delta=delta):
                if self.stock(sku).on_hand + delta < 0:
                    return Outcome(error=InvariantViolation)
                return Outcome(APPLIED, recorded=command.key)
            case Reserve(sku=sku, qty=qty, order_id=order_id, channel=channel):
                line = self.lines.get((order_id, sku))
                if line is None:
                    status = RESERVED if self.stock(sku).available >= qty else REJECTED
                    return Outcome(status, status, recorded=command.key)
                decision = REJECTED if line.status is OrderStatus.REJECTED else RESERVED
                same = (line.quantity, line.channel) == (qty, channel)
                return Outcome(DUPLICATE if same else MISMATCH, decision, recorded=command.key)
            case Release(order_id=order_id, sku=sku):
                line = self.lines.get((order_id, sku))
                if line is None:
                    return Outcome(error=UnknownOrder)
                if line.status is OrderStatus.REJECTED:  # nothing to undo: a recorded no-op
                    return Outcome(DUPLICATE, REJECTED, recorded=_reserve_key(line))
                if line.status is OrderStatus.RELEASED:
                    return Outcome(DUPLICATE, RESERVED, recorded=command.key)
                if line.status is OrderStatus.FULFILLED:
                    return Outcome(error=OrderStateError)
                return Outcome(APPLIED, RESERVED, recorded=command.key)
            case Fulfill(order_id=order_id, sku=sku):
                line = self.lines.get((order_id, sku))
                if line is None:
                    return Outcome(error=UnknownOrder)
                if line.status is OrderStatus.FULFILLED:
                    return Outcome(DUPLICATE, RESERVED, recorded=command.key)
                if line.status is not OrderStatus.RESERVED:
                    return Outcome(error=OrderStateError)
                if self.stock(sku).on_hand < line.quantity:  # a recount found fewer units
                    return Outcome(error=InvariantViolation)
                return Outcome(APPLIED, RESERVED, recorded=command.key)
            case Return(order_id=order_id, sku=sku, qty=qty):
                line = self.lines.get((order_id, sku))
                if line is None:
                    return Outcome(error=UnknownOrder)
                if line.status is not OrderStatus.FULFILLED:
                    return Outcome(error=OrderStateError)
                if line.returned + qty > line.quantity:
                    return Outcome(error=OrderStateError)
                return Outcome(APPLIED, recorded=command.key)
        raise AssertionError(f"unknown command {command!r}")

    def _repeat(self, command: Command) -> Outcome:
        """A keyed command seen before: duplicate if identical, else mismatch."""
        status = DUPLICATE if self.first[command.key] == command else MISMATCH
        return Outcome(status, recorded=command.key)

    def apply(self, command: Command, outcome: Outcome, at: float) -> None:
        """Fold a command that wrote an event at time ``at`` into the figures."""
        self.events += 1
        seq = self.events
        self.first.setdefault(command.key, command)
        figures = self.figures.setdefault(command.sku, StockFigures())
        match command:
            case Restock(qty=qty):
                figures.restocked += qty
                self.restocked_after_refusal |= {
                    key for key, line in self.lines.items()
                    if line.sku == command.sku and line.status is OrderStatus.REJECTED}
            case Adjust(delta=delta):
                figures.adjusted += delta
            case Reserve(sku=sku, qty=qty, order_id=order_id, channel=channel):
                status = OrderStatus.RESERVED if outcome.status is RESERVED else (
                    OrderStatus.REJECTED)
                if status is OrderStatus.RESERVED:
                    figures.reserved += qty
                self.lines[order_id, sku] = OrderLine(order_id, sku, channel, qty, status, 0, seq)
            case Release(order_id=order_id, sku=sku):
                line = self.lines[order_id, sku]
                figures.reserved -= line.quantity
                self.lines[order_id, sku] = line._replace(status=OrderStatus.RELEASED, seq=seq)
            case Fulfill(order_id=order_id, sku=sku):
                line = self.lines[order_id, sku]
                figures.reserved -= line.quantity
                figures.shipped += line.quantity
                self.lines[order_id, sku] = line._replace(status=OrderStatus.FULFILLED, seq=seq)
            case Return(order_id=order_id, sku=sku, qty=qty):
                line = self.lines[order_id, sku]
                figures.returned += qty
                self.lines[order_id, sku] = line._replace(returned=line.returned + qty)
        figures.seq = seq
        if figures.available >= 0:
            self.deficit.discard(command.sku)
        else:
            assert isinstance(command, Adjust) or command.sku in self.deficit, (
                f"model: {command} took {command.sku} below zero available")
            self.deficit.add(command.sku)
        self.history[at] = self.levels()


def _ledger_url(kind: str, directory: Path, name: str = "ledger") -> str:
    """A fresh store URL; SQLite without an fsync per commit (``synchronous=NORMAL``).

    Durability is not what these tests check, and FULL makes a run disk-bound.
    """
    url = store_url(kind, directory, name)
    return f"{url}?synchronous=NORMAL" if url.startswith("sqlite:") else url


def _reserve_key(line: OrderLine) -> Key:
    """The idempotency key of the reservation that created ``line``."""
    return ("reserve", line.sku, line.order_id, "")


def _line_key(command: Command) -> LineKey:
    """The order line a command is about (order_id ``""`` for stock-only commands)."""
    return (getattr(command, "order_id", ""), command.sku)


class _Before(NamedTuple):
    """What a refused command must leave as it was."""

    event_count: int
    levels: dict[str, Stock]
    line: OrderLine | None


class LedgerMachine(RuleBasedStateMachine):
    """A seller's webhook traffic against one ledger; subclasses pick the store."""

    store_kind: ClassVar[str]

    purchase_orders = Bundle("purchase_orders")
    order_lines = Bundle("order_lines")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix=f"racesim-{self.store_kind}-"))
        self.ledger = Ledger.open(_ledger_url(self.store_kind, self.directory))
        self.model = ReferenceLedger()
        self.pending: list[Command] = []
        """The runner's queue: one entry per delivery still to make."""
        self.applied: list[tuple[Command, CommandResult]] = []
        """Each delivery that wrote an event, in the order the ledger applied them."""
        self.recorded: dict[Key, Event] = {}
        self.dead_letters: list[tuple[Command, LedgerError]] = []
        self.now = 0.0
        self._numbers = itertools.count(1)
        self._fresh_ledgers = itertools.count(1)

    def teardown(self) -> None:
        """Compare the final state with exactly-once delivery, then delete the files."""
        try:
            if sys.exc_info()[1] is None:  # skip when a step already failed
                self._check_exactly_once_delivery()
        finally:
            self.ledger.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- the world sends commands (each delivered 1–3 times) ------------------------------

    @initialize(target=purchase_orders,
                opening=st.lists(st.tuples(skus(), quantities(6)), max_size=3,
                                 unique_by=lambda count: count[0]))
    def the_week_opens_with_stock(self, opening: list[tuple[str, int]]) -> MultipleResults[Restock]:
        """The opening stock of some SKUs, booked as purchase orders (sent once each)."""
        commands = [Restock(sku, qty, self._ref("OPENING")) for sku, qty in opening]
        self.pending.extend(commands)
        return multiple(*commands)

    def _send(self, command: Command, times: int) -> None:
        self.pending.extend([command] * times)

    def _ref(self, prefix: str) -> str:
        return f"{prefix}-{next(self._numbers)}"

    @rule(target=purchase_orders, sku=skus(), qty=quantities(6), times=copies())
    def supplier_delivers(self, sku: str, qty: int, times: int) -> Restock:
        """A purchase order is received into the warehouse."""
        command = Restock(sku, qty, self._ref("PO"))
        self._send(command, times)
        return command

    @rule(target=purchase_orders, original=purchase_orders, extra=quantities(2),
          times=copies())
    def supplier_corrects_a_delivery(self, original: Restock, extra: int,
                                     times: int) -> Restock:
        """The same purchase order resent with another quantity: a mismatch, never applied
        twice (whichever copy the ledger sees first wins)."""
        command = replace(original, qty=original.qty + extra)
        self._send(command, times)
        return command

    @rule(target=order_lines, channel=channels(), times=copies(),
          lines=st.lists(st.tuples(skus(), quantities()), min_size=1, max_size=2,
                         unique_by=lambda line: line[0]))
    def marketplace_sells(self, channel: str, times: int,
                          lines: list[tuple[str, int]]) -> MultipleResults[Reserve]:
        """An order with one or two lines (different SKUs) arrives from a marketplace."""
        order_id = self._ref(channel)
        commands = [Reserve(sku, qty, order_id, channel) for sku, qty in lines]
        for _ in range(times):
            self.pending.extend(commands)
        return multiple(*commands)

    @rule(target=order_lines, channel=channels(), times=copies(), sku=skus(), qty=quantities())
    def buyer_cancels_at_once(self, channel: str, times: int, sku: str,
                              qty: int) -> Reserve:
        """An order and its cancellation sent seconds apart: the cancellation may be
        delivered first, and must then wait for the order."""
        line = Reserve(sku, qty, self._ref(channel), channel)
        self._send(line, times)
        self._send(Release(line.order_id, line.sku), times)
        return line

    @rule(line=order_lines, qty=quantities(), times=copies())
    def warehouse_ships_and_buyer_returns(self, line: Reserve, qty: int, times: int) -> None:
        """A shipment and a return sent close together: the return may arrive first."""
        self._send(Fulfill(line.order_id, line.sku), times)
        self._send(Return(line.order_id, line.sku, qty, self._ref("RMA")), times)

    @rule(line=order_lines, extra=quantities(2), times=copies())
    def buyer_edits_an_order(self, line: Reserve, extra: int, times: int) -> None:
        """The marketplace resends a line with more units: a mismatch if the first copy won."""
        self._send(line.edited(extra), times)

    @rule(line=order_lines, times=copies())
    def buyer_cancels(self, line: Reserve, times: int) -> None:
        """A cancellation webhook for one line."""
        self._send(Release(line.order_id, line.sku), times)

    @rule(line=order_lines, times=copies())
    def warehouse_ships(self, line: Reserve, times: int) -> None:
        """A shipment confirmation for one line."""
        self._send(Fulfill(line.order_id, line.sku), times)

    @rule(line=order_lines, qty=quantities(), times=copies())
    def buyer_returns(self, line: Reserve, qty: int, times: int) -> None:
        """A return authorisation for some units of a (hopefully shipped) line."""
        self._send(Return(line.order_id, line.sku, qty, self._ref("RMA")), times)

    @rule(sku=skus(), delta=deltas(), reason=reasons(), times=copies())
    def warehouse_recounts(self, sku: str, delta: int, reason: str, times: int) -> None:
        """A cycle count corrects on-hand stock, up or down."""
        self._send(Adjust(sku, delta, reason, self._ref("COUNT")), times)

    # -- the job runner delivers ----------------------------------------------------------

    @precondition(lambda self: self.pending)
    @rule(deliveries=st.lists(st.tuples(st.integers(0, WINDOW - 1), delivery_gaps()),
                              min_size=1, max_size=4))
    def runner_delivers(self, deliveries: list[tuple[int, float]]) -> None:
        """The runner makes a few deliveries, each picked from its oldest pending ones."""
        for pick, gap in deliveries:
            if not self.pending:
                break
            self.now += gap
            self._deliver(self.pending.pop(pick % min(WINDOW, len(self.pending))))

    @precondition(lambda self: self.pending)
    @rule(gap=delivery_gaps())
    def runner_catches_up(self, gap: float) -> None:
        """The runner drains its queue, oldest first, retrying what can still succeed;
        then the ledger must equal one fed each applied command exactly once."""
        budget = 50 * len(self.pending)
        while self.pending:
            assert budget > 0, f"the runner never drains: {self.pending}"
            budget -= 1
            self.now += gap
            self._deliver(self.pending.pop(0))
        self._check_exactly_once_delivery()

    def _deliver(self, command: Command) -> None:
        """Deliver one copy at ``self.now`` and check it did what the model predicts."""
        expected = self.model.expect(command)
        before = self._before(command)
        try:
            result = command.send(self.ledger, at=self.now)
        except LedgerError as error:
            refusal: LedgerError | None = error
        else:
            refusal = None
        if refusal is not None:
            assert expected.error is not None and isinstance(refusal, expected.error), (
                f"{command} raised {refusal!r}; the model expected {expected}")
            assert self._before(command) == before, f"refused {command} changed the ledger"
            self._redeliver_or_dead_letter(command, refusal)
            return
        assert expected.error is None, (
            f"{command} returned {result}; the model expected {expected.error.__name__}")
        assert (result.status, result.decision) == (expected.status, expected.decision), (
            f"{command} returned {result}; the model expected {expected}")
        event(f"{type(command).__name__}: {result.status.value}")
        if expected.writes:
            assert result.written
            assert result.event is not None
            assert (result.event.seq, result.event.at) == (before.event_count + 1, self.now)
            assert self.ledger.event_count() == before.event_count + 1
            self.model.apply(command, expected, self.now)
            self.applied.append((command, result))
            self.recorded[command.key] = result.event
        else:
            assert not result.written
            assert self.ledger.event_count() == before.event_count, f"{command} wrote on a repeat"
            assert expected.recorded is not None
            assert result.event == self.recorded[expected.recorded]
        if isinstance(command, Reserve):
            self._check_reservation(command, result)

    def _before(self, command: Command) -> _Before:
        return _Before(self.ledger.event_count(), self.ledger.levels(),
                       self.ledger.order_line(*_line_key(command)))

    def _check_reservation(self, command: Reserve, result: CommandResult) -> None:
        """A reservation never oversells, and a refusal is final."""
        stock = self.ledger.stock(command.sku)
        assert stock.available >= 0 or command.sku in self.model.deficit, (
            f"{command} left {stock} with negative available stock")
        line_key = (command.order_id, command.sku)
        if line_key in self.model.restocked_after_refusal and not result.written:
            assert result.decision is REJECTED, (
                f"{command} was refused, stock arrived, and a repeat changed the decision")
            line = self.ledger.order_line(*line_key)
            assert line is not None and line.status is OrderStatus.REJECTED
            covered = stock.available >= command.qty
            event("reserve: a refused line stays refused after a restock"
                  + (" that would now cover it" if covered else ""))

    def _redeliver_or_dead_letter(self, command: Command, error: LedgerError) -> None:
        """Requeue a delivery that may succeed once an earlier message lands; drop the rest."""
        line_key = _line_key(command)
        waits_for: type[Command] | None = None
        if isinstance(error, UnknownOrder):
            waits_for = Reserve
        elif isinstance(command, Return) and isinstance(error, OrderStateError):
            line = self.model.lines[line_key]
            waits_for = Fulfill if line.status is OrderStatus.RESERVED else None
        if waits_for is not None and any(
                isinstance(other, waits_for) and _line_key(other) == line_key
                for other in self.pending):
            event(f"{type(command).__name__} arrived before its {waits_for.__name__}: "
                  "redelivered")
            self.pending.append(command)
            return
        assert not isinstance(error, UnknownOrder), (
            f"{command}: unknown order, yet its reservation is not pending")
        event(f"{type(command).__name__}: dead-lettered ({type(error).__name__})")
        self.dead_letters.append((command, error))

    # -- readers ---------------------------------------------------------------------------

    @precondition(lambda self: self.model.history)
    @rule(data=st.data())
    def auditor_reads_the_past(self, data: st.DataObject) -> None:
        """``levels(as_of=t)`` gives the figures after the last event at time ``t``."""
        at = data.draw(st.sampled_from(sorted(self.model.history)), label="as_of")
        assert self.ledger.levels(as_of=at) == self.model.history[at]

    # -- invariants, checked after every step ---------------------------------------------

    @invariant()
    def each_line_is_reserved_at_most_once(self) -> None:
        """Duplicated webhooks never reserve (or refuse) the same line twice."""
        reserves: Counter[LineKey] = Counter()
        decisions: Counter[LineKey] = Counter()
        for e in self.ledger.iter_events(kinds=(EventKind.RESERVE, EventKind.REJECT)):
            decisions[e.order_id, e.sku] += 1
            if e.kind is EventKind.RESERVE:
                reserves[e.order_id, e.sku] += 1
        assert all(n <= 1 for n in reserves.values()), reserves
        assert all(n <= 1 for n in decisions.values()), decisions

    @invariant()
    def on_hand_stock_is_never_negative(self) -> None:
        """No sequence of messages makes the ledger count fewer than zero units."""
        for stock in self.ledger.levels().values():
            assert stock.on_hand >= 0, stock

    @invariant()
    def available_is_negative_only_after_a_recount(self) -> None:
        """Reservations never oversell; only an adjust may promise more than is on hand."""
        for sku, stock in self.ledger.levels().items():
            assert stock.available >= 0 or sku in self.model.deficit, stock

    @invariant()
    def stock_is_conserved(self) -> None:
        """On hand = restocked + returned + adjusted − shipped, from the log and the model."""
        totals: defaultdict[str, Counter[EventKind]] = defaultdict(Counter)
        for e in self.ledger.iter_events():
            totals[e.sku][e.kind] += e.quantity
        levels = self.ledger.levels()
        assert set(levels) == set(totals)
        for sku, stock in levels.items():
            logged, model = totals[sku], self.model.stock(sku)
            assert stock.on_hand == (logged[EventKind.RESTOCK] + logged[EventKind.RETURN]
                                     + logged[EventKind.ADJUST] - logged[EventKind.FULFILL])
            assert stock.on_hand == (model.restocked + model.returned + model.adjusted
                                     - model.shipped)
            assert stock.reserved == (logged[EventKind.RESERVE] - logged[EventKind.RELEASE]
                                      - logged[EventKind.FULFILL])
            assert (stock.shipped, stock.returned) == (logged[EventKind.FULFILL],
                                                       logged[EventKind.RETURN])

    @invariant()
    def projection_equals_a_replay(self) -> None:
        """The incrementally kept figures equal a fold over the whole log."""
        assert self.ledger.verify() == []

    @invariant()
    def reading_as_of_now_equals_reading_now(self) -> None:
        """A replay up to the present gives the projection's figures."""
        for sku in (*self.model.figures, "SKU-NEVER-SEEN"):
            assert self.ledger.stock(sku, as_of=self.now) == self.ledger.stock(sku)

    @invariant()
    def ledger_agrees_with_the_model(self) -> None:
        """Figures, order lines and the event count are what the rules predict."""
        assert self.ledger.levels() == self.model.levels()
        assert self.ledger.store.order_lines() == self.model.lines
        assert self.ledger.event_count() == self.model.events

    # -- exactly-once delivery ------------------------------------------------------------

    def _check_exactly_once_delivery(self) -> None:
        """A fresh ledger fed each applied command once, in applied order, ends the same."""
        name = f"exactly-once-{next(self._fresh_ledgers)}"
        with Ledger.open(_ledger_url(self.store_kind, self.directory, name)) as fresh:
            for command, original in self.applied:
                assert original.event is not None
                again = command.send(fresh, at=original.event.at)
                assert again == original, f"{command}: {again} once, {original} in traffic"
            assert list(fresh.iter_events()) == list(self.ledger.iter_events())
            assert fresh.levels() == self.ledger.levels()
            assert fresh.store.order_lines() == self.ledger.store.order_lines()


class MemoryLedgerMachine(LedgerMachine):
    """The webhook traffic against the in-memory store."""

    store_kind = "memory"


class SqliteLedgerMachine(LedgerMachine):
    """The webhook traffic against a SQLite file in a temporary directory."""

    store_kind = "sqlite"


TestMemoryLedgerUnderWebhookTraffic = MemoryLedgerMachine.TestCase
TestMemoryLedgerUnderWebhookTraffic.settings = settings(
    stateful_step_count=STEPS, deadline=None)

TestSqliteLedgerUnderWebhookTraffic = SqliteLedgerMachine.TestCase
TestSqliteLedgerUnderWebhookTraffic.settings = settings(
    stateful_step_count=STEPS, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hundreds of random command sequences per store: 20 s in memory, a minute on SQLite.
TestMemoryLedgerUnderWebhookTraffic.pytestmark = [pytest.mark.slow]
TestSqliteLedgerUnderWebhookTraffic.pytestmark = [pytest.mark.slow]
