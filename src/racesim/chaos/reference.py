"""The reference model: what a correct engine holds after each delivery, and nothing more.

It is deliberately plain — two counters per SKU, a dict of order lines, a dict of keys
seen — and written apart from the ledger, so that the auditor compares the engine
against an independent statement of the rules rather than against itself:

- every webhook has a natural key; a repeat with the same content is a *duplicate* and
  changes nothing, a repeat with other content is a *mismatch* and changes nothing;
- a new order line is *reserved* if ``on_hand − reserved`` covers it, else *rejected*
  (recorded, so every later copy is rejected too);
- a cancellation frees a reserved line (a rejected line has nothing to free); a shipment
  moves a reserved line out of stock; a return puts back at most what shipped; a count
  may not take on-hand stock below zero;
- a delivery that does not fit yet (a cancellation before its order, a return before its
  shipment) is *refused*: the engine must refuse it too, so that the sender redelivers.
"""

from __future__ import annotations

import bisect
from typing import Any, NamedTuple

from racesim.webhooks.format import Webhook

__all__ = ["Expected", "Figures", "LogFold", "ReferenceModel"]


class Figures(NamedTuple):
    """A SKU's stock in units: on hand (in the building) and reserved (promised)."""

    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """Units that may still be promised."""
        return self.on_hand - self.reserved


_ZERO = Figures(0, 0)


class Expected(NamedTuple):
    """What a correct engine does with one delivery.

    ``status``: ``reserved``, ``rejected``, ``applied``, ``duplicate``, ``mismatch`` or
    ``refused``; ``decision``: for a repeated order, whether the line was reserved or
    rejected; ``reason``: why a delivery is refused.
    """

    status: str
    decision: str = ""
    reason: str = ""


class ReferenceModel:
    """Applies deliveries by the rules above and remembers every SKU's figures over time."""

    def __init__(self) -> None:
        self._figures: dict[str, Figures] = {}
        # (order_id, sku) -> [channel, quantity, status, returned]
        self._lines: dict[tuple[str, str], list] = {}
        self._seen: dict[tuple[str, str, str, str], tuple[int, str]] = {}
        self._times: dict[str, list[float]] = {}
        self._history: dict[str, list[Figures]] = {}
        self._key: tuple[Any, ...] | None = None  # state_key(), until the next apply()

    def clone(self) -> ReferenceModel:
        """A copy that applies deliveries without changing this one (its history starts
        empty: a linearizability search needs the state, not the figures over time)."""
        twin = ReferenceModel()
        twin._figures = dict(self._figures)
        twin._lines = {key: list(line) for key, line in self._lines.items()}
        twin._seen = dict(self._seen)
        return twin

    def state_key(self) -> tuple[Any, ...]:
        """The state as a hashable value: equal keys, equal answers to every delivery."""
        if self._key is None:
            self._key = self._state_key()
        return self._key

    def _state_key(self) -> tuple[Any, ...]:
        return (tuple(sorted(self._figures.items())),
                tuple(sorted((key, tuple(line)) for key, line in self._lines.items())),
                tuple(sorted(self._seen.items())))

    @property
    def skus(self) -> list[str]:
        """Every SKU a delivery has changed, sorted."""
        return sorted(self._figures)

    def figures(self, sku: str) -> Figures:
        """The SKU's figures now."""
        return self._figures.get(sku, _ZERO)

    def figures_at(self, sku: str, at: float) -> Figures:
        """The SKU's figures after every change made at or before time ``at``."""
        times = self._times.get(sku)
        if not times:
            return _ZERO
        i = bisect.bisect_right(times, at)
        return self._history[sku][i - 1] if i else _ZERO

    def line_status(self, order_id: str, sku: str) -> str:
        """``reserved``, ``rejected``, ``released``, ``fulfilled``, or ``""`` if unknown."""
        line = self._lines.get((order_id, sku))
        return line[2] if line else ""

    def apply(self, webhook: Webhook) -> Expected:
        """Apply one delivery at its ``at`` and say what a correct engine does with it."""
        self._key = None
        w = webhook
        if w.type == "order.created":
            return self._order(w)
        if w.type in ("order.cancelled", "order.shipped"):
            return self._lifecycle(w)
        content = (w.quantity, w.reason)
        seen = self._seen.get(w.key)
        if seen is not None:
            return Expected("duplicate" if seen == content else "mismatch")
        now = self.figures(w.sku)
        if w.type == "stock.received":
            after = Figures(now.on_hand + w.quantity, now.reserved)
        elif w.type == "stock.adjusted":
            if now.on_hand + w.quantity < 0:
                return Expected("refused", reason=f"only {now.on_hand} on hand")
            after = Figures(now.on_hand + w.quantity, now.reserved)
        else:  # return.received
            line = self._lines.get((w.order_id, w.sku))
            if line is None or line[2] != "fulfilled":
                return Expected("refused", reason="the line has not shipped")
            if line[3] + w.quantity > line[1]:
                return Expected("refused", reason="more back than shipped")
            line[3] += w.quantity
            after = Figures(now.on_hand + w.quantity, now.reserved)
        self._seen[w.key] = content
        self._set(w.sku, w.at, after)
        return Expected("applied")

    def _order(self, w: Webhook) -> Expected:
        line = self._lines.get((w.order_id, w.sku))
        if line is not None:
            decision = "rejected" if line[2] == "rejected" else "reserved"
            same = line[0] == w.channel and line[1] == w.quantity
            return Expected("duplicate" if same else "mismatch", decision)
        now = self.figures(w.sku)
        if now.available >= w.quantity:
            self._lines[(w.order_id, w.sku)] = [w.channel, w.quantity, "reserved", 0]
            self._set(w.sku, w.at, Figures(now.on_hand, now.reserved + w.quantity))
            return Expected("reserved", "reserved")
        self._lines[(w.order_id, w.sku)] = [w.channel, w.quantity, "rejected", 0]
        return Expected("rejected", "rejected")

    def _lifecycle(self, w: Webhook) -> Expected:
        line = self._lines.get((w.order_id, w.sku))
        if line is None:
            return Expected("refused", reason="no such order line yet")
        cancel = w.type == "order.cancelled"
        status = line[2]
        if status == "rejected":
            if cancel:
                return Expected("duplicate", "rejected")
            return Expected("refused", "rejected", "the reservation was refused")
        if status == ("released" if cancel else "fulfilled"):
            return Expected("duplicate", "reserved")
        if status != "reserved":
            return Expected("refused", "reserved", f"the line is {status}")
        now, quantity = self.figures(w.sku), line[1]
        if cancel:
            line[2] = "released"
            self._set(w.sku, w.at, Figures(now.on_hand, now.reserved - quantity))
        else:
            if now.on_hand < quantity:
                return Expected("refused", "reserved", f"only {now.on_hand} on hand")
            line[2] = "fulfilled"
            self._set(w.sku, w.at, Figures(now.on_hand - quantity, now.reserved - quantity))
        return Expected("applied", "reserved")

    def _set(self, sku: str, at: float, figures: Figures) -> None:
        self._figures[sku] = figures
        times = self._times.setdefault(sku, [])
        history = self._history.setdefault(sku, [])
        if times and times[-1] == at:
            history[-1] = figures
        else:
            times.append(at)
            history.append(figures)


