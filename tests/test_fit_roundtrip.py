"""The fit's round trip (issue 12's acceptance): simulate a known scenario, write its
orders as a seller's exports (generic, Shopify and Amazon layouts) and its webhook
receipts, read and fit them — the fitted values must recover the scenario's.

The scenario keeps ten million units of every SKU on hand, so no listing shows 0 and no
buyer is lost (a lost sale leaves no order in any export): the true rate of every SKU is
its ``orders_per_day``, and the stock list given to the fit says no stock-out happened.
The model's buyers order one SKU each, so every order is one line. The tune-equivalence
part of the acceptance (a scenario that does sell out, fitted through the stock list's
censoring and written by ``racesim.fit.scenario_writer``) is skipped where that module
is not present.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from racesim.cli.main import main
from racesim.fit import synthetic
from racesim.fit.model import Fit, fit_exports
from racesim.fit.orders import read_orders
from racesim.fit.receipts import read_receipts
from racesim.fit.stock import read_stock
from racesim.scenario import Scenario, load_scenario
from racesim.scenario.model import validate_scenario
from racesim.study.replications import run_scenario

LAYOUTS = {"amazon": "amazon", "shop": "shopify", "ebay": "generic"}
"""Each channel's export layout: all three layouts in one fit."""

CHANNELS: list[dict[str, Any]] = [
    {"name": "amazon", "share": 0.45,
     "webhook": {"latency": {"dist": "lognormal", "median": "20s", "p99": "3m"},
                 "duplicates": {"p2": 0.05, "p3": 0.01}},
     "listing_latency": {"dist": "fixed", "value": "30s"}, "cancel_rate": 0.02},
    {"name": "shop", "share": 0.30,
     "webhook": {"latency": {"dist": "lognormal", "median": "30s", "p99": "2m"},
                 "duplicates": {"p2": 0.10}},
     "listing_latency": {"dist": "fixed", "value": "1s"}},
    {"name": "ebay", "share": 0.25,
     "webhook": {"latency": {"dist": "lognormal", "median": "40s", "p99": "5m"},
                 "duplicates": {"p2": 0.20, "p3": 0.05}},
     "listing_latency": {"dist": "fixed", "value": "30s"}, "cancel_rate": 0.03},
]


@dataclass(frozen=True)
class Size:
    """A round trip's scale: days simulated, SKUs meant to reach ≥ 100 orders (the ones
    judged are those that do), their rates, the over-dispersed ones' dispersion."""

    days: int
    skus: int
    rates: tuple[float, ...]
    dispersion: float
    fast: float


QUICK = Size(days=14, skus=20, rates=(12.0, 18.0, 30.0), dispersion=0.5,
             fast=150.0)
FULL = Size(days=28, skus=60, rates=(6.0, 10.0, 18.0, 30.0, 45.0), dispersion=0.5,
            fast=400.0)


def _scenario(size: Size) -> Scenario:
    """Tested SKUs (every fourth over-dispersed), a fast and two slow SKUs, 3 channels."""
    catalog: list[dict[str, Any]] = []
    for k in range(size.skus):
        entry: dict[str, Any] = {"sku": f"T-{k:03d}", "initial_stock": 10**7,
                                 "orders_per_day": size.rates[k % len(size.rates)]}
        if k % 4 == 0:
            entry["demand"] = {"kind": "gamma_poisson", "dispersion": size.dispersion}
        catalog.append(entry)
    catalog += [{"sku": "FAST", "initial_stock": 10**7, "orders_per_day": size.fast},
                {"sku": "SLOW-1", "initial_stock": 10**7, "orders_per_day": 0.5},
                {"sku": "SLOW-2", "initial_stock": 10**7, "orders_per_day": 0.2}]
    data = {"name": "round-trip", "duration": f"{size.days}d", "catalog": catalog,
            "channels": CHANNELS, "sync": {"mode": "event_driven"},
            "buffer": {"policy": "fixed", "units": 0}}
    return validate_scenario(data, "round-trip scenario")


