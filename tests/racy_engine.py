"""A deliberately racy stock engine: the real ledger over a store that does not lock.

Its transactions read and write the shared in-memory tables in place with no lock, and
pause after reading a stock row (``time.sleep(pause_s)``; 0 yields the interpreter) — the
check-then-act of a webhook handler that reads ``available``, makes a database round
trip, then writes. One delivery at a time it is the ledger exactly; from several threads
two reservations can both see the last unit, and two copies of one delivery can both be
written (its idempotency check, too, is a read before a write). ``racy_ledger(run_id)``
is a chaos factory: every worker of a run gets a ``Ledger`` over the run's one store, as
handler processes share a database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from racesim.ledger import Ledger
from racesim.ledger.events import Event, EventKind, Stock
from racesim.ledger.memory import MemoryStore, _MemoryTransaction

_STORES: dict[str, RacyStore] = {}
_REGISTRY_LOCK = threading.Lock()


class _RacyTransaction(_MemoryTransaction):
    """A memory transaction without the store's lock (its own undo log, no isolation)."""

    def __init__(self, store: RacyStore) -> None:
        super().__init__(store)
        self._racy_store = store  # for its pause: a new transaction serves each command

    def __enter__(self) -> _RacyTransaction:
        self._marks.append((len(self._undo), len(self._events)))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        undo_mark, event_mark = self._marks.pop()
        if exc_type is not None and len(self._undo) > undo_mark:  # wrote: roll back
            self._rollback_to(undo_mark, event_mark)

    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str,
               quantity: int, command: str, order_id: str = "", channel: str = "",
               ref: str = "", reason: str = "") -> Event | None:
        """Append even when another writer appended the same key since this one looked
        (no unique constraint): both copies count, as in a table without one."""
        keys = self._keys
        key = (command, sku, order_id, ref)
        if key in keys:
            self._undo += (keys, key, keys.pop(key))
        return super().append(at, recorded_at, kind, sku, quantity, command, order_id,
                              channel, ref, reason)

    def stock(self, sku: str) -> Stock:
        figures = super().stock(sku)
        time.sleep(self._racy_store.pause_s)  # the round trip
        return figures


class RacyStore(MemoryStore):
    """A memory store whose transactions neither lock nor isolate.

    ``pause_s``: seconds a transaction sleeps after reading a stock row, before it writes
    (0 yields the interpreter only).
    """

    def __init__(self, run_id: str = "", pause_s: float = 0.0) -> None:
        super().__init__()
        self.run_id = run_id
        self.pause_s = pause_s

    def transaction(self) -> _RacyTransaction:  # type: ignore[override]
        return _RacyTransaction(self)

    def close(self) -> None:
        with _REGISTRY_LOCK:
            _STORES.pop(self.run_id, None)


def racy_ledger(run_id: str) -> Any:
    """A ledger over the run's shared racy store (created by the run's first worker)."""
    with _REGISTRY_LOCK:
        store = _STORES.get(run_id)
        if store is None:
            store = _STORES[run_id] = RacyStore(run_id)
    return Ledger(store)
