"""The units a buffer costs: the claims of buyers it turned away, and their give-back.

A buyer turned away by the buffer (cause ``buffer``) wanting u units of a SKU *claims*
the units it could have bought had nothing been hidden: min(u, max(available − claimed,
0)), the available units no earlier such buyer of the same spell claimed. A claim made
after the warm-up counts at once in its channel's ``lost_buffer_units``.

The margin a buffer costs is the counterfactual difference "units sold without the
buffer − units sold with it", so a claimed unit later sold (on any channel) is not lost:
without the buffer the claimant would have had it and the later buyer nothing — one
sale either way. So when available falls (a reservation, a negative adjust) below the
units claimed, the excess d = claimed − max(available, 0) is *given back*, taken from
the most recent claims first: claimed −= d and each claim's channel's
``lost_buffer_units`` −= its share (a claim made before the warm-up was never counted,
so its give-back is not subtracted either). A *spell* ends when available rises (a
restock, release, return or positive adjust) or at an order-up-to review that would
have reordered had the claimed units sold; its loss is the claims still outstanding
then, and the next spell starts from none.
"""

from __future__ import annotations

__all__ = ["Claims"]


class Claims:
    """Every SKU's claims in its current spell, with their channel and whether counted.

    ``claimed`` is the model's per-SKU list (``SkuStock.claimed``: units claimed, ≤
    max(available, 0) after every engine write); ``lost`` is each channel's
    ``lost_buffer_units`` (per SKU), which this class alone writes.
    """

    __slots__ = ("_open", "claimed", "lost")

    def __init__(self, claimed: list[int], lost: list[list[int]]) -> None:
        self.claimed = claimed
        self.lost = lost
        # per SKU: [channel, units, counted] per claim still outstanding, oldest first
        self._open: list[list[list[int]]] = [[] for _ in claimed]

    def claim(self, k: int, c: int, units: int, available: int, counted: bool) -> None:
        """A buyer on channel ``c`` turned away by the buffer wanted ``units`` of SKU ``k``."""
        unclaimed = available - self.claimed[k]
        claim = units if units <= unclaimed else unclaimed if unclaimed > 0 else 0
        if claim:
            self.claimed[k] += claim
            self._open[k].append([c, claim, int(counted)])
            if counted:
                self.lost[c][k] += claim

    def available_fell(self, k: int, available: int) -> None:
        """Available of SKU ``k`` fell to ``available``: give back the claims beyond it."""
        excess = self.claimed[k] - (available if available > 0 else 0)
        if excess <= 0:
            return
        self.claimed[k] -= excess
        claims = self._open[k]
        while excess:
            last = claims[-1]
            c, units, counted = last
            back = units if units <= excess else excess
            if counted:
                self.lost[c][k] -= back
            excess -= back
            if back == units:
                claims.pop()
            else:
                last[1] = units - back

    def end_spell(self, k: int) -> None:
        """SKU ``k``'s spell ends: its outstanding claims stay lost; none are open."""
        self.claimed[k] = 0
        self._open[k].clear()
