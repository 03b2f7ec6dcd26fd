"""The ``racesim`` command line.

Each subcommand is a small function taking the parsed arguments; errors that racesim
raises on purpose (bad scenario, bad store URL, …) print one line and exit with status 2,
never a traceback; the other exit statuses are listed in :mod:`racesim.cli.exits`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

from racesim import __version__
from racesim.cli.exits import (
    BAD_INPUT,
    BROKEN_PIPE,
    INTERNAL_ERROR,
    bounded_message,
    internal_error,
    interrupted,
    stop_on_sigterm,
)
from racesim.errors import RacesimError, shorten
from racesim.ledger.store import check_store_url
from racesim.policy.kinds import BUFFER_KINDS

if TYPE_CHECKING:
    from racesim.study.budget import Budget

__all__ = ["build_parser", "main"]


MAX_DIGITS = 19
"""Longest whole number an option takes, in digits: a seed fits a signed 64-bit column."""
MAX_SEED = 2**63 - 1
MAX_JOBS = 256
MAX_COUNT = 10**6
"""Upper bound of the counting options (replications, orders, seeds, tries)."""


def _whole(minimum: int, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        digits = text.strip().lstrip("+-")
        try:
            if len(digits) > MAX_DIGITS:  # refused before int() spends time on it
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at most "
                                             f"{MAX_DIGITS} digits, got {shorten(text)}") \
                from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum} (got {value})")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (got {value:,})")
        return value

    return parse


def _whole_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum`` (and of at most 19 digits)."""
    return _whole(minimum, MAX_SEED)


