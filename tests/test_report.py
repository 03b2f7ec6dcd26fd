"""racesim report: one self-contained page whose numbers are run_scenario's and tune's.

One report is built for the whole module, from race 1 shortened to two days and renamed
with markup in every name (scenario, description, a SKU, a marketplace), so the same page
shows that names are escaped, that its numbers equal direct calls on the same seed, that
a real browser renders it without errors, and that it prints to PDF.

The browser and PDF checks need Debian's ``chromium`` and ``poppler-utils`` (``.ci/run``
installs them): in CI (``CI=true``) a missing one fails the test, elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
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
from racesim.report.advice import Change, simulate_changes, sync_changes
from racesim.report.answer import CAVEAT, marketplaces, trade
from racesim.report.browser import BrowserError, check_page
from racesim.report.build import build_report
from racesim.report.channel_frontier import channel_answer, channel_recommendation, money
from racesim.report.compute import STAGES, current_value, stages, sweep_values, wants_per_channel
from racesim.report.figures import DPI, MIN_FONT_PT, WIDTH_IN, _latency_axis_end
from racesim.report.html import clock, readable_name, seconds_between
from racesim.scenario import Scenario, load_scenario
from racesim.study.budget import Budget, BudgetError, check_report
from racesim.study.replications import run_scenario
from racesim.study.tune import FAMILIES, tune
from racesim.study.tune_channels import TuneError, search_runs

ROOT = Path(__file__).resolve().parents[1]
RACE1 = ROOT / "scenarios" / "race1_double_buy.toml"
SEED, REPLICATIONS = 5, 4
CLIENT = "Acme <Mugs> & Co"
JARGON = ("seed formula", "unit-h", "p99", "wilson", "replication")
"""Words the answer box must not use (the glossary and the appendix explain them)."""

HOSTILE_EBAY = "ebay\"><script>alert(3)</script>"
HOSTILE = {
    "name": "<script>alert(1)</script>",
    "description": 'Quotes " and \' & an <img src=x onerror=alert(2)>',
    "catalog[0].sku": "MUG<b>RED</b>",
    "channels[1].name": HOSTILE_EBAY,
    "costs.penalty": {"amazon": 10.0, HOSTILE_EBAY: 6.0},  # [costs] names the channels
    "costs.cancel_rate_limit": {"amazon": 0.025, HOSTILE_EBAY: 0.02},
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
def built(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The report folder, built once by the CLI with ``--json --quiet`` (and a PDF where
    Chromium is installed), with what the command printed on stdout and stderr."""
    out = tmp_path_factory.mktemp("report") / "hostile"
    pdf = ["--pdf"] if shutil.which("chromium") or in_ci() else []
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["report", str(scenario_file), "--out", str(out), "--seed", str(SEED),
                     "--replications", str(REPLICATIONS), "--jobs", "2", "--client", CLIENT,
                     "--json", "--quiet", *pdf])
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def report(built: tuple[Path, str, str]) -> Path:
    return built[0]


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
    assert "06_channel_frontier.png" in figures  # two marketplaces and [costs]: on by default
    assert "07_race1.png" in figures  # race 1 oversells without a buffer: a timeline
    assert (report / "tables" / "buffer_sweep.csv").is_file()
    assert manifest["scenario_text"] == scenario_file.read_text(encoding="utf-8")
    assert manifest["seed"] == SEED and manifest["replications"] == REPLICATIONS
    assert manifest["versions"]["racesim"] and manifest["elapsed_s"] > 0
    assert manifest["command"][:3] == ["racesim", "report", str(scenario_file)]
    assert "--pdf" in manifest["command"] or not (report / "report.pdf").exists()
    assert manifest["command"][-2:] == ["--client", CLIENT] or \
        manifest["command"][-3:-1] == ["--client", CLIENT]
    assert manifest["client"] == CLIENT


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


