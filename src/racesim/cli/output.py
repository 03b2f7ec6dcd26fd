"""Writing and printing run results: tables on disk with a manifest, a readable summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from racesim.sim.money import RunCosts
from racesim.sim.summary import RunSummary
from racesim.study.replications import RunResult
from racesim.util.csvsafe import write_csv
from racesim.util.manifest import record
from racesim.util.outdir import OutputFolder, as_folder

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["print_run_summary", "write_run", "write_table"]


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as Parquet when pyarrow is installed, else CSV; return the file.

    Parquet keeps every value as it is; CSV neutralises formula-like text
    (:mod:`racesim.util.csvsafe`).
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return write_csv(frame, path.with_suffix(".csv"),
                         index=not isinstance(frame.index, pd.RangeIndex))
    target = path.with_suffix(".parquet")
    frame.to_parquet(target)
    return target


def write_run(out: OutputFolder | Path, scenario: Scenario, result: RunResult,
              scenario_path: Path, target: float | None = None) -> tuple[str, ...]:
    """Every replication's tables under ``out/rep-NNN/`` plus summary and manifest JSON.

    ``out`` follows :mod:`racesim.util.outdir`'s rules (prepared there, or here when a path).
    ``summary.json`` is :meth:`RunResult.to_json` (judged against ``target`` when given).
    Returns the files written, relative to ``out``.
    """
    folder = as_folder(out)
    with folder.staged() as stage:
        for r, replication in enumerate(result.replications):
            for name, frame in replication.tables().items():
                write_table(frame, stage.path(f"rep-{r:03d}/{name}"))
        write_table(result.per_replication, stage.path("per_replication"))
        stage.path("summary.json").write_text(json.dumps(result.to_json(target), indent=2))
        stage.manifest.update(record("racesim run", scenario_path=scenario_path,
                                     seed=result.seed,
                                     replications=len(result.replications),
                                     scenario_name=scenario.name))
    return stage.files


def _pct(value: float) -> str:
    return f"{100 * value:.3f} %"


def _count_rows(s: RunSummary) -> list[str]:
    """The counts and amounts of a run: its total and the same per month, side by side."""
    rows = [
        ("orders accepted by marketplaces", s.orders_total, ","),
        ("oversold (reservation refused)", s.oversold_total, ","),
        ("lost sales (listing showed too few)", s.lost_sales_total, ","),
        ("  nothing on the shelf", s.lost_sales_no_stock_total, ","),
        ("  the buffer hid the stock", s.lost_sales_buffer_total, ","),
        ("  the listing had not caught up", s.lost_sales_stale_listing_total, ","),
        ("duplicate deliveries", s.duplicate_deliveries_total, ","),
        ("  of which absorbed by the engine", s.duplicates_absorbed_total, ","),
        ("stranded reservations (> 48 h)", s.stranded_reservations_total, ","),
        ("visibility gap (listing-hours)", s.visibility_gap_s_total / 3600, ",.1f"),
        ("stock hidden by the buffer (unit-hours)", s.hidden_unit_hours_total, ",.1f"),
    ]
    if s.overstated_pushes_total:
        rows += [("pushes above true available", s.overstated_pushes_total, ","),
                 ("  units they overstated", s.overstated_excess_units_total, ",")]
    if s.extra_reservations_total:
        rows.append(("extra reservations (duplicates)", s.extra_reservations_total, ","))
    lines = [f"  {'':<40}{'total':>12}{'per month':>12}"]
    for label, total, shape in rows:
        lines.append(f"  {label:<40}{total:>12{shape}}{s.per_month(total):>12,.1f}")
    return lines


_MONEY_LABELS = (("lost_margin", "margin lost to the buffer"),
                 ("oversell_cost", "oversells (handling, refund, penalty)"),
                 ("holding_cost", "holding the hidden stock"),
                 ("total_cost", "total"))


def _money_rows(costs: RunCosts) -> list[str]:
    """The money block: each amount per month with its 95 % interval, then the
    cancellation rate of each marketplace with a limit against that limit."""
    title = f"money ({costs.currency})"
    lines = [f"  {title:<40}{'':>12}{'per month':>12}   95 % CI (replications as the "
             "independent units)"]
    for name, label in _MONEY_LABELS:
        figure = costs.figure(name)
        ci = figure.per_month_ci
        interval = ("unknown (one replication)" if ci is None else
                    f"[{ci[0]:,.2f}, {ci[1]:,.2f}]")
        lines.append(f"    {label:<38}{'':>12}{figure.per_month:>12,.2f}   {interval}")
    for rate in costs.cancel_rates:
        low, high = rate.rate_ci
        verdict = "within" if rate.meets_limit else "NOT shown within"
        lines.append(f"  cancellation rate on {rate.channel}: {_pct(rate.rate)} of "
                     f"{rate.orders_total:,} orders (95 % CI [{_pct(low)}, {_pct(high)}]) — "
                     f"{verdict} its limit {_pct(rate.limit)}")
    return lines


def print_run_summary(scenario: Scenario, result: RunResult, out: Path | None = None,
                      target: float | None = None) -> None:
    """A readable summary of a run on standard output.

    Counts are shown twice, each with its basis: the total over every replication, and
    per month (30 days of measured time), as the report and ``tune`` give them.
    """
    s = result.summary()
    low, high = s.oversell_rate_ci
    days = s.measured_days
    lines = [
        f"{scenario.name}: {s.replications} replication(s) of {days:,.3g} measured day(s), "
        f"seed {s.seed}",
        f"  total = over all {s.replications} replication(s) ({s.replications * days:,.3g} "
        "measured days); per month = per 30 measured days",
        "",
        *_count_rows(s),
        "",
        f"  oversell rate (all orders pooled)  {_pct(s.oversell_rate)}   95 % CI "
        f"[{_pct(low)}, {_pct(high)}] (replications as clusters; design effect "
        f"{s.oversell_design_effect:.2f})",
    ]
    if target is not None:
        verdict = s.verdict(target)
        lines.append(f"  target {100 * target:g} %: {'met' if verdict.meets else 'NOT met'}"
                     f" — {verdict.reason}")
    lines += [
        f"  sync latency p50 / p99             {s.sync_latency_p50_s:.1f} s /"
        f" {s.sync_latency_p99_s:.1f} s over every change   (target p99 < 90 s)",
        "  ledger drift at cycle counts       "
        + ("n/a (no cycle counts)" if s.ledger_drift_max is None else
           f"{_pct(s.ledger_drift_max)} max, {_pct(s.ledger_drift_mean or 0.0)} mean"),
    ]
    if s.costs is not None:
        lines += ["", *_money_rows(s.costs)]
    if out is not None:
        lines += ["", f"Tables and manifest written to {out}/"]
    print("\n".join(lines))
