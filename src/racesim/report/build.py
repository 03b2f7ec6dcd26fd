"""Build a report folder: simulate, draw, write HTML, PNG, CSV, JSON and maybe PDF.

::

    out/
      index.html          self-contained page (figures inline, no network, no scripts)
      report.pdf          with pdf=True: index.html printed by headless Chromium
      summary.json        the headline numbers (see racesim.report.summary)
      manifest.json       scenario text and sha256, seed, versions, run time, command
      figures/NN_*.png    every figure
      tables/*.csv        the tables behind the figures (formula-like text neutralised)

The folder follows :mod:`racesim.util.outdir`'s rules: a folder an earlier report (or another
racesim command) wrote is updated, the files its manifest lists replaced; a folder
holding other files is refused unless ``force``; those files are never touched.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from racesim.report.advice import ADVICE_RUN_REPLICATIONS, Advice, advise
from racesim.report.compute import (
    EPISODE_REPLICATIONS,
    MAX_SWEEP_POINTS,
    ReportData,
    channel_search_runs,
    compute,
    per_channel,
    stages,
    wants_per_channel,
)
from racesim.report.figures import Chart, build_figures
from racesim.report.html import readable_name, render
from racesim.report.pdf import chromium_version, print_pdf
from racesim.report.summary import describe_value, headline
from racesim.scenario import Scenario
from racesim.study.budget import Budget, check_report
from racesim.study.tune import FAMILIES
from racesim.util.csvsafe import write_csv
from racesim.util.manifest import record, scenario_source
from racesim.util.outdir import OutputFolder, Staging, as_folder
from racesim.util.progress import StageBar

__all__ = ["Report", "build_report"]

_DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Report:
    """A written report: its folder, the files in it and what it computed."""

    out: Path
    files: tuple[str, ...]
    """Paths relative to ``out``."""
    headline: dict[str, Any] = field(repr=False)
    data: ReportData = field(repr=False)
    elapsed_s: float = 0.0
    title: str = ""
    advice: Advice | None = field(default=None, repr=False)
    """What would fix a missed target, simulated (None when every target was met)."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (``racesim report --json``): where the report is,
        its headline numbers (``summary.json``) and the advice's simulated effects."""
        advice = None if self.advice is None else {
            "problems": list(self.advice.problems), "cause": self.advice.cause,
            "replications": self.advice.replications,
            "changes": [{"name": o.change.name if o.change else "today",
                         "overrides": o.change.overrides if o.change else {},
                         "sellers_own": o.change.sellers_own if o.change else None,
                         "sync_latency_p99_s": o.slowest_sync_s,
                         "meets_sync_target": o.meets_sync_target,
                         "oversell_rate": o.oversell_rate,
                         "oversells_per_month": o.oversells_per_month,
                         "oversells_per_month_change": o.oversells_change[0],
                         "oversells_per_month_change_ci": list(o.oversells_change[1:])}
                        for o in (self.advice.today, *self.advice.outcomes)]}
        return {"out": str(self.out), "page": str(self.out / "index.html"),
                "pdf": str(self.out / "report.pdf") if "report.pdf" in self.files else None,
                "title": self.title, "files": list(self.files), "elapsed_s": self.elapsed_s,
                "summary": self.headline, "advice": advice}


