"""``racesim fit``: a seller's exports in, a commented scenario file (and a fit report) out.

Every option is checked while arguments are parsed, and the output paths before any file
is read: an existing ``--out`` or ``--report`` file is replaced only with ``--force``
(racesim cannot tell a file it wrote from one it did not, so it never assumes), and
each file is written whole to a temporary name beside it and moved into place, so a
failed fit leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from racesim.cli.options import add_json, add_seed, whole
from racesim.errors import RacesimError, shorten

if TYPE_CHECKING:
    from racesim.cli.options import Commands
    from racesim.fit.model import Fit

__all__ = ["SYNC_MODES", "add_fit_parser"]

SYNC_MODES = ("event_driven", "periodic_push_time", "periodic_snapshot", "periodic_delta",
              "compare_and_set")
MAX_DURATION_S = 366 * 86400.0
MAX_LISTING_S = 7 * 86400.0
_MAX_NAME = 200
"""The longest channel name ``--listing-latency`` takes (a scenario's name limit)."""


def _seconds(low: float, high: float, example: str) -> Any:
    """An argparse type: a duration (``30s``, ``5m``, ``2d``) from ``low`` to ``high`` s."""
    from racesim.util.units import format_duration, parse_duration

    def parse(text: str) -> float:
        try:
            value = parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a duration such as {example}, got "
                                             f"{shorten(text)}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {format_duration(low)} to "
                                             f"{format_duration(high)} (got {text.strip()})")
        return value

    return parse


_listing_seconds = _seconds(0.0, MAX_LISTING_S, "2m")


def _listing(text: str) -> tuple[str, float]:
    """``--listing-latency CHANNEL=DURATION``."""
    name, sep, rest = text.rpartition("=")
    if not sep or not name.strip() or name != name.strip() or len(name) > _MAX_NAME:
        raise argparse.ArgumentTypeError(f"expected CHANNEL=DURATION such as amazon=2m, got "
                                         f"{shorten(text)}")
    return name, _listing_seconds(rest)


def add_fit_parser(commands: Commands) -> None:
    """``racesim fit --orders PATH ... --out scenario.toml``."""
    fit = commands.add_parser(
        "fit", help="fit a scenario file to a seller's order exports (and receipts, stock)",
        description="Read order exports (Shopify, Amazon, eBay or generic), optionally a "
                    "webhook receipt log, a stock list and returns; fit demand, dispersion, "
                    "channels and latency; write a commented scenario file that racesim "
                    "run/tune/report take as it is.")
    add = fit.add_argument
    add("--orders", action="append", required=True, metavar="[CHANNEL=]PATH",
        help="an order export (repeat for several); CHANNEL= names a file's channel")
    add("--webhooks", type=Path, metavar="PATH", help="webhook receipt log (CSV or JSON Lines)")
    add("--stock", type=Path, metavar="PATH", help="stock list (sku, on_hand[, restock_every, "
                                                  "restock_qty])")
    add("--returns", type=Path, metavar="PATH", help="returns file (order_id, sku, quantity, "
                                                    "returned_at)")
    add("--format", default="auto", choices=["auto", "shopify", "amazon", "ebay", "generic"],
        help="layout of the order files (default auto: recognised from the header)")
    add("--out", type=Path, required=True, metavar="SCENARIO.toml",
        help="the scenario file to write")
    add("--report", type=Path, metavar="FIT.html", help="also write a fit report (HTML)")
    add_json(fit, "print the fit as one JSON object")
    add("--malformed", default="error", choices=["error", "skip"],
        help="a malformed row stops the fit (error, default) or is left out and counted")
    add("--force", action="store_true", help="replace an existing --out/--report file")
    add("--sync", choices=SYNC_MODES, help="the seller's sync mode (default periodic_push_time)")
    add("--interval", type=_seconds(1.0, MAX_DURATION_S, "60s"), metavar="DURATION",
        help="the sync interval (default 1m)")
    add("--listing-latency", type=_listing, action="append", default=[],
        metavar="CHANNEL=DURATION", help="a channel's listing-update latency (default 1m)")
    add("--buffer-units", type=whole(0), metavar="N",
        help="the fixed buffer in force (default 0)")
    add("--duration", type=_seconds(60.0, MAX_DURATION_S, "7d"), metavar="DURATION",
        help="length of the simulated run (default a week, or the window if shorter)")
    add_seed(fit, 0, "the scenario's seed (default 0)")
    add("--progress", action="store_true", help="show progress on stderr")
    fit.set_defaults(handler=_fit)


