"""What ``racesim chaos`` prints and writes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from racesim.chaos.engines import EngineSpec
from racesim.chaos.run import ChaosReport, explain_trace, run_seed, shrink
from racesim.chaos.swarm import SWARM_VERSION
from racesim.util.csvsafe import write_csv
from racesim.util.manifest import versions, written_at
from racesim.util.outdir import OutputFolder, as_folder
from racesim.webhooks.format import Webhook, write_log

__all__ = ["print_chaos", "print_replayed_seed", "write_chaos"]


def _reproduce(spec: EngineSpec, seed: int, swarm_version: int) -> str:
    engine = {"ledger": "ledger", "naive_counter": "naive_counter",
              "python": f"python:{spec.target}", "http": spec.target}[spec.kind]
    store = f" --store '{spec.target}'" if spec.kind == "ledger" and \
        spec.target != "memory://" else ""
    swarm = f" --swarm-version {swarm_version}" if swarm_version != SWARM_VERSION else ""
    return f"racesim chaos --engine {engine}{store}{swarm} --replay {seed}"


def _header(seed: int, swarm_version: int) -> dict[str, object]:
    """A trace's first line: which seed of which swarm it came from."""
    return {"racesim_trace": "chaos", "seed": seed, "swarm_version": swarm_version}


def _trace_lines(trace: list[Webhook]) -> list[str]:
    width = len(str(len(trace)))
    return [f"    {n:>{width}}  {w.describe()}" for n, w in enumerate(trace, start=1)]


def print_chaos(report: ChaosReport, spec: EngineSpec, out: Path | None = None) -> None:
    """Print the verdict: totals, broken invariants, the first failure's short trace."""
    t = Counter(report.totals())
    seeds = report.seeds
    span = f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else f"{seeds[0]}"
    print(f"racesim chaos — {report.engine}: {len(seeds)} seed(s) ({span}) of swarm "
          f"v{report.swarm_version}, "
          f"{t['deliveries']:,} deliveries of {t['webhooks']:,} webhooks")
    print(f"  as a correct engine sees them: {t['duplicate']:,} repeats, {t['mismatch']:,} "
          f"conflicting repeats, {t['reserved']:,} reserved / {t['rejected']:,} rejected "
          f"order lines, {t['refused']:,} deliveries to refuse (redelivered); "
          f"{t['crashed']:,} handler crashes, {t['dead_letters']:,} dead letters")
    failures = report.failures
    if not failures:
        print("  every invariant held on every seed.")
        return
    broken = Counter(run.violation.invariant for run in failures)  # type: ignore[union-attr]
    print(f"  {len(failures)} of {len(seeds)} seeds broke an invariant: "
          + ", ".join(f"{name} {n}" for name, n in broken.most_common()))
    first = failures[0]
    print(f"\n  first failing seed {first.seed}: {first.violation}")
    if report.shortened is not None:
        print(f"  shortened trace — {len(report.shortened)} of {first.deliveries} deliveries "
              "break the same invariant:")
        print("\n".join(_trace_lines(report.shortened)))
    kept = [run.store for run in failures if run.store]
    if kept:
        print(f"  the failing seeds' ledgers are kept for inspection: {kept[0]}"
              + (f" and {len(kept) - 1} more" if len(kept) > 1 else ""))
    if out is not None:
        print(f"  traces, seeds.csv and summary.json written to {out}/")
    print(f"\n  reproduce: {_reproduce(spec, first.seed, report.swarm_version)}")


def write_chaos(out: OutputFolder | Path, report: ChaosReport,
                command: list[str]) -> tuple[str, ...]:
    """Write seeds.csv, summary.json and each failing seed's trace (JSON Lines).

    ``out`` follows :mod:`racesim.util.outdir`'s rules; returns the files written.
    """
    version = report.swarm_version
    with as_folder(out).staged() as stage:
        write_csv(report.frame(), stage.path("seeds.csv"))
        summary = {**report.to_json(), "command": command}
        stage.path("summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                              encoding="utf-8")
        for run in report.failures:
            write_log(stage.path(f"seed-{run.seed}.trace.jsonl"), run.trace,
                      _header(run.seed, version))
        if report.failures and report.shortened is not None:
            seed = report.failures[0].seed
            write_log(stage.path(f"seed-{seed}.short.jsonl"), report.shortened,
                      _header(seed, version))
        stage.manifest.update({"what": "racesim chaos", "command": command,
                               "versions": versions(), "written_at": written_at()})
    return stage.files


def print_replayed_seed(spec: EngineSpec, seed: int, *,
                        out: OutputFolder | Path | None = None, as_json: bool = False,
                        budget: int = 400, shorten: bool = True,
                        swarm_version: int = SWARM_VERSION) -> int:
    """Run one seed again; if it fails, shrink it and print the short trace step by step.

    ``shorten=False`` prints the seed's whole trace, up to the failing step. With ``out``
    (see :mod:`racesim.util.outdir`) the traces are added to that folder; the rest of a
    previous chaos run's files there stay.
    """
    folder = None if out is None else as_folder(out)
    run = run_seed(spec, seed, keep_trace=True, swarm_version=swarm_version)
    if run.violation is None:
        message = (f"seed {seed}: every invariant held over {run.deliveries} deliveries of "
                   f"{run.webhooks} webhooks ({spec.label}, swarm v{swarm_version})")
        print(json.dumps({"seed": seed, "swarm_version": swarm_version, "passed": True,
                          "deliveries": run.deliveries})
              if as_json else message)
        return 0
    short = shrink(spec, run.trace, run.violation, f"s{seed}replay", budget) if shorten \
        else run.trace[:run.violation.step + 1]
    steps = explain_trace(spec, short, f"s{seed}explain")
    if folder is not None:
        with folder.staged(keep_others=True) as stage:
            write_log(stage.path(f"seed-{seed}.trace.jsonl"), run.trace,
                      _header(seed, swarm_version))
            write_log(stage.path(f"seed-{seed}.short.jsonl"), short,
                      _header(seed, swarm_version))
            stage.manifest.update({"what": "racesim chaos", "replayed_seed": seed,
                                   "versions": versions(), "written_at": written_at()})
    if as_json:
        print(json.dumps({"seed": seed, "swarm_version": swarm_version, "passed": False,
                          "invariant": run.violation.invariant,
                          "step": run.violation.step + 1, "detail": run.violation.detail,
                          "deliveries": run.deliveries, "settings": run.settings.to_json(),
                          "shortened_trace": [w.to_json() for w in short],
                          "steps": steps.to_dict("records")}, indent=2))
        return 1
    print(f"seed {seed} ({spec.label}, swarm v{swarm_version}): {run.violation}")
    print("settings: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                    for k, v in run.settings.to_json().items()))
    print(f"\n{len(short)} of {run.deliveries} deliveries break the same invariant; step by "
          "step (expected: what a correct engine does; answer: what this one said):\n")
    with pd.option_context("display.width", 160, "display.max_colwidth", 80):
        print(steps.to_string(index=False))
    if folder is not None:
        print(f"\nfull and shortened traces written to {folder.path}/ (replay them with "
              "racesim replay)")
    return 1
