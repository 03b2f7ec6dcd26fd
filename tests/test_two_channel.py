"""The two-channel chain (racesim.policy.two_channel): limits, closed forms, the model, optima."""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from racesim.policy.buffers import fixed
from racesim.policy.fractile import approximate_cost, fractile_buffers, lost_units
from racesim.policy.two_channel import (
    TwoChannelCase,
    expected_cost,
    expected_figures,
    optimum,
    run_figures,
    scenario_toml,
)
from racesim.scenario import parse_scenario
from racesim.sim.model import Simulation
from racesim.study.tune_channels import tune_channels

HOUR = 3600.0

SLOW_FAST = TwoChannelCase(rates=(6 / HOUR, 6 / HOUR), listing_latency=(300.0, 0.0), stock=3,
                           horizon=HOUR, oversell_cost=20.0, margin=2.0)
FAST_SLOW = TwoChannelCase(rates=(3 / HOUR, 9 / HOUR), listing_latency=(0.0, 600.0), stock=3,
                           horizon=HOUR, oversell_cost=(15.0, 30.0), margin=1.0)
BOTH_SLOW = TwoChannelCase(rates=(8 / HOUR, 4 / HOUR), listing_latency=(240.0, 120.0), stock=2,
                           horizon=HOUR, oversell_cost=20.0, margin=2.0)


# -- limits and closed forms --------------------------------------------------------------

@pytest.mark.parametrize("buffers", [(0, 0), (1, 0), (0, 2), (2, 1)])
def test_listings_that_update_at_once_never_oversell(buffers: tuple[int, int]) -> None:
    case = TwoChannelCase(rates=(5 / HOUR, 7 / HOUR), listing_latency=(0.0, 0.0), stock=3,
                          horizon=HOUR, oversell_cost=10.0, margin=1.0)
    figures = expected_figures(case, *buffers)
    assert figures.oversells == (0.0, 0.0)
    assert figures.cost == pytest.approx(case.margin * figures.lost_units_buffer)
    assert (figures.lost_units_buffer > 0) == (figures.lost_sales_buffer > 0) == \
        (max(buffers) > 0)
    assert figures.lost_units_buffer <= figures.lost_sales_buffer  # a claim per buyer at most


def test_a_buffer_of_the_whole_stock_sells_nothing_and_turns_every_buyer_away() -> None:
    case = SLOW_FAST
    figures = expected_figures(case, 3, 3)
    assert figures.sales == (0.0, 0.0) and figures.oversold == 0.0
    for c in range(2):
        assert figures.buffer_lost[c] == pytest.approx(case.rates[c] * case.horizon, rel=1e-9)
    assert figures.hidden_unit_hours == pytest.approx(3.0, rel=1e-9)  # S units for 1 h
    # …yet it cost only the S units it hid: the first S buyers of the episode (of either
    # channel) claim them, E[min(N, S)] with N ~ Poisson(buyers an episode)
    buyers = stats.poisson(sum(case.rates) * case.horizon)
    assert figures.lost_units_buffer == pytest.approx(sum(buyers.sf(j - 1) for j in (1, 2, 3)),
                                                      rel=1e-9)


def test_the_last_unit_is_sold_twice_as_the_race_of_exponential_clocks_says() -> None:
    # One unit listed on both: the first buyer's channel i drops to 0, the other channel j
    # shows 1 until its push lands after Exp(μ_j): it oversells iff its buyer comes first.
    rates, latency = (1 / 600.0, 1 / 900.0), (120.0, 30.0)
    case = TwoChannelCase(rates=rates, listing_latency=latency, stock=1, horizon=86_400.0)
    total = sum(rates)
    expected = sum(rates[i] / total * rates[1 - i] / (rates[1 - i] + 1 / latency[1 - i])
                   for i in range(2))
    first = run_figures(case, 0, 0, episodes=1)
    assert first.oversold == pytest.approx(expected, rel=1e-6)
    assert first.oversells[0] == pytest.approx(rates[1] / total * rates[0]
                                               / (rates[0] + 1 / latency[0]), rel=1e-6)


