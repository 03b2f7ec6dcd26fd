"""Which SKUs the tuner tunes together: one buffer per SKU class, or one for the catalog.

The tuner (:mod:`racesim.study.tune`) searches a parameter per class, and the pre-flight
estimate (:mod:`racesim.study.budget`) counts the replications the smallest class needs;
both take the grouping from here, so they cannot disagree on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["PER_CLASS_MIN_SKUS", "sku_classes"]

PER_CLASS_MIN_SKUS = 30
"""Catalogs smaller than this are tuned as a whole: small classes have too few orders."""


def sku_classes(scenario: Scenario, per_class: bool) -> dict[str, list[str]]:
    """SKU names by class label, in catalog order; one class "*" for small catalogs, for
    catalogs with fewer than two labels or an unlabelled SKU, or when classes are off."""
    skus = scenario.skus()
    labels = {sku.class_ for sku in skus}
    if not per_class or len(skus) < PER_CLASS_MIN_SKUS or len(labels) < 2 or None in labels:
        return {"*": [sku.sku for sku in skus]}
    named = cast(set[str], labels)  # None is not among them (checked above)
    return {label: [sku.sku for sku in skus if sku.class_ == label] for label in sorted(named)}
