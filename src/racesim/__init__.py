"""racesim: how much stock to hide from each marketplace so you almost never oversell.

A real event-sourced stock ledger (:mod:`racesim.ledger`) driven by a SimPy model of
marketplaces with late, duplicated and reordered webhooks.

Importing the package is cheap: the ledger's names and ``__version__`` load on first
use (``from racesim import Ledger`` works as ever), so the pytest plugin
(:mod:`racesim.testing`), which pytest imports in every run where racesim is installed,
costs little more than the exceptions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from racesim.errors import (
    InvalidCommand,
    InvariantViolation,
    LedgerError,
    OrderStateError,
    RacesimError,
    ScenarioError,
    StoreError,
    StoreRefused,
    StoreRetryable,
    UnknownOrder,
)

if TYPE_CHECKING:
    from racesim.ledger import CommandStatus, EventKind, Ledger, OrderStatus, Stock

__version__: str

_LEDGER_NAMES = frozenset({"CommandStatus", "EventKind", "Ledger", "OrderStatus", "Stock"})

__all__ = [
    "CommandStatus",
    "EventKind",
    "InvalidCommand",
    "InvariantViolation",
    "Ledger",
    "LedgerError",
    "OrderStateError",
    "OrderStatus",
    "RacesimError",
    "ScenarioError",
    "Stock",
    "StoreError",
    "StoreRefused",
    "StoreRetryable",
    "UnknownOrder",
    "__version__",
]


def _installed_version() -> str:
    """The installed distribution's version (a source tree that was not installed: unknown)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("racesim")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """The ledger's names and ``__version__``, loaded on first use and then kept."""
    if name in _LEDGER_NAMES:
        value = getattr(importlib.import_module("racesim.ledger"), name)
    elif name == "__version__":
        value = _installed_version()
    else:
        raise AttributeError(f"module 'racesim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