def _fraction(example: str, note: str = "") -> Callable[[str], float]:
    """An argparse type: a number strictly between 0 and 1 (``example`` shows one)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {example}, got {shorten(text)}") \
                from None
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {value:g}{note})")
        return value

    return parse


_positive = _whole(1)
_seed = _whole(0, MAX_SEED)
_jobs = _whole(1, MAX_JOBS)
_target = _fraction("a fraction such as 0.003", "; 0.003 means 0.3 % of orders")
_confidence = _fraction("a level such as 0.95")


def _demo(args: argparse.Namespace) -> int:
    """Run the duplicate-webhook demo and print what each engine made of it."""
    from contextlib import nullcontext

    import pandas as pd

    from racesim.cli.demo import DemoSetup, duplicate_storm
    from racesim.ledger import Ledger
    from racesim.util.csvsafe import write_csv
    from racesim.util.outdir import prepare_out

    out: Path | None = args.out
    folder = prepare_out(out, force=args.force) if out else None  # before any work
    store = args.store
    if store is None:
        store = f"sqlite:///{out / 'ledger.db'}" if out else "memory://"
    setup = DemoSetup(orders=args.orders)
    with folder.staged() if folder else nullcontext() as stage:
        opened = store if stage is None or args.store else f"sqlite:///{stage.root}/ledger.db"
        with Ledger.open(opened) as ledger:
            summary, deliveries = duplicate_storm(ledger, seed=args.seed, setup=setup)
            problems = ledger.verify()
            if stage is not None:
                write_csv(summary, stage.path("summary.csv"), index=True)
                write_csv(deliveries, stage.path("deliveries.csv"))
                write_csv(ledger.events(), stage.path("events.csv"))
                stage.manifest.update({"what": "racesim demo", "seed": args.seed,
                                       "orders": args.orders, "store": store})
    if args.json:
        print(json.dumps({"seed": args.seed, "store": store, "verify_differences": len(problems),
                          "summary": summary.reset_index().to_dict("records")}, indent=2))
        return 0 if not problems else 1
    totals = summary.sum()
    print(f"racesim {__version__} — {setup.orders} orders on {len(setup.channels)} marketplaces, "
          f"each webhook delivered 1–3 times, out of order (seed {args.seed}; store {store})\n")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(summary.T.rename_axis(index=None, columns="sku").to_string())
    print(f"\nThe ledger absorbed {totals['duplicates_absorbed']} duplicate deliveries and "
          f"reserved {totals['reserved']} order lines, each once; it refused "
          f"{totals['oversold']} orders it had no stock for (oversells to cancel).")
    print(f"The naive counter sold {totals['naive_phantom_reservations']} duplicate copies as "
          f"if they were orders and refused {totals['naive_refused_sellable']} sellable orders.")
    print("Ledger projection vs replay of its events: "
          + ("identical." if not problems else f"{len(problems)} differences!"))
    if out:
        print(f"Tables written to {out}/ (summary.csv, deliveries.csv, events.csv, ledger.db).")
    return 0 if not problems else 1


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
                          **_limits(args))
    if folder is not None:
        write_run(folder, scenario, result, args.scenario)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_run_summary(scenario, result, out=args.out)
    return 0


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
                       executor=executor, progress=not args.json, **_limits(args))
    if folder is not None:
        result.save(folder, scenario_path=args.scenario)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, default=str))
    else:
        print(format_summary(result))
        if args.out is not None:
            print(f"\nRuns, summary (Parquet and CSV) and manifest written to {args.out}/")
    return 0


def _tune(args: argparse.Namespace) -> int:
    """Find the smallest buffer of a policy family that meets the oversell target."""
    from racesim.scenario import load_scenario
    from racesim.study.tune import tune

    scenario = load_scenario(args.scenario)
    tuning = tune(scenario, args.policy, target=args.target, confidence=args.confidence,
                  replications=args.replications, max_replications=args.max_replications,
                  seed=args.seed, jobs=args.jobs, per_class=not args.no_classes,
                  progress=not args.json, **_limits(args))
    report: dict[str, Any] = tuning.to_json()  # JSON values, by the keys read here
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    low, high = report["oversell_rate_ci"]
    value = report["value"]
    shown = ", ".join(f"class {k}: {v:g}" for k, v in value.items()) \
        if isinstance(value, dict) else f"{value:g}"
    verdict = "meets" if report["meets_target"] else "does NOT meet"
    lines = [
        f"{scenario.name}: {report['policy']} buffer, {report['parameter']} = {shown}",
        f"  oversell rate {100 * report['oversell_rate']:.3f} % "
        f"({100 * args.confidence:g} % CI {100 * low:.3f}–{100 * high:.3f} %) {verdict} the "
        f"target of {100 * args.target:g} % on {report['replications']} replications "
        f"({report['evaluations']} candidates simulated)",
        f"  cost per replication: {report['hidden_unit_hours']:.1f} hidden unit-hours, "
        f"{report['lost_sales']:.1f} lost sales",
    ]
    confirmation = report.get("confirmation")
    if confirmation:
        c_low, c_high = confirmation["oversell_rate_ci"]
        lines.append(f"  confirmed on fresh replications (seed {confirmation['seed']}): "
                     f"{100 * c_low:.3f}–{100 * c_high:.3f} % — "
                     + ("meets" if confirmation["meets_target"] else "misses"))
    formula = report.get("seed_formula")
    if formula:
        lines.append(f"  seed formula max(5, 5 %, 2 × P99 demand): "
                     f"{formula['hidden_unit_hours']:.1f} hidden unit-hours, "
                     f"{formula['lost_sales']:.1f} lost sales, oversell CI up to "
                     f"{100 * formula['oversell_rate_ci'][1]:.3f} %")
    if report["more_replications_needed"]:
        lines.append(f"  the interval still straddles the target: about "
                     f"{report['more_replications_needed']} more replications would settle it")
    print("\n".join(lines))
    return 0


def _report(args: argparse.Namespace) -> int:
    """Simulate a scenario and write its oversell-risk report (HTML, figures, tables)."""
    import re

    from racesim.report import build_report
    from racesim.scenario import load_scenario
    from racesim.util.outdir import prepare_out

    scenario = load_scenario(args.scenario)
    out = args.out or Path("reports") / (re.sub(r"[^A-Za-z0-9._-]+", "-", scenario.name)
                                         .strip("-.") or "report")
    folder = prepare_out(out, force=args.force)  # before any simulation
    command = ["racesim", "report", str(args.scenario), "--out", str(out), "--seed",
               str(args.seed), "--replications", str(args.replications), "--jobs",
               str(args.jobs), "--target", f"{args.target:g}", "--policy", args.policy,
               *(["--pdf"] if args.pdf else []),
               *(["--force"] if args.force else [])]  # every option spelled out, for the manifest
    report = build_report(scenario, folder, scenario_path=args.scenario, seed=args.seed,
                          replications=args.replications, jobs=args.jobs, target=args.target,
                          policy=args.policy, pdf=args.pdf, progress=True, command=command,
                          **_limits(args))
    rec = report.headline["recommended"]
    low, high = rec["oversell_rate_ci"]
    value = ", ".join(f"{name} {v:g}" for name, v in rec["value"].items()) \
        if isinstance(rec["value"], dict) else f"{rec['value']:g}"
    print(f"{scenario.name}: recommended {args.policy} buffer {value} — oversell rate "
          f"{100 * rec['oversell_rate']:.2f} % (95 % CI {100 * low:.2f}–{100 * high:.2f} %, "
          f"target {100 * args.target:g} %); today "
          f"{report.headline['current']['oversells_per_month']:.1f} oversells a month.")
    print(f"Report written to {out / 'index.html'}"
          + (f" and {out / 'report.pdf'}" if args.pdf else "") + f" ({len(report.files)} files).")
    return 0


def _chaos(args: argparse.Namespace) -> int:
    """Attack an engine with seeded swarms of hostile deliveries; non-zero exit on a break."""
    import time

    from racesim.chaos import parse_engine, run_chaos
    from racesim.chaos.output import print_chaos, print_replayed_seed, write_chaos
    from racesim.chaos.swarm import SWARM_VERSION, SWARM_VERSIONS
    from racesim.util.outdir import prepare_out
    from racesim.webhooks.server import read_token_file

    if args.swarm_version is None:
        args.swarm_version = SWARM_VERSION
    elif args.swarm_version not in SWARM_VERSIONS:
        raise RacesimError(f"--swarm-version {args.swarm_version}: unknown (known: "
                           f"{', '.join(map(str, SWARM_VERSIONS))})")

    namespace = f"c{time.time_ns() // 1_000_000 % 10**10:x}-"  # keeps HTTP runs apart
    token = read_token_file(args.token_file) if args.token_file is not None else None
    if token is None and args.engine.strip().startswith(("http://", "https://")):
        token = os.environ.get("RACESIM_TOKEN", "").strip() or None
    spec = parse_engine(args.engine, args.store, namespace, token)
    folder = prepare_out(args.out, force=args.force) if args.out is not None else None
    if args.replay is not None:
        return print_replayed_seed(spec, args.replay, out=folder, as_json=args.json,
                                   budget=args.shrink_budget, shorten=not args.no_shrink,
                                   swarm_version=args.swarm_version)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    report = run_chaos(spec, seeds, jobs=args.jobs, shrink_first=not args.no_shrink,
                       shrink_budget=args.shrink_budget, progress=not args.json,
                       swarm_version=args.swarm_version)
    if folder is not None:
        write_chaos(folder, report, command=["racesim", "chaos", *sys.argv[2:]])
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print_chaos(report, spec, out=args.out)
    return 0 if report.passed else 1


def _replay(args: argparse.Namespace) -> int:
    """Apply a recorded webhook log to a ledger and report the projection and invariants."""
    from racesim.webhooks.replay import format_report, replay_log

    report = replay_log(args.trace, args.store, duplicate=args.duplicate, shuffle=args.shuffle,
                        seed=args.seed, on_malformed=args.malformed, attempts=args.attempts)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print(format_report(report))
    return 0 if report.sound else 1


def _serve(args: argparse.Namespace) -> int:
    """Serve a ledger over HTTP: POST /webhooks, GET /stock/SKU."""
    from racesim.webhooks.server import serve

    serve(args.store, args.host, args.port, token=args.token, token_file=args.token_file,
          no_auth=args.no_auth, allow_hosts=args.allow_host, allow_origins=args.allow_origin,
          quiet=args.quiet)
    return 0


def _probabilities(text: str) -> tuple[float, float]:
    """``--duplicate p2,p3``: chances of a second and of a third copy."""
    parts = text.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected p2,p3 such as 0.3,0.1 "
                                         f"(got {shorten(text)})") from None
    if len(values) == 1:
        values.append(0.0)
    if len(values) != 2 or not all(0 <= v <= 1 for v in values) or sum(values) > 1:
        raise argparse.ArgumentTypeError(f"expected two probabilities p2,p3 in [0, 1] with "
                                         f"p2 + p3 ≤ 1 (got {shorten(text)})")
    return values[0], values[1]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {shorten(text)}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0 "
                                         f"(got {shorten(text)})")
    return value


POLICY_FAMILIES = list(BUFFER_KINDS)
JOBS_HELP = f"worker processes, at most {MAX_JOBS} (default 1; results do not depend on it)"
FORCE_HELP = ("write into an --out folder that holds files racesim did not write (they "
              "are left alone; only files at the paths racesim writes are replaced)")
DEBUG_HELP = "on an unexpected error, print the traceback (not only its one line)"


def _add_simulation_options(parser: argparse.ArgumentParser, replications: int,
                            replications_help: str, jobs_help: str = JOBS_HELP) -> None:
    """The scenario argument and the options every simulating command shares."""
    parser.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    parser.add_argument("--replications", type=_positive, default=replications, metavar="R",
                        help=replications_help)
    parser.add_argument("--jobs", type=_jobs, default=1, metavar="J", help=jobs_help)
    parser.add_argument("--max-events", type=_event_count, default=None, metavar="N",
                        help="refuse, before it starts, a job estimated to simulate more "
                             "SimPy events (default 5e8)")
    parser.add_argument("--max-memory", type=_memory_size, default=None, metavar="SIZE",
                        help="refuse, before it starts, a job estimated to need more memory, "
                             "e.g. 8GiB (default 4GiB)")


def _event_count(text: str) -> float:
    """``--max-events``: a positive number such as 2e9."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 2e9, got {text[:40]!r}") \
            from None
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number ≥ 1 (got {text[:40]})")
    return value


