"""The money per-channel buffers save against the seed's rule, on the shipped scenarios.

For each scenario with a ``[costs]`` table (default: every ``scenarios/*.toml``; those
without one — ``minimal.toml``, the smallest valid file — are listed as left out) it

1. tunes a buffer per channel for the least money —
   :func:`racesim.study.tune_channels.tune_channels` with ``objective="cost"`` (as
   ``racesim tune --per-channel --objective cost``), at the oversell target
   (``--target``, default 0.003; ``none``: the least expected total cost) — which confirms
   its answer on fresh replications (the search seed + 1);
2. runs the seed's rule — ``[buffer] policy = "seed_formula"`` with its defaults
   (``max(5, ⌈5 % of available⌉, expected sales in 2 × the P99 sync latency)``, the same on
   every channel) — on exactly those fresh replications (common random numbers:
   replication *r* of both faces the same buyers);
3. compares them replication by replication: money a month (lost margin + oversell cost
   + holding, from ``[costs]``) under the seed's rule less under the per-channel choice,
   with the Student-t 95 % interval of the paired differences.

Rates are pooled over every order with the clustered 95 % interval (replications as
clusters), money a month is the mean of the replications' amounts per 30 measured days
with its Student-t 95 % interval (floored at 0), exactly as ``racesim run`` reports them.
It writes ``money_vs_seed_rule.csv`` (every figure, one row per scenario),
``money_vs_seed_rule.md`` (the table and how it was made) and ``money_vs_seed_rule.json``
(the tuner's whole answer per scenario) to ``--out``; it replaces those three files and
touches nothing else there.

Usage::

    python reports/money_vs_seed_rule.py [SCENARIO.toml …] [--seed N] [--jobs J]
        [--replications R] [--max-replications M] [--max-evaluations E]
        [--target RATE|none] [--override STEM:PATH=VALUE …] [--out DIR] [--quiet]

``--override high_volume:duration=6h`` changes one scenario (a dotted path as
``Scenario.with_overrides`` takes it; the value is read as TOML, else as text) and
``--override high_volume:tune.max_replications=4`` the tuner's effort on it
(``tune.replications``, ``tune.max_replications``, ``tune.max_evaluations``); the
Markdown names every override used. Same seed ⇒ the same table whatever ``--jobs`` is.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shlex
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from racesim.errors import RacesimError
from racesim.scenario import Scenario, load_scenario
from racesim.sim.summary import MONTH_DAYS
from racesim.study.channel_report import tuning_json
from racesim.study.channel_runs import CandidateRun, class_figures, run_candidate
from racesim.study.tune_channels import ChannelTuning, describe, tune_channels
from racesim.util.stats import clustered_rate_interval, mean_interval

ROOT = Path(__file__).resolve().parents[1]
TUNER_SETTINGS = ("replications", "max_replications", "max_evaluations")
"""The tuner's effort, set for all by the options or per scenario by ``tune.NAME``."""
NAME = "money_vs_seed_rule"
SEED_RULE: dict[str, object] = {"policy": "seed_formula"}
"""The seed's rule: ``[buffer] policy = "seed_formula"`` with every default."""

COLUMNS = [
    "scenario", "currency", "seed", "fresh_seed", "replications",
    "seed_rule_oversell_rate", "seed_rule_oversell_rate_low", "seed_rule_oversell_rate_high",
    "seed_rule_lost_sales_per_month", "seed_rule_money_per_month",
    "seed_rule_money_per_month_low", "seed_rule_money_per_month_high",
    "per_channel", "per_channel_meets_target", "per_channel_oversell_rate",
    "per_channel_oversell_rate_low", "per_channel_oversell_rate_high",
    "per_channel_lost_sales_per_month", "per_channel_money_per_month",
    "per_channel_money_per_month_low", "per_channel_money_per_month_high",
    "saved_per_month", "saved_per_month_low", "saved_per_month_high",
    "uniform_units", "evaluations", "seconds",
]


