"""A deliberately racy stock engine: the real ledger over a store that does not lock.

Its transactions read and write the shared in-memory tables in place with no lock, and
yield the interpreter (``time.sleep(0)``) after reading a stock row — the check-then-act
of a webhook handler that reads ``available``, makes a database round trip, then writes.
One delivery at a time it is the ledger exactly; from several threads two reservations
can both see the last unit. ``racy_ledger(run_id)`` is a chaos factory: every worker of
a run gets a ``Ledger`` over the run's one store, as handler processes share a database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from racesim.ledger import Ledger
from racesim.ledger.events import Stock
from racesim.ledger.memory import MemoryStore, _MemoryTransaction

_STORES: dict[str, RacyStore] = {}
_REGISTRY_LOCK = threading.Lock()


class _RacyTransaction(_MemoryTransaction):
    """A memory transaction without the store's lock (its own undo log, no isolation)."""

    def __enter__(self) -> _RacyTransaction:
        self._marks.append((len(self._undo), len(self._store._events)))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        undo_mark, event_mark = self._marks.pop()
        if exc_type is not None and len(self._undo) > undo_mark:  # wrote: roll back
            self._rollback_to(undo_mark, event_mark)

    def stock(self, sku: str) -> Stock:
        figures = super().stock(sku)
        time.sleep(0)  # the round trip between reading and writing
        return figures


class RacyStore(MemoryStore):
    """A memory store whose transactions neither lock nor isolate."""

    def __init__(self, run_id: str = "") -> None:
        super().__init__()
        self.run_id = run_id

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
