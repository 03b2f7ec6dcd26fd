"""The cost model: ``[costs]`` in a scenario, the money each replication loses, and a run's
money per month with its interval.

The money must equal what a reader computes by hand from the run's own per-SKU and
per-channel tables; a scenario without ``[costs]`` must give exactly the output it gave
before; and every mistake in ``[costs]`` is one line naming the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from racesim.cli.main import main
from racesim.errors import ScenarioError
from racesim.scenario import Scenario, load_scenario, parse_scenario
from racesim.sim.claims import Claims
from racesim.sim.model import Simulation
from racesim.sim.money import MONEY, money_per_month
from racesim.sim.summary import MONEY_FIELDS
from racesim.study.replications import RunResult, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# Two SKUs racing for small stock on a slow and a fast channel, a 1-unit buffer: the
# buffer loses sales (of 1–3 units) and the slow channel oversells, in two simulated days.
BASE = """
name = "money"
duration = "2d"
warmup = "2h"

[[catalog]]
sku = "MUG"
initial_stock = 3
orders_per_day = 60
units_per_order = { dist = "empirical", values = [1, 2, 3], weights = [0.6, 0.3, 0.1] }
restock = { policy = "periodic", every = "6h", quantity = 4 }
price = 20.0
margin = 7.5

[[catalog]]
sku = "CUP"
initial_stock = 2
orders_per_day = 40
restock = { policy = "periodic", every = "8h", quantity = 3 }
price = 10.0

[[catalog]]
sku = "LID"
initial_stock = 2
orders_per_day = 20
restock = { policy = "periodic", every = "8h", quantity = 2 }

[[channels]]
name = "slow"
share = 0.5
webhook.latency = { dist = "exponential", mean = "4m" }
listing_latency = { dist = "fixed", value = "3m" }

[[channels]]
name = "fast"
share = 0.5
webhook.latency = { dist = "fixed", value = "2s" }
listing_latency = { dist = "fixed", value = "5s" }

[sync]
mode = "event_driven"