@dataclass(frozen=True)
class Figures:
    """One rule on the fresh replications: rate with its interval, losses, money a month."""

    rate: tuple[float, float, float]
    lost_sales_per_month: float
    money: list[float]
    """Money a month in each replication (lost margin + oversell cost + holding)."""

    @property
    def money_interval(self) -> tuple[float, float, float]:
        mean, low, high = mean_interval(self.money)
        return mean, max(low, 0.0), max(high, 0.0)


def figures(scenario: Scenario, run: CandidateRun, days: float) -> Figures:
    """The catalog's figures of ``run`` (every SKU group, every channel)."""
    totals = class_figures(scenario, run)
    rate = clustered_rate_interval(totals.oversold, totals.orders)
    scale = MONTH_DAYS / days if days else 0.0
    money = [class_figures(scenario, CandidateRun(run.seed, [cells])).total_cost * scale
             for cells in run.replications]
    return Figures((rate.rate, rate.low, rate.high),
                   totals.lost_buffer * scale / max(len(run.replications), 1), money)


def parse_overrides(items: Sequence[str]) -> tuple[dict[str, dict[str, object]],
                                                  dict[str, dict[str, int]]]:
    """``STEM:PATH=VALUE`` items as stem → {path: value} (value read as TOML, else text),
    and the ``tune.NAME`` ones (:data:`TUNER_SETTINGS`) as stem → {name: count}."""
    found: dict[str, dict[str, object]] = {}
    tuner: dict[str, dict[str, int]] = {}
    for item in items:
        stem, sep, rest = item.partition(":")
        path, eq, text = rest.partition("=")
        if not (sep and eq and stem and path):
            raise SystemExit(f"--override: expected STEM:PATH=VALUE (got {item!r})")
        try:
            value: object = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        name = path.removeprefix("tune.")
        if name != path:
            if name not in TUNER_SETTINGS or not isinstance(value, int) or value < 1:
                raise SystemExit(f"--override {item!r}: tune.NAME takes a positive count, "
                                 f"NAME one of {', '.join(TUNER_SETTINGS)}")
            tuner.setdefault(stem, {})[name] = value
        else:
            found.setdefault(stem, {})[path] = value
    return found, tuner


def compare(stem: str, scenario: Scenario, args: argparse.Namespace,
            bar: Any) -> tuple[dict[str, object], dict[str, object]]:
    """Tune one scenario (file ``stem``) per channel for money, run the seed's rule on
    its fresh replications, and return the table's row and the tuner's JSON."""
    started = time.perf_counter()

    def stage(name: str) -> None:
        bar.set_postfix_str(f"{stem}: {name}")

    settings = {name: getattr(args, name) for name in TUNER_SETTINGS}
    settings |= args.tuner.get(stem, {})
    tuning = tune_channels(scenario, objective="cost", target=args.target, seed=args.seed,
                           jobs=args.jobs, on_stage=stage, **settings)
    stage("the seed's rule")
    problem = tuning.problem
    fresh = tuning.per_channel_fresh
    seed_rule = run_candidate(scenario.with_overrides({"buffer": SEED_RULE}), {},
                              seed=fresh.seed, replications=len(fresh.replications),
                              jobs=args.jobs, groups=problem.groups)
    days, answer = tuning.measured_days, tuning_json(tuning)
    row = _row(stem, scenario, tuning, answer, figures(scenario, seed_rule, days),
               figures(scenario, fresh, days))
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row, answer


