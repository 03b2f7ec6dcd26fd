"""Writing and printing run results: tables on disk with a manifest, a readable summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

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
              scenario_path: Path) -> tuple[str, ...]:
    """Every replication's tables under ``out/rep-NNN/`` plus summary and manifest JSON.

    ``out`` follows :mod:`racesim.util.outdir`'s rules (prepared there, or here when a path).
    Returns the files written, relative to ``out``.
    """
    folder = as_folder(out)
    with folder.staged() as stage:
        for r, replication in enumerate(result.replications):
            for name, frame in replication.tables().items():
                write_table(frame, stage.path(f"rep-{r:03d}/{name}"))
        write_table(result.per_replication, stage.path("per_replication"))
        stage.path("summary.json").write_text(json.dumps(result.to_json(), indent=2))
        stage.manifest.update(record("racesim run", scenario_path=scenario_path,
                                     seed=result.seed,
                                     replications=len(result.replications),
                                     scenario_name=scenario.name))
    return stage.files


def _pct(value: float) -> str:
    return f"{100 * value:.3f} %"


def _lost_sale_causes(s: RunSummary) -> list[str]:
    """The lost sales split by cause, indented under their total (none without any)."""
    if not s.lost_sales:
        return []
    return [f"    {label:<31}{count:>12,}" for label, count in (
        ("nothing on the shelf", s.lost_sales_no_stock),
        ("the buffer hid the stock", s.lost_sales_buffer),
        ("the listing had not caught up", s.lost_sales_stale_listing))]


def print_run_summary(scenario: Scenario, result: RunResult, out: Path | None = None) -> None:
    """A readable summary of a run on standard output."""
    s = result.summary()
    low, high = s.oversell_rate_ci
    lines = [
        f"{scenario.name}: {s.replications} replication(s), seed {s.seed}",
        "",
        f"  orders accepted by marketplaces  {s.orders:>12,}",
        f"  oversold (reservation refused)   {s.oversold:>12,}",
        f"  oversell rate                    {_pct(s.oversell_rate):>12}"
        f"   95 % CI [{_pct(low)}, {_pct(high)}]",
        f"  lost sales (listing showed 0)    {s.lost_sales:>12,}",
        *_lost_sale_causes(s),
        f"  duplicate deliveries / absorbed  {s.duplicate_deliveries:>6,} /"
        f" {s.duplicates_absorbed:,}",
        f"  sync latency p50 / p99           {s.sync_latency_p50_s:>8.1f} s /"
        f" {s.sync_latency_p99_s:.1f} s   (target p99 < 90 s)",
        f"  stranded reservations (> 48 h)   {s.stranded_reservations:>12,}",
        "  ledger drift at cycle counts     "
        + ("      n/a (no cycle counts)" if s.ledger_drift_max is None else
           f"{_pct(s.ledger_drift_max):>12} max, {_pct(s.ledger_drift_mean or 0.0)} mean"),
        f"  visibility gap                   {s.visibility_gap_s / 3600:>10.2f} h",
        f"  stock hidden by the buffer       {s.hidden_unit_hours:>10.1f} unit-hours",
    ]
    if s.overstated_pushes:
        lines.append(f"  pushes above true available      {s.overstated_pushes:>12,}"
                     f"   (+{s.overstated_excess_units:,} units)")
    if s.extra_reservations:
        lines.append(f"  extra reservations (duplicates)  {s.extra_reservations:>12,}")
    if out is not None:
        lines += ["", f"Tables and manifest written to {out}/"]
    print("\n".join(lines))
