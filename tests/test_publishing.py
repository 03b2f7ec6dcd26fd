"""Per-channel publishing rules: a buffer, a cap and a threshold for each marketplace.

Channel c lists ``q = 0 if available − buffer < threshold else min(available − buffer,
cap)`` (:mod:`racesim.policy.publishing`), every sync mode carries that channel's own
value, and a rule given for one channel hides units from that channel only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from racesim.policy.buffers import FixedBuffer, SeedFormula, fixed
from racesim.policy.publishing import PublishRule, listed_quantity
from racesim.scenario import Scenario, parse_scenario
from racesim.sim.model import Simulation
from racesim.sim.results import SimulationResult

TWO_CHANNELS = """
name = "two-channels"
duration = "{duration}"
[[catalog]]
sku = "SKU-1"
initial_stock = {stock}
orders_per_day = {orders}
{restock}
[[channels]]
name = "slow"
share = 0.25
webhook.latency = {{ dist = "exponential", mean = "40s" }}
webhook.duplicates = {{ p2 = 0.2 }}
listing_latency = {{ dist = "exponential", mean = "2m" }}
[[channels]]
name = "fast"
share = 0.75
webhook.latency = {{ dist = "fixed", value = "5s" }}
listing_latency = {{ dist = "fixed", value = "5s" }}
[sync]
{sync}
[buffer]
policy = "fixed"
units = {buffer}
"""

RESTOCK = 'restock = { policy = "periodic", every = "3h", quantity = 12, lead_time = "1m" }'

SYNC_MODES = {
    "event_driven": 'mode = "event_driven"',
    "periodic_push_time": 'mode = "periodic_push_time"\ninterval = "2m"',
    "periodic_snapshot": 'mode = "periodic_snapshot"\ninterval = "2m"\nsnapshot_lag = "30s"',
    "periodic_delta": 'mode = "periodic_delta"\ninterval = "2m"',
    "compare_and_set": 'mode = "compare_and_set"\ninterval = "2m"',
}


def _scenario(sync: str = SYNC_MODES["event_driven"], *, stock: int = 20, orders: int = 150,
              buffer: int = 0, duration: str = "1d", restock: bool = True) -> Scenario:
    text = TWO_CHANNELS.format(sync=sync, stock=stock, orders=orders, buffer=buffer,
                               duration=duration, restock=RESTOCK if restock else "")
    return parse_scenario(text, source="two-channels")


def _run(scenario: Scenario, buffer: object = None, seed: int = 5) -> SimulationResult:
    return Simulation(scenario, seed, buffer=buffer).run()  # type: ignore[arg-type]


def _listings(result: SimulationResult, channel: str) -> pd.DataFrame:
    listings = result.tables()["listings"]
    return listings[listings["channel"] == channel]


# -- the rule itself -----------------------------------------------------------------


@pytest.mark.parametrize(("available", "buffer", "cap", "threshold", "listed"), [
    (10, 2, None, 0, 8),     # today's max(available − buffer, 0)
    (1, 2, None, 0, 0),
    (-3, 0, None, 0, 0),     # an oversold count lists nothing
    (10, 2, 5, 0, 5),        # capped
    (6, 2, 5, 0, 4),         # under the cap: as it is
    (10, 2, 5, 9, 0),        # 8 free, below the threshold 9: nothing
    (10, 2, 5, 8, 5),        # exactly the threshold lists (then capped)
    (3, 0, None, 3, 3),
    (2, 0, None, 3, 0),
])
def test_the_listed_quantity_is_buffer_then_cap_then_threshold(
        available: int, buffer: int, cap: int | None, threshold: int, listed: int) -> None:
    assert listed_quantity(available, buffer, cap, threshold) == listed
    rule = PublishRule(FixedBuffer(buffer), cap=cap, threshold=threshold)
    assert rule.listed("SKU-1", available, 0.0) == listed


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cap": 0}, "cap must be a positive whole number"),
    ({"cap": 2.5}, "cap must be a positive whole number"),
    ({"threshold": -1}, "threshold must be a whole number ≥ 0"),
])
def test_a_rule_refuses_a_bad_cap_or_threshold(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PublishRule(fixed(1), **kwargs)


def test_a_rule_whose_policy_needs_the_scenario_must_be_bound_first() -> None:
    rule = PublishRule(SeedFormula(min_units=1, percent=0, latency_multiple=0), cap=4)
    with pytest.raises(TypeError, match="bind the rule"):
        rule.listed("SKU-1", 10, 0.0)
    bound = rule.bind(_scenario())
    assert bound.cap == 4 and bound.listed("SKU-1", 10, 0.0) == 4
    assert bound.listed("SKU-1", 3, 0.0) == 2


# -- in the model --------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(SYNC_MODES))
def test_on_every_sync_mode_the_capped_channel_never_lists_above_its_cap(mode: str) -> None:
    scenario = _scenario(SYNC_MODES[mode])
    result = _run(scenario, {"slow": PublishRule(fixed(0), cap=3)})
    slow, fast = _listings(result, "slow"), _listings(result, "fast")
    assert len(slow) > 20 and slow["value"].max() <= 3
    assert fast["value"].max() > 3, "the other channel is not capped"
    pushes = result.tables()["pushes"]
    assert (pushes.loc[pushes["channel"] == "slow", "value"] <= 3).all()
    assert pushes.loc[pushes["channel"] == "fast", "value"].max() > 3


@pytest.mark.parametrize("mode", list(SYNC_MODES))
def test_on_every_sync_mode_a_threshold_pushes_0_instead_of_a_few_units(mode: str) -> None:
    scenario = _scenario(SYNC_MODES[mode])
    plain = _run(scenario)
    held = _run(scenario, {"fast": PublishRule(fixed(0), threshold=4)})

    def pushed(result: SimulationResult, channel: str) -> pd.Series:
        pushes = result.tables()["pushes"]
        return pushes.loc[(pushes["channel"] == channel) & pushes["applied"], "value"]

    few = pushed(plain, "fast").between(1, 3)
    assert few.any(), "without a threshold the listing is pushed 1–3 units at times"
    fast = pushed(held, "fast")
    assert not fast.between(1, 3).any() and (fast == 0).any()
    assert pushed(held, "slow").between(1, 3).any(), "the other channel keeps its rule"
    if mode != "periodic_delta":  # a delta is a change; absolute pushes show the value
        pushes = _listings(held, "fast")
        assert not pushes.loc[pushes["cause"] != "sale", "value"].between(1, 3).any()


def test_a_per_channel_buffer_hides_units_from_its_channel_only() -> None:
    scenario = _scenario(orders=200)
    result = _run(scenario, {"slow": fixed(4)})
    pushes = result.tables()["pushes"]
    both = pushes.pivot_table(index=["sku", "computed_at"], columns="channel",
                              values="value", aggfunc="first").dropna()
    assert len(both) > 20
    hidden = both["fast"] - both["slow"]
    assert (hidden == np.minimum(4, both["fast"])).all()
    per_channel = result.per_channel
    assert per_channel.loc["slow", "lost_sales_buffer"] > 0
    assert per_channel.loc["fast", "lost_sales_buffer"] == 0


def test_hidden_unit_hours_weigh_each_channel_by_its_share_of_demand() -> None:
    quiet = _scenario(orders=0, stock=10, duration="2d", restock=False)  # 10 units for 48 h
    assert _run(quiet, fixed(3)).summary.hidden_unit_hours == pytest.approx(3 * 48)
    assert _run(quiet, {"slow": fixed(3)}).summary.hidden_unit_hours == \
        pytest.approx(0.25 * 3 * 48)
    capped = {"slow": PublishRule(fixed(0), cap=4), "fast": PublishRule(fixed(1), cap=8)}
    expected = 0.25 * (10 - 4) * 48 + 0.75 * (10 - 8) * 48
    assert _run(quiet, capped).summary.hidden_unit_hours == pytest.approx(expected)


def test_one_rule_for_every_channel_is_todays_single_policy_bit_for_bit() -> None:
    scenario = _scenario(SYNC_MODES["periodic_delta"], buffer=2)
    today = _run(scenario).summary.to_dict()
    assert _run(scenario, {}).summary.to_dict() == today
    assert _run(scenario, fixed(2)).summary.to_dict() == today
    assert _run(scenario, {"slow": fixed(2), "fast": PublishRule(fixed(2))}
                ).summary.to_dict() == today
    assert _run(scenario, fixed(0)).summary.to_dict() != today


def test_a_buffer_naming_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="no channel named 'ebay'"):
        Simulation(_scenario(), 1, buffer={"ebay": fixed(1)})
