"""The tuner: the smallest buffer that meets an oversell target, confirmed on fresh seeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from racesim.policy.buffers import ByClass, FixedBuffer, PercentBuffer, SeedFormula, bind_policy
from racesim.scenario import load_scenario
from racesim.study.replications import run_scenario
from racesim.study.tune import (
    FAMILIES,
    Evaluation,
    Search,
    _next_candidate,
    _Problem,
    _record,
    more_orders_needed,
    tune,
)
from racesim.util.stats import wilson_interval

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DATA = Path(__file__).resolve().parent / "data"
TARGET = 0.003


def test_more_orders_needed_follows_the_wilson_bound() -> None:
    assert more_orders_needed(0, 5000, TARGET) == 0
    assert more_orders_needed(10, 100, TARGET) is None  # the rate itself is too high
    missing = more_orders_needed(0, 100, TARGET)
    assert missing is not None and missing > 0
    assert wilson_interval(0, 100 + missing, 0.95)[1] <= TARGET * 1.01


def test_every_family_ladder_grows_the_buffer() -> None:
    scenario = load_scenario(SCENARIOS / "small_seller.toml")
    for family in FAMILIES.values():
        sizes = [bind_policy(family.make(value), scenario)("CANDLE-VANILLA", 400, 43_200.0)
                 for value in family.ladder[:40]]
        assert sizes == sorted(sizes), family.name


@pytest.mark.slow
def test_race1_tuned_buffer_meets_the_target_on_fresh_seeds() -> None:
    scenario = load_scenario(SCENARIOS / "race1_double_buy.toml")
    tuning = tune(scenario, "fixed", target=TARGET, replications=8, seed=3, jobs=2)
    report = tuning.to_json()
    assert report["meets_target"] and report["oversell_rate_ci"][1] <= TARGET
    assert report["confirmation"]["meets_target"]
    assert report["value"] >= 1  # race 1 oversells without a buffer
    # The smallest: one unit less misses on the very same replications.
    smaller = run_scenario(scenario, seed=3, replications=report["replications"], jobs=2,
                           buffer=FixedBuffer(int(report["value"]) - 1)).summary()
    assert smaller.oversell_rate_ci[1] > TARGET
    assert report["evaluations"] < 12  # a search, not a full grid
    assert report["seed_formula"]["hidden_unit_hours_per_month"] > 0


@pytest.mark.slow
def test_small_seller_tuning_is_confirmed_and_costs_less_than_the_seed_formula() -> None:
    scenario = load_scenario(SCENARIOS / "small_seller.toml")
    told: list[str] = []  # what a progress bar is told while the search runs
    report = tune(scenario, "percent", target=TARGET, replications=4, seed=1, jobs=2,
                  on_evaluation=told.append).to_json()
    assert len(told) >= report["evaluations"] and all(
        re.fullmatch(r"tried percent=[0-9.]+ on \d+ replications", line) for line in told), told
    assert report["meets_target"] and report["confirmation"]["meets_target"]
    assert report["confirmation"]["oversell_rate_ci"][1] <= TARGET
    assert report["hidden_unit_hours_per_month"] <= \
        report["seed_formula"]["hidden_unit_hours_per_month"]
    assert {"policy", "parameter", "value", "oversell_rate", "oversell_rate_ci",
            "hidden_unit_hours_per_month", "lost_sales_per_month", "meets_target",
            "meets_target_reason"} <= set(report)


@pytest.mark.slow
def test_a_large_catalog_is_tuned_per_velocity_class() -> None:
    scenario = load_scenario(SCENARIOS / "high_volume.toml").with_overrides(
        {"duration": "12h", "warmup": "1h"})
    report = tune(scenario, "fixed", target=TARGET, replications=2, seed=2, jobs=2).to_json()
    assert set(report["per_class"]) == {"A", "B", "C"}
    assert report["meets_target"] and report["confirmation"]["meets_target"]


def test_per_class_policies_route_each_sku_to_its_class() -> None:
    scenario = load_scenario(SCENARIOS / "small_seller.toml")
    policy = bind_policy(ByClass({"A": FixedBuffer(7), "B": PercentBuffer(50)},
                                 default=FixedBuffer(1)), scenario)
    assert policy("CANDLE-VANILLA", 100, 0.0) == 7  # class A
    assert policy("CANDLE-FIG", 100, 0.0) == 50  # class B
    assert policy("GIFT-SET", 100, 0.0) == 1  # class C: the default


def test_the_seed_formula_follows_demand_through_the_day() -> None:
    scenario = load_scenario(SCENARIOS / "small_seller.toml").with_overrides(
        {"buffer": {"policy": "seed_formula", "min_units": 0, "percent": 0,
                    "latency_multiple": 20}})
    policy = bind_policy(SeedFormula(min_units=0, percent=0, latency_multiple=20), scenario)
    night, evening = policy("CANDLE-VANILLA", 100, 4 * 3600.0), policy("CANDLE-VANILLA", 100,
                                                                       20 * 3600.0)
    assert evening > night  # the shop channel's evening peak
    assert scenario.buffer.policy == "seed_formula"


def test_unknown_families_and_targets_are_refused() -> None:
    scenario = load_scenario(SCENARIOS / "minimal.toml")
    with pytest.raises(ValueError, match="unknown policy family 'magic'"):
        tune(scenario, "magic")
    with pytest.raises(ValueError, match="target must be a rate"):
        tune(scenario, "fixed", target=3)


@pytest.mark.slow
def test_tune_cli_prints_the_promised_json() -> None:
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "racesim", "tune", str(SCENARIOS / "small_seller.toml"),
               "--policy", "fixed", "--replications", "4", "--jobs", "2", "--seed", "5",
               "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("policy", "parameter", "value", "oversell_rate", "oversell_rate_ci",
                "hidden_unit_hours_per_month", "lost_sales_per_month", "meets_target",
                "meets_target_reason", "confirmation",
                "seed_formula", "replications"):
        assert key in report, key
    assert report["policy"] == "fixed" and report["parameter"] == "units"


# What the tuner answered before its search was rewritten as bounded steps (recorded
# from the recursive version on the same seeds): the rewrite must not change a thing.
RECORDED = {
    ("race1_double_buy", "fixed"): {
        "value": 16.0, "replications": 12, "evaluations": 6, "meets_target": False,
        "tried": [0.0, 1.0, 2.0, 4.0, 8.0, 16.0], "orders_total": 21, "oversold_total": 0,
        "oversell_rate_ci": [0.0, 0.15463901892484688], "more_orders_needed": 1256,
        "confirmation_ci": [0.0, 0.14865487460862087]},
    ("flash_sale", "poisson_quantile"): {
        "value": 0.1, "replications": 10, "evaluations": 5, "meets_target": True,
        "tried": [0.5, 0.3, 0.2, 0.05, 0.1], "orders_total": 1715, "oversold_total": 0,
        "oversell_rate_ci": [0.0, 0.0022349116615617177], "more_orders_needed": 0,
        "confirmation_ci": [0.0, 0.0021571032062775585]},
}


@pytest.mark.parametrize(("name", "policy"), sorted(RECORDED))
def test_the_search_answers_as_recorded(name: str, policy: str) -> None:
    expected = RECORDED[(name, policy)]
    # flash_sale as it was when recorded (the shipped one has since been made to race)
    path = (DATA / "flash_sale_recorded.toml" if name == "flash_sale"
            else SCENARIOS / f"{name}.toml")
    tuning = tune(load_scenario(path), policy, replications=2,
                  max_replications=12, seed=4, compare=False)
    report = tuning.to_json()
    for key in ("value", "replications", "evaluations", "meets_target", "orders_total",
                "oversold_total", "more_orders_needed"):
        assert report[key] == expected[key], key
    # the same Wilson bounds, now scipy's (equal to the last few bits)
    assert report["oversell_rate_ci"] == pytest.approx(expected["oversell_rate_ci"], rel=1e-12)
    assert [ev.values["*"] for ev in tuning.evaluations] == expected["tried"]
    assert report["confirmation"]["oversell_rate_ci"] == pytest.approx(
        expected["confirmation_ci"], rel=1e-12)
    if not report["meets_target"]:  # no oversells in too few orders: the reason says so
        assert report["meets_target_reason"].startswith("no oversells in 21 orders")
        assert "too few orders" in report["meets_target_reason"]
    assert report["simulated_replications"] == expected["evaluations"] * expected["replications"]


def _closed_bracket(family_name: str, thresholds: dict[str, int]) -> tuple[dict[str, int], int]:
    """Drive the search's steps on outcomes known in advance: a class meets the target
    from rung ``thresholds[class]`` up (none if beyond the top). Where it rests, and after
    how many steps."""
    problem = _Problem(None, FAMILIES[family_name], {name: [] for name in thresholds},
                       TARGET, 0.95, 0, 1, False)
    search = Search.start(problem, 1)
    for step in range(1, search.max_steps + 1):
        rungs = dict(search.probe)
        oversold = {name: 0 if rungs[name] >= thresholds[name] else 100 for name in rungs}
        evaluation = Evaluation(search.values(rungs), None,  # type: ignore[arg-type]
                                oversold, dict.fromkeys(rungs, 10_000),
                                dict.fromkeys(rungs, 0.0), dict.fromkeys(rungs, 0))
        search.evaluations.append(evaluation)
        _record(search, rungs, evaluation)
        if not _next_candidate(search):
            return dict(search.probe), step
    raise AssertionError(f"{family_name} {thresholds}: not closed in {search.max_steps} steps")


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_the_bracket_finds_every_threshold_within_its_bound(family_name: str) -> None:
    top = len(FAMILIES[family_name].ladder) - 1
    longest = 0
    for threshold in range(top + 2):  # top + 1: no rung meets, the search rests on the top
        rests, steps = _closed_bracket(family_name, {"*": threshold})
        assert rests == {"*": min(threshold, top)}, threshold
        longest = max(longest, steps)
    assert longest <= 2 * top.bit_length() + 2
    # Classes move together, each along its own path.
    for a in range(0, top + 2, max(1, top // 7)):
        for b in range(top + 1, -1, -max(1, top // 5)):
            rests, _ = _closed_bracket(family_name, {"A": a, "B": b})
            assert rests == {"A": min(a, top), "B": min(b, top)}, (a, b)
