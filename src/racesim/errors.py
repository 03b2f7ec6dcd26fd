"""The exceptions racesim raises.

Every error derives from :class:`RacesimError`, and also from the builtin exception
that fits it best, so callers can catch either ``RacesimError`` or, say, ``ValueError``.
Messages name the order, SKU, field or file involved and the value that was wrong —
through :func:`shorten`, so a 400-digit number or a 5 MB name is never echoed whole.
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
    "shorten",
]

SHOWN_CHARS = 80
"""How much of a wrong value an error message shows before cutting it."""


def shorten(value: object, limit: int = SHOWN_CHARS, *, as_text: bool = False) -> str:
    """``repr(value)`` cut to ``limit`` characters, saying how long it was.

    For error messages that echo what a caller sent: ``shorten("x" * 5_000_000)`` is
    ``'xxx…(5,000,000 chars)``, ``shorten(10**400)`` is ``1000…(401 chars)``; a short
    value is its plain ``repr``. ``as_text=True`` cuts a string that is already spelled
    for the message (JSON, say) instead of quoting it. Integers too long to print at all
    (Python refuses beyond 4,300 digits) are described by their size.
    """
    if as_text and isinstance(value, str):
        text = value
    else:
        try:
            text = repr(value)
        except ValueError:  # an int too large to convert to a string
            bits = value.bit_length() if isinstance(value, int) else 0
            return f"<a whole number of about {int(bits * 0.30103) + 1:,} digits>"
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)  # not counting quotes
    return f"{text[:limit]}…({length:,} chars)"


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
            f"{command}: order {shorten(order_id)} has no line for SKU {shorten(sku)} "
            "(no reservation was ever recorded for it)"
        )


class OrderStateError(LedgerError, ValueError):
    """A command does not fit the order line's current state (e.g. fulfil a released line)."""

    def __init__(self, command: str, order_id: str, sku: str, state: str, detail: str) -> None:
        self.command, self.order_id, self.sku, self.state = command, order_id, sku, state
        super().__init__(f"{command}: order {shorten(order_id)} SKU {shorten(sku)} is {state}: "
                         f"{detail}")


class InvariantViolation(LedgerError, ValueError):
    """The command would break a ledger invariant (e.g. negative on-hand stock)."""


class StoreError(RacesimError, RuntimeError):
    """A storage backend failed, or a store URL could not be understood."""


class ScenarioError(RacesimError, ValueError):
    """A scenario file is malformed; the message names the file and the field."""