def _row(stem: str, scenario: Scenario, tuning: ChannelTuning, answer: dict[str, object],
         rule: Figures, chosen: Figures) -> dict[str, object]:
    """One scenario's row: the seed's rule, the per-channel choice, the paired saving."""
    problem = tuning.problem
    saved = mean_interval([a - b for a, b in zip(rule.money, chosen.money, strict=True)])
    confirmation = answer["confirmation"]
    assert isinstance(confirmation, dict) and scenario.costs is not None
    row: dict[str, object] = {
        "scenario": stem, "currency": scenario.costs.currency, "seed": problem.seed,
        "fresh_seed": tuning.per_channel_fresh.seed,
        "replications": len(tuning.per_channel_fresh.replications),
        "per_channel": describe(problem.channels, tuning.per_channel),
        "per_channel_meets_target": confirmation["meets_target"],
        "uniform_units": describe(problem.channels, tuning.uniform),
        "evaluations": problem.evaluations,
    }
    for prefix, one in (("seed_rule", rule), ("per_channel", chosen)):
        rate, money = one.rate, one.money_interval
        row |= {f"{prefix}_oversell_rate": rate[0], f"{prefix}_oversell_rate_low": rate[1],
                f"{prefix}_oversell_rate_high": rate[2],
                f"{prefix}_lost_sales_per_month": one.lost_sales_per_month,
                f"{prefix}_money_per_month": money[0],
                f"{prefix}_money_per_month_low": money[1],
                f"{prefix}_money_per_month_high": money[2]}
    row |= {"saved_per_month": saved[0], "saved_per_month_low": saved[1],
            "saved_per_month_high": saved[2]}
    return {name: (None if isinstance(v, float) and math.isnan(v) else v)
            for name, v in row.items()}


def _pct(rate: object) -> str:
    return f"{float(rate) * 100:.2f} %"  # type: ignore[arg-type]


def _money(value: object) -> str:
    return "–" if value is None else f"{float(value):,.0f}"  # type: ignore[arg-type]


def _interval(row: dict[str, object], name: str, shown: Any) -> str:
    low, high = row[f"{name}_low"], row[f"{name}_high"]
    if low is None or high is None:
        return shown(row[name])
    return f"{shown(row[name])} ({shown(low)} – {shown(high)})"