def test_pdf_first_page_is_full_and_every_page_is_numbered(report: Path,
                                                            tmp_path: Path) -> None:
    require("chromium", "chromium")
    pdftoppm = require("pdftoppm", "poppler-utils")
    pdftotext = require("pdftotext", "poppler-utils")
    pdf = report / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run([pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    page = np.asarray(Image.open(tmp_path / "page.png").convert("L")) < 200
    assert page.shape[0] > 300 and page.shape[1] > 300
    height = page.shape[0]
    # Page 1 is not a third blank: its band from 55 % to 88 % of the height has text.
    assert page[int(0.55 * height):int(0.88 * height)].any(axis=1).mean() > 0.5
    text = subprocess.run([pdftotext, str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    assert len(pages) >= 3
    assert "The answer" in pages[0] and "<script>alert(1)</script>" in pages[0]
    for number, content in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in content, number


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


def _answer_text(page: str) -> str:
    """The visible text of the answer box (its glossary left out)."""
    box = page.split('<section class="answer">', 1)[1].split("</section>", 1)[0]
    box = box.split('<dl class="glossary">', 1)[0]
    parser = _Tags()
    parser.feed(box)
    return " ".join("".join(parser.text).split())


def test_json_and_quiet_print_only_the_result(built: tuple[Path, str, str],
                                              summary: dict) -> None:
    out, stdout, stderr = built
    result = json.loads(stdout)  # nothing but the JSON object on stdout
    assert stderr == ""  # --quiet: no progress bar, no summary lines
    assert result["out"] == str(out) and Path(result["page"]).is_file()
    assert result["summary"] == summary
    assert set(result["files"]) >= {"index.html", "summary.json", "manifest.json"}
    assert result["title"] == "Oversell risk: <script>alert(1)</script>"
    # Race 1 syncs event-driven and its listings are slow: the target is missed, advised.
    advice = result["advice"]
    assert advice["changes"][0]["name"] == "today"
    assert advice["changes"][0]["sync_latency_p99_s"] > 90
    assert len(advice["changes"]) >= 2 and advice["replications"] >= 1


def test_the_answer_box_speaks_plainly_and_has_a_glossary(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    answer = _answer_text(page)
    assert "Hide" in answer or "buffer" in answer.lower()
    for word in JARGON:
        assert word not in answer.lower(), word
    assert '<dl class="glossary">' in page and "<dt>Oversell</dt>" in page
    assert "What would fix the missed target" in page  # the sync target is missed here
    assert "Prepared for <b>Acme &lt;Mugs&gt; &amp; Co</b>" in page  # --client, escaped
    parser = _Tags()
    parser.feed(page)
    assert "n/a" not in "".join(parser.text)  # nothing reads "not available"


def test_races_that_did_not_occur_are_left_out_and_said_once(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    races = page.split("<h2>Races found in the run</h2>", 1)[1].split("<h2>", 1)[0]
    shown = re.findall(r'<div class="race">(.*?)</figure></div>', races, flags=re.S)
    assert shown, "race 1 occurs in this scenario"
    for section in shown:
        assert re.search(r"<h3>Race \d: .+</h3><p>\S.+</p>", section, flags=re.S)
        assert 'src="data:image/png;base64,' in section
    assert races.count('<div class="race">') == len(shown)  # no section without a story
    assert races.count("did not occur") == 1
    assert "race 2" in races and "race 3" in races


def test_figures_are_printed_at_their_width_with_legible_text(report: Path) -> None:
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["figures"]) == len(list((report / "figures").glob("*.png")))
    for figure in manifest["figures"]:
        assert figure["min_font_pt"] >= 9, figure
        assert figure["width_in"] == WIDTH_IN
        with Image.open(report / figure["file"]) as image:
            assert image.size[0] == round(WIDTH_IN * DPI)
    page = (report / "index.html").read_text(encoding="utf-8")
    assert f"figure img {{ width: {WIDTH_IN}in" in page  # printed at the figure's own width
    assert MIN_FONT_PT >= 9


def test_the_latency_axis_ends_near_the_data_not_at_an_outlier() -> None:
    latencies = np.concatenate([np.linspace(20, 300, 2000), [700.0]])
    end = _latency_axis_end(latencies, float(np.percentile(latencies, 99)))
    assert 300 <= end < 400


def test_readable_title_and_bad_title_is_one_line(scenario_file: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert readable_name("race1-double-buy") == "Race 1 double buy"
    assert readable_name("small_seller") == "Small seller"
    with pytest.raises(SystemExit) as stopped:
        main(["report", str(scenario_file), "--title", "   "])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--title must be 1 to 200 characters" in err and "Traceback" not in err


def test_sync_advice_names_the_changes_that_could_fix_it() -> None:
    periodic = load_scenario(ROOT / "scenarios" / "small_seller.toml")
    cause, changes = sync_changes(periodic)
    assert "every 10 min" in cause
    assert [c.overrides for c in changes] == [{"sync": {"mode": "event_driven"}},
                                              {"sync.interval": 300.0}]
    debounced = load_scenario(RACE1).with_overrides({"sync.debounce": 30})
    assert [c.overrides for c in sync_changes(debounced)[1]] == [{"sync.debounce": 0.0}]
    cause, changes = sync_changes(load_scenario(RACE1))
    assert "already pushes every change" in cause
    assert [c.sellers_own for c in changes] == [False]


def test_event_driven_sync_shortens_a_periodic_sync_in_simulation() -> None:
    scenario = load_scenario(RACE1).with_overrides(
        {"duration": "1d", "sync": {"mode": "periodic_push_time", "interval": "15m"}})
    today = run_scenario(scenario, seed=SEED, replications=2)
    change = Change("event-driven sync", "push at once", {"sync": {"mode": "event_driven"}})
    before, after = simulate_changes(scenario, today, [change], per_month=30.0)
    assert before.change is None and after.change is change
    assert before.slowest_sync_s == pytest.approx(today.summary().sync_latency_p99_s)
    assert after.slowest_sync_s < before.slowest_sync_s - 300  # no 15-minute wait any more
    # The change in oversells is paired on the same replications: its mean is the
    # difference of the two runs' oversells a month, and today's own change is none.
    assert after.oversells_change[0] == pytest.approx(
        after.oversells_per_month - before.oversells_per_month)
    assert before.oversells_change == (0.0, 0.0, 0.0) and not before.clear_oversell_change
    low, high = after.oversells_change[1:]
    assert after.clear_oversell_change == (low > 0 or high < 0)


def test_every_template_ships_with_the_package() -> None:
    import fnmatch
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["racesim"]
    assert any(name.startswith("jinja2") for name in config["project"]["dependencies"])
    templates = sorted((ROOT / "src" / "racesim" / "report" / "templates").iterdir())
    assert {t.suffix for t in templates} == {".j2", ".css"}
    for template in templates:
        inside = f"report/templates/{template.name}"
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in globs), inside


def _month(oversells: float, lost: float) -> dict[str, float]:
    """A paired change (recommended minus today) from today's and the recommended figures."""
    return {"oversold_per_month": oversells, "lost_sales_per_month": lost}


def _trade(today: tuple[float, float], recommended: tuple[float, float]) -> str:
    return trade(_month(recommended[0] - today[0], recommended[1] - today[1]))


def test_the_trade_is_one_sentence_worded_for_each_side() -> None:
    assert _trade((3.5, 1829.0), (0.0, 1852.4)) == (
        "This swaps about 3.5 cancelled orders a month for about 23 more buyers a month "
        "who find it sold out.")
    assert _trade((3.5, 100.0), (0.0, 100.01)) == (
        "This saves about 3.5 cancelled orders a month at no cost in sales.")
    assert "fewer buyers a month find it sold out" in _trade((3.5, 110.0),
                                                             (1.0, 100.0))
    assert _trade((0.0, 100.0), (0.0, 112.0)) == (
        "It cancels no fewer orders and means about 12 more buyers a month who find it "
        "sold out.")
    assert _trade((1.0, 100.0), (2.0, 100.0)).startswith(
        "This means about 1.0 more cancelled orders a month")
    assert "neither" in _trade((1.0, 100.0), (1.0, 100.0))


def test_the_answer_names_the_marketplaces_and_says_what_it_rests_on(
        report: Path, summary: dict) -> None:
    assert marketplaces(load_scenario(RACE1)) == "amazon and ebay"
    many = load_scenario(RACE1).to_dict()
    many["channels"] = [dict(many["channels"][0], name=f"shop{i}", share=0.2)
                        for i in range(5)]
    many.pop("costs")  # its penalties name amazon and ebay
    assert marketplaces(Scenario.model_validate(many)) == "every marketplace"
    page = (report / "index.html").read_text(encoding="utf-8")
    answer = page.split('<section class="answer">', 1)[1].split("</section>", 1)[0]
    assert "from amazon and ebay&#34;&gt;&lt;script&gt;" in answer  # escaped, by name
    assert CAVEAT.replace("'", "&#39;") in answer
    assert trade(summary["change"]) in answer  # the same paired figures as the cost card
    for term in ("SKU", "Orders stuck in reserve"):
        assert f"<dt>{term}</dt>" in answer, term
    appendix = page.split("<h2>Method and assumptions</h2>", 1)[1]
    for term in ("Ledger", "Webhook"):
        assert f"<dt>{term}</dt>" in appendix, term
    assert "simulated months" not in page


def test_advice_shows_changes_against_today_on_the_same_periods(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    advice = page.split('<section class="advice">', 1)[1].split("</section>", 1)[0]
    assert "today, on the same" not in advice  # no second, smaller-sample "today"
    assert "against today" in advice
    rows = re.findall(r'<td class="n">([^<]*)</td>', advice)
    assert rows and all(re.fullmatch(r"(0|[+−][\d,]+) s", cell) or "," in cell or
                        re.match(r"[+−][\d.,]+(: no clear change)?$", cell) for cell in rows)
    # The cause is the marketplaces' own delay: said plainly, with the buffer's effect.
    assert "makes them harmless" in advice or "no buffer tried covers it" in advice


def test_the_race_story_is_late_by_the_difference_of_its_clock_times(report: Path) -> None:
    # 10.9 s and 33.2 s print as 00:00:10 and 00:00:33: 23 s apart, not round(22.3) = 22.
    assert (clock(10.9), clock(33.2)) == ("day 1, 00:00:10", "day 1, 00:00:33")
    assert seconds_between(10.9, 33.2) == 23
    page = (report / "index.html").read_text(encoding="utf-8")
    story = re.search(r"At day (\d+), (\d\d):(\d\d):(\d\d) a buyer.*?showed it only at "
                      r"day (\d+), (\d\d):(\d\d):(\d\d), ([\d,]+) s too late", page, flags=re.S)
    assert story is not None, "race 1's story tells when the late listing showed the sale"
    d1, h1, m1, s1, d2, h2, m2, s2, late = (int(g.replace(",", "")) for g in story.groups())
    assert ((d2 - d1) * 86_400 + (h2 - h1) * 3600 + (m2 - m1) * 60 + s2 - s1) == late


def test_columns_with_nothing_in_them_are_left_out(report: Path, scenario: Scenario) -> None:
    assert not any(s.class_ for s in scenario.skus())  # race 1 has no SKU classes
    appendix = (report / "index.html").read_text(encoding="utf-8").split(
        "<h2>Method and assumptions</h2>", 1)[1]
    assert "<th>class</th>" not in appendix and "<th>other</th>" not in appendix


def test_the_answer_recommends_a_buffer_per_marketplace_in_money(report: Path,
                                                                  summary: dict) -> None:
    """Two marketplaces and [costs]: the report searches a buffer per marketplace for the
    least money, from its own tuning (not tuned again), and says it in money a month —
    the figures of summary.json's per_channel, on the fresh periods it was checked on."""
    channels = summary["per_channel"]
    assert channels["objective"] == "cost" and channels["currency"] == "EUR"
    assert channels["target"] == summary["target"] and channels["seed"] == SEED
    assert channels["uniform"]["tuner_value"] == summary["recommended"]["value"]
    assert channels["replications"] == summary["recommended"]["replications"]
    fresh = channels["confirmation"]
    answer = channel_answer(channels)
    assert answer["headline"].startswith("Hide ") and answer["headline"].endswith(":")
    for figure in ("oversell_cost_per_month", "lost_margin_per_month"):
        assert f"{money(fresh[figure], 'EUR')} " in answer["text"], figure
    page = (report / "index.html").read_text(encoding="utf-8")
    box = _answer_text(page)
    assert "a month of oversell costs against EUR" in box and "everywhere" in box
    assert money(fresh["total_cost_per_month"], "EUR") in box  # the money card
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["per_channel"] is True
    caption = channel_recommendation(channels)
    parser = _Tags()
    parser.feed(page)
    assert caption in " ".join("".join(parser.text).split())  # the frontier's caption
    table = pd.read_csv(report / "tables" / "channel_frontier.csv")
    assert len(table) == sum(len(points) for points in channels["frontier"].values())
    assert set(table["kind"]) <= {"uniform", "per_channel"}
    assert table["total_cost_per_month"].notna().all()


def test_money_reads_as_a_client_reads_it() -> None:
    assert money(28_874.55, "EUR") == "EUR 28,900" and money(231.4, "EUR") == "EUR 231"
    assert money(2.19, "EUR") == "EUR 2" and money(0.0, "GBP") == "GBP 0"
    report = {"per_channel": {"amazon": 1, "shop": 0}, "currency": "EUR", "target": 0.003,
              "uniform": {"value": 1},
              "confirmation": {"oversell_cost_per_month": 120.2,
                               "lost_margin_per_month": 40.4, "holding_cost_per_month": 0.2,
                               "buffer_lost_sales_per_month": 3.0, "meets_target": True},
              "paired": {"total_cost_saved_per_month": 25_812.0,
                         "total_cost_saved_per_month_ci": [20_000.0, 31_000.0],
                         "buffer_lost_sales_saved_per_month": 700.0,
                         "buffer_lost_sales_saved_per_month_ci": [500.0, 900.0]}}
    answer = channel_answer(report)
    assert f"{answer['headline']} {answer['text']}" == (
        "Hide 1 unit from amazon and none from shop: about EUR 120 a month of oversell "
        "costs against EUR 40 of margin lost, EUR 25,800 a month less than hiding 1 unit "
        "everywhere (95 % sure: EUR 20,000 – 31,000); oversells stay under 0.30 % of orders.")
    report["paired"]["total_cost_saved_per_month_ci"] = [-50.0, 31_000.0]
    assert "no clear saving against hiding 1 unit everywhere" in channel_answer(report)["text"]
    same = channel_answer({**report, "per_channel": {"amazon": 1, "shop": 1}})
    assert same["headline"] == "Hide 1 unit everywhere:"
    assert "nothing to gain from a buffer per marketplace" in same["text"]
    report.update(currency=None, per_channel={"shop": 0, "amazon": 2})
    assert channel_answer(report)["headline"] == "Hide 2 units from amazon and none from shop:"
    assert "700 fewer buyers a month turned away than hiding 1 unit" in \
        channel_answer(report)["text"]


def test_per_channel_is_on_by_default_with_several_marketplaces_and_costs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    race1, minimal = load_scenario(RACE1), load_scenario(ROOT / "scenarios" / "minimal.toml")
    alone = minimal.to_dict()
    alone["channels"] = [dict(alone["channels"][0], share=1.0)]
    single = tmp_path / "single.toml"
    single.write_text(Scenario.model_validate(alone).to_toml(), encoding="utf-8")
    assert wants_per_channel(race1, "fixed", None)
    assert not wants_per_channel(race1, "percent", None)  # the search is in units
    assert not wants_per_channel(race1.with_overrides({"costs": None}), "fixed", None)
    assert not wants_per_channel(race1, "fixed", False)
    assert not wants_per_channel(minimal, "fixed", None)
    with pytest.raises(TuneError, match="percent is not supported"):
        wants_per_channel(race1, "percent", True)
    assert stages(True) == STAGES and stages(False) == STAGES[:-1]  # one stage more
    status = main(["report", str(single), "--out", str(tmp_path / "out"), "--per-channel"])
    err = capsys.readouterr().err
    assert status == 2 and "needs more than one marketplace" in err
    assert len(err.strip().splitlines()) == 1


def test_the_preflight_counts_the_per_channel_search(tmp_path: Path) -> None:
    scenario = load_scenario(RACE1)
    runs = search_runs(scenario, replications=REPLICATIONS)
    plain, searched = (check_report(scenario, replications=REPLICATIONS, channel_runs=n)
                       for n in (0, runs))
    assert searched.parts["per-channel search"] > 0 and runs > REPLICATIONS
    assert searched.events == pytest.approx(plain.events + searched.parts["per-channel search"])
    budget = Budget(max_events=(plain.events + searched.events) / 2)  # between the two
    with pytest.raises(BudgetError, match="would simulate"):
        build_report(scenario, tmp_path / "out", replications=REPLICATIONS, budget=budget)
    assert not (tmp_path / "out").exists()  # refused before anything ran
