"""A marketplace: its own copy of each listing's quantity, sold against at once.

Buyers see only the marketplace's listing. A sale decrements it immediately (as real
marketplaces do) whatever the seller's ledger says; the seller's pushes overwrite it
(absolute), shift it (delta) or overwrite it only if it still holds the expected value
(compare-and-set). Every change is logged, for the listings-over-time table.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Marketplace"]

# Causes of a listing change, as logged.
SALE, PUSH, DELTA, CAS = "sale", "push", "delta", "cas"


class Marketplace:
    """One channel's listings, indexed by SKU number."""

    __slots__ = ("index", "listing", "log", "name", "on_change")

    def __init__(self, name: str, index: int, initial: list[int],
                 on_change: Callable[[float, int, int, int], None], log: list | None) -> None:
        self.name = name
        self.index = index
        self.listing = list(initial)
        self.on_change = on_change  # (time, channel index, sku, new value) -> None
        self.log = log  # (time, channel, sku, value, cause) rows, or None to skip

    def _set(self, now: float, sku: int, value: int, cause: str) -> None:
        """The listing becomes ``value``, a change: logged and reported."""
        self.listing[sku] = value
        if self.log is not None:
            self.log.append((now, self.index, sku, value, cause))
        self.on_change(now, self.index, sku, value)

    def sell(self, now: float, sku: int, units: int) -> bool:
        """A buyer wants ``units``: True (and the listing drops) if the listing shows enough."""
        listed = self.listing[sku]
        if listed < units:
            return False
        if units:
            self._set(now, sku, listed - units, SALE)
        return True

    def set_absolute(self, now: float, sku: int, value: int) -> int:
        """Apply an absolute push: the listing becomes ``value``; returns what it showed."""
        before = self.listing[sku]
        if before != value:
            self._set(now, sku, value, PUSH)
        return before

    def add_delta(self, now: float, sku: int, delta: int) -> None:
        """Apply a delta push to the signed quantity (it may go below zero).

        Marketplaces that accept adjustments keep a signed counter (a negative one shows
        as 0 and sells nothing); clamping at zero would lose the units the seller's
        later deltas count on, and the listing would drift upwards.
        """
        if delta:
            self._set(now, sku, self.listing[sku] + delta, DELTA)

    def compare_and_set(self, now: float, sku: int, expected: int, value: int) -> bool:
        """Set the listing to ``value`` only if it still shows ``expected``."""
        if self.listing[sku] != expected:
            return False
        if value != expected:
            self._set(now, sku, value, CAS)
        return True
