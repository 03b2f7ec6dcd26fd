"""Velocity classes A/B/C: SKUs ranked by orders, cut by cumulative share.

The classic ABC cut: rank SKUs by their share of orders, highest first; class A holds
the SKUs that make up the first :data:`A_CUT` (80 %) of orders, B the next ones up to
:data:`B_CUT` (95 %), C the long tail. The SKU whose share crosses a cut belongs to the
higher class (so a single SKU with 90 % of orders is A). Ties are ranked by name, so the
classes do not depend on the order the files were read in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["A_CUT", "B_CUT", "velocity_classes"]

A_CUT = 0.80
"""Class A: the fastest SKUs up to this cumulative share of orders."""

B_CUT = 0.95
"""Class B: the next ones up to this cumulative share; class C the rest."""


def velocity_classes(orders: dict[str, float]) -> dict[str, str]:
    """SKU → ``A``, ``B`` or ``C`` from each SKU's orders (or rate)."""
    ranked = sorted(orders, key=lambda sku: (-orders[sku], sku))
    values = np.array([orders[sku] for sku in ranked], dtype=float)
    total = values.sum()
    if total <= 0:
        return {sku: "C" for sku in ranked}
    before = (np.cumsum(values) - values) / total  # share of the SKUs ranked above
    return {sku: "A" if share < A_CUT else "B" if share < B_CUT else "C"
            for sku, share in zip(ranked, before, strict=True)}
