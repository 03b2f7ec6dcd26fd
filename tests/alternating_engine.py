"""A chaos factory whose runs alternate: the real ledger, then the racy one, and so on.

``alternating_ledger(run_id)`` reads the run number R from a repeated run's id
(``s{SEED}r{R}``): odd runs get a :class:`~racesim.ledger.Ledger` over the run's one
locking memory store (linearizable), even runs the racy check-then-act ledger of
``racy_engine.py`` (caught every time at concurrency 8). So ``--repeat 5`` fails exactly
runs 2 and 4, whatever the threads do: the repeat report's counts, file names and exit
status can be checked against known numbers. Every worker of a run shares its store, as
handler processes share a database.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

from racesim.ledger import Ledger
from racesim.ledger.memory import MemoryStore

sys.path.insert(0, str(Path(__file__).parent))
from racy_engine import racy_ledger

_STORES: dict[str, MemoryStore] = {}
_REGISTRY_LOCK = threading.Lock()


class _RunStore(MemoryStore):
    """The locking memory store of one run, dropped from the registry when closed."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def close(self) -> None:
        with _REGISTRY_LOCK:
            _STORES.pop(self.run_id, None)


def alternating_ledger(run_id: str) -> Any:
    """The racy ledger on even-numbered runs, the real one on the others."""
    found = re.fullmatch(r"s\d+r(\d+)", run_id)
    if found is not None and int(found[1]) % 2 == 0:
        return racy_ledger(run_id)
    with _REGISTRY_LOCK:
        store = _STORES.get(run_id)
        if store is None:
            store = _STORES[run_id] = _RunStore(run_id)
    return Ledger(store)
