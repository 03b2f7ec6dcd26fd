"""``racesim sweep`` and ``racesim tune``: a scenario over a grid, and the buffer to choose."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from racesim.cli.options import (
    add_force,
    add_json,
    add_out,
    add_simulation_options,
    add_target_options,
    confidence_level,
    limits,
    positive_count,
    target_rate,
)

if TYPE_CHECKING:
    from racesim.cli.options import Commands

__all__ = ["add_sweep_parser", "add_tune_parser"]


def add_sweep_parser(commands: Commands) -> None:
    """``racesim sweep SCENARIO.toml --grid GRID.toml``: every point of a grid."""
    sweep = commands.add_parser(
        "sweep", help="run a scenario at every point of a parameter grid",
        description="Simulate SCENARIO.toml at every point of GRID.toml (override paths "
                    "and their values, e.g. \"buffer.units\" = [0, 1, 2]), R replications "
                    "each on common random numbers (replication r uses the same seed at "
                    "every point), and print each point's oversell rate with its 95 % "
                    "intervals, lost sales and hidden stock.")
    add_simulation_options(sweep, 1, "replications per point (default 1)",
                           "local worker processes, or LocalCluster workers with "
                           "--executor dask (default 1; results do not depend on it)")
    sweep.add_argument("--grid", type=Path, required=True, metavar="GRID.toml",
                       help="the fields to vary and their values")
    sweep.add_argument("--executor", choices=["local", "dask"], default=None,
                       help="where replications run (default local; dask with --scheduler)")
    sweep.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                       help="address of a running Dask scheduler (implies --executor dask)")
    sweep.add_argument("--target", type=target_rate, default=0.003, metavar="RATE",
                       help="oversell-rate target each point is judged against, as a "
                            "fraction of orders (default 0.003)")
    add_out(sweep, "directory for runs and summary (Parquet and CSV) and a manifest")
    add_force(sweep)
    add_json(sweep, "print one JSON object (and no progress bar)")
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    """Run a scenario at every point of a grid and print the per-point summary."""
    from racesim.scenario import load_scenario
    from racesim.study.executors import make_executor
    from racesim.study.grid import Grid
    from racesim.study.sweep import format_summary, sweep
    from racesim.util.outdir import prepare_out

    scenario = load_scenario(args.scenario)
    grid = Grid.from_toml(args.grid)
    grid.resolve(scenario)  # every grid problem, before a worker or cluster starts
    folder = prepare_out(args.out, force=args.force) if args.out is not None else None
    kind = args.executor or ("dask" if args.scheduler else "local")
    with make_executor(kind, jobs=args.jobs, scheduler=args.scheduler) as executor:
        result = sweep(scenario, grid, replications=args.replications, seed=args.seed,
                       executor=executor, progress=not args.json, target=args.target,
                       **limits(args))
    if folder is not None:
        result.save(folder, scenario_path=args.scenario)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(format_summary(result))
        if args.out is not None:
            print(f"\nRuns, summary (Parquet and CSV) and manifest written to {args.out}/")
    return 0


def add_tune_parser(commands: Commands) -> None:
    """``racesim tune SCENARIO.toml``: the smallest buffer that meets an oversell target."""
    tune = commands.add_parser(
        "tune", help="the smallest buffer that keeps oversells under a target",
        description="Search a buffer policy family for the smallest parameter whose "
                    "oversell rate's upper confidence bound is at or below the target, "
                    "on common random numbers; confirm it on fresh replications and "
                    "compare its cost with the seed formula's.")
    add_simulation_options(tune, 8, "replications to start from (default 8; more are "
                                    "added when the target needs more orders)")
    add_target_options(tune, "buffer policy family (default fixed: units per SKU)", none=True)
    tune.add_argument("--confidence", type=confidence_level, default=0.95,
                      help="confidence of the interval that must meet the target (0.95)")
    tune.add_argument("--max-replications", type=positive_count, default=256, metavar="R",
                      help="at most this many replications (default 256)")
    tune.add_argument("--no-classes", action="store_true",
                      help="one parameter for the whole catalog, even a large one")
    tune.add_argument("--per-channel", action="store_true",
                      help="a fixed buffer per channel (per channel and class for large "
                           "catalogs), from the best uniform one by coordinate descent")
    tune.add_argument("--objective", choices=["sales", "cost"], default=None,
                      help="with --per-channel: lose the fewest sales to the buffer (sales, "
                           "the default) or the least money (cost: needs [costs])")
    add_json(tune)
    tune.set_defaults(handler=_tune)


def _tune(args: argparse.Namespace) -> int:
    """Find the smallest buffer of a policy family that meets the oversell target."""
    from racesim.scenario import load_scenario
    from racesim.study.tune import tune

    if args.per_channel or args.objective is not None or args.target is None:
        return _tune_channels(args)
    scenario = load_scenario(args.scenario)
    tuning = tune(scenario, args.policy, target=args.target, confidence=args.confidence,
                  replications=args.replications, max_replications=args.max_replications,
                  seed=args.seed, jobs=args.jobs, per_class=not args.no_classes,
                  progress=not args.json, **limits(args))
    report: dict[str, Any] = tuning.to_json()  # JSON values, by the keys read here
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_tune_lines(scenario.name, report, target=args.target,
                                   confidence=args.confidence)))
    return 0


def _tune_channels(args: argparse.Namespace) -> int:
    """``tune --per-channel``: a fixed buffer per channel, beside the best uniform one."""
    from racesim.scenario import load_scenario
    from racesim.study.tune_channels import STAGES, TuneError, preflight, tune_channels
    from racesim.util.progress import StageBar

    if not args.per_channel:
        raise TuneError("--objective and --target none need --per-channel")
    if args.policy != "fixed":
        raise TuneError(f"--per-channel searches fixed buffers (units); --policy "
                        f"{args.policy} is not supported with it")
    scenario = load_scenario(args.scenario)
    request: dict[str, Any] = {
        "objective": args.objective or "sales", "target": args.target,
        "confidence": args.confidence, "replications": args.replications,
        "max_replications": args.max_replications, "jobs": args.jobs,
        "per_class": not args.no_classes, **limits(args)}
    preflight(scenario, **request)  # refused in one line, before the bar opens
    bar = StageBar(not args.json, "tune", len(STAGES))
    try:
        tuning = tune_channels(scenario, seed=args.seed, on_stage=bar.stage,
                               on_evaluation=bar.detail, **request)
    finally:
        bar.close()
    report: dict[str, Any] = tuning.to_json()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_channel_lines(scenario.name, report)))
    return 0


def _yes(meets: bool | None) -> str:
    return "–" if meets is None else "yes" if meets else "no"


def _money(value: float | None, currency: str | None) -> str:
    return "–" if value is None else f"{currency} {value:,.2f}"


def _channel_lines(name: str, report: dict[str, Any]) -> list[str]:
    """The per-channel answer as a small table beside the uniform buffer, and the saving."""
    uniform, currency = report["uniform"], report["currency"]
    target = report["target"]
    goal = "no target" if target is None else f"target {100 * target:g} %"
    lines = [f"{name}: fixed buffer per channel (objective {report['objective']}, {goal}, "
             f"{report['replications']} replications, {report['evaluations']} candidates)",
             f"  {'':<34}{'per channel':>16}{'uniform':>16}"]

    def units(value: Any) -> str:
        return ", ".join(f"{k}: {v}" for k, v in value.items()) \
            if isinstance(value, dict) else str(value)

    for channel, value in report["per_channel"].items():
        lines.append(f"  {'units hidden on ' + channel:<34}{units(value):>16}"
                     f"{units(uniform['value']):>16}")
    rows = [("oversell rate, upper 95 % end", lambda r: f"{100 * r['oversell_rate_ci'][1]:.3f} %"),
            ("meets the target" if target is not None else "within the cancellation limits",
             lambda r: _yes(r["meets_target"])),
            ("  … on fresh replications",
             lambda r: _yes(r["confirmation"]["meets_target"])),
            ("sales lost to the buffer / month",
             lambda r: f"{r['buffer_lost_sales_per_month']:,.1f}"),
            ("units hidden, on average",
             lambda r: f"{r['hidden_unit_hours_per_day'] / 24:,.2f}"),
            ("lost margin / month", lambda r: _money(r["lost_margin_per_month"], currency)),
            ("oversell cost / month", lambda r: _money(r["oversell_cost_per_month"], currency)),
            ("total cost / month", lambda r: _money(r["total_cost_per_month"], currency))]
    for label, cell in rows:
        lines.append(f"  {label:<34}{cell(report):>16}{cell(uniform):>16}")
    paired = report["paired"]
    saved, ci = paired["buffer_lost_sales_saved_per_month"], \
        paired["buffer_lost_sales_saved_per_month_ci"]
    span = "" if ci is None else f" (95 % CI {ci[0]:,.1f} to {ci[1]:,.1f})"
    lines.append(f"  saving per month on {paired['replications']} fresh replications: "
                 f"{saved:,.1f} sales fewer lost to the buffer{span}")
    if paired["total_cost_saved_per_month"] is not None:
        money_ci = paired["total_cost_saved_per_month_ci"]
        span = "" if money_ci is None else \
            f" (95 % CI {money_ci[0]:,.2f} to {money_ci[1]:,.2f})"
        lines.append(f"  money saved per month: "
                     f"{_money(paired['total_cost_saved_per_month'], currency)}{span}")
    lines.append(f"  {report['meets_target_reason']}")
    return lines


def _tune_lines(name: str, report: dict[str, Any], *, target: float,
               confidence: float) -> list[str]:
    """The readable lines of a tuning ``report`` (its JSON form) for scenario ``name``.

    Rates are pooled over every order of the tuner's replications (interval: replications
    as clusters); costs are per month (30 measured days), as the report gives them.
    """
    low, high = report["oversell_rate_ci"]
    value = report["value"]
    shown = ", ".join(f"class {k}: {v:g}" for k, v in value.items()) \
        if isinstance(value, dict) else f"{value:g}"
    verdict = "meets" if report["meets_target"] else "does NOT meet"
    lines = [
        f"{name}: {report['policy']} buffer, {report['parameter']} = {shown}",
        f"  oversell rate {100 * report['oversell_rate']:.3f} % "
        f"({100 * confidence:g} % CI {100 * low:.3f}–{100 * high:.3f} %) {verdict} the "
        f"target of {100 * target:g} % on {report['replications']} replications "
        f"({report['evaluations']} candidates simulated): {report['meets_target_reason']}",
        f"  cost per month (30 measured days): {report['hidden_unit_hours_per_month']:,.1f} "
        f"hidden unit-hours, {report['lost_sales_per_month']:,.1f} lost sales; "
        f"{report['oversold_per_month']:,.1f} oversells of "
        f"{report['orders_per_month']:,.1f} orders",
    ]
    confirmation = report.get("confirmation")
    if confirmation:
        c_low, c_high = confirmation["oversell_rate_ci"]
        lines.append(f"  confirmed on fresh replications (seed {confirmation['seed']}): "
                     f"{100 * c_low:.3f}–{100 * c_high:.3f} % — "
                     + ("meets" if confirmation["meets_target"] else "misses"))
    formula = report.get("seed_formula")
    if formula:
        lines.append(f"  seed formula max(5, 5 %, 2 × P99 demand), per month: "
                     f"{formula['hidden_unit_hours_per_month']:,.1f} hidden unit-hours, "
                     f"{formula['lost_sales_per_month']:,.1f} lost sales, oversell CI up to "
                     f"{100 * formula['oversell_rate_ci'][1]:.3f} % "
                     f"({'meets' if formula['meets_target'] else 'misses'} the target: "
                     f"{formula['meets_target_reason']})")
    if report["more_replications_needed"]:
        lines.append(f"  the interval still straddles the target: about "
                     f"{report['more_replications_needed']} more replications would settle it")
    return lines
