"""Projections: stock levels and order lines as a fold over the event log.

The stores keep these figures up to date incrementally, in the same transaction as each
append; this module recomputes them from the events alone, which is how ``verify()``,
``rebuild()`` and ``stock(as_of=…)`` get a second, independent answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock

__all__ = ["Difference", "Replay", "apply_to_stock", "compare", "replay"]


def apply_to_stock(stock: Stock, event: Event) -> Stock:
    """The stock level after ``event`` (same SKU assumed)."""
    kind, qty = event.kind, event.quantity
    on_hand, reserved = stock.on_hand, stock.reserved
    shipped, returned = stock.shipped, stock.returned
    if kind is EventKind.RESTOCK or kind is EventKind.ADJUST:
        on_hand += qty
    elif kind is EventKind.RESERVE:
        reserved += qty
    elif kind is EventKind.RELEASE:
        reserved -= qty
    elif kind is EventKind.FULFILL:
        reserved -= qty
        on_hand -= qty
        shipped += qty
    elif kind is EventKind.RETURN:
        on_hand += qty
        returned += qty
    return Stock(stock.sku, on_hand, reserved, shipped, returned, event.seq)


_STATUS_AFTER = {
    EventKind.RESERVE: OrderStatus.RESERVED,
    EventKind.REJECT: OrderStatus.REJECTED,
    EventKind.RELEASE: OrderStatus.RELEASED,
    EventKind.FULFILL: OrderStatus.FULFILLED,
}


@dataclass
class Replay:
    """Stock levels and order lines rebuilt from a sequence of events."""

    stock: dict[str, Stock] = field(default_factory=dict)
    lines: dict[tuple[str, str], OrderLine] = field(default_factory=dict)
    last_seq: int = 0
    last_at: float | None = None

    def apply(self, event: Event) -> None:
        """Fold one event into the figures."""
        sku = event.sku
        self.stock[sku] = apply_to_stock(self.stock.get(sku) or Stock.empty(sku), event)
        self.last_seq, self.last_at = event.seq, event.recorded_at
        key = (event.order_id, sku)
        if event.kind in (EventKind.RESERVE, EventKind.REJECT):
            self.lines[key] = OrderLine(event.order_id, sku, event.channel, event.quantity,
                                        _STATUS_AFTER[event.kind], 0, event.seq)
        elif event.kind in (EventKind.RELEASE, EventKind.FULFILL):
            line = self.lines[key]
            self.lines[key] = line._replace(status=_STATUS_AFTER[event.kind], seq=event.seq)
        elif event.kind is EventKind.RETURN:
            line = self.lines[key]
            self.lines[key] = line._replace(returned=line.returned + event.quantity)


def replay(events: Iterable[Event]) -> Replay:
    """Fold ``events`` (in sequence order) into stock levels and order lines."""
    result = Replay()
    for event in events:
        result.apply(event)
    return result


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement between the stored projection and a replay of the events."""

    table: str
    key: str
    field: str
    stored: object
    replayed: object

    def __str__(self) -> str:
        return (f"{self.table}[{self.key}].{self.field}: stored {self.stored!r}, "
                f"replay gives {self.replayed!r}")


def compare(stored: Replay, replayed: Replay) -> list[Difference]:
    """Every field where ``stored`` differs from ``replayed`` (empty: they agree)."""
    diffs: list[Difference] = []
    diffs.extend(_compare_table("stock", stored.stock, replayed.stock))
    diffs.extend(_compare_table("order_lines", stored.lines, replayed.lines))
    return diffs


_Key = TypeVar("_Key", str, tuple[str, str])
_Row = TypeVar("_Row", Stock, OrderLine)


def _compare_table(table: str, ours: dict[_Key, _Row],
                   theirs: dict[_Key, _Row]) -> list[Difference]:
    """:func:`compare` for one table: ``stock`` (keyed by SKU) or ``order_lines``."""
    diffs: list[Difference] = []
    for key in sorted(set(ours) | set(theirs), key=str):
        a, b = ours.get(key), theirs.get(key)
        label = key if isinstance(key, str) else "/".join(key)
        if a is None or b is None:
            diffs.append(Difference(table, label, "*", a, b))
            continue
        for name in a._fields:
            if getattr(a, name) != getattr(b, name):
                diffs.append(Difference(table, label, name, getattr(a, name),
                                        getattr(b, name)))
    return diffs
