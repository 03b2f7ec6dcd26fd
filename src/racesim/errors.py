"""The exceptions racesim raises.

Every error derives from :class:`RacesimError`, and also from the builtin exception
that fits it best, so callers can catch either ``RacesimError`` or, say, ``ValueError``.
Messages name the order, SKU, field or file involved and the value that was wrong.
"""

from __future__ import annotations

__all__ = [
    "InvalidCommand",
    "InvariantViolation",
    "LedgerError",
    "OrderStateError",
    "RacesimError",
    "ScenarioError",
    "StoreError",
    "UnknownOrder",
]


class RacesimError(Exception):
    """Root of every error racesim raises on purpose."""


class LedgerError(RacesimError):
    """A ledger command was refused; the ledger is unchanged."""


class InvalidCommand(LedgerError, ValueError):
    """A command's arguments are malformed (quantity, SKU, reason, time, …)."""


class UnknownOrder(LedgerError, LookupError):
    """A command names an (order, SKU) line the ledger has never reserved."""

    def __init__(self, command: str, order_id: str, sku: str) -> None:
        self.command, self.order_id, self.sku = command, order_id, sku
        super().__init__(
            f"{command}: order {order_id!r} has no line for SKU {sku!r} "
            "(no reservation was ever recorded for it)"
        )


class OrderStateError(LedgerError, ValueError):
    """A command does not fit the order line's current state (e.g. fulfil a released line)."""

    def __init__(self, command: str, order_id: str, sku: str, state: str, detail: str) -> None:
        self.command, self.order_id, self.sku, self.state = command, order_id, sku, state
        super().__init__(f"{command}: order {order_id!r} SKU {sku!r} is {state}: {detail}")


class InvariantViolation(LedgerError, ValueError):
    """The command would break a ledger invariant (e.g. negative on-hand stock)."""


class StoreError(RacesimError, RuntimeError):
    """A storage backend failed, or a store URL could not be understood."""


class ScenarioError(RacesimError, ValueError):
    """A scenario file is malformed; the message names the file and the field."""
