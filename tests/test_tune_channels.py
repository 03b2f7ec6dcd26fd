"""The per-channel tuner: a buffer per marketplace that meets the target for fewer lost sales."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from racesim.cli.main import main
from racesim.policy.buffers import FixedBuffer
from racesim.scenario import load_scenario
from racesim.study.channel_runs import class_figures, run_candidate
from racesim.study.classes import sku_classes
from racesim.study.replications import run_scenario
from racesim.study.tune import tune
from racesim.study.tune_channels import Move, TuneError, channel_moves, tune_channels

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SLOW_AND_FAST = SCENARIOS / "slow_and_fast.toml"
TARGET = 0.003


def test_slow_and_fast_oversells_on_the_slow_marketplace_and_its_buffer_alone_stops_it() -> None:
    """The scenario's promise: without a buffer the slow marketplace oversells and the
    shop does not; a unit hidden from the marketplace alone stops it while the shop's
    buyers lose nothing to a buffer; a unit hidden from the shop alone does not."""
    scenario = load_scenario(SLOW_AND_FAST)

    def per_channel(buffer: dict[str, FixedBuffer] | None, replications: int = 2
                    ) -> dict[str, dict[str, int]]:
        run = run_scenario(scenario, seed=7, replications=replications,
                           buffer=buffer)  # type: ignore[arg-type]
        return {column: {name: int(sum(r.per_channel.loc[name, column]
                                       for r in run.replications))
                         for name in ("marketplace", "shop")}
                for column in ("oversold", "lost_sales_buffer")}

    bare = per_channel(None)["oversold"]
    assert bare["marketplace"] >= 3 and bare["shop"] == 0, bare
    hidden = per_channel({"marketplace": FixedBuffer(1)})
    assert hidden["oversold"] == {"marketplace": 0, "shop": 0}, hidden
    assert hidden["lost_sales_buffer"]["shop"] == 0 < hidden["lost_sales_buffer"]["marketplace"]
    assert per_channel({"shop": FixedBuffer(1)}, 1)["oversold"]["marketplace"] > 0


def test_candidate_counts_add_up_to_the_runs_own_tables() -> None:
    scenario = load_scenario(SLOW_AND_FAST).with_overrides({"duration": "1d", "warmup": "6h"})
    # the shop hides a unit too: a unit hidden from the marketplace alone mostly sells in
    # the shop (a claim given back), so this short run would lose no margin to check
    buffer = {"marketplace": FixedBuffer(2), "shop": FixedBuffer(1)}
    run = run_candidate(scenario, buffer, seed=3, replications=2)
    same = run_scenario(scenario, seed=3, replications=2, buffer=buffer)  # type: ignore[arg-type]
    totals = class_figures(scenario, run)
    summary = same.summary()
    assert int(totals.orders.sum()) == summary.orders_total > 0
    assert int(totals.oversold.sum()) == summary.oversold_total
    assert totals.lost_buffer == summary.lost_sales_buffer_total > 0
    assert totals.hidden_unit_hours == pytest.approx(summary.hidden_unit_hours_total)
    by_channel = sum(r.per_channel["orders"] for r in same.replications)
    assert list(totals.channel_orders.sum(axis=0)) == list(by_channel)
    for name in ("lost_margin", "oversell_cost", "holding_cost"):  # the run's own money
        money = sum(getattr(r.summary, name) for r in same.replications)
        assert getattr(totals, name) == pytest.approx(money), name
    assert totals.lost_margin > 0 and totals.holding_cost > 0


def test_a_candidate_run_is_the_same_on_one_worker_or_two() -> None:
    scenario = load_scenario(SLOW_AND_FAST).with_overrides({"duration": "12h", "warmup": "2h"})
    buffer = {"marketplace": FixedBuffer(2)}
    one, two = (run_candidate(scenario, buffer, seed=5, replications=2, jobs=jobs)
                for jobs in (1, 2))
    for name in ("orders", "oversold", "lost_buffer", "lost_buffer_units", "hidden_unit_hours"):
        assert np.array_equal(one.stacked(name), two.stacked(name)), name
    assert one.stacked("orders").sum() > 0


def test_moves_step_one_channel_or_trade_a_unit_between_two() -> None:
    moves = channel_moves(2, upward=False)
    assert Move((-1, 0), (0, 0)) in moves and Move((0, -1), (0, 0)) in moves
    assert Move((-1, 0), (0, 1)) in moves and Move((1, 0), (0, 0)) not in moves
    assert Move((1, 0), (0, 0)) in channel_moves(2, upward=True)
    assert Move((-1, 0), (0, 1)).apply((3, 2), 2) == (1, 3)
    assert Move((-1, 0), (0, 0)).apply((1, 2), 4) == (0, 2)  # never below 0
    assert Move((-1, 0), (0, 1)).apply((0, 2), 1) == (0, 2)  # nothing to trade


def test_bad_objectives_and_targets_are_refused_before_any_work() -> None:
    scenario = load_scenario(SLOW_AND_FAST)
    with pytest.raises(TuneError, match="objective must be one of sales, cost"):
        tune_channels(scenario, objective="money")  # type: ignore[arg-type]
    with pytest.raises(TuneError, match="needs --objective cost"):
        tune_channels(scenario, target=None)
    with pytest.raises(TuneError, match=r"target must be a rate in \(0, 1\)"):
        tune_channels(scenario, target=1.5)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--objective", "cost"], "need --per-channel"),
    (["--target", "none"], "need --per-channel"),
    (["--per-channel", "--policy", "percent"], "--policy percent is not supported"),
    (["--per-channel", "--max-events", "1e5"], "would simulate"),
    (["--per-channel", "--objective", "cost", "--target", "none", "--max-events", "1e5"],
     "would simulate"),
    (["--per-channel", "--target", "none"], "needs --objective cost"),
])
def test_the_cli_refuses_per_channel_misuse_in_one_line(
        arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["tune", str(SLOW_AND_FAST), *arguments])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_per_channel_buffers_meet_the_target_and_lose_fewer_sales_than_uniform(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Acceptance: on one slow and one fast channel, the per-channel answer meets the
    target, confirmed on fresh replications, and loses strictly fewer sales to the buffer
    than the best uniform buffer at the same target — on the search's replications and,
    paired, on the fresh ones."""
    status = main(["tune", str(SLOW_AND_FAST), "--per-channel", "--replications", "2",
                   "--seed", "7", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    uniform = report["uniform"]
    assert report["meets_target"] and report["confirmation"]["meets_target"]
    assert uniform["meets_target"] and uniform["confirmation"]["meets_target"]
    assert report["oversell_rate_ci"][1] <= TARGET
    assert report["buffer_lost_sales_per_month"] < uniform["buffer_lost_sales_per_month"]
    assert report["confirmation"]["buffer_lost_sales_per_month"] < \
        uniform["confirmation"]["buffer_lost_sales_per_month"]
    assert report["paired"]["buffer_lost_sales_saved_per_month"] > 0
    assert report["per_channel"]["shop"] < report["per_channel"]["marketplace"]
    assert report["hidden_unit_hours_per_day"] < uniform["hidden_unit_hours_per_day"]
    assert report["total_cost_per_month"] < uniform["total_cost_per_month"]  # [costs]
    assert report["paired"]["total_cost_saved_per_month"] > 0
    # the trade-off seen: at no oversells the answer is the cheapest per-channel rule
    cheapest = report["frontier"]["per_channel"][0]
    assert cheapest["per_channel"] == report["per_channel"], report["frontier"]
    assert report["frontier"]["uniform"] and all(
        a["oversell_rate"] <= b["oversell_rate"] and
        a["total_cost_per_month"] > b["total_cost_per_month"]
        for a, b in zip(report["frontier"]["uniform"], report["frontier"]["uniform"][1:],
                        strict=False))
    for key in ("per_channel", "oversell_rate", "oversell_rate_ci",
                "buffer_lost_sales_per_month", "hidden_unit_hours_per_day",
                "lost_margin_per_month", "oversell_cost_per_month", "meets_target",
                "meets_target_reason", "uniform"):
        assert key in report, key


CLASSED = """
name = "classed"
duration = "4h"
warmup = "30m"

[catalog_generator]
count = 30
total_orders_per_day = 800
zipf_exponent = 1.0
initial_stock_days = 0.2
min_initial_stock = 1
margin = 6.0
restock = { policy = "periodic", every = "2h", days_of_demand = 0.08, lead_time = "30m" }

[[channels]]
name = "marketplace"
share = 0.6
webhook.latency = { dist = "lognormal", median = "20s", p99 = "2m" }
listing_latency = { dist = "uniform", low = "2m", high = "8m" }

[[channels]]
name = "shop"
share = 0.4
webhook.latency = { dist = "fixed", value = "0s" }
listing_latency = { dist = "fixed", value = "0s" }

[sync]
mode = "event_driven"

[buffer]
policy = "fixed"
units = 0

[costs]
currency = "EUR"
oversell = 10.0
"""


def test_a_large_catalog_gets_a_buffer_per_channel_and_class(tmp_path: Path) -> None:
    """30 generated SKUs (classes A/B/C): every channel gets a buffer per class, and the
    money figures follow [costs]; with --no-classes one buffer per channel."""
    path = tmp_path / "classed.toml"
    path.write_text(CLASSED, encoding="utf-8")
    scenario = load_scenario(path)
    report = tune_channels(scenario, objective="cost", target=None, replications=1, seed=2,
                           max_evaluations=3).to_json()
    assert set(report["per_channel"]) == {"marketplace", "shop"}
    assert all(set(units) == {"A", "B", "C"} for units in report["per_channel"].values())
    assert set(report["uniform"]["value"]) == {"A", "B", "C"}
    assert report["evaluations"] <= 3 and report["currency"] == "EUR"
    assert report["total_cost_per_month"] <= report["uniform"]["total_cost_per_month"]
    assert report["lost_margin_per_month"] is not None
    whole = tune_channels(scenario, objective="cost", target=None, replications=1, seed=2,
                          per_class=False, max_evaluations=1).to_json()
    assert all(isinstance(units, int) for units in whole["per_channel"].values())
    # each class's counts are its SKUs' counts in the run's own per-SKU table
    classes = sku_classes(scenario, True)
    number = {sku.sku: k for k, sku in enumerate(scenario.skus())}
    groups = np.zeros(len(number), dtype=np.int64)
    for g, members in enumerate(classes.values()):
        groups[[number[sku] for sku in members]] = g
    buffer = {"marketplace": FixedBuffer(1)}
    run = run_candidate(scenario, buffer, seed=2, replications=1, groups=groups)
    table = run_scenario(scenario, seed=2, buffer=buffer).replications[0].per_sku  # type: ignore[arg-type]
    for g, members in enumerate(classes.values()):
        figures = class_figures(scenario, run, np.array([g]))
        assert int(figures.orders.sum()) == int(table.loc[members, "orders"].sum())
        assert figures.lost_buffer == int(table.loc[members, "lost_sales_buffer"].sum())


@pytest.fixture(scope="module")
def limited() -> dict[str, Any]:
    """The least-cost per-channel answer (no target) under a marketplace cancellation
    limit of 0.5 %, on the shipped slow_and_fast scenario."""
    scenario = load_scenario(SLOW_AND_FAST).with_overrides(
        {"costs.cancel_rate_limit": {"marketplace": 0.005}})
    return tune_channels(scenario, objective="cost", target=None, replications=2, seed=7,
                         max_evaluations=8).to_json()


def test_a_cancellation_rate_limit_is_a_constraint_the_search_climbs_to(
        limited: dict[str, Any]) -> None:
    """With no target, the least cost alone would hide nothing; a marketplace limit of
    0.5 % cancellations (met with 95 % confidence) makes the search hide a unit there —
    and only there."""
    report = limited
    limit = report["channels"]["marketplace"]
    assert limit["cancel_rate_limit"] == 0.005 and limit["within_limit"], report["channels"]
    assert limit["oversell_rate_ci"][1] <= 0.005
    assert report["meets_target"] and report["per_channel"] == {"marketplace": 1, "shop": 0}
    assert report["uniform"]["value"] == 1 and report["uniform"]["meets_target"]


def test_the_cost_objective_needs_a_costs_section(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["tune", str(SCENARIOS / "minimal.toml"), "--per-channel",
                   "--objective", "cost"])
    err = capsys.readouterr().err
    assert status == 2 and "needs a [costs] section" in err and len(err.splitlines()) == 1


def test_the_report_draws_the_money_frontier_and_recommends_in_money(
        limited: dict[str, Any]) -> None:
    from racesim.report.channel_frontier import channel_frontier, channel_recommendation
    from racesim.report.figures import png, report_style

    report = limited
    sentence = channel_recommendation(report)
    assert sentence.startswith("Hide marketplace 1, shop 0 instead of 1 on every marketplace: "
                               "EUR "), sentence
    assert "a month less lost" in sentence and "on 2 fresh simulated periods" in sentence
    assert report["paired"]["total_cost_saved_per_month"] > 0
    with report_style():
        figure = channel_frontier(report)
    axes = figure.axes[0]
    assert axes.get_ylabel() == "money lost per month (EUR)"
    labels = {line.get_label() for line in axes.get_lines()}
    assert {"the same buffer everywhere", "a buffer per marketplace", "recommended"} <= labels
    assert png(figure).startswith(b"\x89PNG")


def test_a_uniform_tuning_given_is_reused_not_made_again() -> None:
    """A report hands its own tuning to the search: the answer is the one the search
    makes when it tunes the uniform buffer itself; a tuning made for another target is
    refused, since its answer would be another question's."""
    scenario = load_scenario(SLOW_AND_FAST).with_overrides({"duration": "12h",
                                                            "warmup": "2h"})
    request: dict[str, Any] = {"objective": "cost", "target": 0.05, "replications": 1,
                               "seed": 4, "max_evaluations": 3}
    tuning = tune(scenario, "fixed", target=0.05, replications=1, seed=4, compare=False)
    alone = tune_channels(scenario, **request).to_json()
    told: list[str] = []
    given = tune_channels(scenario, uniform=tuning, on_evaluation=told.append,
                          **request).to_json()
    assert given == alone
    assert not any("units=" in line for line in told)  # no uniform tuner's candidates
    with pytest.raises(ValueError, match=r"target 0\.05"):
        tune_channels(scenario, **{**request, "target": 0.1}, uniform=tuning)
