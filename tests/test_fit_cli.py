"""``racesim fit``: exports in, a commented scenario that loads and runs out; its options,
its --force rules, its bad-input errors, its JSON and its HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from racesim.cli.main import main
from racesim.scenario import load_scenario

EXPORTS = Path(__file__).parent / "data" / "exports"
LAYOUTS = {"shopify": ["shopify_orders.csv"], "amazon": ["amazon_all_orders.txt"],
           "ebay": ["ebay-uk=" + str(EXPORTS / "ebay_orders.csv")],
           "generic": ["generic_orders.csv"], "generic-daily": ["generic_daily.csv"]}


def _orders(names: list[str]) -> list[str]:
    args = []
    for name in names:
        args += ["--orders", name if "=" in name else str(EXPORTS / name)]
    return args


def _fit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        status = main(["fit", *args])
    except SystemExit as exc:  # argparse refuses a bad option while parsing
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def _bursty_shop(folder: Path, days: int = 60) -> tuple[Path, Path]:
    """A generic export with one over-dispersed SKU among steady ones, and its receipts
    (lognormal latency, median 5 s, σ 0.8; 10 % of orders delivered twice)."""
    rng = np.random.default_rng(12)
    rows, receipts = [], []
    start = pd.Timestamp("2025-05-05", tz="UTC").timestamp()
    for sku, mean, d in [("BURSTY", 30.0, 0.8), ("STEADY-1", 25.0, 0.0),
                         ("STEADY-2", 20.0, 0.0), ("STEADY-3", 15.0, 0.0)]:
        for day in range(days):
            rate = mean * (rng.gamma(1 / d, d) if d else 1.0)
            for t in np.sort(rng.uniform(0, 86400, rng.poisson(rate))):
                placed = start + day * 86400 + t
                order = f"{sku}-{day}-{len(rows)}"
                channel = "shop" if rng.random() < 0.6 else "amazon"
                rows.append((order, pd.Timestamp(placed, unit="s", tz="UTC").isoformat(),
                             channel, sku, 1))
                delay = float(np.exp(np.log(5.0) + 0.8 * rng.standard_normal()))
                for _ in range(2 if rng.random() < 0.1 else 1):
                    receipts.append((order, placed + delay))
                    delay += 1.0
    orders = folder / "orders.csv"
    pd.DataFrame(rows, columns=["order_id", "created_at", "channel", "sku", "quantity"]
                 ).to_csv(orders, index=False)
    log = folder / "receipts.csv"
    pd.DataFrame(receipts, columns=["order_id", "received_at"]).to_csv(log, index=False)
    return orders, log


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_vendor_layout_fits_to_a_scenario_that_loads(
        layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shop.toml"
    status, printed, err = _fit(capsys, *_orders(LAYOUTS[layout]), "--out", str(out))
    assert status == 0, err
    scenario = load_scenario(out)
    assert scenario.catalog and scenario.channels
    assert abs(sum(c.share for c in scenario.channels) - 1) < 1e-9
    assert f"Scenario written to {out}" in printed
    text = out.read_text()
    for name in LAYOUTS[layout]:  # the source file is named beside the fitted values
        assert Path(name.split("=")[-1]).name in text


def test_the_fitted_sample_shop_runs_with_racesim_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kettle.toml"
    status, _, err = _fit(capsys, *_orders(["shopify_orders.csv", "amazon_all_orders.txt",
                                            "ebay-uk=" + str(EXPORTS / "ebay_orders.csv")]),
                          "--returns", str(EXPORTS / "returns.csv"), "--out", str(out),
                          "--duration", "1d", "--seed", "3")
    assert status == 0, err
    assert main(["run", str(out), "--replications", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["orders_total"] > 0
    assert load_scenario(out).warehouse.return_rate > 0  # the returns file was used


@pytest.mark.slow
def test_the_fitted_vendor_samples_become_a_client_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The consultant's path end to end: every vendor layout's sample → fit → report."""
    out = tmp_path / "kettle.toml"
    status, _, err = _fit(capsys, *_orders(["shopify_orders.csv", "amazon_all_orders.txt",
                                            "ebay-uk=" + str(EXPORTS / "ebay_orders.csv"),
                                            "generic_orders.csv"]),
                          "--out", str(out), "--duration", "1d")
    assert status == 0, err
    channels = {channel.name for channel in load_scenario(out).channels}
    assert {"shopify", "ebay-uk"} <= channels and len(channels) >= 4
    folder = tmp_path / "report"
    assert main(["report", str(out), "--replications", "2", "--out", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "recommended" in printed
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert all(name in page for name in channels)


def test_an_over_dispersed_sku_is_fitted_as_gamma_poisson_with_its_latency(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders, log = _bursty_shop(tmp_path)
    out = tmp_path / "bursty.toml"
    status, printed, err = _fit(capsys, "--orders", str(orders), "--webhooks", str(log),
                                "--out", str(out), "--json", "--sync", "periodic_delta",
                                "--interval", "2m", "--listing-latency", "amazon=3m",
                                "--buffer-units", "2")
    assert status == 0, err
    scenario = load_scenario(out)
    demand = {sku.sku: sku.demand for sku in scenario.catalog or ()}
    assert demand["BURSTY"].kind == "gamma_poisson"
    assert 0.4 < demand["BURSTY"].dispersion < 1.6
    assert [demand[f"STEADY-{i}"].kind for i in (1, 2, 3)] == ["poisson"] * 3
    channels = {c.name: c for c in scenario.channels}
    latency = channels["shop"].webhook.latency
    assert latency.dist == "lognormal" and 4.0 < latency.median < 6.0
    assert 0.06 < channels["shop"].webhook.duplicates.p2 < 0.14
    assert channels["amazon"].listing_latency.value == 180.0
    assert scenario.sync.mode == "periodic_delta" and scenario.sync.interval == 120.0
    assert scenario.buffer.units == 2
    assert re.search(r"^return_rate = 0.0 +# assumed: the data have no returns",
                     out.read_text(), re.M)
    summary = json.loads(printed)
    assert set(summary) >= {"window", "skus", "channels", "assumptions", "rows_skipped"}
    bursty = next(s for s in summary["skus"] if s["sku"] == "BURSTY")
    assert bursty["demand"]["kind"] == "gamma_poisson" and bursty["demand"]["p_bh"] < 0.05
    low, high = bursty["orders_per_day"]["interval"]
    assert low < bursty["orders_per_day"]["value"] < high
    shop = summary["channels"]["shop"]
    assert abs(shop["share"]["value"] - 0.6) < 0.03
    assert shop["latency"]["p50"]["value"] == pytest.approx(5.0, rel=0.15)
    assert shop["latency"]["p2"]["value"] == pytest.approx(0.1, abs=0.03)


def test_the_comments_name_sources_sizes_intervals_and_assumptions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.toml"
    assert _fit(capsys, *_orders(["generic_orders.csv"]), "--out", str(out))[0] == 0
    lines = out.read_text().splitlines()

    def comment(key: str) -> str:
        return next(line for line in lines if line.startswith(f"{key} ")).split("#", 1)[1]

    rate = comment("orders_per_day")
    assert "generic_orders.csv" in rate and "95 % CI" in rate and "n = " in rate
    share = comment("share")
    assert "generic_orders.csv" in share and "wilson" in share
    for key in ("mode", "interval", "policy", "units", "listing_latency", "webhook.latency",
                "initial_stock", "seed"):
        assert "assumed:" in comment(key), key
    assert "assumed" in comment("duration") or "window" in comment("duration")
    assert "fitted" in comment("return_rate")  # the export has returns
    price = comment("price")  # written as each SKU's price, its source beside it
    assert "median line price" in price and "95 % CI" in price and "generic_orders.csv" in price
    assert not any(line.startswith("# price: ") for line in lines)
    scenario = load_scenario(out)
    assert all(sku.price is not None and sku.price >= 0 for sku in scenario.skus())
    assert any("midnight UTC of 2025-03-28" in line for line in lines)


def test_stock_from_the_list_is_not_assumed_and_missing_data_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("sku,on_hand,restock_every,restock_qty\nMUG-RED,25,3d,12\n")
    out = tmp_path / "s.toml"
    status, _, err = _fit(capsys, *_orders(["ebay-uk=" + str(EXPORTS / "ebay_orders.csv"),
                                            "shopify_orders.csv"]),
                          "--stock", str(stock), "--out", str(out))
    assert status == 0, err
    text = out.read_text()
    red = text.split('sku = "MUG-RED"')[1].split("[[")[0]
    assert re.search(r"initial_stock = 25 +# from stock list line 2", red)
    assert 'restock = { policy = "periodic", every = "3d", quantity = 12 }' in red
    blue = text.split('sku = "MUG-BLUE"')[1].split("[[")[0]
    assert re.search(r"initial_stock = \d+ +# assumed: estimated", blue)
    ebay = text.split('name = "ebay-uk"')[1].split("[[")[0]
    assert re.search(r"^profile = .*# assumed: its export gives dates only", ebay, re.M)
    assert re.search(r"^webhook.latency = .*# assumed: the default", ebay, re.M)
    scenario = load_scenario(out)
    assert next(s for s in scenario.catalog or () if s.sku == "MUG-RED").initial_stock == 25


def test_an_existing_file_is_replaced_only_with_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, report = tmp_path / "s.toml", tmp_path / "fit.html"
    out.write_text("mine\n")
    args = [*_orders(["generic_orders.csv"]), "--out", str(out)]
    status, _, err = _fit(capsys, *args)
    assert status == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "mine\n"
    report.write_text("my page")
    out.unlink()
    assert _fit(capsys, *args, "--report", str(report))[0] == 2
    assert not out.exists() and report.read_text() == "my page"  # refused before any work
    assert _fit(capsys, *args, "--report", str(report), "--force")[0] == 0
    assert load_scenario(out) and "Fit report" in report.read_text()
    (tmp_path / "folder").mkdir()
    status, _, err = _fit(capsys, *_orders(["generic_orders.csv"]), "--out",
                          str(tmp_path / "folder"), "--force")
    assert status == 2 and "folder" in err
    assert list(tmp_path.glob(".*.tmp")) == []


@pytest.mark.parametrize("option", [["--buffer-units", "-1"], ["--interval", "0s"],
                                    ["--duration", "400d"], ["--seed", "-2"],
                                    ["--listing-latency", "amazon"],
                                    ["--listing-latency", "shop=8d"],
                                    ["--listing-latency", "nowhere=1m"],
                                    ["--sync", "event_driven", "--interval", "1m"],
                                    ["--format", "csv"], ["--malformed", "ignore"]])
def test_a_bad_option_is_refused_in_one_line_and_nothing_is_written(
        option: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.toml"
    status, _, err = _fit(capsys, *_orders(["generic_orders.csv"]), "--out", str(out), *option)
    assert status == 2
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(
        ("racesim: error:", "racesim fit: error:"))
    assert not out.exists()


def _broken_export(tmp_path: Path) -> Path:
    rows = (EXPORTS / "generic_orders.csv").read_text().splitlines()
    rows[2] = rows[2].replace(",1,delivered", ",-3,delivered")  # line 3: a negative quantity
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_bad_row_is_one_line_naming_file_line_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.toml"
    status, _, err = _fit(capsys, "--orders", str(_broken_export(tmp_path)), "--out", str(out))
    assert status == 2 and not out.exists()
    line = err.strip()
    assert "\n" not in line and re.search(r"broken\.csv:3: column quantity", line), line


def test_malformed_skip_leaves_the_row_out_and_counts_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.toml"
    status, printed, err = _fit(capsys, "--orders", str(_broken_export(tmp_path)), "--out",
                                str(out), "--malformed", "skip", "--json")
    assert status == 0, err
    skipped = json.loads(printed)["rows_skipped"]
    assert sum(skipped.values()) == 1 and all("broken.csv" in k for k in skipped)
    assert load_scenario(out)


def test_the_report_is_one_page_with_its_figures_and_tables(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders, log = _bursty_shop(tmp_path, days=30)
    out, report = tmp_path / "s.toml", tmp_path / "fit.html"
    status, _, err = _fit(capsys, "--orders", str(orders), "--webhooks", str(log), "--out",
                          str(out), "--report", str(report))
    assert status == 0, err
    page = report.read_text()
    assert page.count('src="data:image/png;base64,') == 3  # counts, latency, shares
    for heading in ("Observed against fitted daily orders", "Webhook latency per channel",
                    "BH-adjusted", "What the fit had to assume", "BURSTY"):
        assert heading in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
