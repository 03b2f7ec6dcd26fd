"""Running integrals the metrics need: hidden unit-hours and visibility gaps.

Both are time integrals of piecewise-constant quantities, accumulated at each change so
that nothing has to be sampled on a grid.
"""

from __future__ import annotations

__all__ = ["HiddenStock", "VisibilityGaps"]


class HiddenStock:
    """∫ units withheld dt, per SKU.

    The model passes ``max(available, 0) − q`` (the listed quantity's shortfall) when
    every channel follows one rule — ``min(buffer, max(available, 0))`` without cap or
    threshold — else the demand-share-weighted mean of each channel's.
    """

    __slots__ = ("_since", "_withheld", "unit_seconds")

    def __init__(self, skus: int, start: float = 0.0) -> None:
        self._withheld: list[float] = [0] * skus
        self._since = [start] * skus
        self.unit_seconds = [0.0] * skus

    def update(self, now: float, sku: int, withheld: float) -> None:
        """The SKU now withholds ``withheld`` units."""
        self.unit_seconds[sku] += self._withheld[sku] * (now - self._since[sku])
        self._withheld[sku] = withheld
        self._since[sku] = now

    def close(self, now: float) -> None:
        """Account up to ``now`` (the end of the run)."""
        for sku, withheld in enumerate(self._withheld):
            self.update(now, sku, withheld)

    def restart(self, now: float) -> None:
        """Forget what was accumulated before ``now`` (the end of the warm-up)."""
        self.close(now)
        self.unit_seconds = [0.0] * len(self.unit_seconds)


class VisibilityGaps:
    """Seconds each listing shows 0 while its rule would list physically sellable stock.

    ``sellable[c][k]``: channel c's rule, applied to the units on the shelf and promised
    to no buyer, lists more than 0 (units beyond its buffer, and at least its threshold).
    """

    __slots__ = ("_listing_zero", "_open_since", "_sellable", "seconds")

    def __init__(self, channels: int, skus: int, listings: list[list[int]],
                 sellable: list[list[bool]]) -> None:
        self._listing_zero = [[value <= 0 for value in row] for row in listings]
        self._sellable = [list(row) for row in sellable]
        self._open_since: list[list[float | None]] = [[None] * skus for _ in range(channels)]
        self.seconds = [[0.0] * skus for _ in range(channels)]
        for channel in range(channels):
            for sku in range(skus):
                self._refresh(0.0, channel, sku)

    def _refresh(self, now: float, channel: int, sku: int) -> None:
        in_gap = self._listing_zero[channel][sku] and self._sellable[channel][sku]
        since = self._open_since[channel][sku]
        if in_gap and since is None:
            self._open_since[channel][sku] = now
        elif not in_gap and since is not None:
            self.seconds[channel][sku] += now - since
            self._open_since[channel][sku] = None

    def listing(self, now: float, channel: int, sku: int, value: int) -> None:
        """A listing changed."""
        zero = value <= 0
        if zero != self._listing_zero[channel][sku]:
            self._listing_zero[channel][sku] = zero
            self._refresh(now, channel, sku)

    def stock(self, now: float, sku: int, sellable: bool, channels: tuple[int, ...]) -> None:
        """Whether ``channels``' rule would list units physically there and unpromised."""
        rows = self._sellable
        if sellable != rows[channels[0]][sku]:  # the channels of one rule agree
            for channel in channels:
                rows[channel][sku] = sellable
                self._refresh(now, channel, sku)

    def restart(self, now: float) -> None:
        """Forget the gaps before ``now`` (the end of the warm-up); open ones restart now."""
        for row in self._open_since:
            for sku, since in enumerate(row):
                if since is not None:
                    row[sku] = now
        self.seconds = [[0.0] * len(row) for row in self.seconds]

    def close(self, now: float) -> None:
        """Close every open gap at the end of the run."""
        for channel, row in enumerate(self._open_since):
            for sku, since in enumerate(row):
                if since is not None:
                    self.seconds[channel][sku] += now - since
                    row[sku] = now
