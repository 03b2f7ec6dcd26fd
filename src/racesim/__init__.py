"""racesim: how much stock to hide from each marketplace so you almost never oversell.

A real event-sourced stock ledger (:mod:`racesim.ledger`) driven by a SimPy model of
marketplaces with late, duplicated and reordered webhooks.
"""

from importlib.metadata import PackageNotFoundError, version

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
from racesim.ledger import CommandStatus, EventKind, Ledger, OrderStatus, Stock

try:
    __version__ = version("racesim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

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