def _tables(data: ReportData, head: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every table of the report by file stem."""
    m = data.per_month
    channels = pd.concat([
        per_channel(data.current, m).assign(buffer="current"),
        per_channel(data.recommended, m).assign(buffer="recommended")]).reset_index()
    skus = sum((r.per_sku[["orders", "oversold", "lost_sales", "hidden_unit_hours"]]
                for r in data.current.replications[1:]),
               start=data.current.replications[0].per_sku[
                   ["orders", "oversold", "lost_sales", "hidden_unit_hours"]]
               ).add_suffix("_total").reset_index()
    compared = []
    for label, numbers in (("current", head["current"]), ("recommended", head["recommended"]),
                           ("seed_formula", head["seed_formula"])):
        if numbers:
            low, high = numbers["oversell_rate_ci"]
            m_low, m_high = numbers["oversells_per_month_ci"]
            compared.append({
                "buffer": label, "oversell_rate": numbers["oversell_rate"],
                "oversell_rate_low": low, "oversell_rate_high": high,
                "oversells_per_month": numbers["oversells_per_month"],
                "oversells_per_month_low": m_low, "oversells_per_month_high": m_high,
                "lost_sales_per_month": numbers["lost_sales_per_month"],
                "hidden_unit_hours_per_month": numbers["hidden_unit_hours_per_month"]})
    evaluations = [{
        **{f"{data.family.parameter}[{name}]": value for name, value in ev.values.items()},
        "orders_total": sum(ev.orders.values()), "oversold_total": sum(ev.oversold.values()),
        "lost_sales_per_month": sum(ev.lost_sales.values()) / data.tuning.replications * m,
        "hidden_unit_hours_per_month":
            sum(ev.hidden_unit_hours.values()) / data.tuning.replications * m}
        for ev in data.tuning.evaluations]
    races = pd.DataFrame([{
        "race": ep.race, "title": ep.title, "found": ep.found is not None,
        "replication": ep.replication, "sku": getattr(ep.found, "sku", None),
        "replications_searched": ep.searched} for ep in data.episodes])
    tables = {"buffer_sweep": data.sweep, "buffers_compared": pd.DataFrame(compared),
              "per_channel": channels, "per_sku_current": skus,
              "per_replication_current": data.current.per_replication.reset_index(),
              "tuner_evaluations": pd.DataFrame(evaluations), "races": races}
    if head.get("per_channel"):
        tables["channel_frontier"] = _frontier_table(head["per_channel"])
    return tables


def _frontier_table(report: dict[str, Any]) -> pd.DataFrame:
    """The money frontier's points: kind, units per channel (per class), rate, losses."""
    rows = []
    for kind, points in report["frontier"].items():
        for point in points:
            units = {f"units[{channel}]" if not isinstance(value, dict) else
                     f"units[{channel}][{label}]": count
                     for channel, value in point["per_channel"].items()
                     for label, count in (value.items() if isinstance(value, dict)
                                          else [("", value)])}
            low, high = point["oversell_rate_ci"]
            rows.append({"kind": kind, **units, "oversell_rate": point["oversell_rate"],
                         "oversell_rate_low": low, "oversell_rate_high": high,
                         "buffer_lost_sales_per_month": point["buffer_lost_sales_per_month"],
                         "total_cost_per_month": point["total_cost_per_month"]})
    return pd.DataFrame(rows)


def _scenario_text(scenario: Scenario, scenario_path: Path | None) -> str:
    if scenario_path is not None:
        return Path(scenario_path).read_text(encoding="utf-8")
    return scenario.to_toml()


def build_report(scenario: Scenario, out: OutputFolder | str | Path, *,
                 scenario_path: Path | None = None, seed: int | None = None, replications: int = 20,
                 jobs: int = 1, target: float = 0.003, policy: str = "fixed",
                 pdf: bool = False, progress: bool = False, command: list[str] | None = None,
                 force: bool = False, budget: Budget | None = _DEFAULT_BUDGET,
                 source: str | None = None, title: str | None = None,
                 client: str | None = None, per_channel: bool | None = None) -> Report:
    """Simulate ``scenario`` and write its report to ``out`` (created if need be).

    See :func:`racesim.report.compute.compute` for what is simulated. ``pdf`` also
    prints ``report.pdf`` with headless Chromium (a
    :class:`~racesim.report.browser.BrowserError` when there is none: checked before
    anything is simulated, like ``out`` — see :mod:`racesim.util.outdir`; ``force`` writes
    into a folder holding files racesim did not write, leaving them alone). ``progress``
    shows a ``tqdm.auto`` bar on standard error. Before anything else the whole report is
    estimated against ``budget`` (see :mod:`racesim.study.budget`) and refused, naming
    ``source``, when it would exceed it. ``seed=None`` takes the scenario's own
    (:meth:`~racesim.scenario.Scenario.run_seed`); the manifest records the seed used.
    ``title`` heads the page (default ``Oversell risk: `` and the scenario's name made
    readable); ``client`` adds "Prepared for …". When a target is missed, the changes that
    could fix it are simulated on a few more replications (:mod:`racesim.report.advice`,
    counted in the estimate) and shown beneath the answer. ``per_channel`` also searches
    a fixed buffer per marketplace from the tuner's answer and shows it in money; ``None``
    does so with several marketplaces, ``[costs]`` and policy fixed (see
    :func:`~racesim.report.compute.wants_per_channel`).
    """
    started = time.perf_counter()
    seed = scenario.run_seed(seed)
    per_channel = wants_per_channel(scenario, policy, per_channel)
    _check_budget(scenario, replications, jobs, target, policy, per_channel, budget, source)
    folder = as_folder(out, force=force)
    if pdf:
        _find_chromium()  # fail now, not after minutes of simulation
    text = _scenario_text(scenario, scenario_path)
    title = title or f"Oversell risk: {readable_name(scenario.name)}"
    count = len(stages(per_channel)) + 2 + int(pdf)  # + advice, files and the PDF
    bar = StageBar(progress, "report", count)
    try:
        data = compute(scenario, seed=seed, replications=replications, jobs=jobs,
                       target=target, policy=policy, per_channel=per_channel, progress=bar,
                       budget=None)
        head = headline(data)
        bar.stage("advice")
        advice = advise(data, head, jobs=jobs)
        bar.stage("figures and files")
        charts = build_figures(data, head)
        with folder.staged() as stage:
            files = _write_files(stage, data, head, charts)
            if pdf:
                bar.stage("PDF")
            page = render(data, head, charts, {
                "title": title, "client": client,
                "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "version": version("racesim"), "elapsed_s": time.perf_counter() - started,
                "scenario_sha256": scenario_source(scenario_path, text)["scenario_sha256"],
                "files": [*files, *(["report.pdf"] if pdf else []), "manifest.json"]},
                advice)
            stage.path("index.html").write_text(page, encoding="utf-8")
            if pdf:
                print_pdf(stage.root / "index.html", stage.path("report.pdf"))
            stage.manifest.update(_manifest(scenario, scenario_path, text, data, {
                "seed": seed, "replications": replications,
                "tuner_replications": data.tuning.replications, "jobs": jobs,
                "target": target, "policy": policy, "per_channel": per_channel,
                "title": title, "client": client,
                "figures": _figure_sizes(charts)}, pdf, command, started))
    finally:
        bar.close()
    return Report(out=folder.path, files=stage.files, headline=head, data=data,
                  elapsed_s=stage.manifest["elapsed_s"], title=title, advice=advice)


def _find_chromium() -> None:
    """A :class:`~racesim.report.browser.BrowserError` when there is no Chromium."""
    from racesim.report.browser import find_chromium

    find_chromium()


def _check_budget(scenario: Scenario, replications: int, jobs: int, target: float, policy: str,
                  per_channel: bool, budget: Budget | None, source: str | None) -> None:
    """Refuse the whole report, advice runs and per-channel search included, when it
    would exceed ``budget`` (None: no limit)."""
    if budget is None:
        return
    family = FAMILIES[policy] if policy in FAMILIES else FAMILIES["fixed"]
    check_report(scenario, replications=replications, jobs=jobs, ladder=len(family.ladder),
                 target=target, sweep_points=MAX_SWEEP_POINTS,
                 episodes=EPISODE_REPLICATIONS + ADVICE_RUN_REPLICATIONS,
                 channel_runs=channel_search_runs(scenario, replications, target)
                 if per_channel else 0, budget=budget, source=source)


def _figure_sizes(charts: list[Chart]) -> list[dict[str, Any]]:
    """Each figure's file, printed width (inches) and smallest text (points), as drawn."""
    return [{"file": f"figures/{chart.name}.png", "width_in": chart.width_in,
             "min_font_pt": chart.min_font_pt} for chart in charts]


def _manifest(scenario: Scenario, scenario_path: Path | None, text: str, data: ReportData,
              settings: dict[str, Any], pdf: bool, command: list[str] | None,
              started: float) -> dict[str, Any]:
    """What produced the report: scenario, settings, seeds, versions, command, timing."""
    seed = settings["seed"]
    return record(
        "racesim report", scenario_path=scenario_path, scenario_text=text,
        command=command, tools={"chromium": chromium_version()} if pdf else None,
        scenario_name=scenario.name, scenario_digest=scenario.digest(), **settings,
        recommended={name: describe_value(data.family, value)
                     for name, value in data.tuning.values.items()},
        sweep_values=[float(v) for v in data.sweep["value"]],
        seeds=f"replication r uses numpy SeedSequence({seed}).spawn(R)[r] in every run "
              f"(common random numbers); the tuner confirms on seed {seed + 1}",
        elapsed_s=round(time.perf_counter() - started, 3))


def _write_files(stage: Staging, data: ReportData, head: dict[str, Any],
                 charts: list[Chart]) -> list[str]:
    """Figures, tables and summary.json; returns their paths relative to the folder."""
    written = []
    for chart in charts:
        name = f"figures/{chart.name}.png"
        stage.path(name).write_bytes(chart.png)
        written.append(name)
    for stem, table in _tables(data, head).items():
        name = f"tables/{stem}.csv"
        write_csv(table, stage.path(name))
        written.append(name)
    stage.path("summary.json").write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
    written.append("summary.json")
    return written
