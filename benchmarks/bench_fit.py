"""How long does reading *and fitting* an export take against ``pandas.read_csv``?

Writes a generic order-lines CSV of N rows (1,000,000 by default; 1–3 lines per order,
``--skus`` SKUs on a long tail, 4 channels, 3 % cancelled, over ``--days`` days) to a
temporary folder, then times in the same run, alternating which goes first:
``pandas.read_csv(path)`` with its defaults, :func:`racesim.fit.orders.read_order_file`
(the reader) and :func:`racesim.fit.model.fit_exports` on what it read (the fit). Prints
each time (best of ``--rounds``), the ratio (reader + fit) / read_csv — issue 12's
target is ≤ 5× — and the fit's own share, fit / read_csv (its budget: ≤ 3×).
``--profile`` also prints where the fit spends its time (cProfile, the functions with
the most cumulative time). The reader and the fit run their independent parts side by
side on a second core (:mod:`racesim.util.parallel`); ``--one-thread`` times them with
every part in turn instead (:func:`racesim.util.parallel.sequential`), for comparison.

Usage::

    python benchmarks/bench_fit.py [--rows N] [--skus K] [--days D] [--rounds R]
                                   [--profile] [--one-thread] [--json PATH]

``--rows 5000 --skus 20 --days 14 --rounds 1`` is a smoke run of a second or two.
Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from racesim.fit.model import fit_exports
from racesim.fit.orders import read_order_file
from racesim.util.parallel import sequential


def write_orders(rows: int, skus: int, days: int, path: Path, seed: int = 7) -> Path:
    """Generic-layout order lines: SKU k drawn ∝ 1/k, times uniform over ``days``."""
    rng = np.random.default_rng(seed)
    per_order = rng.integers(1, 4, size=rows)
    order = np.repeat(np.arange(rows), per_order)[:rows]
    orders = int(order.max()) + 1
    start = pd.Timestamp("2026-01-05", tz="UTC")
    seconds = np.sort(rng.integers(0, days * 86400, size=orders))
    placed = start + pd.to_timedelta(seconds[order], unit="s")
    weights = 1.0 / np.arange(1, skus + 1)
    sku = rng.choice(skus, size=rows, p=weights / weights.sum())
    cancelled = rng.random(orders)[order] < 0.03
    frame = pd.DataFrame({
        "order_id": pd.Series(order).map("W-{:07d}".format),
        "created_at": pd.Series(placed).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "channel": np.array(["shop", "amazon", "ebay", "allegro"])[rng.integers(0, 4, rows)],
        "sku": pd.Series(sku).map("SKU-{:04d}".format),
        "quantity": rng.integers(1, 5, rows),
        "status": np.where(cancelled, "cancelled", "placed"),
        "price": np.round(rng.uniform(3, 90, rows), 2)})
    frame.to_csv(path, index=False)
    return path


def _timed(function: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def measure(rows: int, skus: int, days: int, rounds: int, profile: bool) -> dict[str, Any]:
    """Every figure of one run (see the module doc)."""
    figures: dict[str, Any] = {"rows": rows, "skus": skus, "days": days, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="racesim-bench-fit-") as folder:
        path = write_orders(rows, skus, days, Path(folder) / "orders.csv")
        best = {"read_csv_s": float("inf"), "reader_s": float("inf"), "fit_s": float("inf")}
        for turn in range(rounds):  # alternate which goes first
            order = ("csv", "fit") if turn % 2 == 0 else ("fit", "csv")
            for which in order:
                if which == "csv":
                    elapsed, _ = _timed(lambda: pd.read_csv(path))
                    best["read_csv_s"] = min(best["read_csv_s"], elapsed)
                    continue
                elapsed, (lines, _) = _timed(lambda: read_order_file(path))
                best["reader_s"] = min(best["reader_s"], elapsed)
                elapsed, fit = _timed(lambda lines=lines: fit_exports(lines))
                best["fit_s"] = min(best["fit_s"], elapsed)
        assert len(lines) == rows and len(fit.skus) <= skus, (len(lines), len(fit.skus))
        figures.update(best, bytes=path.stat().st_size, skus_fitted=len(fit.skus))
        figures["ratio"] = (best["reader_s"] + best["fit_s"]) / best["read_csv_s"]
        figures["fit_ratio"] = best["fit_s"] / best["read_csv_s"]
        if profile:
            figures["profile"] = _profile(lines)
    return figures


def _profile(lines: pd.DataFrame, top: int = 25) -> str:
    """cProfile's table of the fit's functions with the most cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(fit_exports, lines)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--one-thread", action="store_true",
                        help="run the reader's and the fit's parts in turn, on one thread")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not (1 <= args.rows <= 50_000_000 and 1 <= args.rounds <= 20
            and 1 <= args.skus <= 100_000 and 1 <= args.days <= 3660):
        parser.error("--rows must be 1…50,000,000, --rounds 1…20, --skus 1…100,000 and "
                     "--days 1…3,660")
    if args.one_thread:
        with sequential():
            figures = measure(args.rows, args.skus, args.days, args.rounds, args.profile)
    else:
        figures = measure(args.rows, args.skus, args.days, args.rounds, args.profile)
    figures["one_thread"] = args.one_thread
    verdict = "met" if figures["ratio"] <= 5 else "MISSED"
    print(f"{'rows':>10} {'SKUs':>6} {'days':>5} {'MB':>6} {'read_csv s':>11} {'reader s':>9} "
          f"{'fit s':>7} {'fit/read_csv':>13} {'(reader+fit)/read_csv':>22}  target ≤ 5×")
    print(f"{args.rows:>10,} {figures['skus_fitted']:>6} {args.days:>5} "
          f"{figures['bytes'] / 1e6:>6.1f} {figures['read_csv_s']:>11.2f} "
          f"{figures['reader_s']:>9.2f} {figures['fit_s']:>7.2f} "
          f"{figures['fit_ratio']:>12.1f}× {figures['ratio']:>21.1f}×  {verdict}")
    if args.profile:
        print(figures["profile"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
