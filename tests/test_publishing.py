"""Per-channel publishing rules: a buffer, a cap and a threshold for each marketplace.

Channel c lists ``q = 0 if available − buffer < threshold else min(available − buffer,
cap)`` (:mod:`racesim.policy.publishing`), every sync mode carries that channel's own
value, and a rule given for one channel hides units from that channel only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from racesim.errors import ScenarioError
from racesim.policy.buffers import FixedBuffer, SeedFormula, allocation, fixed
from racesim.policy.publishing import PublishRule, listed_quantity
from racesim.report.compute import current_value
from racesim.report.formats import plain_publishing
from racesim.report.summary import describe_publishing
from racesim.scenario import (
    AllocationBufferConfig,
    FixedBufferConfig,
    PublishConfig,
    Scenario,
    load_scenario,
    parse_scenario,
)
from racesim.sim.model import Simulation
from racesim.sim.results import SimulationResult
from racesim.sim.rules import resolve_rules
from racesim.study.replications import run_replication
from racesim.study.tune import FAMILIES

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


# -- the allocation kind -------------------------------------------------------------


@pytest.mark.parametrize(("share", "available", "buffer"), [
    (0.5, 10, 5), (0.5, 9, 5), (0.3, 10, 7), (0.29, 100, 71), (1.0, 7, 0), (0.5, -2, 0),
    (0.1, 3, 3),
])
def test_allocation_lists_the_floor_of_its_share(share: float, available: int,
                                                 buffer: int) -> None:
    assert allocation(share)("SKU-1", available, 0.0) == buffer


def test_allocation_refuses_a_share_outside_0_to_1() -> None:
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match=r"share must be in \(0, 1\]"):
            allocation(share)


def test_an_allocation_buffer_in_the_scenario_lists_a_share_on_its_channel() -> None:
    scenario = _scenario(restock=False, orders=0, stock=10).with_overrides(
        {"channels[slow].publish.buffer": {"policy": "allocation", "share": 0.35}})
    assert isinstance(scenario.channels[0].publish.buffer, AllocationBufferConfig)
    result = _run(scenario)
    assert result.summary.hidden_unit_hours == pytest.approx(0.25 * (10 - 3) * 24)
    assert "allocation" in FAMILIES


# -- the scenario format -------------------------------------------------------------

PUBLISH = 'publish = { buffer = { policy = "fixed", units = 2 }, cap = 6, threshold = 3 }'


def _with_publish(line: str, channel: str = "slow", **kwargs: object) -> Scenario:
    text = TWO_CHANNELS.format(sync=SYNC_MODES["event_driven"], stock=20, orders=150,
                               buffer=1, duration="1d", restock=RESTOCK)
    text = text.replace(f'name = "{channel}"\n', f'name = "{channel}"\n{line}\n')
    return parse_scenario(text, source="p.toml")


def test_a_scenario_publish_record_is_the_channels_rule_in_the_model() -> None:
    scenario = _with_publish(PUBLISH)
    publish = scenario.channels[0].publish
    assert publish == PublishConfig(buffer=FixedBufferConfig(units=2), cap=6, threshold=3)
    assert scenario.channels[1].publish is None
    rules = resolve_rules(scenario, None)
    assert rules.group_of == (0, 1)
    assert rules.rules[0].cap == 6 and rules.rules[0].threshold == 3
    assert rules.rules[1].plain and rules.rules[1].listed("SKU-1", 5, 0.0) == 4  # [buffer]
    from_file = _run(scenario)
    given = _run(_scenario(buffer=1), {"slow": PublishRule(fixed(2), cap=6, threshold=3)})
    assert from_file.summary.to_dict() == given.summary.to_dict()
    assert parse_scenario(scenario.to_toml(), source="again") == scenario


def test_a_policy_given_for_a_channel_keeps_the_scenarios_cap_and_threshold() -> None:
    scenario = _with_publish(PUBLISH)
    rules = resolve_rules(scenario, {"slow": fixed(0)})
    assert rules.rules[0] == PublishRule(fixed(0), cap=6, threshold=3)
    one = resolve_rules(scenario, fixed(4))  # one policy: every channel's buffer
    assert [rule.buffer for rule in one.rules] == [fixed(4), fixed(4)]
    assert one.rules[0].cap == 6 and one.rules[1].cap is None
    whole = resolve_rules(scenario, {"slow": PublishRule(fixed(1))})
    assert whole.uniform and whole.rules[0] == PublishRule(fixed(1))


def test_a_publish_record_without_a_buffer_takes_the_scenarios() -> None:
    scenario = _with_publish("publish = { cap = 6 }")
    assert resolve_rules(scenario, None).rules[0] == PublishRule(fixed(1), cap=6)


@pytest.mark.parametrize(("line", "message"), [
    ("publish = { cap = 0 }", "p.toml: channels[0].publish.cap: must be ≥ 1 (got 0)"),
    ("publish = { cap = 2.5 }", "channels[0].publish.cap: must be a whole number (got 2.5)"),
    ("publish = { cap = 2000000000 }", "channels[0].publish.cap: must be ≤ 1000000000"),
    ("publish = { threshold = -1 }", "channels[0].publish.threshold: must be ≥ 0 (got -1)"),
    ("publish = { threshold = 2000000000 }", "channels[0].publish.threshold: must be ≤"),
    ("publish = { caps = 3 }", "channels[0].publish.caps: unknown field; did you mean 'cap'?"),
    ('publish = { buffer = { policy = "allocation", share = 0 } }',
     "channels[0].publish.buffer.share: must be > 0 (got 0)"),
    ('publish = { buffer = { policy = "allocation", share = 1.5 } }',
     "channels[0].publish.buffer.share: must be ≤ 1 (got 1.5)"),
    ('publish = { buffer = { units = 2 } }',
     "channels[0].publish.buffer.policy: required field is missing"),
    ("publish = 3", "channels[0].publish: must be a table (got 3)"),
])
def test_a_bad_publish_record_is_one_line_naming_the_field(line: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        _with_publish(line)
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_overrides_reach_the_publish_fields_by_name_or_position() -> None:
    scenario = _scenario().with_overrides({"channels[slow].publish.cap": 4,
                                           "channels[1].publish.threshold": 2})
    assert scenario.channels[0].publish == PublishConfig(cap=4)
    assert scenario.channels[1].publish == PublishConfig(threshold=2)
    with pytest.raises(ScenarioError, match=r"overrides: channels\[0\]\.publish\.cap: must be ≥ 1"):
        _scenario().with_overrides({"channels[slow].publish.cap": 0})


def test_the_report_names_each_channels_rule_when_they_differ() -> None:
    assert describe_publishing(_scenario(buffer=2)) == "fixed: 2 units of every SKU"
    assert plain_publishing(_scenario(buffer=2)) == "2 units of every SKU"
    assert plain_publishing(_with_publish(PUBLISH)) == (
        "slow: 2 units of every SKU, at most 6 units listed, none listed while fewer than "
        "3 units are free; fast: 1 unit of every SKU")
    same = _scenario(buffer=2).with_overrides({"channels[0].publish.cap": 5,
                                               "channels[1].publish.cap": 5})
    assert plain_publishing(same) == "2 units of every SKU, at most 5 units listed"


def test_the_report_places_todays_buffer_on_the_ladder_only_when_every_channel_has_it() -> None:
    fixed_family = FAMILIES["fixed"]
    assert current_value(_with_publish("publish = { cap = 6 }"), fixed_family) == 1.0
    assert current_value(_with_publish(PUBLISH), fixed_family) is None


def test_one_rule_given_for_every_channel_replaces_each_whole_rule() -> None:
    rules = resolve_rules(_with_publish(PUBLISH), PublishRule(fixed(2), threshold=1))
    assert rules.uniform and rules.rules[0] == PublishRule(fixed(2), threshold=1)


def test_a_listing_held_at_0_by_its_threshold_is_no_visibility_gap() -> None:
    quiet = _scenario(orders=0, stock=2, restock=False)  # 2 units on the shelf all day
    held = _run(quiet, {"slow": PublishRule(fixed(0), threshold=3)}).per_channel
    assert held.loc["slow", "visibility_gap_s"] == 0.0  # the rule lists 0: not a lag
    assert held.loc["fast", "visibility_gap_s"] == 0.0
    assert _listings(_run(quiet, {"slow": PublishRule(fixed(0), threshold=3)}),
                     "slow").empty  # listed 0 from the start, never changed


# -- defaults: today's results, bit for bit -------------------------------------------

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BEFORE = Path(__file__).resolve().parent / "data" / "default_publishing_summaries.json"
SHORTER = {"high_volume": {"duration": "2h", "warmup": "10m"}}  # as the quick benchmark


@pytest.mark.parametrize(
    "path", [SCENARIOS / f"{stem}.toml" for stem in json.loads(BEFORE.read_text("utf-8"))],
    ids=lambda p: p.stem)
def test_a_shipped_scenario_gives_the_figures_it_gave_before_per_channel_rules(
        path: Path) -> None:
    """``BEFORE`` holds each scenario shipped before channels had rules of their own, with
    its replication summary (seed 3) as racesim gave it then; every figure must be the
    same float (scenarios added since have no earlier figures to keep)."""
    before = json.loads(BEFORE.read_text(encoding="utf-8"))[path.stem]
    scenario = load_scenario(path).with_overrides(SHORTER.get(path.stem, {}))
    now = run_replication(scenario, np.random.SeedSequence(3), tables=False)
    figures = json.loads(json.dumps(now.summary.to_dict()))
    assert {name: figures[name] for name in before} == before


def test_a_buyer_turned_away_by_a_threshold_is_a_sale_lost_to_the_buffer() -> None:
    scenario = _scenario(orders=300)
    plain = _run(scenario).per_channel
    assert plain["lost_sales_buffer"].sum() == 0  # no buffer, no cap, no threshold
    held = _run(scenario, {"fast": PublishRule(fixed(0), threshold=4)}).per_channel
    assert held.loc["fast", "lost_sales_buffer"] > 0
    assert held.loc["slow", "lost_sales_buffer"] == 0
