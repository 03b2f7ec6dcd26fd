"""racesim's chaos harness in your own test suite: a pytest plugin and one assertion.

>>> from racesim.testing import assert_engine_survives
>>> assert_engine_survives("ledger", seeds=3, concurrency=1).passed
True

:func:`assert_engine_survives` runs seeds of hostile webhook deliveries against fresh
engines — one delivery at a time, audited after each (``concurrency=1``), or from K
threads at once with the history checked for linearizability — and fails with the seed,
the shrunk trace or the minimal non-linearizable timeline, and the ``racesim chaos``
commands that reproduce it (:mod:`~racesim.testing.survival`,
:mod:`~racesim.testing.failures`). The engine is a spec string (``"ledger"``,
``"python:FILE.py:FACTORY"``, ``"http://…"``) or a callable making one per run
(:mod:`~racesim.testing.factory`).

This package is the plugin pytest loads through the ``pytest11`` entry point
``racesim.testing`` (``-p racesim.testing`` from a source tree): the ``racesim_chaos``
fixture and the ``--racesim-seeds`` / ``--racesim-concurrency`` options
(:mod:`~racesim.testing.plugin`). Importing it loads neither numpy, pandas, SimPy, SciPy
nor matplotlib; a check imports them when it runs.
"""

from racesim.testing.plugin import ChaosHarness, pytest_addoption, racesim_chaos
from racesim.testing.survival import Survival, assert_engine_survives, check_engine

__all__ = [
    "ChaosHarness",
    "Survival",
    "assert_engine_survives",
    "check_engine",
    "pytest_addoption",
    "racesim_chaos",
]
