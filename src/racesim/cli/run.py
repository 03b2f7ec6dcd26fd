"""``racesim run`` and ``racesim report``: simulate one scenario, print or write the result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from racesim.cli.options import (
    add_force,
    add_json,
    add_out,
    add_simulation_options,
    add_target_options,
    limits,
    target_rate,
)
from racesim.ledger.store import check_store_url

if TYPE_CHECKING:
    from racesim.cli.options import Commands

__all__ = ["add_report_parser", "add_run_parser"]


def add_run_parser(commands: Commands) -> None:
    """``racesim run SCENARIO.toml``: the oversell metrics of a scenario."""
    run = commands.add_parser(
        "run", help="simulate a scenario file and report oversells, lost sales and sync",
        description="Simulate SCENARIO.toml (marketplaces, webhooks, sync, warehouse) against "
                    "the real ledger and print the oversell rate with its 95 % interval, "
                    "lost sales, sync latency, stranded reservations, drift and the cost "
                    "of the buffer.")
    add_simulation_options(run, 1, "independent replications (default 1)")
    run.add_argument("--store", default=None,
                     help="ledger store URL (default: the scenario's, else memory://); "
                          "sqlite:///run.db gives each replication its own file")
    run.add_argument("--engine", choices=["ledger", "naive_counter"], default=None,
                     help="override the scenario's stock engine")
    run.add_argument("--target", type=target_rate, default=0.003, metavar="RATE",
                     help="oversell-rate target to judge the run against, as a fraction "
                          "of orders (default 0.003)")
    add_json(run)
    add_out(run, "directory for the tables (Parquet or CSV) and a manifest")
    add_force(run)
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    """Simulate a scenario and print its oversell metrics."""
    from racesim.cli.output import print_run_summary, write_run
    from racesim.scenario import load_scenario
    from racesim.study.replications import run_scenario
    from racesim.util.outdir import prepare_out

    scenario = load_scenario(args.scenario)
    check_store_url(args.store or scenario.engine.store)  # the scenario's, before any work
    folder = prepare_out(args.out, force=args.force) if args.out is not None else None
    result = run_scenario(scenario, seed=args.seed, replications=args.replications,
                          jobs=args.jobs, store=args.store, engine=args.engine,
                          tables=args.out is not None, progress=not args.json,
                          **limits(args))
    if folder is not None:
        write_run(folder, scenario, result, args.scenario, target=args.target)
    if args.json:
        print(json.dumps(result.to_json(target=args.target), indent=2))
    else:
        print_run_summary(scenario, result, out=args.out, target=args.target)
    return 0


def add_report_parser(commands: Commands) -> None:
    """``racesim report SCENARIO.toml``: the client's oversell-risk report."""
    report = commands.add_parser(
        "report", help="write an oversell-risk report (HTML, figures, tables; PDF with --pdf)",
        description="Simulate SCENARIO.toml at its current buffer, tune the buffer to an "
                    "oversell target, sweep the buffer and find race episodes, then write "
                    "a self-contained index.html (answer first, figures inline), the "
                    "figures as PNG, the tables as CSV, summary.json and manifest.json.")
    add_simulation_options(report, 20, "replications per run; the tuner starts here and "
                                       "adds what the target needs (default 20)")
    add_target_options(report, "buffer policy family to tune (default fixed)")
    add_out(report, "report folder (default out/SCENARIO-NAME)", metavar="DIR")
    report.add_argument("--pdf", action="store_true",
                        help="also print report.pdf with headless Chromium")
    report.add_argument("--title", type=_page_text("--title"), default=None,
                        help="the page's title (default: 'Oversell risk: ' and the "
                             "scenario's name in words)")
    report.add_argument("--client", type=_page_text("--client"), default=None,
                        help="the client's name, shown as 'Prepared for CLIENT'")
    report.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=None,
                        help="also search a fixed buffer per marketplace and show its money "
                             "frontier (default: on when the scenario has several "
                             "marketplaces and [costs], with --policy fixed)")
    add_json(report, "print the result (folder, files, summary.json's numbers, advice) as "
                     "one JSON object on standard output")
    report.add_argument("--quiet", action="store_true",
                        help="print nothing but errors (no progress bar, no summary lines)")
    add_force(report)
    report.set_defaults(handler=_report)


MAX_PAGE_TEXT = 200
"""The longest --title or --client (characters)."""


def _page_text(option: str) -> Callable[[str], str]:
    """An argparse type: one line of 1 to :data:`MAX_PAGE_TEXT` characters."""
    def check(value: str) -> str:
        text = " ".join(value.split())
        if not text or len(text) > MAX_PAGE_TEXT:
            raise argparse.ArgumentTypeError(
                f"{option} must be 1 to {MAX_PAGE_TEXT} characters (got {len(text)})")
        return text
    return check


def _report_command(args: argparse.Namespace, out: Path) -> list[str]:
    """The ``racesim report`` command line with every option spelled out, for the manifest."""
    return ["racesim", "report", str(args.scenario), "--out", str(out), "--seed",
            str(args.seed), "--replications", str(args.replications), "--jobs",
            str(args.jobs), "--target", f"{args.target:g}", "--policy", args.policy,
            *(["--pdf"] if args.pdf else []),
            *(["--title", args.title] if args.title else []),
            *(["--client", args.client] if args.client else []),
            *([] if args.per_channel is None else
              ["--per-channel" if args.per_channel else "--no-per-channel"]),
            *(["--force"] if args.force else [])]


def _report(args: argparse.Namespace) -> int:
    """Simulate a scenario and write its oversell-risk report (HTML, figures, tables)."""
    import re

    from racesim.report import build_report
    from racesim.scenario import load_scenario
    from racesim.util.outdir import prepare_out

    scenario = load_scenario(args.scenario)
    args.seed = scenario.run_seed(args.seed)  # the seed used, in the manifest's command
    out = args.out or Path("out") / (re.sub(r"[^A-Za-z0-9._-]+", "-", scenario.name)
                                         .strip("-.") or "report")
    folder = prepare_out(out, force=args.force)  # before any simulation
    report = build_report(scenario, folder, scenario_path=args.scenario, seed=args.seed,
                          replications=args.replications, jobs=args.jobs, target=args.target,
                          policy=args.policy, pdf=args.pdf, progress=not args.quiet,
                          command=_report_command(args, out), title=args.title,
                          client=args.client, per_channel=args.per_channel, **limits(args))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    if args.quiet:
        return 0
    rec = report.headline["recommended"]
    low, high = rec["oversell_rate_ci"]
    value = ", ".join(f"{name} {v:g}" for name, v in rec["value"].items()) \
        if isinstance(rec["value"], dict) else f"{rec['value']:g}"
    print(f"{scenario.name}: recommended {args.policy} buffer {value} — oversell rate "
          f"{100 * rec['oversell_rate']:.2f} % (95 % CI {100 * low:.2f}–{100 * high:.2f} %, "
          f"target {100 * args.target:g} %); today "
          f"{report.headline['current']['oversells_per_month']:.1f} oversells a month.")
    if report.headline.get("per_channel"):
        from racesim.report.channel_frontier import channel_answer

        answer = channel_answer(report.headline["per_channel"])
        print(f"Per marketplace: {answer['headline']} {answer['text']}")
    print(f"Report written to {out / 'index.html'}"
          + (f" and {out / 'report.pdf'}" if args.pdf else "") + f" ({len(report.files)} files).")
    return 0