def _round_trip(size: Size, folder: Path, seed: int) -> tuple[Scenario, Fit, pd.DataFrame]:
    scenario = _scenario(size)
    run = run_scenario(scenario, seed=seed, tables=True).replications[0]
    assert run.summary.lost_sales == 0  # no buyer saw 0 listed: every one placed an order
    prices = {sku.sku: 5.0 + i for i, sku in enumerate(scenario.skus())}
    specs = synthetic.write_exports(run.orders, folder, LAYOUTS, prices=prices)
    receipts = synthetic.write_receipts(run.deliveries, folder / "receipts.csv")
    stock = synthetic.write_stock(scenario, folder / "stock.csv")
    read = read_orders(specs)
    assert sorted(f.layout for f in read.files) == ["amazon", "generic", "shopify"]
    start = synthetic.EPOCH
    fit = fit_exports(read, receipts=read_receipts(receipts), stock=read_stock(stock)[0],
                      window=(start, start + pd.Timedelta(days=size.days)),
                      receipts_file=str(receipts))
    return scenario, fit, run.orders


def _check(scenario: Scenario, fit: Fit, orders: pd.DataFrame) -> None:
    """Every acceptance figure of the round trip (see the module doc)."""
    tested = [sku for sku in scenario.skus()
              if sku.sku.startswith("T-") and fit.skus[sku.sku].demand.rate.n >= 100]
    assert len(tested) >= (50 if len(scenario.skus()) > 50 else 15)
    covered = [fit.skus[sku.sku].demand.rate.covers(sku.orders_per_day) for sku in tested]
    assert np.mean(covered) >= 0.85, covered
    fast = next(sku for sku in scenario.skus() if sku.sku == "FAST")
    assert fit.skus["FAST"].demand.rate.covers(fast.orders_per_day)
    dispersed = [fit.skus[s.sku].dispersion.over_dispersed for s in tested if s.demand]
    poisson = [fit.skus[s.sku].dispersion.over_dispersed for s in tested if not s.demand]
    assert all(dispersed), dispersed
    assert np.mean(poisson) <= 0.10, poisson
    for channel in scenario.channels:
        fitted = fit.channels[channel.name]
        assert abs(fitted.rates.share.value - channel.share) <= 0.03
        latency, webhook = fitted.latency, channel.webhook
        assert latency is not None and latency.n >= (2000 if len(tested) > 20 else 500)
        truth = webhook.latency
        assert latency.p50.value == pytest.approx(truth.quantile(0.5), rel=0.15)
        assert latency.p99.value == pytest.approx(truth.quantile(0.99), rel=0.15)
        assert abs(latency.p2.value - webhook.duplicates.p2) <= 0.03
        assert abs(latency.p3.value - webhook.duplicates.p3) <= 0.03
    placed = orders[orders["accepted"].astype(bool)]
    assert sum(s.demand.rate.n for s in fit.skus.values()) == len(placed)


def test_round_trip_quick(tmp_path: Path) -> None:
    """A small round trip (14 days, 20 SKUs) in the quick subset."""
    _check(*_round_trip(QUICK, tmp_path, seed=11))


@pytest.mark.slow
def test_round_trip_full(tmp_path: Path) -> None:
    """The acceptance's round trip: 60 SKUs of ≥ 100 orders over 28 days, ≥ 2,000
    receipts per channel, a quarter of the SKUs over-dispersed."""
    _check(*_round_trip(FULL, tmp_path, seed=12))


