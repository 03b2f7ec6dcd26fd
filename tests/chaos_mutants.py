"""Broken engines for the chaos harness to catch, each speaking the adapter protocol.

Every mutant is the real ledger with one mistake of the kind real stock engines make,
so a test can say "the harness catches *this* mistake, and names the invariant it
breaks". Each class is a factory for ``--engine python:tests/chaos_mutants.py:NAME``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from racesim.errors import LedgerError
from racesim.ledger import CommandStatus, EventKind, Ledger, Stock


class _Wrapped:
    """The ledger on memory://, every method passed through unless a mutant overrides it."""

    def __init__(self) -> None:
        self.ledger = Ledger.open("memory://")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


class ForgetsOrderKeys(_Wrapped):
    """Keys reservations by delivery, not by order: every copy reserves again."""

    def __init__(self) -> None:
        super().__init__()
        self.copies = 0

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        self.copies += 1
        return self.ledger.reserve(sku, qty, f"{order_id}#{self.copies}", channel, at)

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return "applied"  # it cannot find the order any more

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return "applied"

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        return "applied"


class RedecidesRejections(_Wrapped):
    """Re-decides a repeated order that was rejected, reserving it if stock came back."""

    def __init__(self) -> None:
        super().__init__()
        self.retries = 0

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        result = self.ledger.reserve(sku, qty, order_id, channel, at)
        if result.status is CommandStatus.DUPLICATE and result.decision is CommandStatus.REJECTED:
            self.retries += 1
            return self.ledger.reserve(sku, qty, f"{order_id}~{self.retries}", channel, at)
        return result


class SwallowsEarlyCancels(_Wrapped):
    """Acknowledges a cancellation that arrives before its order, and drops it."""

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        try:
            return self.ledger.release(order_id, sku, at)
        except LedgerError:
            return "duplicate"


class TrustsTheCount(_Wrapped):
    """Reserves on on-hand stock, forgetting what is already promised: oversells."""

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        stock = self.ledger.stock(sku)
        line = self.ledger.order_line(order_id, sku)
        if line is None and stock.available < qty <= stock.on_hand:
            # top up with a phantom count so the ledger lets the reservation through
            self.ledger.adjust(sku, qty, "phantom", f"PHANTOM-{order_id}", at)
            return self.ledger.reserve(sku, qty, order_id, channel, at)
        return self.ledger.reserve(sku, qty, order_id, channel, at)

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        return self.ledger.stock(sku, as_of)


class CommitsEarly(_Wrapped):
    """Has a ``batch()`` that does not roll back: a crashed handler's writes stay."""

    @contextmanager
    def batch(self) -> Iterator[Any]:
        yield self  # no transaction: each command inside has committed already


class LosesReleaseEvents(_Wrapped):
    """Its event log misses every RELEASE, so replaying the log disagrees with the stock."""

    def iter_events(self, after_seq: int = 0, **filters: Any) -> Iterator[Any]:
        for event in self.ledger.iter_events(after_seq=after_seq, **filters):
            if event.kind is not EventKind.RELEASE:
                yield event

    def verify(self) -> list[str]:
        return []


class ForgetsHistory(_Wrapped):
    """Answers ``stock(sku, as_of=t)`` with today's figures."""

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        return self.ledger.stock(sku)


class CountsReturnsTwice(_Wrapped):
    """Puts returned units back twice in the figures it reports (a projection bug)."""

    def __init__(self) -> None:
        super().__init__()
        self.extra: dict[str, int] = {}

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        result = self.ledger.return_(order_id, sku, qty, ref, at)
        if result.written:
            self.extra[sku] = self.extra.get(sku, 0) + qty
        return result

    def available(self, sku: str) -> int:
        return self.ledger.available(sku) + self.extra.get(sku, 0)

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        stock = self.ledger.stock(sku, as_of)
        return stock._replace(on_hand=stock.on_hand + (0 if as_of is not None
                                                       else self.extra.get(sku, 0)))


def correct(run_id: str) -> Ledger:
    """A correct engine from a factory taking the run's id (the protocol allows both)."""
    assert run_id  # the harness passes a non-empty id of the run
    return Ledger.open("memory://")


class KeysOrdersWithoutSku(_Wrapped):
    """Deduplicates order lines by order id alone: a second line of an order is lost."""

    def __init__(self) -> None:
        super().__init__()
        self.first_sku: dict[str, str] = {}

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        known = self.first_sku.setdefault(order_id, sku)
        if known != sku:
            return self.ledger.reserve(known, qty, order_id, channel, at)
        return self.ledger.reserve(sku, qty, order_id, channel, at)


class AppliesCorrectedRestocks(_Wrapped):
    """Applies a purchase order re-sent with another quantity as a new delivery."""

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Any:
        result = self.ledger.restock(sku, qty, ref, at)
        if result.status is CommandStatus.MISMATCH:
            return self.ledger.restock(sku, qty, f"{ref}/{qty}", at)
        return result


class AcknowledgesLateCancels(_Wrapped):
    """Answers a cancellation of a shipped line with 'duplicate' instead of refusing it."""

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        line = self.ledger.order_line(order_id, sku)
        if line is not None and line.status.value == "fulfilled":
            return "duplicate"
        return self.ledger.release(order_id, sku, at)


class SellsFromOnHand(_Wrapped):
    """``available()`` reports stock on hand, forgetting reservations (its stock() is right)."""

    def available(self, sku: str) -> int:
        return self.ledger.stock(sku).on_hand


class CallsConflictsDuplicates(_Wrapped):
    """Answers 'duplicate' to a repeat with other content, hiding the conflict."""

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        result = self.ledger.reserve(sku, qty, order_id, channel, at)
        return "duplicate" if result.status is CommandStatus.MISMATCH else result


class AnswersNothing(_Wrapped):
    """Forgets to return the command's status: outside the protocol, not an invariant."""

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> None:
        self.ledger.restock(sku, qty, ref, at)