_ON_HAND = {"RESTOCK": 1, "RETURN": 1, "ADJUST": 1, "FULFILL": -1}
_RESERVED = {"RESERVE": 1, "RELEASE": -1, "FULFILL": -1}


class LogFold:
    """An engine's own event log folded into figures, event by event (projection = replay).

    Independent of the ledger's projection code: it reads each event's kind, SKU and
    quantity and nothing else. It also notices an order line reserved twice in the log.
    """

    def __init__(self) -> None:
        self.figures: dict[str, Figures] = {}
        self.last_seq = 0
        self._reserved_lines: set[tuple[str, str]] = set()

    def add(self, event: Any) -> str:
        """Fold one event in; return a problem found in the log itself, or ``""``.

        ``event`` is any record with ``seq``, ``kind``, ``sku``, ``quantity`` and
        ``order_id`` (a ledger :class:`~racesim.ledger.Event`, or a user engine's own).
        """
        kind = getattr(event.kind, "value", event.kind).upper()  # StrEnum, Enum or str
        sku, quantity, seq = event.sku, event.quantity, event.seq
        problem = ""
        if seq != self.last_seq + 1:
            problem = f"event seq {seq} follows {self.last_seq}: the log has a gap or a repeat"
        self.last_seq = seq
        if kind == "RESERVE":
            line = (event.order_id, sku)
            if line in self._reserved_lines:
                problem = f"order {line[0]!r} SKU {sku!r} has two RESERVE events"
            self._reserved_lines.add(line)
        now = self.figures.get(sku, _ZERO)
        self.figures[sku] = Figures(now.on_hand + _ON_HAND.get(kind, 0) * quantity,
                                    now.reserved + _RESERVED.get(kind, 0) * quantity)
        return problem