def test_lost_sales_and_cancels_in_exports(tmp_path: Path) -> None:
    """A buyer turned away (0 listed) is in no export; an oversold or cancelled order is a
    cancelled line with its cancel time, in each layout as that layout writes it."""
    data = {"name": "sell-out", "duration": "1d", "catalog": [
        {"sku": "MUG", "initial_stock": 60, "orders_per_day": 400}],
        "channels": CHANNELS, "sync": {"mode": "event_driven"},
        "buffer": {"policy": "fixed", "units": 0}}
    run = run_scenario(validate_scenario(data, "sell-out"), seed=4, tables=True)
    orders = run.replications[0].orders
    lost = orders[~orders["accepted"].astype(bool)]
    assert len(lost) > 0
    specs = synthetic.write_exports(orders, tmp_path, LAYOUTS)
    lines = read_orders(specs).lines
    assert set(lines["order_id"]) == set(orders.loc[orders["accepted"], "order_id"])
    refused = orders[["oversold_at", "cancelled_at", "short_at"]].notna().any(axis=1)
    cancelled = set(lines.loc[lines["status"] == "cancelled", "order_id"])
    assert cancelled == set(orders.loc[orders["accepted"] & refused, "order_id"])
    assert len(cancelled) > 0


def test_fitted_example_is_what_its_script_writes(tmp_path: Path) -> None:
    """The shipped example exports are exactly what generate.py writes from its seed, and
    the readers recognise each file's layout from its header."""
    example = Path(__file__).resolve().parent.parent / "scenarios" / "fitted_example"
    spec = importlib.util.spec_from_file_location("fitted_example_generate",
                                                  example / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.generate(tmp_path)
    assert [path.name for path in written] == [
        "orders_shopify.csv", "orders_amazon.txt", "receipts.csv", "stock.csv"]
    for path in written:
        assert path.read_bytes() == (example / path.name).read_bytes(), path.name
    read = read_orders([f"shop={example / 'orders_shopify.csv'}",
                        example / "orders_amazon.txt"])
    assert [f.layout for f in read.files] == ["shopify", "amazon"]
    assert set(read.lines["channel"]) == {"shop", "amazon"}
    assert 2000 <= len(read.lines) <= 5000


def test_fit_benchmark_writes_its_figures(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/bench_fit.py on a tiny export: every figure there (no timing asserted)."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_fit.py"
    spec = importlib.util.spec_from_file_location("bench_fit", script)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "figures.json"
    assert bench.main(["--rows", "3000", "--skus", "20", "--days", "14", "--rounds", "1",
                       "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    for key in ("read_csv_s", "reader_s", "fit_s", "ratio"):
        assert figures[key] > 0, key
    assert figures["skus_fitted"] == 20 and "target" in capsys.readouterr().out


TUNE_CHANNELS: list[dict[str, Any]] = [
    {"name": "amazon", "share": 0.6,
     "webhook": {"latency": {"dist": "lognormal", "median": "20s", "p99": "3m"},
                 "duplicates": {"p2": 0.05}},
     "listing_latency": {"dist": "fixed", "value": "2m"}},
    {"name": "shop", "share": 0.4,
     "webhook": {"latency": {"dist": "lognormal", "median": "30s", "p99": "2m"},
                 "duplicates": {"p2": 0.10}},
     "listing_latency": {"dist": "fixed", "value": "1m"}},
]


@pytest.mark.slow
def test_tune_on_the_fitted_scenario_recommends_the_true_buffer(tmp_path: Path) -> None:
    """`racesim tune` on the scenario fitted from the exports recommends the buffer it
    recommends on the true scenario (±1 unit). Stock sells out every 12 hours, so there
    are races to buffer against, and the lost sales leave no order: the fit's censoring
    from the stock list (opening stock, restocks) recovers the rates."""
    writer = pytest.importorskip("racesim.fit.scenario_writer")
    from racesim.scenario import parse_scenario
    from racesim.study.tune import tune

    days = 3
    catalog = [{"sku": f"S{k}", "initial_stock": rate // 2, "orders_per_day": rate,
                "restock": {"policy": "periodic", "every": "12h", "quantity": rate * 9 // 20}}
               for k, rate in enumerate((100, 200, 300, 150))]
    sync = {"mode": "periodic_push_time", "interval": "10m"}
    truth = validate_scenario({"name": "tune-truth", "duration": f"{days}d",
                               "catalog": catalog, "channels": TUNE_CHANNELS, "sync": sync,
                               "buffer": {"policy": "fixed", "units": 0}}, "tune truth")
    run = run_scenario(truth, seed=5, tables=True).replications[0]
    assert run.summary.lost_sales > 0  # stock-outs happened, hidden from the exports
    specs = synthetic.write_exports(run.orders, tmp_path, {"amazon": "amazon",
                                                           "shop": "shopify"})
    receipts = synthetic.write_receipts(run.deliveries, tmp_path / "receipts.csv")
    stock = synthetic.write_stock(truth, tmp_path / "stock.csv")
    start = synthetic.EPOCH
    fit = fit_exports(read_orders(specs), receipts=read_receipts(receipts),
                      stock=read_stock(stock)[0],
                      window=(start, start + pd.Timedelta(days=days)))
    covered = [fit.skus[s.sku].demand.rate.covers(s.orders_per_day) for s in truth.skus()]
    assert sum(covered) >= 3, covered
    options = writer.ScenarioOptions(duration_s=days * 86400.0, sync="periodic_push_time",
                                     interval_s=600.0,
                                     listing_latency_s={"amazon": 120.0, "shop": 60.0},
                                     buffer_units=0)
    fitted = parse_scenario(writer.scenario_text(fit, options))
    assert [s.restock for s in fitted.skus()] == [s.restock for s in truth.skus()]
    true_buffer = tune(truth, "fixed", seed=1, per_class=False, compare=False).values["*"]
    fitted_buffer = tune(fitted, "fixed", seed=1, per_class=False, compare=False).values["*"]
    assert true_buffer >= 1  # there is something to tune
    assert abs(fitted_buffer - true_buffer) <= 1, (fitted_buffer, true_buffer)


# -- the shipped fitted scenario ------------------------------------------------------------

FITTED_EXAMPLE = ["fit", "--orders", "shop=scenarios/fitted_example/orders_shopify.csv",
                  "--orders", "scenarios/fitted_example/orders_amazon.txt",
                  "--webhooks", "scenarios/fitted_example/receipts.csv",
                  "--stock", "scenarios/fitted_example/stock.csv"]
"""The command that wrote ``scenarios/fitted_example.toml`` (run from the repository root)."""
COSTS_BY_HAND = "\n# What a lost sale and an oversell cost: written by hand"
"""Where the shipped file's hand-written ``[costs]`` table starts, after what fit wrote."""


@pytest.mark.slow
def test_the_shipped_fitted_scenario_is_what_racesim_fit_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    written = tmp_path / "fitted_example.toml"
    assert main([*FITTED_EXAMPLE, "--out", str(written)]) == 0
    capsys.readouterr()
    shipped = (root / "scenarios" / "fitted_example.toml").read_text(encoding="utf-8")
    fitted, costs = shipped.split(COSTS_BY_HAND)  # the exports give no costs: added by hand
    assert written.read_text(encoding="utf-8") == fitted
    assert "[costs]" in costs and "[costs]" not in fitted


def test_the_fitted_scenario_finds_the_bursty_skus_and_runs(
        capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    fitted = load_scenario(root / "scenarios" / "fitted_example.toml")
    truth = load_scenario(root / "scenarios" / "fitted_example" / "truth.toml")
    bursty = {sku.sku for sku in truth.skus() if sku.class_ == "A"}  # gamma_poisson in truth
    found = {sku.sku for sku in fitted.skus() if sku.demand is not None
             and sku.demand.dispersion > 0}
    assert len(found & bursty) >= 0.8 * len(bursty)  # measured 16 of 17
    assert len(found - bursty) <= 2  # measured 0
    # a client report of a fitted scenario: tests/test_fit_cli.py (the vendor samples)
    assert main(["run", str(root / "scenarios" / "fitted_example.toml"), "--replications", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["orders_total"] > 100
