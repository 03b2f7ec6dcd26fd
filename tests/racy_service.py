"""A deliberately racy HTTP stock service: check-then-act in a thread per request.

:func:`racy_service` serves the chaos protocol (:mod:`racesim.chaos.http`) with
``racesim serve``'s own server — a thread per connection — over the racy store of
``racy_engine.py``, but lends its ledger to every request at once instead of one at a
time: a reservation reads the SKU's row, sleeps ``pause_s`` (the database round trip of
a real handler), then writes, with no lock held. One request at a time it is the ledger
behind ``racesim serve`` exactly; two concurrent orders for the last unit can both get it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from racesim.ledger import Ledger
from racesim.ledger.pool import SharedEngine
from racesim.webhooks.server import WebhookServer
from racy_engine import RacyStore

PAUSE_S = 0.001
"""Seconds between reading a stock row and writing: a database round trip."""


class _Unlocked(SharedEngine):
    """Lends every request its own ledger over the one racy store, all at once."""

    def __init__(self, store: RacyStore) -> None:
        super().__init__(Ledger(store), owned=True)
        self.store = store
        self.url = "racy-memory://"

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Ledger]:
        yield Ledger(self.store)  # a ledger per request: its batch state is its own


def racy_service(pause_s: float = PAUSE_S) -> WebhookServer:
    """A started, tokenless loopback server over a fresh racy store; ``stop()`` it."""
    return WebhookServer(_Unlocked(RacyStore(pause_s=pause_s)), auth=False).start()
