"""racesim report: one self-contained page whose numbers are run_scenario's and tune's.

One report is built for the whole module, from race 1 shortened to two days and renamed
with markup in every name (scenario, description, a SKU, a marketplace), so the same page
shows that names are escaped, that its numbers equal direct calls on the same seed, that
a real browser renders it without errors, and that it prints to PDF.

The browser and PDF checks need Debian's ``chromium`` and ``poppler-utils`` (``.ci/run``
installs them): in CI (``CI=true``) a missing one fails the test, elsewhere it skips.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from racesim.cli.main import main
from racesim.policy.buffers import FixedBuffer
from racesim.report.browser import BrowserError, check_page
from racesim.report.compute import current_value, sweep_values
from racesim.scenario import Scenario, load_scenario
from racesim.study.replications import run_scenario
from racesim.study.tune import FAMILIES, tune

ROOT = Path(__file__).resolve().parents[1]
RACE1 = ROOT / "scenarios" / "race1_double_buy.toml"
SEED, REPLICATIONS = 5, 4

HOSTILE = {
    "name": "<script>alert(1)</script>",
    "description": 'Quotes " and \' & an <img src=x onerror=alert(2)>',
    "catalog[0].sku": "MUG<b>RED</b>",
    "channels[1].name": "ebay\"><script>alert(3)</script>",
    "duration": "2d",
}


def in_ci() -> bool:
    """True when running in CI, where every tool the tests need must be installed."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(program: str, package: str) -> str:
    """The path of ``program``; a failure in CI, a skip elsewhere, when it is missing."""
    found = shutil.which(program)
    if found is None:
        message = f"{program} is not installed (apt-get install {package}; .ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Race 1 over two days, with markup in its names."""
    scenario = load_scenario(RACE1).with_overrides(HOSTILE)
    path = tmp_path_factory.mktemp("scenario") / "hostile.toml"
    path.write_text(scenario.to_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenario(scenario_file: Path) -> Scenario:
    return load_scenario(scenario_file)


@pytest.fixture(scope="module")
def report(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder, built once by the CLI (with a PDF where Chromium is installed)."""
    out = tmp_path_factory.mktemp("report") / "hostile"
    pdf = ["--pdf"] if shutil.which("chromium") or in_ci() else []
    code = main(["report", str(scenario_file), "--out", str(out), "--seed", str(SEED),
                 "--replications", str(REPLICATIONS), "--jobs", "2", *pdf])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def summary(report: Path) -> dict:
    return json.loads((report / "summary.json").read_text(encoding="utf-8"))


def _json(data: object) -> object:
    return json.loads(json.dumps(data))


class _Tags(HTMLParser):
    """Every start tag of a document with its attributes, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_writes_page_figures_tables_summary_and_manifest(report: Path,
                                                                scenario_file: Path) -> None:
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        assert (report / name).is_file(), name
    figures = sorted(p.name for p in (report / "figures").glob("*.png"))
    assert figures[:5] == ["01_oversell_vs_buffer.png", "02_frontier.png", "03_buffer_cost.png",
                           "04_sync_latency.png", "05_channel_oversells.png"]
    assert "06_race1.png" in figures  # race 1 oversells without a buffer: a timeline
    assert (report / "tables" / "buffer_sweep.csv").is_file()
    assert manifest["scenario_text"] == scenario_file.read_text(encoding="utf-8")
    assert manifest["seed"] == SEED and manifest["replications"] == REPLICATIONS
    assert manifest["versions"]["racesim"] and manifest["elapsed_s"] > 0
    assert manifest["command"][:3] == ["racesim", "report", str(scenario_file)]
    assert manifest["command"][-1] == "--pdf" or not (report / "report.pdf").exists()


def test_scenario_names_are_escaped_and_the_page_has_no_scripts(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "MUG&lt;b&gt;RED&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    parser = _Tags()
    parser.feed(page)
    assert {tag for tag, _ in parser.tags}.isdisjoint({"script", "iframe", "object", "embed"})
    for tag, attributes in parser.tags:
        assert not [a for a in attributes if a.startswith("on")], (tag, attributes)
        if tag == "img":
            assert attributes["src"].startswith("data:image/png;base64,")  # no network
    text = "".join(parser.text)
    assert "Oversell risk: <script>alert(1)</script>" in text  # shown as written
    assert 'ebay"><script>alert(3)</script>' in text


@pytest.mark.slow  # a run and a tune beside the report: about 13 s
def test_report_numbers_equal_run_scenario_and_tune_on_the_same_seed(
        summary: dict, scenario: Scenario, report: Path) -> None:
    run = run_scenario(scenario, seed=SEED, replications=REPLICATIONS, jobs=2)
    assert summary["run"] == _json(run.summary().to_dict())
    tuning = tune(scenario, "fixed", target=0.003, replications=REPLICATIONS, seed=SEED, jobs=2)
    assert summary["tuning"] == _json(tuning.to_json())

    direct = run.summary()
    per_month = 30 / 2  # two simulated days, no warm-up
    assert summary["current"]["oversold_total"] == direct.oversold_total > 0
    assert summary["current"]["oversells_per_month"] == pytest.approx(
        direct.oversold_total / REPLICATIONS * per_month)
    assert summary["recommended"]["value"] == tuning.values["*"]
    assert summary["recommended"]["oversell_rate_ci"] == pytest.approx(
        tuning.to_json()["oversell_rate_ci"])
    assert summary["sync_latency"]["p99_s"] == pytest.approx(direct.sync_latency_p99_s)
    assert summary["ledger_drift"]["max"] is None  # no cycle counts: n/a
    page = (report / "index.html").read_text(encoding="utf-8")
    assert f"{100 * direct.oversell_rate:.2f} %" in page
    assert f"{direct.sync_latency_p99_s:,.0f} s" in page

    # Recommended − current on the same replications (paired): the cost of the buffer.
    paired = run_scenario(scenario, seed=SEED, replications=REPLICATIONS, jobs=2,
                          buffer=FixedBuffer(int(tuning.values["*"]))).summary()
    assert summary["change"]["lost_sales_per_month"] == pytest.approx(
        (paired.lost_sales_total - direct.lost_sales_total) / REPLICATIONS * per_month)
    assert summary["change"]["hidden_unit_hours_per_month"] > 0

    # The sweep's point at today's buffer is today's run (same seeds: common random numbers).
    sweep = pd.read_csv(report / "tables" / "buffer_sweep.csv")
    today = sweep[sweep["value"] == scenario.buffer.units].iloc[0]
    assert int(today["oversold_total"]) == direct.oversold_total
    assert int(today["orders_total"]) == direct.orders_total


def test_page_renders_in_headless_chromium_without_errors(report: Path) -> None:
    require("chromium", "chromium")
    check = check_page(report / "index.html")
    assert check.errors == ()
    figures = len(list((report / "figures").glob("*.png")))
    assert len(check.images) == figures >= 6
    assert all(image.natural_width > 0 and image.complete for image in check.images)
    assert check.title == "Oversell risk: <script>alert(1)</script>"
    assert check.ok
    shot = Image.open(io.BytesIO(check.screenshot)).convert("L")
    assert shot.size == (1280, 1600)
    assert np.mean(np.asarray(shot) < 200) > 0.05  # text and figures, not a blank page


def test_the_page_check_catches_a_broken_page(tmp_path: Path) -> None:
    require("chromium", "chromium")
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><title>broken</title><p>text</p><img alt="gone" '
                    'src="missing.png"><script>console.error("boom")</script>',
                    encoding="utf-8")
    check = check_page(page)
    assert not check.ok
    assert [image.alt for image in check.broken_images] == ["gone"]
    assert any("boom" in line for line in check.errors)
    assert any("missing.png" in line for line in check.errors)


def test_pdf_first_page_renders_and_is_not_blank(report: Path, tmp_path: Path) -> None:
    require("chromium", "chromium")
    pdftoppm = require("pdftoppm", "poppler-utils")
    pdf = report / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run([pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    page = Image.open(tmp_path / "page.png").convert("L")
    assert page.size[0] > 300 and page.size[1] > 300
    assert np.mean(np.asarray(page) < 200) > 0.02
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                              capture_output=True, text=True, timeout=60).stdout
        assert "The answer" in text and "<script>alert(1)</script>" in text


def test_pdf_without_chromium_is_a_clear_error(scenario_file: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RACESIM_CHROMIUM", str(tmp_path / "no-such-chromium"))
    code = main(["report", str(scenario_file), "--out", str(tmp_path / "out"), "--pdf"])
    assert code == 2
    assert "Chromium not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_check_page_without_chromium_raises(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RACESIM_CHROMIUM", str(tmp_path / "no-such-chromium"))
    page = tmp_path / "page.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(BrowserError, match="Chromium not found"):
        check_page(page)


def test_sweep_values_span_none_to_beyond_the_recommendation() -> None:
    fixed = FAMILIES["fixed"]
    assert sweep_values(fixed, {"*": 1.0}, 0.0) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    wide = sweep_values(fixed, {"A": 40.0, "B": 3.0}, 7.0)
    assert len(wide) <= 12 and {0.0, 3.0, 7.0, 40.0} <= set(wide) and max(wide) == 80.0
    assert wide == sorted(wide)
    scenario = load_scenario(RACE1)
    assert current_value(scenario, fixed) == 0.0
    assert current_value(scenario, FAMILIES["percent"]) is None
