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


# -- mistakes only the key shapes of swarm version 2 reach ------------------------------------

class KeysRestocksOnRef(_Wrapped):
    """Deduplicates restocks by reference alone: a PO's second SKU is never received."""

    def __init__(self) -> None:
        super().__init__()
        self.first_sku: dict[str, str] = {}

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Any:
        return self.ledger.restock(self.first_sku.setdefault(ref, sku), qty, ref, at)


class KeysPurchaseOrdersOnRef(KeysRestocksOnRef):
    """Keys receipts by PO number alone; the opening stock comes in by its own import.

    Version 1 catches :class:`KeysRestocksOnRef` through the opening stock (one ref,
    every SKU); an engine whose opening balance is loaded apart, as is common, shows the
    mistake only on a purchase order restocking several SKUs.
    """

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Any:
        if ref == "OPENING":
            return self.ledger.restock(sku, qty, ref, at)
        return super().restock(sku, qty, ref, at)


class KeysCountsOnRef(_Wrapped):
    """Deduplicates adjustments by reference alone: a count of the shelf corrects one SKU."""

    def __init__(self) -> None:
        super().__init__()
        self.first_sku: dict[str, str] = {}

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> Any:
        return self.ledger.adjust(self.first_sku.setdefault(ref, sku), delta, reason, ref, at)


class KeysReturnsWithoutSku(_Wrapped):
    """Keys returns by (order, reference): an RMA's second SKU is never put back."""

    def __init__(self) -> None:
        super().__init__()
        self.first_sku: dict[tuple[str, str], str] = {}

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        known = self.first_sku.setdefault((order_id, ref), sku)
        return self.ledger.return_(order_id, known, qty, ref, at)


class KeysReturnsWithoutOrder(_Wrapped):
    """Keys returns by (SKU, reference): one parcel back from two orders counts once."""

    def __init__(self) -> None:
        super().__init__()
        self.first_order: dict[tuple[str, str], str] = {}

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        known = self.first_order.setdefault((sku, ref), order_id)
        return self.ledger.return_(known, sku, qty, ref, at)


class SharesRestockAndAdjustKeys(_Wrapped):
    """One (SKU, ref) key table for restocks and adjustments: damage under a PO's ref is lost."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[tuple[str, str], str] = {}

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Any:
        if self.kinds.setdefault((sku, ref), "restock") != "restock":
            return "mismatch"
        return self.ledger.restock(sku, qty, ref, at)

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> Any:
        if self.kinds.setdefault((sku, ref), "adjust") != "adjust":
            return "mismatch"
        return self.ledger.adjust(sku, delta, reason, ref, at)


class CapsLineQuantities(_Wrapped):
    """Holds a line's quantity in one digit: a line of 10 or more units reserves 9.

    (A cap at 3 units is caught by version 1 too, through an order re-sent with one unit
    more; a cap above the 4 units version 1 ever orders is reached by bulk lines only.)
    """

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        return self.ledger.reserve(sku, min(qty, 9), order_id, channel, at)


class _OrderIdsMapped(_Wrapped):
    """Passes every order id through :meth:`key` before the ledger sees it."""

    def key(self, order_id: str) -> str:
        raise NotImplementedError

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        return self.ledger.reserve(sku, qty, self.key(order_id), channel, at)

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return self.ledger.release(self.key(order_id), sku, at)

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return self.ledger.fulfill(self.key(order_id), sku, at)

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        return self.ledger.return_(self.key(order_id), sku, qty, ref, at)


class NormalisesOrderIds(_OrderIdsMapped):
    """Strips and case-folds order ids: 'AMZ-1001' and 'amz-1001 ' become one order."""

    def key(self, order_id: str) -> str:
        return order_id.strip().casefold()


class TruncatesOrderIds(_OrderIdsMapped):
    """Stores order ids in a 32-character column: long ids sharing a prefix collide."""

    def key(self, order_id: str) -> str:
        return order_id[:32]


class KeysSkusAsAscii(_Wrapped):
    """Drops non-ASCII characters from SKUs: TEE-紅 and TEE-藍 share one shelf."""

    @staticmethod
    def key(sku: str) -> str:
        return sku.encode("ascii", "ignore").decode() or "?"

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Any:
        return self.ledger.restock(self.key(sku), qty, ref, at)

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Any:
        return self.ledger.reserve(self.key(sku), qty, order_id, channel, at)

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return self.ledger.release(order_id, self.key(sku), at)

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> Any:
        return self.ledger.fulfill(order_id, self.key(sku), at)

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Any:
        return self.ledger.return_(order_id, self.key(sku), qty, ref, at)

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> Any:
        return self.ledger.adjust(self.key(sku), delta, reason, ref, at)

    def available(self, sku: str) -> int:
        return self.ledger.available(self.key(sku))

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        return self.ledger.stock(self.key(sku), as_of)
