"""The stock ledger: an append-only event log with idempotent commands and projections.

>>> from racesim.ledger import Ledger
>>> ledger = Ledger.open("memory://")
>>> ledger.restock("SKU-1", 3, ref="PO-1", at=0).status
<CommandStatus.APPLIED: 'applied'>
>>> ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=5).status
<CommandStatus.RESERVED: 'reserved'>
>>> ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=9).status
<CommandStatus.DUPLICATE: 'duplicate'>
>>> ledger.available("SKU-1")
2
"""

from racesim.ledger.engine import Ledger
from racesim.ledger.events import (
    CommandResult,
    CommandStatus,
    Event,
    EventKind,
    OrderLine,
    OrderStatus,
    Stock,
)
from racesim.ledger.projection import Difference
from racesim.ledger.store import EventFilter, Store, Transaction, open_store, register_store

__all__ = [
    "CommandResult",
    "CommandStatus",
    "Difference",
    "Event",
    "EventFilter",
    "EventKind",
    "Ledger",
    "OrderLine",
    "OrderStatus",
    "Stock",
    "Store",
    "Transaction",
    "open_store",
    "register_store",
]
