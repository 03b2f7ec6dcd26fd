"""``racesim demo``, ``replay`` and ``serve``: webhooks delivered to a real ledger.

``demo`` bursts duplicated, reordered order webhooks at the ledger and a naive counter;
``replay`` applies a recorded webhook log; ``serve`` takes webhooks over HTTP.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from racesim import __version__
from racesim.cli.options import (
    add_force,
    add_json,
    add_out,
    add_seed,
    positive_count,
    whole_at_least,
)
from racesim.errors import shorten

if TYPE_CHECKING:
    import pandas as pd

    from racesim.cli.demo import DemoSetup
    from racesim.cli.options import Commands

__all__ = ["add_demo_parser", "add_replay_parser", "add_serve_parser"]


def add_demo_parser(commands: Commands) -> None:
    """``racesim demo``: the duplicate-webhook demo."""
    demo = commands.add_parser(
        "demo", help="a burst of duplicated, reordered order webhooks against the ledger "
                     "and a naive counter",
        description="Deliver a burst of orders 1–3 times each, out of order, to the ledger "
                    "and to a naive counter, and print what each made of it.")
    add_seed(demo, default=1)
    demo.add_argument("--orders", type=positive_count, default=20,
                      help="orders in the burst (default 20)")
    demo.add_argument("--store", default=None,
                      help="ledger URL (default: sqlite:///OUT/ledger.db with --out, "
                           "else memory://)")
    add_out(demo, "directory for CSV tables and the ledger database")
    add_json(demo)
    add_force(demo)
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    """Run the duplicate-webhook demo and print what each engine made of it."""
    from contextlib import nullcontext

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
    else:
        _print_demo(summary, setup, args.seed, store, len(problems), out)
    return 0 if not problems else 1


def _print_demo(summary: pd.DataFrame, setup: DemoSetup, seed: int, store: str,
                problems: int, out: Path | None) -> None:
    """The demo's table and what it shows, in words."""
    import pandas as pd

    totals = summary.sum()
    print(f"racesim {__version__} — {setup.orders} orders on {len(setup.channels)} marketplaces, "
          f"each webhook delivered 1–3 times, out of order (seed {seed}; store {store})\n")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(summary.T.rename_axis(index=None, columns="sku").to_string())
    print(f"\nThe ledger absorbed {totals['duplicates_absorbed']} duplicate deliveries and "
          f"reserved {totals['reserved']} order lines, each once; it refused "
          f"{totals['oversold']} orders it had no stock for (oversells to cancel).")
    print(f"The naive counter sold {totals['naive_phantom_reservations']} duplicate copies as "
          f"if they were orders and refused {totals['naive_refused_sellable']} sellable orders.")
    print("Ledger projection vs replay of its events: "
          + ("identical." if not problems else f"{problems} differences!"))
    if out:
        print(f"Tables written to {out}/ (summary.csv, deliveries.csv, events.csv, ledger.db).")


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
    """``--shuffle WINDOW``: a number of seconds ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {shorten(text)}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds ≥ 0 "
                                         f"(got {shorten(text)})")
    return value


def add_replay_parser(commands: Commands) -> None:
    """``racesim replay TRACE.jsonl``: a recorded webhook log applied to a ledger."""
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
    add_seed(replay, help_text="seed of the duplicates and delays (default 0)")
    replay.add_argument("--malformed", choices=["stop", "skip"], default="stop",
                        help="on malformed lines: apply nothing (stop, default) or apply "
                             "every other line (skip)")
    replay.add_argument("--attempts", type=positive_count, default=4, metavar="K",
                        help="deliveries of a refused webhook before it is a dead letter "
                             "(default 4; 1 replays a racesim chaos trace as it is, since "
                             "it holds every redelivery already)")
    add_json(replay)
    replay.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    """Apply a recorded webhook log to a ledger and report the projection and invariants."""
    from racesim.chaos.replay import format_report, replay_log

    report = replay_log(args.trace, args.store, duplicate=args.duplicate, shuffle=args.shuffle,
                        seed=args.seed, on_malformed=args.malformed, attempts=args.attempts)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print(format_report(report))
    return 0 if report.sound else 1


def add_serve_parser(commands: Commands) -> None:
    """``racesim serve``: a ledger over HTTP, safe by default (token, loopback, no CSRF)."""
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
    serve.add_argument("--port", type=whole_at_least(0), default=8080,
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


def _serve(args: argparse.Namespace) -> int:
    """Serve a ledger over HTTP: POST /webhooks, GET /stock/SKU."""
    from racesim.webhooks.server import serve

    serve(args.store, args.host, args.port, token=args.token, token_file=args.token_file,
          no_auth=args.no_auth, allow_hosts=args.allow_host, allow_origins=args.allow_origin,
          quiet=args.quiet)
    return 0
