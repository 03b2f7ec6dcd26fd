"""reports/money_vs_seed_rule.py on one tiny scenario: its table, files and paired saving."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "reports" / "money_vs_seed_rule.py"

TINY = """
name = "tiny-money"
duration = "12h"
seed = 11
[[catalog]]
sku = "CUP"
initial_stock = 8
orders_per_day = 96
restock = { policy = "periodic", every = "3h", quantity = 9 }
price = 20.0
[[channels]]
name = "market"
share = 0.6
webhook.latency = { dist = "exponential", mean = "40s" }
listing_latency = { dist = "uniform", low = "1m", high = "3m" }
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
margin_percent = 30
oversell = 10.0
penalty = { market = 10.0 }
cancel_rate_limit = { market = 0.025 }
"""


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("money_vs_seed_rule", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_script_compares_the_seed_rule_with_the_per_channel_choice(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    out = tmp_path / "out"
    script = _script()
    assert script.main([str(scenario), "--replications", "2", "--max-replications", "2",
                        "--max-evaluations", "9", "--override", "tiny:tune.max_evaluations=4",
                        "--target", "none", "--out", str(out), "--quiet"]) == 0
    with (out / "money_vs_seed_rule.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["scenario"] == "tiny" and row["currency"] == "EUR"
    assert row["seed"] == "11" and row["fresh_seed"] == "12" and row["replications"] == "2"
    # the seed's rule hides at least 5 of ≤ 17 cups: buyers turned away, margin lost
    assert float(row["seed_rule_lost_sales_per_month"]) > 0
    rule = float(row["seed_rule_money_per_month"])
    chosen = float(row["per_channel_money_per_month"])
    assert float(row["saved_per_month"]) == pytest.approx(rule - chosen)  # paired: same buyers
    assert rule > chosen  # the least-cost choice beats a rule that hides a third of the stock
    assert row["per_channel"].startswith("market=") and "shop=" in row["per_channel"]
    text = (out / "money_vs_seed_rule.md").read_text(encoding="utf-8")
    assert "| tiny | EUR | 2 |" in text and "seed_formula" in text
    assert int(row["evaluations"]) <= 4 and "tiny: tune.max_evaluations = 4" in text
    answer = json.loads((out / "money_vs_seed_rule.json").read_text(encoding="utf-8"))
    assert answer["tiny"]["objective"] == "cost" and answer["tiny"]["target"] is None


def test_the_script_refuses_a_scenario_without_costs(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bare.toml"
    scenario.write_text(TINY.split("[costs]")[0], encoding="utf-8")
    assert _script().main([str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "no [costs] table" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
