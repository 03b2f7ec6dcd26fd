"""The naive counter: the stock engine many shops start with, kept to show why it fails.

One mutable number per SKU, decremented on every order webhook it receives. It has no
idempotency key and no log, so a webhook delivered twice sells the unit twice, and
nothing can explain or replay the count afterwards. It speaks the ledger's command
signatures (:class:`~racesim.ledger.protocol.InspectableEngine`) so the simulation and the
regression harness can drive either engine: its log is always empty.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from racesim.ledger.events import CommandResult, CommandStatus

__all__ = ["NaiveCounter"]

_APPLIED = CommandResult(CommandStatus.APPLIED, None, None, "")
_RESERVED = CommandResult(CommandStatus.RESERVED, None, CommandStatus.RESERVED, "")
_REJECTED = CommandResult(CommandStatus.REJECTED, None, CommandStatus.REJECTED, "")


class NaiveCounter:
    """A per-SKU counter that trusts every delivery (no idempotency, no history)."""

    url = "naive://"

    def __init__(self) -> None:
        self._count: dict[str, int] = defaultdict(int)
        self._reserved: dict[tuple[str, str], int] = {}
        self.reservations = 0  # reserve calls it accepted, duplicates included

    def available(self, sku: str) -> int:
        """The counter's current value for ``sku``."""
        return self._count[sku]

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> CommandResult:
        """Add ``qty`` units (every delivery counts, duplicates too)."""
        self._count[sku] += qty
        return _APPLIED

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> CommandResult:
        """Decrement by ``qty`` if the counter allows it — once per delivery."""
        if self._count[sku] < qty:
            return _REJECTED
        self._count[sku] -= qty
        self._reserved[(order_id, sku)] = qty
        self.reservations += 1
        return _RESERVED

    def release(self, order_id: str, sku: str, at: float | None = None) -> CommandResult:
        """Add the order's units back (again on every delivery)."""
        self._count[sku] += self._reserved.get((order_id, sku), 0)
        return _APPLIED

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> CommandResult:
        """Shipping does not change the counter: it was decremented at order time."""
        return _APPLIED

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> CommandResult:
        """Add returned units back (on every delivery)."""
        self._count[sku] += qty
        return _APPLIED

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> CommandResult:
        """Apply a correction (on every delivery)."""
        self._count[sku] += delta
        return _APPLIED

    def event_count(self) -> int:
        """0: the counter keeps no log."""
        return 0

    def events(self) -> pd.DataFrame:
        """An empty frame: there is no log to show."""
        return pd.DataFrame()

    def close(self) -> None:
        """Nothing to release."""
