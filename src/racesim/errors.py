"""The exceptions racesim raises.

Every error derives from :class:`RacesimError`, and also from the builtin exception
that fits it best, so callers can catch either ``RacesimError`` or, say, ``ValueError``.
Messages name the order, SKU, field or file involved and the value that was wrong —
through :func:`shorten`, so a 400-digit number or a 5 MB name is never echoed whole.

A store failure (:class:`StoreError`) says whether sending the same command again can
help, by its class and by its ``retryable`` attribute:

- :class:`StoreRetryable` — the transaction was rolled back through no fault of the
  command, and nothing of it was written: a deadlock, a serialization failure, a lock
  waited for beyond the store's ``timeout``, SQLite's "database is locked", a connection
  lost before the commit was sent, every pooled connection busy. Send the command again
  (after a pause; on a new store when the connection was lost).
- :class:`StoreRefused` — the database refused the write, or the store cannot be used as
  asked: a CHECK, UNIQUE or trigger violation, a schema version this racesim does not
  read, a bad store URL or option, a read-only file. The same command fails the same way.
- a plain :class:`StoreError` — anything else, notably a connection lost *while
  committing*: the write may or may not have been made, so read before sending it again.

``except StoreError`` still catches all three.
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
    "StoreRefused",
    "StoreRetryable",
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
    """A storage backend failed, or a store URL could not be understood.

    Raised as such only when the outcome is not known (see the module doc); most store
    failures are a :class:`StoreRetryable` or a :class:`StoreRefused`.
    """

    retryable: bool = False
    """Whether the same command may succeed if sent again: nothing of it was written."""


class StoreRetryable(StoreError):
    """The transaction was rolled back through no fault of the command: send it again.

    A deadlock, a serialization failure, a lock timeout, SQLite busy or locked, a
    connection lost before the commit; nothing of the command was written.
    """

    retryable = True


class StoreRefused(StoreError):
    """The database refused the write, or the store cannot be used as asked.

    A constraint violation, a schema version mismatch, a bad URL or option: sending the
    same command again fails the same way.
    """


class ScenarioError(RacesimError, ValueError):
    """A scenario file is malformed; the message names the file and the field."""
