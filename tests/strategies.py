"""Hypothesis strategies for ledger tests, and the webhook commands they generate.

A *command* is one webhook or warehouse message as a seller's job runner receives it:
a frozen record that knows its idempotency key (the ledger's natural key for it, see
:mod:`racesim.ledger.engine`) and how to send itself to a :class:`~racesim.ledger.Ledger`
at a given time. Strategies draw the parts of commands from a deliberately small world
(three SKUs, three channels, small quantities) so that reservations compete for the last
units, lines get cancelled and shipped, and keys repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeAlias

from hypothesis import strategies as st

from racesim.ledger import CommandResult, Ledger

__all__ = [
    "CHANNELS",
    "REASONS",
    "SKUS",
    "Adjust",
    "Command",
    "Fulfill",
    "Key",
    "Release",
    "Reserve",
    "Restock",
    "Return",
    "channels",
    "copies",
    "delivery_gaps",
    "deltas",
    "order_skus",
    "quantities",
    "reasons",
    "skus",
]

SKUS = ("SKU-A", "SKU-B", "SKU-C")
"""Few SKUs, so that commands pile up on each one."""

CHANNELS = ("amazon", "ebay", "shopify")
"""Marketplaces sending reservations and cancellations."""

REASONS = ("cycle count", "damaged in the warehouse", "found on the wrong shelf")
"""Why a warehouse corrects its on-hand count."""

Key: TypeAlias = tuple[str, str, str, str]
"""An idempotency key as the stores spell it: (command, sku, order_id, ref)."""


# -- commands ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Restock:
    """A purchase order received: ``qty`` units of ``sku`` under reference ``ref``."""

    sku: str
    qty: int
    ref: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (sku, ref)."""
        return ("restock", self.sku, "", self.ref)

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.restock(self.sku, self.qty, ref=self.ref, at=at)


@dataclass(frozen=True, slots=True)
class Reserve:
    """A marketplace order line: ``qty`` units of ``sku`` for ``order_id`` on ``channel``."""

    sku: str
    qty: int
    order_id: str
    channel: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (order_id, sku)."""
        return ("reserve", self.sku, self.order_id, "")

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.reserve(self.sku, self.qty, order_id=self.order_id,
                              channel=self.channel, at=at)

    def edited(self, extra_units: int) -> Reserve:
        """The same line as the marketplace resends it after the buyer changed quantity."""
        return replace(self, qty=self.qty + extra_units)


@dataclass(frozen=True, slots=True)
class Release:
    """A cancellation webhook for one order line."""

    order_id: str
    sku: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (order_id, sku)."""
        return ("release", self.sku, self.order_id, "")

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.release(self.order_id, self.sku, at=at)


@dataclass(frozen=True, slots=True)
class Fulfill:
    """A shipment confirmation for one order line (ships all of it)."""

    order_id: str
    sku: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (order_id, sku)."""
        return ("fulfill", self.sku, self.order_id, "")

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.fulfill(self.order_id, self.sku, at=at)


@dataclass(frozen=True, slots=True)
class Return:
    """A return authorisation: ``qty`` shipped units of a line back in stock."""

    order_id: str
    sku: str
    qty: int
    ref: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (order_id, sku, ref)."""
        return ("return", self.sku, self.order_id, self.ref)

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.return_(self.order_id, self.sku, self.qty, ref=self.ref, at=at)


@dataclass(frozen=True, slots=True)
class Adjust:
    """A stock correction: ``delta`` units (signed) of ``sku``, with the reason."""

    sku: str
    delta: int
    reason: str
    ref: str

    @property
    def key(self) -> Key:
        """The ledger's idempotency key: (sku, ref)."""
        return ("adjust", self.sku, "", self.ref)

    def send(self, ledger: Ledger, at: float) -> CommandResult:
        """Deliver this command to ``ledger`` at time ``at`` (seconds)."""
        return ledger.adjust(self.sku, self.delta, reason=self.reason, ref=self.ref, at=at)


Command: TypeAlias = Restock | Reserve | Release | Fulfill | Return | Adjust
"""Any message the job runner delivers to the ledger."""


# -- strategies ----------------------------------------------------------------------------


def skus() -> st.SearchStrategy[str]:
    """One of the few SKUs of the test world."""
    return st.sampled_from(SKUS)


def order_skus() -> st.SearchStrategy[list[str]]:
    """The SKUs of one order: one line, or two lines on different SKUs."""
    return st.lists(skus(), min_size=1, max_size=2, unique=True)


def channels() -> st.SearchStrategy[str]:
    """The marketplace an order comes from."""
    return st.sampled_from(CHANNELS)


def quantities(max_units: int = 4) -> st.SearchStrategy[int]:
    """A positive number of units, small enough that stock runs out often."""
    return st.integers(min_value=1, max_value=max_units)


def deltas(max_units: int = 4) -> st.SearchStrategy[int]:
    """A non-zero stock correction in units, either sign."""
    return st.one_of(st.integers(-max_units, -1), st.integers(1, max_units))


def reasons() -> st.SearchStrategy[str]:
    """Why a warehouse corrected its count."""
    return st.sampled_from(REASONS)


def copies() -> st.SearchStrategy[int]:
    """How many times a webhook is delivered: at-least-once delivery, up to 3 times."""
    return st.integers(min_value=1, max_value=3)


def delivery_gaps() -> st.SearchStrategy[float]:
    """Seconds between two deliveries: often none at all (same timestamp), up to 10 min."""
    return st.one_of(
        st.just(0.0),
        st.floats(min_value=0.0, max_value=600.0, allow_nan=False, allow_infinity=False),
    )
