"""The tuner and its pre-flight estimate group SKUs into classes by the same rule."""

from __future__ import annotations

from pathlib import Path

from racesim.scenario import load_scenario
from racesim.study.budget import tune_replications
from racesim.study.classes import PER_CLASS_MIN_SKUS, sku_classes

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_a_large_labelled_catalog_is_tuned_per_class() -> None:
    scenario = load_scenario(SCENARIOS / "high_volume.toml")
    classes = sku_classes(scenario, per_class=True)
    assert list(classes) == ["A", "B", "C"]
    names = [sku.sku for sku in scenario.skus()]
    assert sorted(name for members in classes.values() for name in members) == sorted(names)
    assert all(sku.class_ == label for label, members in classes.items()
               for sku in scenario.skus() if sku.sku in members)
    assert list(sku_classes(scenario, per_class=False)) == ["*"]


def test_a_small_catalog_is_tuned_as_a_whole() -> None:
    scenario = load_scenario(SCENARIOS / "small_seller.toml")  # labelled, but 8 SKUs
    assert len(scenario.skus()) < PER_CLASS_MIN_SKUS
    assert sku_classes(scenario, per_class=True) == {"*": [s.sku for s in scenario.skus()]}


def test_the_estimate_sizes_replications_for_the_quietest_class() -> None:
    scenario = load_scenario(SCENARIOS / "high_volume.toml")
    # The C class sells a twentieth of the catalog's orders, so it needs more replications
    # to show a rate under a tight target than the whole catalog does.
    whole = tune_replications(scenario, 1, 100_000, 0.0003, per_class=False)
    by_class = tune_replications(scenario, 1, 100_000, 0.0003, per_class=True)
    assert by_class > 10 * whole
