"""Per-scenario values are made once per scenario object and forgotten with it."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np

from racesim.scenario import load_scenario
from racesim.sim.model import Simulation
from racesim.util.identity_cache import IdentityCache

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "race1_double_buy.toml"


class _Key:
    """A stand-in for a scenario: weakly referenceable, not hashable."""

    __hash__ = None  # type: ignore[assignment]


def test_a_value_is_made_once_per_object_and_dropped_with_it() -> None:
    cache: IdentityCache[_Key, list[int]] = IdentityCache()
    made: list[int] = []

    def make(key: _Key) -> list[int]:
        made.append(1)
        return [len(made)]

    first, second = _Key(), _Key()
    assert cache(first, make) is cache(first, make) == [1]
    assert cache(second, make) == [2] and len(cache) == 2
    del first
    gc.collect()
    assert len(cache) == 1 and cache(_Key(), make) == [3]  # a new object: made afresh


def test_replications_of_one_scenario_share_its_rules_and_costs() -> None:
    scenario = load_scenario(SCENARIO)
    one = Simulation(scenario, np.random.SeedSequence(1), store="memory://", tables=False)
    two = Simulation(scenario, np.random.SeedSequence(2), store="memory://", tables=False)
    assert one.rules is two.rules
    assert one.state().costs is two.state().costs is not None
    other = Simulation(load_scenario(SCENARIO), np.random.SeedSequence(1), store="memory://",
                       tables=False)
    assert other.rules is not one.rules and other.rules == one.rules
    for simulation in (one, two, other):
        simulation.engine.close()
