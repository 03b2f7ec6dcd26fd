"""One unit and basis per number: ``run``, ``tune``, ``sweep`` and ``report`` agree.

One small scenario goes through the four commands on the same seed; each quantity must
carry the same value under the same name (its basis: ``…_total`` over the replications,
``…_per_month`` per 30 measured days, rates pooled with their clustered interval) and
the same verdict against the target, with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from racesim.cli.output import print_run_summary
from racesim.cli.study import _tune_lines
from racesim.report.compute import compute
from racesim.report.summary import headline
from racesim.scenario import parse_scenario
from racesim.study.replications import run_scenario
from racesim.study.sweep import format_summary, sweep
from racesim.study.tune import tune

SEED, REPLICATIONS, TARGET = 3, 3, 0.05
SCENARIO = """
name = "units-check"
duration = "1d"
warmup = "2h"
[[catalog]]
sku = "MUG"
initial_stock = 4
orders_per_day = 120
restock = { policy = "periodic", every = "6h", quantity = 6, lead_time = "1h" }
[[channels]]
name = "amazon"
share = 0.6
webhook.latency = { dist = "exponential", mean = "5m" }
listing_latency = { dist = "fixed", value = "30s" }
[[channels]]
name = "ebay"
share = 0.4
webhook.latency = { dist = "exponential", mean = "5m" }
listing_latency = { dist = "fixed", value = "30s" }
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""
SAME = ("orders_total", "oversold_total", "lost_sales_total", "hidden_unit_hours_total",
        "orders_per_month", "lost_sales_per_month", "hidden_unit_hours_per_month",
        "oversell_rate", "meets_target", "meets_target_reason")
"""What every command states for one buffer, under these names."""


def _agree(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...] = SAME) -> None:
    for key in keys:
        assert a[key] == pytest.approx(b[key]), key


def _plain(data: Any) -> Any:
    """As JSON would carry it (what ``--json`` and ``summary.json`` print)."""
    return json.loads(json.dumps(data, default=str))


def test_run_tune_sweep_and_report_state_each_number_on_one_basis(
        capsys: pytest.CaptureFixture[str]) -> None:
    """What ``racesim run/tune/sweep --json`` and ``report``'s ``summary.json`` print, built
    by the functions those commands call, on one scenario and seed."""
    scenario = parse_scenario(SCENARIO)
    result = run_scenario(scenario, seed=SEED, replications=REPLICATIONS)
    run = _plain(result.to_json(target=TARGET))  # racesim run --json
    tuning_record = tune(scenario, "fixed", target=TARGET, replications=REPLICATIONS,
                         seed=SEED)
    tuning = _plain(tuning_record.to_json())  # racesim tune --json
    chosen = int(tuning["value"])
    today_sweep = sweep(scenario, {"buffer.units": [0]}, replications=REPLICATIONS,
                        seed=SEED, target=TARGET)
    today = _plain(today_sweep.to_json())["summary"][0]  # racesim sweep --json
    tuned = _plain(sweep(scenario, {"buffer.units": [chosen]},
                         replications=tuning["replications"], seed=SEED,
                         target=TARGET).to_json())["summary"][0]
    summary = _plain(headline(compute(scenario, seed=SEED, replications=REPLICATIONS,
                                      target=TARGET)))  # report's summary.json

    # Today's buffer: run, the sweep's point and the report's "current" and "run" agree.
    days = 22 / 24  # a day less the two-hour warm-up
    assert run["oversold_total"] > 0 and run["measured_days"] == pytest.approx(days)
    assert run["lost_sales_per_month"] == pytest.approx(
        run["lost_sales_total"] / (REPLICATIONS * days) * 30)
    _agree(run, today)
    assert [today["oversell_rate_low"], today["oversell_rate_high"]] == run["oversell_rate_ci"]
    _agree(run, summary["current"])
    assert summary["current"]["oversell_rate_ci"] == run["oversell_rate_ci"]
    assert summary["current"]["oversells_per_month"] == pytest.approx(run["oversold_per_month"])
    assert summary["run"] == {key: value for key, value in run.items()
                              if key not in ("per_replication", "target", "meets_target",
                                             "meets_target_reason")}

    # The tuner's answer: tune, the sweep at its value and the report's "recommended".
    assert summary["tuning"] == tuning
    _agree(tuning, tuned)
    assert tuning["oversell_rate_ci"] == [tuned["oversell_rate_low"], tuned["oversell_rate_high"]]
    _agree(tuning, summary["recommended"])
    assert summary["recommended"]["oversells_per_month"] == pytest.approx(
        tuning["oversold_per_month"])

    # The printed forms show the same figures on the same basis.
    print_run_summary(scenario, result, target=TARGET)  # racesim run
    run_text = capsys.readouterr().out
    assert f"{run['lost_sales_per_month']:>12,.1f}" in run_text and "per month" in run_text
    assert f"{run['lost_sales_total']:>12,}" in run_text
    assert run["meets_target_reason"] in run_text
    tune_text = "\n".join(_tune_lines(scenario.name, tuning, target=TARGET, confidence=0.95))
    assert f"{tuning['lost_sales_per_month']:,.1f} lost sales" in tune_text
    assert "per month (30 measured days)" in tune_text
    assert tuning["meets_target_reason"] in tune_text
    sweep_text = format_summary(today_sweep)  # racesim sweep
    assert f"{today['lost_sales_per_month']:,.1f}" in sweep_text and "/month" in sweep_text
