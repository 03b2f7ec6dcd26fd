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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from concurrent_mutants import shared_ledger
from racy_engine import racy_ledger


def alternating_ledger(run_id: str) -> Any:
    """The racy ledger on even-numbered runs, the real one on the others."""
    found = re.fullmatch(r"s\d+r(\d+)", run_id)
    if found is not None and int(found[1]) % 2 == 0:
        return racy_ledger(run_id)
    return shared_ledger(run_id)