def _memory_size(text: str) -> float:
    """``--max-memory``: bytes, from a size such as 8GiB."""
    from racesim.study.budget import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class _Limits(TypedDict):
    budget: Budget
    source: str


def _limits(args: argparse.Namespace) -> _Limits:
    """The budget of ``--max-events``/``--max-memory`` and the file it names in refusals."""
    from racesim.study.budget import DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY, Budget

    budget = Budget(args.max_events or DEFAULT_MAX_EVENTS, args.max_memory or DEFAULT_MAX_MEMORY)
    return {"budget": budget, "source": args.scenario.name}


def _add_target_options(parser: argparse.ArgumentParser, policy_help: str) -> None:
    """The buffer family to tune and the oversell target it must meet."""
    parser.add_argument("--policy", default="fixed", choices=POLICY_FAMILIES, help=policy_help)
    parser.add_argument("--target", type=_target, default=0.003, metavar="RATE",
                        help="oversell-rate target as a fraction of orders (default 0.003)")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error never echoes a huge argument whole."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the (bounded) message; exit with status 2."""
        super().error(bounded_message(message))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``racesim`` and its subcommands."""
    parser = _Parser(
        prog="racesim",
        description="How much stock to hide from each marketplace so that you almost never "
                    "sell a unit you don't have — and what the hiding costs.")
    parser.add_argument("--version", action="version", version=f"racesim {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="a burst of duplicated, reordered order webhooks against the ledger "
                     "and a naive counter",
        description="Deliver a burst of orders 1–3 times each, out of order, to the ledger "
                    "and to a naive counter, and print what each made of it.")
    demo.add_argument("--seed", type=_seed, default=1, help="random seed (default 1)")
    demo.add_argument("--orders", type=_positive, default=20,
                      help="orders in the burst (default 20)")
    demo.add_argument("--store", default=None,
                      help="ledger URL (default: sqlite:///OUT/ledger.db with --out, "
                           "else memory://)")
    demo.add_argument("--out", type=Path, default=None,
                      help="directory for CSV tables and the ledger database")
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument("--force", action="store_true", help=FORCE_HELP)
    demo.set_defaults(handler=_demo)

    run = commands.add_parser(
        "run", help="simulate a scenario file and report oversells, lost sales and sync",
        description="Simulate SCENARIO.toml (marketplaces, webhooks, sync, warehouse) against "
                    "the real ledger and print the oversell rate with its 95 % interval, "
                    "lost sales, sync latency, stranded reservations, drift and the cost "
                    "of the buffer.")
    _add_simulation_options(run, 1, "independent replications (default 1)")
    run.add_argument("--store", default=None,
                     help="ledger store URL (default: the scenario's, else memory://); "
                          "sqlite:///run.db gives each replication its own file")
    run.add_argument("--engine", choices=["ledger", "naive_counter"], default=None,
                     help="override the scenario's stock engine")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--out", type=Path, default=None,
                     help="directory for the tables (Parquet or CSV) and a manifest")
    run.add_argument("--force", action="store_true", help=FORCE_HELP)
    run.set_defaults(handler=_run)

    sweep = commands.add_parser(
        "sweep", help="run a scenario at every point of a parameter grid",
        description="Simulate SCENARIO.toml at every point of GRID.toml (override paths "
                    "and their values, e.g. \"buffer.units\" = [0, 1, 2]), R replications "
                    "each on common random numbers (replication r uses the same seed at "
                    "every point), and print each point's oversell rate with its 95 % "
                    "intervals, lost sales and hidden stock.")
    _add_simulation_options(sweep, 1, "replications per point (default 1)",
                            "local worker processes, or LocalCluster workers with "
                            "--executor dask (default 1; results do not depend on it)")
    sweep.add_argument("--grid", type=Path, required=True, metavar="GRID.toml",
                       help="the fields to vary and their values")
    sweep.add_argument("--executor", choices=["local", "dask"], default=None,
                       help="where replications run (default local; dask with --scheduler)")
    sweep.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                       help="address of a running Dask scheduler (implies --executor dask)")
    sweep.add_argument("--out", type=Path, default=None,
                       help="directory for runs and summary (Parquet and CSV) and a manifest")
    sweep.add_argument("--force", action="store_true", help=FORCE_HELP)
    sweep.add_argument("--json", action="store_true",
                       help="print one JSON object (and no progress bar)")
    sweep.set_defaults(handler=_sweep)

    tune = commands.add_parser(
        "tune", help="the smallest buffer that keeps oversells under a target",
        description="Search a buffer policy family for the smallest parameter whose "
                    "oversell rate's upper confidence bound is at or below the target, "
                    "on common random numbers; confirm it on fresh replications and "
                    "compare its cost with the seed formula's.")
    _add_simulation_options(tune, 8, "replications to start from (default 8; more are "
                                     "added when the target needs more orders)")
    _add_target_options(tune, "buffer policy family (default fixed: units per SKU)")
    tune.add_argument("--confidence", type=_confidence, default=0.95,
                      help="confidence of the interval that must meet the target (0.95)")
    tune.add_argument("--max-replications", type=_positive, default=256, metavar="R",
                      help="at most this many replications (default 256)")
    tune.add_argument("--no-classes", action="store_true",
                      help="one parameter for the whole catalog, even a large one")
    tune.add_argument("--json", action="store_true", help="print one JSON object")
    tune.set_defaults(handler=_tune)

    report = commands.add_parser(
        "report", help="write an oversell-risk report (HTML, figures, tables; PDF with --pdf)",
        description="Simulate SCENARIO.toml at its current buffer, tune the buffer to an "
                    "oversell target, sweep the buffer and find race episodes, then write "
                    "a self-contained index.html (answer first, figures inline), the "
                    "figures as PNG, the tables as CSV, summary.json and manifest.json.")
    _add_simulation_options(report, 20, "replications per run; the tuner starts here and "
                                        "adds what the target needs (default 20)")
    _add_target_options(report, "buffer policy family to tune (default fixed)")
    report.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="report folder (default reports/SCENARIO-NAME)")
    report.add_argument("--pdf", action="store_true",
                        help="also print report.pdf with headless Chromium")
    report.add_argument("--force", action="store_true", help=FORCE_HELP)
    report.set_defaults(handler=_report)

    chaos = commands.add_parser(
        "chaos", help="attack a stock engine with duplicated, reordered, redelivered "
                      "webhooks and audit it after every step",
        description="Run seeds 0…N−1 (or from --first-seed): each draws its own shop and "
                    "hostility — duplicate rate 0–50 %, reorder window, redeliveries, "
                    "handler crashes, cancellations, returns, restocks, cycle counts — "
                    "drives a fresh engine through every delivery, and checks it after "
                    "each against a reference model. A failing seed is shrunk to a short "
                    "trace; exit status 1 when any invariant broke.")
    chaos.add_argument("--engine", default="ledger",
                       help="ledger (default), naive_counter, python:MODULE:FACTORY, "
                            "python:FILE.py:FACTORY or http://HOST:PORT/PATH")
    chaos.add_argument("--store", default=None,
                       help="the ledger's store URL (default memory://); each seed gets "
                            "its own file or schema, deleted when the seed passes")
    chaos.add_argument("--seeds", type=_positive, default=100, metavar="N",
                       help="number of seeds (default 100)")
    chaos.add_argument("--first-seed", type=_seed, default=0, metavar="S",
                       help="first seed (default 0)")
    chaos.add_argument("--replay", type=_seed, default=None, metavar="SEED",
                       help="run one seed again and print its shortened trace, step by step")
    chaos.add_argument("--swarm-version", type=_positive, default=None, metavar="V",
                       help="the swarm to draw seeds from (default the newest; 1 "
                            "reproduces a seed reported before version 2's key shapes)")
    chaos.add_argument("--jobs", type=_jobs, default=1, metavar="J", help=JOBS_HELP)
    chaos.add_argument("--no-shrink", action="store_true",
                       help="do not shorten the first failing seed's trace")
    chaos.add_argument("--shrink-budget", type=_positive, default=400, metavar="TRIES",
                       help="replays the shrinker may spend (default 400)")
    chaos.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="write seeds.csv, summary.json and failing traces (JSONL)")
    chaos.add_argument("--force", action="store_true", help=FORCE_HELP)
    chaos.add_argument("--json", action="store_true",
                       help="print one JSON object (and no progress bar)")
    chaos.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                       help="an http:// engine's bearer token, on the file's first line "
                            "(default: the RACESIM_TOKEN environment variable)")
    chaos.set_defaults(handler=_chaos)

    replay = commands.add_parser(
        "replay", help="apply a recorded webhook log (JSONL) to a ledger",
        description="Apply TRACE.jsonl — one webhook delivery per line, see "
                    "racesim.webhooks.format — to the ledger at --store, optionally with "
                    "injected duplicates and reordering, redelivering refused deliveries "
                    "like a job runner; print the resulting projection and any broken "
                    "invariant (exit status 1). Every line is checked first; malformed "
                    "lines are reported with their line number.")
    replay.add_argument("trace", type=Path, metavar="TRACE.jsonl")
    replay.add_argument("--store", default="memory://",
                        help="ledger URL to apply to (default memory://)")
    replay.add_argument("--duplicate", type=_probabilities, default=(0.0, 0.0),
                        metavar="P2,P3", help="deliver each line twice with probability "
                                              "P2, three times with P3 (default 0,0)")
    replay.add_argument("--shuffle", type=_seconds, default=0.0, metavar="WINDOW",
                        help="delay each delivery by U(0, WINDOW) seconds, reordering "
                             "those closer than that (default 0: file order)")
    replay.add_argument("--seed", type=_seed, default=0,
                        help="seed of the duplicates and delays (default 0)")
    replay.add_argument("--malformed", choices=["stop", "skip"], default="stop",
                        help="on malformed lines: apply nothing (stop, default) or apply "
                             "every other line (skip)")
    replay.add_argument("--attempts", type=_positive, default=4, metavar="K",
                        help="deliveries of a refused webhook before it is a dead letter "
                             "(default 4; 1 replays a racesim chaos trace as it is, since "
                             "it holds every redelivery already)")
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.set_defaults(handler=_replay)

    serve = commands.add_parser(
        "serve", help="serve a ledger over HTTP (JSON webhooks in, stock out)",
        description="Apply webhooks POSTed as JSON to /webhooks to the ledger at --store "
                    "and answer GET /stock/SKU: the protocol of racesim chaos's HTTP "
                    "adapter, e.g. racesim chaos --engine http://127.0.0.1:8080. Every "
                    "request needs Authorization: Bearer TOKEN (generated and printed "
                    "unless given), a loopback Host (or --allow-host), no foreign Origin "
                    "(or --allow-origin) and, for POST, Content-Type: application/json.")
    serve.add_argument("--store", default="memory://", help="ledger URL (default memory://)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=_whole_at_least(0), default=8080,
                       help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--token", default=None,
                       help="the bearer token (visible in the process list: prefer "
                            "--token-file or RACESIM_SERVE_TOKEN; default: generated)")
    serve.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                       help="read the token from the file's first line")
    serve.add_argument("--no-auth", action="store_true",
                       help="serve without a token (only with a loopback --host)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                       help="also accept this Host header (repeatable), e.g. behind a proxy")
    serve.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                       help="also accept requests from this browser origin (repeatable), "
                            "e.g. http://localhost:3000")
    serve.add_argument("--quiet", action="store_true",
                       help="no access log (default: one line per request on stderr)")
    serve.set_defaults(handler=_serve)
    for command in commands.choices.values():  # also after the command: racesim run --debug
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=DEBUG_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``racesim`` console script; returns the exit status.

    The statuses are listed in :mod:`racesim.cli.exits`: 2 for usage and bad input, 1 when a
    check found a problem, 3 for an unexpected error (one line; ``--debug`` prints the
    traceback), 130 on Ctrl-C and 143 on SIGTERM — worker processes stopped either way.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments  # before parsing, in case parsing itself fails
    try:
        with stop_on_sigterm():
            parser = build_parser()
            args = parser.parse_args(arguments)
            debug = getattr(args, "debug", False)
            if args.command is None:
                parser.print_help(sys.stderr)
                return BAD_INPUT
            store = getattr(args, "store", None)
            if store is not None:  # a bad URL is refused before any work or progress bar
                check_store_url(store)
            status: int = args.handler(args)
            sys.stdout.flush()  # a closed pipe is found here, not at interpreter exit
            return status
    except RacesimError as exc:
        if debug:
            traceback.print_exc()
        print(f"racesim: error: {bounded_message(str(exc))}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        status, line = interrupted(exc)
        print(f"\n{line}", file=sys.stderr)
        return status
    except BrokenPipeError:
        # The reader went away (racesim … | head): stop quietly, and point stdout at
        # /dev/null so the interpreter's last flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(internal_error(exc, debug=debug), file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
