"""The ledger's records: event kinds, events, order lines, stock levels and command results.

Every record is immutable. Quantities are whole units; times are seconds, either
simulated time or wall-clock epoch seconds, whichever clock the caller uses consistently.
Each event carries two of them: ``at``, the caller's *business* time (when the webhook says
it happened), and ``recorded_at``, the ledger's *record* time — ``max(at, the previous
event's recorded_at)`` — which never decreases along the log (see
:class:`~racesim.ledger.Ledger` for the rule).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "CommandResult",
    "CommandStatus",
    "Event",
    "EventKind",
    "OrderLine",
    "OrderStatus",
    "Stock",
]


class EventKind(StrEnum):
    """What an event did to a SKU's stock.

    ======== =========================================== ======== ======== =========
    kind     meaning                                     on_hand  reserved available
    ======== =========================================== ======== ======== =========
    RESTOCK  units received into the warehouse           +N       0        +N
    RESERVE  an order line claims units                  0        +N       −N
    REJECT   a reservation refused for lack of stock     0        0        0
    RELEASE  a reserved line cancelled before shipping   0        −N       +N
    FULFILL  a reserved line shipped                     −N       −N       0
    RETURN   shipped units came back                     +N       0        +N
    ADJUST   a correction (cycle count, damage), signed  ±N       0        ±N
    ======== =========================================== ======== ======== =========

    REJECT records the decision to refuse a reservation, so that a redelivered copy of
    the same order stays refused and the audit trail shows every oversell.
    """

    RESTOCK = "RESTOCK"
    RESERVE = "RESERVE"
    REJECT = "REJECT"
    RELEASE = "RELEASE"
    FULFILL = "FULFILL"
    RETURN = "RETURN"
    ADJUST = "ADJUST"


class Event(NamedTuple):
    """One immutable ledger entry.

    ``seq`` is the global sequence number (1, 2, …, gap-free within a store); ``at`` the
    caller's time in seconds and ``recorded_at`` the ledger's record time (``at``, or the
    previous event's record time when that is later: it never decreases with ``seq``, so
    the events recorded by an instant are always a prefix of the log). ``quantity`` is in
    units: positive for every kind, signed for ADJUST, and the refused quantity for REJECT.
    ``command`` plus (``sku``, ``order_id``, ``ref``) is the idempotency key of the command
    that wrote it; absent parts are ``""``.
    """

    seq: int
    at: float
    recorded_at: float
    kind: EventKind
    sku: str
    quantity: int
    command: str
    order_id: str = ""
    channel: str = ""
    ref: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        """The idempotency key, readable: ``reserve:ORDER-1:SKU-1``."""
        parts = [self.command, self.order_id, self.ref, self.sku]
        return ":".join(p for p in parts if p)

    @property
    def on_hand_delta(self) -> int:
        """Units this event added to (or removed from) on-hand stock."""
        if self.kind in (EventKind.RESTOCK, EventKind.RETURN, EventKind.ADJUST):
            return self.quantity
        if self.kind is EventKind.FULFILL:
            return -self.quantity
        return 0

    @property
    def reserved_delta(self) -> int:
        """Units this event added to (or removed from) the reserved count."""
        if self.kind is EventKind.RESERVE:
            return self.quantity
        if self.kind in (EventKind.RELEASE, EventKind.FULFILL):
            return -self.quantity
        return 0

    @property
    def available_delta(self) -> int:
        """Units this event made sellable (negative: units it took away)."""
        return self.on_hand_delta - self.reserved_delta


class OrderStatus(StrEnum):
    """Where an order line stands in its lifecycle."""

    RESERVED = "reserved"
    REJECTED = "rejected"
    RELEASED = "released"
    FULFILLED = "fulfilled"


class OrderLine(NamedTuple):
    """The ledger's view of one (order, SKU) line: the idempotency record of ``reserve``.

    ``quantity`` is what was asked for; ``returned`` counts units that came back after
    shipment. ``seq`` is the sequence number of the event that set the current status.
    """

    order_id: str
    sku: str
    channel: str
    quantity: int
    status: OrderStatus
    returned: int
    seq: int


class Stock(NamedTuple):
    """A SKU's projection, in units.

    ``available = on_hand − reserved``; equivalently the sum of RESTOCK, RETURN, RELEASE
    and ADJUST minus the sum of RESERVE. ``shipped`` and ``returned`` are cumulative.
    ``seq`` is the last event folded into these figures (0: none).
    """

    sku: str
    on_hand: int
    reserved: int
    shipped: int
    returned: int
    seq: int

    @property
    def available(self) -> int:
        """Units that can still be promised to a buyer."""
        return self.on_hand - self.reserved

    @classmethod
    def empty(cls, sku: str) -> Stock:
        """A SKU the ledger has never seen: all zero."""
        return cls(sku, 0, 0, 0, 0, 0)


class CommandStatus(StrEnum):
    """What a command did.

    ``applied`` — written (for ``reserve``: ``reserved``); ``duplicate`` — the same command
    was seen before, nothing new written; ``rejected`` — a reservation refused for lack
    of available stock (recorded); ``mismatch`` — the key was seen before with different
    content: reported, never applied.
    """

    APPLIED = "applied"
    RESERVED = "reserved"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    MISMATCH = "mismatch"


class CommandResult(NamedTuple):
    """The outcome of a command.

    ``event`` is the event this command wrote, or for a duplicate or mismatch the event
    recorded earlier under the same key (``None`` where there is none, e.g. a duplicate
    release of a line that was never reserved cannot occur: that is an error).
    ``decision`` is the recorded decision for order lines: for a duplicate reservation,
    whether the original was ``reserved`` or ``rejected``.
    """

    status: CommandStatus
    event: Event | None
    decision: CommandStatus | None = None
    detail: str = ""

    @property
    def written(self) -> bool:
        """True when this call appended an event."""
        return self.status in (CommandStatus.APPLIED, CommandStatus.RESERVED,
                               CommandStatus.REJECTED)