[buffer]
policy = "fixed"
units = 1
"""

COSTS = """
[costs]
currency = "EUR"
margin = 2.0
margin_percent = 30
oversell = 12.0
penalty = { slow = 8.0 }
holding_per_unit_day = 0.25
cancel_rate_limit = { slow = 0.02, fast = 0.5 }
"""

MARGIN = {"MUG": 7.5, "CUP": 10.0 * 0.30, "LID": 2.0}  # own, price × 30 %, the default
PER_OVERSELL = {"slow": 12.0 + 8.0, "fast": 12.0}


def _scenario(costs: str = COSTS) -> Scenario:
    return parse_scenario(BASE + costs, source="money.toml")


@pytest.fixture(scope="module")
def priced() -> RunResult:
    return run_scenario(_scenario(), seed=3, replications=4)


def test_each_replication_money_is_the_hand_computation_from_its_tables(
        priced: RunResult) -> None:
    lost_any = oversold_any = 0
    for result in priced.replications:
        per_sku, per_channel, s = result.per_sku, result.per_channel, result.summary
        units = per_sku["lost_units_buffer"]
        # a buyer claims at most the 1–3 units it wants, and only units nobody claimed
        # before it in the spell: far fewer units than buyers in long stock-outs
        assert (units <= 3 * per_sku["lost_sales_buffer"]).all()
        assert units.sum() == per_channel["lost_units_buffer"].sum()
        lost_margin = sum(units[sku] * margin for sku, margin in MARGIN.items())
        oversell = sum(per_channel.loc[name, "oversold"] * cost
                       for name, cost in PER_OVERSELL.items())
        holding = per_sku["hidden_unit_hours"].sum() / 24 * 0.25
        assert s.lost_margin == pytest.approx(lost_margin, rel=1e-12)
        assert s.oversell_cost == pytest.approx(oversell, rel=1e-12)
        assert s.holding_cost == pytest.approx(holding, rel=1e-12)
        assert per_sku["lost_margin"].sum() == pytest.approx(lost_margin, rel=1e-12)
        assert per_channel["oversell_cost"].sum() == pytest.approx(oversell, rel=1e-12)
        lost_any += int(0 < units.sum() < per_sku["lost_sales_buffer"].sum())
        oversold_any += int(per_channel["oversold"].sum() > 0)
    assert lost_any and oversold_any  # the scenario exercises lost units and oversells


def test_a_run_gives_the_money_a_month_and_the_cancellation_rates(priced: RunResult) -> None:
    data = priced.summary().to_dict()
    days = priced.summary().measured_days
    assert data["currency"] == "EUR"
    frame = priced.per_replication
    for name in MONEY:
        assert data[f"{name}_total"] == pytest.approx(frame[name].sum())
        assert data[f"{name}_per_month"] == pytest.approx(frame[name].mean() / days * 30)
    assert data["total_cost_per_month"] == pytest.approx(
        sum(data[f"{name}_per_month"] for name in MONEY))
    slow = data["cancel_rates"]["slow"]
    oversold = sum(int(r.per_channel.loc["slow", "oversold"]) for r in priced.replications)
    orders = sum(int(r.per_channel.loc["slow", "orders"]) for r in priced.replications)
    assert (slow["oversold_total"], slow["orders_total"]) == (oversold, orders)
    assert slow["cancel_rate"] == pytest.approx(oversold / orders)
    assert slow["cancel_rate_limit"] == 0.02
    assert slow["meets_limit"] is (slow["cancel_rate_ci"][1] <= 0.02)
    assert set(data["cancel_rates"]) == {"slow", "fast"}


def test_the_interval_contains_the_mean_and_shrinks_with_replications() -> None:
    few = run_scenario(_scenario(), seed=11, replications=3).summary().to_dict()
    many = run_scenario(_scenario(), seed=11, replications=12).summary().to_dict()
    for data in (few, many):
        low, high = data["lost_margin_per_month_ci"]
        assert 0 <= low <= data["lost_margin_per_month"] <= high

    def width(data: dict[str, Any]) -> float:
        low, high = data["total_cost_per_month_ci"]
        return float(high - low)
    assert 0 < width(many) < width(few)


def test_one_replication_has_no_interval_not_a_zero_width(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    one = run_scenario(_scenario(), seed=1, replications=1).summary().to_dict()
    assert one["lost_margin_per_month"] > 0 and one["lost_margin_per_month_ci"] is None
    assert money_per_month(np.array([3.0]), 10.0) == (9.0, None)
    mean, ci = money_per_month(np.array([0.0, 0.0, 30.0]), 30.0)
    assert mean == 10.0 and ci is not None and ci[0] == 0.0 < ci[1]  # never below 0
    path = tmp_path / "money.toml"
    path.write_text(BASE + COSTS, encoding="utf-8")
    assert main(["run", str(path), "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "money (EUR)" in printed and "unknown (one replication)" in printed
    assert "cancellation rate on slow:" in printed and "its limit 2.000 %" in printed


# One SKU on one channel that updates at once; a 1-unit buffer hides the last unit. Until
# the restock at 6 h every buyer is turned away by the buffer (spell 1); the restock lifts
# available to 2, the next buyer buys one and the rest are turned away again (spell 2).
# Order-up-to 1 instead: nothing ever sells and available never rises, but the review at
# 6 h would have reordered the claimed unit had it sold, so spell 2 starts there.
PERIODIC = 'restock = { policy = "periodic", every = "6h", quantity = 1 }'
ORDER_UP_TO = ('restock = { policy = "order_up_to", level = 1, reorder_point = 0, '
               'review = "6h", lead_time = 0 }')
LAST_UNIT = """
name = "last-unit"
duration = "12h"
warmup = "{warmup}"

[[catalog]]
sku = "MUG"
initial_stock = 1
orders_per_day = 96
{restock}
margin = 5.0

[[channels]]
name = "shop"
share = 1.0
webhook.latency = {{ dist = "fixed", value = "0s" }}
listing_latency = {{ dist = "fixed", value = "0s" }}

[sync]
mode = "event_driven"

[buffer]
policy = "fixed"
units = 1

[costs]
currency = "EUR"
oversell = 10.0
"""


@pytest.mark.parametrize(("warmup", "restock", "sold"), [
    ("0s", PERIODIC, 1), ("1h", PERIODIC, 1), ("0s", ORDER_UP_TO, 0)],
    ids=["periodic", "periodic-warmup", "order-up-to"])
def test_a_buffer_hiding_the_last_unit_loses_it_once_per_stock_out_spell(
        warmup: str, restock: str, sold: int) -> None:
    """However many buyers the buffer turns away in one spell, it hid one unit, and only
    the first buyer could have bought it: each spell loses 1 unit (5 EUR), and the
    restock between them starts a new count. Buyers before the warm-up claim the unit
    too (they would have bought it), so with a 1 h warm-up spell 1 loses nothing counted."""
    text = LAST_UNIT.format(warmup=warmup, restock=restock)
    simulation = Simulation(parse_scenario(text, source="last_unit.toml"),
                            np.random.SeedSequence(4))
    times = np.asarray(simulation.orders[0].arrivals.times)
    result = simulation.run()
    row, summary = result.per_sku.loc["MUG"], result.summary
    spells = [(times >= float(warmup[0]) * 3600) & (times < 6 * 3600), times >= 6 * 3600]
    assert min(int(spell.sum()) for spell in spells) >= 5  # several buyers in each spell
    assert summary.orders == sold  # the first buyer after the restock, if one came
    assert row["lost_sales_buffer"] == sum(int(spell.sum()) for spell in spells) - sold
    if warmup == "0s":
        assert row["lost_units_buffer"] == 2  # one unit a spell, not one per buyer
    else:
        assert (times < 3600).any()  # a buyer before the warm-up claimed spell 1's unit
        assert row["lost_units_buffer"] == 1
    assert summary.lost_margin == 5.0 * row["lost_units_buffer"]
    assert row["lost_units_buffer"] < row["lost_sales_buffer"]


# One unit, two channels that reserve and list at once; the shop hides the unit (a
# 1-unit buffer). A shop buyer the buffer turns away claims it; then a marketplace buyer
# buys it (its rule hides nothing) — or, when the marketplace hides it too, nobody does.
TWO_CHANNELS = """
name = "claimed-then-sold"
duration = "3h"

