"""A store that breaks the ledger's contract on purpose: it forgets every command it saw.

Used by ``test_ledger_contract.py`` to show that the contract suite fails such a store,
in this process and in a store author's own pytest run (so this module needs no pytest).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from racesim.ledger import Event, EventKind, OrderLine, OrderStatus, Stock, Transaction
from racesim.ledger.memory import MemoryStore

__all__ = ["ForgetfulStore"]


class _Forgetful(Transaction):
    """A transaction that never finds an earlier command: the store loses idempotency."""

    def __init__(self, inner: Transaction) -> None:
        self._inner = inner

    def last_at(self) -> float | None:
        return self._inner.last_at()

    def stock(self, sku: str) -> Stock:
        return self._inner.stock(sku)

    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        return self._inner.order_line(order_id, sku)

    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        return None  # the bug: every repeat looks new

    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str, quantity: int,
               command: str, order_id: str = "", channel: str = "", ref: str = "",
               reason: str = "") -> Event | None:
        return self._inner.append(at, recorded_at, kind, sku, quantity, command, order_id,
                                  channel, ref, reason)

    def put_stock(self, stock: Stock) -> None:
        self._inner.put_stock(stock)

    def insert_line(self, order_id: str, sku: str, channel: str, quantity: int,
                    status: OrderStatus, seq: int) -> bool:
        return self._inner.insert_line(order_id, sku, channel, quantity, status, seq)

    def update_line(self, line: OrderLine) -> None:
        self._inner.update_line(line)


class ForgetfulStore(MemoryStore):
    """The memory store behind a transaction that forgets every command it has seen."""

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:  # type: ignore[override]
        with super().transaction() as inner:
            yield _Forgetful(inner)