def markdown(rows: list[dict[str, object]], args: argparse.Namespace,
             overrides: dict[str, dict[str, object]]) -> str:
    """The table, with how it was made."""
    target = "none (the least expected total cost)" if args.target is None \
        else _pct(args.target)
    lines = [
        "# Money saved against the seed's rule, per shipped scenario", "",
        "Made by `python reports/money_vs_seed_rule.py` (see its docstring): per scenario, "
        "`tune --per-channel --objective cost` at target " + target + " "
        f"(replications {args.replications} … {args.max_replications} as the tuner's pilot "
        f"chose, at most {args.max_evaluations} candidates; seed "
        f"{'each file' + chr(39) + 's' if args.seed is None else args.seed}), then the seed's "
        "rule (`[buffer] policy = \"seed_formula\"`, its defaults) on the tuner's fresh "
        "confirmation replications (the search seed + 1), the same buyers for both. Rates: "
        "pooled, clustered 95 % interval; money a month (lost margin + oversell cost + "
        "holding, from each scenario's `[costs]`, in its currency): the mean of the "
        "replications with its Student-t 95 % interval; saved: seed's rule minus "
        "per-channel, paired replication by replication.",
    ]
    lines += ["", "Command (from the repository root): `python reports/money_vs_seed_rule.py "
              + " ".join(args.argv) + "`; the whole run took "
              f"{math.fsum(float(str(row['seconds'])) for row in rows):,.0f} s."]
    if args.unpriced:
        lines += ["", "Left out, without a `[costs]` table: " + ", ".join(args.unpriced) + "."]
    changed = {stem: {**overrides.get(stem, {}),
                      **{f"tune.{k}": v for k, v in args.tuner.get(stem, {}).items()}}
               for stem in set(overrides) | set(args.tuner)}
    if changed:
        shown = "; ".join(f"{stem}: " + ", ".join(f"{p} = {v}" for p, v in paths.items())
                          for stem, paths in sorted(changed.items()))
        lines += ["", f"Per scenario (to keep the run short): {shown}."]
    lines += ["", "| scenario | currency | fresh replications | seed rule: oversell rate | "
              "seed rule: money a month | per-channel choice | meets target | per-channel: "
              "oversell rate | per-channel: money a month | saved a month (paired) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| " + " | ".join([
            str(row["scenario"]), str(row["currency"]), str(row["replications"]),
            _interval(row, "seed_rule_oversell_rate", _pct),
            _interval(row, "seed_rule_money_per_month", _money),
            f"`{row['per_channel']}`", "yes" if row["per_channel_meets_target"] else "no",
            _interval(row, "per_channel_oversell_rate", _pct),
            _interval(row, "per_channel_money_per_month", _money),
            _interval(row, "saved_per_month", _money)]) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="money_vs_seed_rule.py",
        description="Tune a buffer per channel for money on each scenario and compare it "
                    "with the seed's rule on the same fresh replications.")
    parser.add_argument("scenarios", nargs="*", type=Path,
                        help="scenario files (default: every scenarios/*.toml)")
    parser.add_argument("--seed", type=int, default=None,
                        help="search seed (default: each scenario's own); fresh = seed + 1")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes (default 1; results do not depend on it)")
    parser.add_argument("--replications", type=int, default=8,
                        help="replications the tuner starts from (default 8)")
    parser.add_argument("--max-replications", type=int, default=64,
                        help="most replications the tuner's pilot may choose (default 64)")
    parser.add_argument("--max-evaluations", type=int, default=60,
                        help="most candidates the per-channel search simulates (default 60)")
    parser.add_argument("--target", default="0.003",
                        help="oversell target as a fraction, or none (default 0.003)")
    parser.add_argument("--override", action="append", default=[], metavar="STEM:PATH=VALUE",
                        help="change one scenario before tuning (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / NAME,
                        help=f"folder for {NAME}.csv/.md/.json (default out/{NAME})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    args.argv = [shlex.quote(part) for part in (sys.argv[1:] if argv is None else argv)]
    args.target = None if str(args.target).lower() == "none" else float(args.target)
    for name, low in (("jobs", 1), ("replications", 2), ("max_replications", 2),
                      ("max_evaluations", 1)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be ≥ {low}")
    if args.max_replications < args.replications:
        parser.error("--max-replications must be ≥ --replications")
    return args


def write(out: Path, rows: list[dict[str, object]], answers: dict[str, object],
          text: str) -> list[Path]:
    """The CSV, Markdown and JSON files in ``out`` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{NAME}.{ext}" for ext in ("csv", "md", "json")]
    with paths[0].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    paths[1].write_text(text, encoding="utf-8")
    paths[2].write_text(json.dumps(answers, indent=1, allow_nan=False) + "\n",
                        encoding="utf-8")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    overrides, args.tuner = parse_overrides(args.override)
    paths = args.scenarios or sorted((ROOT / "scenarios").glob("*.toml"))
    try:
        scenarios = [load_scenario(path) for path in paths]
        scenarios = [s.with_overrides(overrides[p.stem], source=f"--override {p.stem}")
                     if p.stem in overrides else s for s, p in zip(scenarios, paths, strict=True)]
        unknown = (set(overrides) | set(args.tuner)) - {p.stem for p in paths}
        if unknown:
            raise RacesimError(f"--override names no scenario given: {', '.join(sorted(unknown))}")
        args.unpriced = [p.stem for p, s in zip(paths, scenarios, strict=True) if s.costs is None]
        kept = [(p, s) for p, s in zip(paths, scenarios, strict=True) if s.costs is not None]
        if not kept:
            raise RacesimError(f"{paths[0]}: no [costs] table: nothing to price")
        paths, scenarios = [p for p, _ in kept], [s for _, s in kept]
        rows: list[dict[str, object]] = []
        answers: dict[str, object] = {}
        with tqdm(total=len(scenarios), desc="scenarios", unit="scenario",
                  disable=args.quiet, file=sys.stderr) as bar:
            for path, scenario in zip(paths, scenarios, strict=True):
                row, answer = compare(path.stem, scenario, args, bar)
                rows.append(row)
                answers[path.stem] = answer
                bar.update(1)
    except RacesimError as error:
        print(f"money_vs_seed_rule: {error}", file=sys.stderr)
        return 2
    written = write(args.out, rows, answers, markdown(rows, args, overrides))
    if not args.quiet:
        print("\n".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
