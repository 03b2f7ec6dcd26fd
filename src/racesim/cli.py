"""The ``racesim`` command line.

Each subcommand is a small function taking the parsed arguments; errors that racesim
raises on purpose (bad scenario, bad store URL, …) print one line and exit with status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from racesim import __version__
from racesim.errors import RacesimError

__all__ = ["build_parser", "main"]


def _positive(text: str) -> int:
    """An argparse type: a whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1 (got {value})")
    return value


def _seed(text: str) -> int:
    """An argparse type: a seed, a whole number ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0 (got {value})")
    return value


def _demo(args: argparse.Namespace) -> int:
    """Run the duplicate-webhook demo and print what each engine made of it."""
    import pandas as pd

    from racesim.demo import DemoSetup, duplicate_storm
    from racesim.ledger import Ledger

    out: Path | None = args.out
    store = args.store
    if store is None:
        store = f"sqlite:///{out / 'ledger.db'}" if out else "memory://"
    if out:
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob("ledger.db*"):
            stale.unlink()
    setup = DemoSetup(orders=args.orders)
    with Ledger.open(store) as ledger:
        summary, deliveries = duplicate_storm(ledger, seed=args.seed, setup=setup)
        problems = ledger.verify()
        if out:
            summary.to_csv(out / "summary.csv")
            deliveries.to_csv(out / "deliveries.csv", index=False)
            ledger.events().to_csv(out / "events.csv", index=False)
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
    from racesim.output import print_run_summary, write_run
    from racesim.runner import run_scenario
    from racesim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    result = run_scenario(scenario, seed=args.seed, replications=args.replications,
                          jobs=args.jobs, store=args.store, engine=args.engine,
                          tables=args.out is not None, progress=not args.json)
    if args.out is not None:
        write_run(args.out, scenario, result, args.scenario)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_run_summary(scenario, result, out=args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``racesim`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="racesim",
        description="How much stock to hide from each marketplace so that you almost never "
                    "sell a unit you don't have — and what the hiding costs.")
    parser.add_argument("--version", action="version", version=f"racesim {__version__}")
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
    demo.set_defaults(handler=_demo)

    run = commands.add_parser(
        "run", help="simulate a scenario file and report oversells, lost sales and sync",
        description="Simulate SCENARIO.toml (marketplaces, webhooks, sync, warehouse) against "
                    "the real ledger and print the oversell rate with its 95 %% interval, "
                    "lost sales, sync latency, stranded reservations, drift and the cost "
                    "of the buffer.")
    run.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    run.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    run.add_argument("--replications", type=_positive, default=1, metavar="R",
                     help="independent replications (default 1)")
    run.add_argument("--jobs", type=_positive, default=1, metavar="J",
                     help="worker processes (default 1; results do not depend on it)")
    run.add_argument("--store", default=None,
                     help="ledger store URL (default: the scenario's, else memory://); "
                          "sqlite:///run.db gives each replication its own file")
    run.add_argument("--engine", choices=["ledger", "naive_counter"], default=None,
                     help="override the scenario's stock engine")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--out", type=Path, default=None,
                     help="directory for the tables (Parquet or CSV) and a manifest")
    run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``racesim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except RacesimError as exc:
        print(f"racesim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