def test_costs_add_oversells_lost_margin_and_holding() -> None:
    case = TwoChannelCase(rates=(6 / HOUR, 6 / HOUR), listing_latency=(300.0, 0.0), stock=3,
                          horizon=HOUR, oversell_cost=(20.0, 5.0), margin=2.0,
                          holding_per_unit_day=24.0)
    figures = expected_figures(case, 1, 0)
    assert figures.truncated < 1e-6
    assert figures.cost == pytest.approx(20.0 * figures.oversells[0] + 5.0 * figures.oversells[1]
                                         + 2.0 * figures.lost_units_buffer
                                         + figures.hidden_unit_hours)  # 24 a day = 1 an hour
    assert expected_cost(case, 1, 0) == figures.cost


@pytest.mark.parametrize(("field", "value"), [("stock", 0), ("horizon", -1.0),
                                              ("rates", (0.0, 0.0)), ("margin", -1.0),
                                              ("listing_latency", (1.0, float("nan")))])
def test_a_bad_case_is_refused_naming_the_field(field: str, value: object) -> None:
    arguments: dict[str, object] = {"rates": (1.0, 1.0), "listing_latency": (1.0, 0.0),
                                    "stock": 2, "horizon": 10.0}
    arguments[field] = value
    with pytest.raises(ValueError, match=field):
        TwoChannelCase(**arguments)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="b2"):
        expected_cost(SLOW_FAST, 0, -1)


# -- the chain against the model ------------------------------------------------------------

def _simulate(case: TwoChannelCase, buffers: tuple[int, int], episodes: int,
              replications: int, *, per_channel: bool) -> np.ndarray:
    """Per replication: oversold, buyers and units lost to the buffer, hidden unit-hours
    (the real model)."""
    uniform = buffers[0] if not per_channel else 0
    scenario = parse_scenario(scenario_toml(case, episodes, buffer=uniform))
    rule = {"slow": fixed(buffers[0]), "fast": fixed(buffers[1])} if per_channel else None
    rows = []
    for seed in np.random.SeedSequence(2026).spawn(replications):
        simulation = Simulation(scenario, seed, buffer=rule, tables=False)
        summary = simulation.run().summary
        units = sum(sum(orders.lost_buffer_units) for orders in simulation.orders)
        rows.append((summary.oversold, summary.lost_sales_buffer, units,
                     summary.hidden_unit_hours))
    return np.asarray(rows, dtype=float)


@pytest.mark.slow
@pytest.mark.parametrize(("case", "buffers", "per_channel"), [
    (SLOW_FAST, (1, 0), True),
    (SLOW_FAST, (1, 1), False),
    (BOTH_SLOW, (0, 1), True),
], ids=["slow-fast-per-channel", "slow-fast-uniform", "both-slow-per-channel"])
def test_the_model_counts_what_the_chain_expects(case: TwoChannelCase, buffers: tuple[int, int],
                                                 per_channel: bool) -> None:
    episodes, replications = 100, 24
    rows = _simulate(case, buffers, episodes, replications, per_channel=per_channel)
    chain = run_figures(case, *buffers, episodes=episodes)
    expected = (chain.oversold, chain.lost_sales_buffer, chain.lost_units_buffer,
                chain.hidden_unit_hours)
    means = rows.mean(axis=0)
    errors = rows.std(axis=0, ddof=1) / np.sqrt(replications)
    for name, mean, error, value in zip(("oversold", "lost to buffer", "units lost to buffer",
                                         "hidden unit-h"),
                                        means, errors, expected, strict=True):
        assert mean > 0, name  # the run races and hides: the comparison means something
        assert abs(mean - value) <= 4 * error, (name, mean, error, value)


# -- optima ---------------------------------------------------------------------------------

def test_the_optimum_buffers_only_the_slow_channel_and_beats_every_uniform_buffer() -> None:
    best = optimum(SLOW_FAST)
    assert best.buffers == (3, 0)  # the fast channel sells what the slow one's buyers claim
    assert best.cost == min(best.costs.values())
    assert best.cost < min(best.costs[(b, b)] for b in range(4))
    assert best.cost_per_month == pytest.approx(best.cost * 30 * 24)