[[catalog]]
sku = "MUG"
initial_stock = 1
orders_per_day = 48
margin = 5.0

[[channels]]
name = "shop"
share = 0.5
webhook.latency = { dist = "fixed", value = "0s" }
listing_latency = { dist = "fixed", value = "0s" }
publish = { buffer = { policy = "fixed", units = 1 } }

[[channels]]
name = "marketplace"
share = 0.5
webhook.latency = { dist = "fixed", value = "0s" }
listing_latency = { dist = "fixed", value = "0s" }
publish = { buffer = { policy = "fixed", units = MARKETPLACE } }

[sync]
mode = "event_driven"

[buffer]
policy = "fixed"
units = 0

[costs]
currency = "EUR"
oversell = 10.0
"""


@pytest.mark.parametrize(("hidden", "lost"), [(0, 0), (1, 1)],
                         ids=["sold-on-the-other-channel", "never-sold"])
def test_a_claimed_unit_later_sold_on_another_channel_is_not_lost(hidden: int,
                                                                  lost: int) -> None:
    """The shop's buyer claimed the last unit, but a marketplace buyer bought it minutes
    later: without the buffer the shop's buyer would have had it and the marketplace's
    nothing — one sale either way, so the buffer cost no margin. Had nobody bought it
    (the marketplace hides it too), the claim stands: 1 unit, 5 EUR."""
    text = TWO_CHANNELS.replace("MARKETPLACE", str(hidden))
    simulation = Simulation(parse_scenario(text, source="two.toml"), np.random.SeedSequence(2))
    shop, market = (np.asarray(o.arrivals.times) for o in simulation.orders)
    assert len(market) and shop.min() < market.min()  # a shop buyer claims the unit first
    result = simulation.run()
    per_channel, summary = result.per_channel, result.summary
    assert summary.orders == 1 - hidden  # the marketplace buyer bought it, or nobody did
    assert per_channel.loc["shop", "lost_sales_buffer"] >= 1
    assert per_channel.loc["shop", "lost_units_buffer"] == lost
    assert per_channel.loc["marketplace", "lost_units_buffer"] == 0  # the shop's claim first
    assert summary.lost_margin == 5.0 * lost


def test_a_give_back_takes_the_latest_claims_first_and_skips_uncounted_ones() -> None:
    claimed, lost = [0], [[0], [0]]
    claims = Claims(claimed, lost)
    claims.claim(0, 0, 2, available=4, counted=False)  # before the warm-up: not counted
    claims.claim(0, 1, 3, available=4, counted=True)  # only 2 of the 3 were unclaimed
    assert (claimed, lost) == ([4], [[0], [2]])
    claims.available_fell(0, 3)  # a sale took one claimed unit: channel 1's claim
    assert (claimed, lost) == ([3], [[0], [1]])
    claims.available_fell(0, 0)  # 1 more of channel 1's, then 2 never counted
    assert (claimed, lost) == ([0], [[0], [0]])
    claims.claim(0, 0, 1, available=-1, counted=True)  # nothing available: no claim
    claims.claim(0, 0, 1, available=2, counted=True)
    claims.end_spell(0)  # the spell ends: the claim stays lost
    claims.available_fell(0, 0)
    assert (claimed, lost) == ([0], [[1], [0]])


def _without_money(data: dict[str, Any]) -> dict[str, Any]:
    money = {"currency", "cancel_rates"} | {f"{name}_{basis}" for name in
                                             (*MONEY, "total_cost")
                                             for basis in ("total", "per_month",
                                                           "per_month_ci")}
    out = {key: value for key, value in data.items() if key not in money}
    out["per_replication"] = [{k: v for k, v in row.items() if k not in MONEY_FIELDS}
                              for row in data["per_replication"]]
    return out


def test_costs_change_nothing_but_add_the_money() -> None:
    plain = run_scenario(_scenario(costs=""), seed=5, replications=2)
    priced = run_scenario(_scenario(), seed=5, replications=2)
    bare, full = plain.to_json(target=0.003), priced.to_json(target=0.003)
    assert "currency" not in bare and "costs" not in bare
    assert not set(MONEY_FIELDS) & set(bare["per_replication"][0])  # type: ignore[index]
    assert _without_money(full) == bare
    for a, b in zip(plain.replications, priced.replications, strict=True):
        assert a.per_sku.equals(b.per_sku[a.per_sku.columns])
        assert a.per_channel.equals(b.per_channel[a.per_channel.columns])
        assert "lost_margin" not in a.per_sku and "lost_margin" in b.per_sku


def test_every_shipped_scenario_but_the_minimal_prices_its_losses() -> None:
    """Every scenarios/*.toml but minimal.toml (the smallest valid file, kept so) has a
    [costs] table (loading checks that its channels exist and every SKU has a margin),
    and prices every SKU."""
    paths = [path for path in sorted(SCENARIOS.glob("*.toml")) if path.stem != "minimal"]
    assert len(paths) >= 8
    for path in paths:
        scenario = load_scenario(path)
        assert scenario.costs is not None, path.name
        assert all(sku.price is not None for sku in scenario.skus()), path.name
    assert load_scenario(SCENARIOS / "minimal.toml").costs is None


def test_a_generated_catalog_takes_price_and_margin_per_class() -> None:
    text = BASE.split("[[catalog]]")[0] + """
[catalog_generator]
count = 30
total_orders_per_day = 100
zipf_exponent = 1.0
initial_stock_days = 2
price = 10.0
margin_by_class = { A = 4.0, B = 3.0 }
""" + BASE[BASE.index("[[channels]]"):]
    scenario = parse_scenario(text + COSTS, source="gen.toml")
    margins = {sku.class_: sku.margin for sku in scenario.skus()}
    assert margins == {"A": 4.0, "B": 3.0, "C": None}  # C: price × margin_percent
    assert {sku.price for sku in scenario.skus()} == {10.0}
    with pytest.raises(ScenarioError, match=r"^gen\.toml: catalog_generator\.margin: required "
                                            r"with \[costs\]: \d+ generated SKU\(s\) have no "
                                            r"margin \(first SKU-\d+, class C\)"):
        parse_scenario(text.replace("price = 10.0\n", "") +
                       COSTS.replace("margin = 2.0\n", ""), source="gen.toml")


BAD: list[tuple[str, str, str]] = [
    # (text to replace in BASE + COSTS, its replacement, the one line expected)
    ("penalty = { slow = 8.0 }", "penalty = { ebay = 8.0 }",
     "costs.penalty.ebay: not a channel of this scenario (channels: slow, fast; got 'ebay')"),
    ("fast = 0.5 }", "shop = 0.5 }",
     "costs.cancel_rate_limit.shop: not a channel of this scenario"),
    ("fast = 0.5 }", "fast = 1.5 }", "costs.cancel_rate_limit.fast: must be ≤ 1 (got 1.5)"),
    ("oversell = 12.0", "oversell = -1", "costs.oversell: must be ≥ 0"),
    ("oversell = 12.0", "oversell = nan", "costs.oversell: must be a finite number (got nan)"),
    ("oversell = 12.0", 'oversell = "12"', "costs.oversell: must be a number (got '12')"),
    ("oversell = 12.0\n", "", "costs.oversell: required field is missing"),
    ('currency = "EUR"\n', "", "costs.currency: required field is missing"),
    ("margin_percent = 30", "margin_percent = 130", "costs.margin_percent: must be ≤ 100"),
    ("holding_per_unit_day = 0.25", "holding_per_unit_day = 1e12",
     "costs.holding_per_unit_day: must be ≤ 1000000000 (got 1000000000000)"),
    ("holding_per_unit_day = 0.25", "holding = 0.25", "costs.holding: unknown field"),
    ("margin = 7.5", "margin = 25.0", "catalog[0].margin: must be ≤ price (got 25 > 20)"),
    ("price = 20.0", "price = -20.0", "catalog[0].price: must be ≥ 0"),
    ("margin = 2.0\n", "",
     "catalog[2].margin: required with [costs]: give the SKU a margin, or a price and "
     "costs.margin_percent, or costs.margin"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD, ids=[row[2][:40] for row in BAD])
def test_every_bad_cost_is_one_line_naming_the_field(old: str, new: str, expected: str) -> None:
    text = BASE + COSTS
    assert old in text
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text.replace(old, new, 1), source="money.toml")
    message = str(caught.value)
    assert message.startswith(f"money.toml: {expected}"), message
    assert "\n" not in message


def test_a_bad_cost_on_the_command_line_is_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "money.toml"
    path.write_text(BASE + COSTS.replace("slow = 8.0", "ebay = 8.0"), encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "money.toml: costs.penalty.ebay:" in err
