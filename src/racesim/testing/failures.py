"""What a failed check says, and the files it leaves to reproduce the failure from.

A sequential failure (``concurrency=1``) says which invariant broke on which seed, and
walks through the seed's shrunk trace step by step — what a correct engine does, what
this one answered — as ``racesim chaos --replay SEED`` prints it; the folder gets what
``racesim chaos --out`` writes (``seeds.csv``, ``summary.json``, ``seed-S.trace.jsonl``
and ``seed-S.short.jsonl``). A concurrent failure shows the minimal set of operations
that cannot be linearized as a timeline; the folder gets what ``racesim chaos
--concurrency K --out`` writes, notably the seed's whole history (``history-sS.jsonl``),
which ``racesim chaos --check`` decides again the same way on any machine. Both end with
the commands that reproduce the failure.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from racesim.chaos.concurrent import ConcurrentRun
from racesim.chaos.concurrent_output import write_concurrent
from racesim.chaos.engines import EngineSpec
from racesim.chaos.linearize import DEFAULT_MAX_STATES, NOT_LINEARIZABLE
from racesim.chaos.output import write_chaos
from racesim.chaos.run import ChaosReport, explain_trace
from racesim.chaos.swarm import SWARM_VERSION
from racesim.chaos.timeline import timeline_text
from racesim.testing.factory import engine_argument
from racesim.util.outdir import prepare_out

__all__ = ["concurrent_failure", "sequential_failure"]

MAX_NAMED_TRACES = 3
"""Seeds' trace files named one by one in a message; more are counted."""

NO_COMMAND_LINE = ("(the factory is a closure or a lambda, which the command line cannot "
                   "load: make it a module-level function of a file to rerun it as "
                   "--engine python:FILE.py:NAME)")


def _command(spec: EngineSpec, swarm_version: int, *arguments: str) -> list[str] | None:
    """``racesim chaos --engine … ARGUMENTS``, or None when the engine has no command line."""
    engine = engine_argument(spec)
    if engine is None:
        return None
    swarm = ["--swarm-version", str(swarm_version)] if swarm_version != SWARM_VERSION else []
    return ["racesim", "chaos", *engine, *swarm, *arguments]


def _shown(spec: EngineSpec, command: list[str] | None) -> str:
    """A command as a shell line (an HTTP engine's token by its variable), or why none."""
    if command is None:
        return NO_COMMAND_LINE
    return ("RACESIM_TOKEN=… " if spec.token else "") + shlex.join(command)


def _recorded(spec: EngineSpec, command: list[str] | None) -> list[str]:
    """The command a summary file records: the run's own, or what ran it."""
    return command if command is not None else ["racesim.testing", spec.label]


def _written(folder: Path, files: Sequence[str]) -> tuple[tuple[Path, ...], str]:
    """The files as paths, and the line that names them (the seeds' whole traces by count)."""
    kept = sorted(name for name in files if name != "manifest.json")
    traces = [name for name in kept if name.endswith(".trace.jsonl")]
    named = [name for name in kept if name not in traces or len(traces) <= MAX_NAMED_TRACES]
    if len(traces) > MAX_NAMED_TRACES:
        named.append(f"{len(traces)} whole traces (seed-S.trace.jsonl)")
    return tuple(folder / name for name in kept), f"written to {folder}/: {', '.join(named)}"


def sequential_failure(spec: EngineSpec, report: ChaosReport,
                       folder: Path) -> tuple[str, tuple[Path, ...]]:
    """The message of a sequential check that failed, and the files written to ``folder``."""
    failures = report.failures
    first = failures[0]
    violation = first.violation
    assert violation is not None  # a failure is a seed with a violation
    broken = Counter(run.violation.invariant for run in failures if run.violation)
    version = report.swarm_version
    command = _command(spec, version, "--first-seed", str(report.seeds[0]),
                       "--seeds", str(len(report.seeds)))
    names = write_chaos(prepare_out(folder), report, _recorded(spec, command))
    files, written = _written(folder, names)
    lines = [f"{spec.label} broke an invariant on {len(failures)} of {len(report.seeds)} "
             f"seed(s) (swarm v{version}, one delivery at a time): "
             + ", ".join(f"{name} {n}" for name, n in broken.most_common()),
             "", f"first failing seed {first.seed}: {violation}"]
    short = report.shortened
    if short is not None:
        steps = explain_trace(spec, short, f"s{first.seed}explain")
        lines += [f"shortened trace: {len(short)} of {first.deliveries} deliveries break the "
                  "same invariant, step by step (expected: what a correct engine does; "
                  "answer: what this one said):", ""]
        with pd.option_context("display.width", 160, "display.max_colwidth", 80):
            lines += steps.to_string(index=False).splitlines()
    lines += ["", written,
              "reproduce: " + _shown(spec, _command(spec, version, "--replay",
                                                    str(first.seed)))]
    return "\n".join(lines), files


RERUNS = 20
"""Runs of the failing seed the printed rerun command asks for."""


def concurrent_failure(spec: EngineSpec, runs: Sequence[ConcurrentRun], asked: int,
                       concurrency: int, max_states: int, swarm_version: int,
                       folder: Path) -> tuple[str, tuple[Path, ...]]:
    """The message of a concurrent check whose last run did not pass (of ``asked`` seeds),
    and its files."""
    failed = runs[-1]
    seed = failed.seed
    rerun = _command(spec, swarm_version, "--concurrency", str(concurrency), "--replay",
                     str(seed), "--repeat", str(RERUNS))
    write_concurrent(prepare_out(folder), spec.label, concurrency, runs,
                     _recorded(spec, rerun))
    history = folder / f"history-s{seed}.jsonl"
    files, written = _written(folder, [path.name for path in folder.iterdir()
                                       if path.is_file()])
    bound = ["--max-states", str(max_states)] if max_states != DEFAULT_MAX_STATES else []
    check = shlex.join(["racesim", "chaos", "--check", str(history), *bound])
    skus = (", ".join(failed.check.failing.skus) if failed.check.failing
            else failed.final_state.sku if failed.final_state is not None else "")
    where = (f"seed {seed} (after {len(runs)} of {asked} seeds; {concurrency} workers, swarm "
             f"v{swarm_version}), SKU(s) {skus}")
    if failed.check.status == NOT_LINEARIZABLE:
        lines = [f"{spec.label} is not linearizable: {where}: no order of these "
                 f"{len(failed.witness)} of the history's {len(failed.operations)} operations "
                 "respects real time and gives every answer the engine gave:", "",
                 timeline_text(failed.witness)]
    elif failed.final_state is not None:
        lines = [f"{spec.label} left a broken final state: {where}: {failed.final_state} "
                 "(the history itself linearized)"]
    else:
        lines = [f"{spec.label}: the history of {where} could not be decided: "
                 f"{failed.check}; a history too large to decide is never a pass (raise "
                 f"max_states above {max_states:,})"]
    lines += ["", written,
              f"check the history again (the same verdict every time): {check}",
              f"run the seed {RERUNS} times and see how often it fails (threads interleave "
              "differently each run): "
              + _shown(spec, rerun)]
    return "\n".join(lines), files