@pytest.mark.parametrize(("case", "buffers", "fractile", "fractile_within"), [
    (SLOW_FAST, (3, 0), (3, 0), 0.0),
    (FAST_SLOW, (0, 3), (0, 2), 0.04),
    (BOTH_SLOW, (2, 0), (2, 0), 0.0),
], ids=["slow-fast", "fast-slow", "both-slow"])
def test_the_optimum_and_how_close_the_critical_fractile_comes(
        case: TwoChannelCase, buffers: tuple[int, int], fractile: tuple[int, int],
        fractile_within: float) -> None:
    best = optimum(case)
    assert best.buffers == buffers
    assert best.cost == min(best.costs.values())
    assert fractile_buffers(case) == fractile  # the closed form, no chain solved
    assert best.cost <= best.costs[fractile] <= best.cost * (1 + fractile_within)
    # the closed form's own cost of every pair, against the chain's: rough, but bounded
    ratios = [approximate_cost(case, *pair) / cost for pair, cost in best.costs.items()]
    assert min(ratios) >= 0.15 and max(ratios) <= 5.0, (min(ratios), max(ratios))


@pytest.mark.parametrize("case", [SLOW_FAST, FAST_SLOW, BOTH_SLOW],
                         ids=["slow-fast", "fast-slow", "both-slow"])
def test_the_fractiles_give_back_term_is_the_chains_where_one_channel_hides_it_all(
        case: TwoChannelCase) -> None:
    # Every unit hidden from one channel, none from the other: the units lost are those
    # the other's demand leaves on hand and the hiding channel's buyers claimed — exact
    # where the seller lists at once, close where its listing waits for the restock's push.
    # Charging every claim as lost (no give-back) would count E[min(claims, S)] instead.
    s = case.stock
    for buffers, hider in (((s, 0), 0), ((0, s), 1)):
        chain = expected_figures(case, *buffers).lost_units_buffer
        exact = case.listing_latency[1 - hider] == 0
        assert lost_units(case, *buffers) == pytest.approx(chain, rel=1e-5 if exact else 0.1)
        if exact:  # and nothing races, so the closed form's cost is the chain's
            assert approximate_cost(case, *buffers) == pytest.approx(
                expected_cost(case, *buffers), rel=1e-5)
        no_give_back = sum(stats.poisson.sf(j - 1, case.rates[hider] * case.horizon)
                           for j in range(1, s + 1))
        assert chain < 0.5 * no_give_back


@pytest.mark.slow
def test_the_tuners_choice_costs_within_five_percent_of_the_chains_optimum() -> None:
    """Acceptance (issue 14): on three parameter sets — a slow and a fast channel; a fast
    and a slow one with three times its demand, stock scarce; both slow — the per-channel
    tuner on money with no target, run on the case's own scenario, picks buffers whose
    exact expected cost (the chain's) is within 5 % of the chain's optimum, where no
    buffer at all is not (the search had to find something)."""
    for case in (SLOW_FAST, FAST_SLOW, BOTH_SLOW):
        scenario = parse_scenario(scenario_toml(case, 300, currency="EUR"))
        chosen = tune_channels(scenario, objective="cost", target=None, replications=3,
                               seed=1).to_json()["per_channel"]
        assert isinstance(chosen, dict)
        buffers = (min(chosen["slow"], case.stock), min(chosen["fast"], case.stock))
        best = optimum(case)
        assert best.costs[(0, 0)] > 1.05 * best.cost
        assert best.costs[buffers] <= 1.05 * best.cost, (case, buffers, best)


def test_the_scenario_file_carries_the_case_and_its_money() -> None:
    text = scenario_toml(FAST_SLOW, 24, buffer=1, currency="EUR")
    data = tomllib.loads(text)
    assert data["duration"] == 24 * HOUR
    assert [c["name"] for c in data["channels"]] == ["slow", "fast"]
    assert data["channels"][1]["listing_latency"] == {"dist": "exponential", "mean": 600.0}
    assert data["catalog"][0]["orders_per_day"] == pytest.approx(12 * 24)
    assert data["costs"]["penalty"] == {"slow": 15.0, "fast": 30.0}
    assert data["costs"]["margin"] == 1.0
    scenario = parse_scenario(scenario_toml(FAST_SLOW, 24, buffer=1))
    assert scenario.buffer.units == 1 and scenario.channels[0].share == pytest.approx(0.25)
    with pytest.raises(ValueError, match="episodes"):
        scenario_toml(FAST_SLOW, 0)


def test_the_readme_example_prints_what_its_comment_promises() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = next(block for block in re.findall(r"```python\n(.*?)```", text, re.S)
                   if "two_channel" in block)
    promised = example.strip().splitlines()[-1].split("#")[1].strip()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example, {})  # the README's own code
    assert printed.getvalue().strip() == promised