def _check_target(path: Path, force: bool, option: str) -> None:
    """Refuse, before any work, an output path that cannot or may not be written."""
    if path.is_dir():
        raise RacesimError(f"{option} {path}: is a folder, not a file")
    if (path.exists() or path.is_symlink()) and not force:
        raise RacesimError(f"{option} {path}: the file exists; --force replaces it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RacesimError(f"{option} {path}: no folder {parent} to write into")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RacesimError(f"{option} {path}: the folder {parent} cannot be written")


def _write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then move it into place."""
    parent = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_args(args: argparse.Namespace) -> None:
    _check_target(args.out, args.force, "--out")
    if args.report is not None:
        _check_target(args.report, args.force, "--report")
        if args.report.resolve() == args.out.resolve():
            raise RacesimError("--report and --out name the same file")
    if args.interval is not None and args.sync == "event_driven":
        raise RacesimError("--interval: event_driven sync has no interval")
    names = [name for name, _ in args.listing_latency]
    if len(set(names)) < len(names):
        raise RacesimError("--listing-latency names a channel twice")


def _read_and_fit(args: argparse.Namespace, bar: Any) -> tuple[Fit, dict[str, int]]:
    """Read every file given and fit them; rows left out by the readers, by file."""
    from racesim.fit.model import fit_exports
    from racesim.fit.orders import read_orders
    from racesim.fit.receipts import read_receipts
    from racesim.fit.returns import read_returns
    from racesim.fit.stock import read_stock

    bar.stage("reading orders")
    read = read_orders(args.orders, format=args.format, malformed=args.malformed)
    skipped = {f"{f.path}: {why}": n for f in read.files for why, n in f.skipped.items()}
    bar.stage("reading the other files")
    receipts = stock = returns = None
    if args.webhooks is not None:
        receipts = read_receipts(args.webhooks, malformed=args.malformed)
        skipped.update({f"{args.webhooks}: {w}": n for w, n in receipts.skipped.items()})
    if args.stock is not None:
        stock, dropped = read_stock(args.stock, malformed=args.malformed)
        skipped.update({f"{args.stock}: {w}": n for w, n in dropped.items()})
    if args.returns is not None:
        returns, dropped = read_returns(args.returns, malformed=args.malformed)
        skipped.update({f"{args.returns}: {w}": n for w, n in dropped.items()})
    bar.stage("fitting")
    fit = fit_exports(read, receipts, stock, returns, malformed=args.malformed,
                      receipts_file=str(args.webhooks or "receipts"))
    return fit, skipped


def _options(args: argparse.Namespace, fit: Fit) -> Any:
    from racesim.fit.scenario_writer import ScenarioOptions

    listing = dict(args.listing_latency)
    unknown = sorted(set(listing) - set(fit.channels))
    if unknown:
        raise RacesimError(f"--listing-latency: no channel {', '.join(unknown)} in the "
                           f"orders (channels: {', '.join(fit.channels)})")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", args.out.stem).strip("-.") or "fitted"
    sources = [str(spec) for spec in args.orders]
    sources += [f"{what} {path}" for what, path in (("webhooks", args.webhooks),
                ("stock", args.stock), ("returns", args.returns)) if path is not None]
    return ScenarioOptions(name=name, duration_s=args.duration, seed=args.seed,
                           sync=args.sync, interval_s=args.interval, listing_latency_s=listing,
                           buffer_units=args.buffer_units, sources=sources)


def _print_summary(fit: Fit, args: argparse.Namespace, skipped: dict[str, int]) -> None:
    from racesim.fit.summary import demand_kind

    bursty = [s.sku for s in fit.skus.values() if demand_kind(s)[0] == "gamma_poisson"]
    shares = ", ".join(f"{name} {c.rates.share.value:.0%}" for name, c in fit.channels.items())
    print(f"Fitted {len(fit.skus)} SKU(s) on {len(fit.channels)} channel(s) over "
          f"{fit.window.days:.3g} days: {len(bursty)} over-dispersed (gamma_poisson)"
          + (f": {', '.join(bursty[:5])}{' …' if len(bursty) > 5 else ''}" if bursty else ""))
    print(f"Channel shares: {shares}.")
    timed = [name for name, c in fit.channels.items() if c.latency is not None]
    print(f"Webhook latency fitted for: {', '.join(timed) or 'no channel (assumed defaults)'}.")
    if skipped or fit.skipped:
        print(f"Rows left out: {sum(skipped.values()) + sum(fit.skipped.values())}.")
    print(f"{len(fit.assumptions)} assumption(s) — see the comments in {args.out}.")
    print(f"Scenario written to {args.out}"
          + (f", fit report to {args.report}" if args.report else "") + ".")


def _fit(args: argparse.Namespace) -> int:
    """Read, fit, write the scenario (and report); print a summary or JSON."""
    from racesim.fit.scenario_writer import scenario_text
    from racesim.fit.summary import fit_summary
    from racesim.util.jsonable import jsonable
    from racesim.util.progress import StageBar

    _check_args(args)
    bar = StageBar(args.progress, "racesim fit", 4 + (args.report is not None))
    fit, skipped = _read_and_fit(args, bar)
    bar.stage("writing the scenario")
    text = scenario_text(fit, _options(args, fit))
    page = None
    if args.report is not None:
        from racesim.report.fit_html import fit_report

        bar.stage("writing the report")
        page = fit_report(fit, skipped, title=args.out.stem)
    _write(args.out, text)
    if page is not None:
        _write(args.report, page)
    bar.close()
    if args.json:
        summary = fit_summary(fit, skipped)
        summary["out"], summary["report"] = str(args.out), args.report and str(args.report)
        print(json.dumps(jsonable(summary), indent=2, allow_nan=False))
    else:
        _print_summary(fit, args, skipped)
    return 0
