"""``racesim chaos``: attack a stock engine with seeded swarms of hostile deliveries."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from racesim.cli.options import (
    MAX_JOBS,
    add_force,
    add_jobs,
    add_json,
    add_out,
    positive_count,
    seed_value,
    whole,
)
from racesim.errors import RacesimError

if TYPE_CHECKING:
    from racesim.chaos.engines import EngineSpec
    from racesim.cli.options import Commands
    from racesim.util.outdir import OutputFolder

__all__ = ["add_chaos_parser"]

MAX_STATES = 10**9
"""Upper bound of ``--max-states``."""

MAX_REPEAT = 10_000
"""Upper bound of ``--repeat`` (:data:`racesim.chaos.repeat.MAX_REPEAT`; the chaos
package is imported only when a command runs)."""


def add_chaos_parser(commands: Commands) -> None:
    """``racesim chaos``: seeds, the engine to attack, and where the failing traces go."""
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
    chaos.add_argument("--seeds", type=positive_count, default=100, metavar="N",
                       help="number of seeds (default 100)")
    chaos.add_argument("--first-seed", type=seed_value, default=0, metavar="S",
                       help="first seed (default 0)")
    chaos.add_argument("--replay", type=seed_value, default=None, metavar="SEED",
                       help="run one seed again and print its shortened trace, step by "
                            "step (with --concurrency above 1: deliver it again and check "
                            "its history)")
    chaos.add_argument("--repeat", type=whole(1, MAX_REPEAT), default=None, metavar="N",
                       help="with --replay SEED and --concurrency above 1: run the seed N "
                            "times (1 to 10,000; default 1) and report how often it fails, "
                            "with a 95 %% Wilson interval; exit 1 if a run failed, 4 if "
                            "one was undecided and none failed")
    chaos.add_argument("--check", type=Path, default=None, metavar="HISTORY.jsonl",
                       help="check a recorded history for linearizability instead of "
                            "running seeds: exit 0 linearizable, 1 not (its minimal "
                            "witness is printed; --out adds it as JSONL, text and PNG), "
                            "2 bad input, 4 undecided within --max-states")
    chaos.add_argument("--max-states", type=whole(1, MAX_STATES), default=None,
                       metavar="N", help="states the linearizability search (--check, "
                                         "--concurrency above 1) may explore per group "
                                         "of SKUs (default 100,000)")
    chaos.add_argument("--swarm-version", type=positive_count, default=None, metavar="V",
                       help="the swarm to draw seeds from (default the newest; 1 "
                            "reproduces a seed reported before version 2's key shapes)")
    chaos.add_argument("--concurrency", type=whole(1, 64), default=1, metavar="K",
                       help="K workers deliver each seed's webhooks at once and the "
                            "recorded history is checked for linearizability (default 1: "
                            "one delivery at a time, audited after each)")
    chaos.add_argument("--workers", choices=("thread", "process"), default="thread",
                       help="what the --concurrency workers are (default thread); process "
                            "needs a store processes share: --store sqlite:///FILE or "
                            "postgresql://…, http://, or a Python factory")
    add_jobs(chaos, f"worker processes, at most {MAX_JOBS} (default 1): seeds, or --repeat "
                    "runs, spread over them (each seed's --concurrency threads inside one); "
                    "the report lists them in order, as one process does")
    chaos.add_argument("--no-shrink", action="store_true",
                       help="do not shorten the first failing seed's trace")
    chaos.add_argument("--shrink-budget", type=positive_count, default=400, metavar="TRIES",
                       help="replays the shrinker may spend (default 400)")
    add_out(chaos, "write seeds.csv, summary.json and failing traces (JSONL)", metavar="DIR")
    add_force(chaos)
    add_json(chaos, "print one JSON object (and no progress bar)")
    chaos.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                       help="an http:// engine's bearer token, on the file's first line "
                            "(default: the RACESIM_TOKEN environment variable)")
    chaos.set_defaults(handler=_chaos)


def _swarm_version(asked: int | None) -> int:
    """The ``--swarm-version`` to draw: the newest unless asked, and only a known one."""
    from racesim.chaos.swarm import SWARM_VERSION, SWARM_VERSIONS

    if asked is None:
        return SWARM_VERSION
    if asked not in SWARM_VERSIONS:
        raise RacesimError(f"--swarm-version {asked}: unknown (known: "
                           f"{', '.join(map(str, SWARM_VERSIONS))})")
    return asked


def _max_states(args: argparse.Namespace) -> int:
    """The linearizability search's bound: ``--max-states``, else the checker's default."""
    from racesim.chaos.linearize import DEFAULT_MAX_STATES

    return int(args.max_states or DEFAULT_MAX_STATES)


def _engine_spec(args: argparse.Namespace) -> EngineSpec:
    """The engine to attack, with its bearer token when it is an HTTP one."""
    import time

    from racesim.chaos import parse_engine
    from racesim.webhooks.server import read_token_file

    namespace = f"c{time.time_ns() // 1_000_000 % 10**10:x}-"  # keeps HTTP runs apart
    token = read_token_file(args.token_file) if args.token_file is not None else None
    if token is None and args.engine.strip().startswith(("http://", "https://")):
        token = os.environ.get("RACESIM_TOKEN", "").strip() or None
    return parse_engine(args.engine, args.store, namespace, token)


def _chaos(args: argparse.Namespace) -> int:
    """Attack an engine with seeded swarms of hostile deliveries; non-zero exit on a break."""
    from racesim.chaos import run_chaos
    from racesim.chaos.output import print_chaos, print_replayed_seed, write_chaos
    from racesim.util.outdir import prepare_out

    if args.repeat is not None and args.replay is None:
        raise RacesimError("--repeat needs --replay SEED: the seed whose concurrent "
                           "delivery is run again")
    if args.check is not None:
        return _check(args)
    if args.max_states is not None and args.concurrency == 1:
        raise RacesimError("--max-states applies to --check and to --concurrency above 1 "
                           "only (the sequential harness has no search)")
    args.swarm_version = _swarm_version(args.swarm_version)
    spec = _engine_spec(args)
    _check_concurrency(args, spec)
    folder = prepare_out(args.out, force=args.force) if args.out is not None else None
    if args.concurrency > 1:
        return _concurrent(args, spec, folder)
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


def _check_concurrency(args: argparse.Namespace, spec: EngineSpec) -> None:
    """Refuse, before any work, what ``--concurrency`` does not combine with (yet)."""
    from racesim.chaos.workers import refuse_unshared

    if args.workers == "process":
        if args.concurrency == 1:
            raise RacesimError("--workers process needs --concurrency above 1 (one delivery "
                               "at a time is the sequential harness)")
        refuse_unshared(spec)
        if args.jobs > 1:
            raise RacesimError("--jobs above 1 runs each seed's workers as threads inside a "
                               "job process; with --workers process use --jobs 1")
    if args.repeat is not None:
        from racesim.chaos.repeat import check_repeat

        check_repeat(args.repeat, args.concurrency)


def _concurrent(args: argparse.Namespace, spec: EngineSpec, folder: OutputFolder | None) -> int:
    """``--concurrency K``: each seed from K workers, its history checked; exit 1 when one
    is not linearizable or leaves a broken final state, 4 when one is undecided within the
    search bound."""
    from racesim.chaos.concurrent import run_concurrent
    from racesim.chaos.concurrent_output import (
        concurrent_json,
        print_concurrent,
        write_concurrent,
    )
    from racesim.chaos.linearize import NOT_LINEARIZABLE
    from racesim.cli.exits import OK, PROBLEM_FOUND, UNDECIDED

    if args.replay is not None:
        return _repeat(args, spec, folder)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = run_concurrent(spec, seeds, args.concurrency, jobs=args.jobs,
                          swarm_version=args.swarm_version, max_states=_max_states(args),
                          progress=not args.json, workers=args.workers)
    _deliver(args, folder,
             lambda into, command: write_concurrent(into, spec.label, args.concurrency, runs,
                                                    command, args.workers),
             concurrent_json(spec.label, args.concurrency, runs, args.workers),
             lambda: print_concurrent(spec.label, args.concurrency, runs))
    if any(run.check.status == NOT_LINEARIZABLE or run.final_state is not None
           for run in runs):
        return PROBLEM_FOUND
    return OK if all(run.passed for run in runs) else UNDECIDED


def _repeat(args: argparse.Namespace, spec: EngineSpec, folder: OutputFolder | None) -> int:
    """``--replay SEED [--repeat N]`` above concurrency 1: the seed's concurrent delivery N
    times; exit 1 when a run was not linearizable, 4 when one was undecided and none
    failed."""
    from racesim.chaos.concurrent_output import print_repeat, write_repeat
    from racesim.chaos.repeat import repeat_seed
    from racesim.cli.exits import OK, PROBLEM_FOUND, UNDECIDED

    report = repeat_seed(spec, args.replay, args.concurrency, args.repeat or 1,
                         jobs=args.jobs, swarm_version=args.swarm_version,
                         max_states=_max_states(args), progress=not args.json,
                         workers=args.workers)
    _deliver(args, folder, lambda into, command: write_repeat(into, report, command),
             report.to_json(), lambda: print_repeat(report))
    if report.failures:
        return PROBLEM_FOUND
    return UNDECIDED if report.verdicts["undecided"] else OK


def _deliver(args: argparse.Namespace, folder: OutputFolder | None,
             write: Callable[[OutputFolder, list[str]], None], summary: dict[str, Any],
             show: Callable[[], None]) -> None:
    """Write the files (``--out``), then print the summary as JSON (``--json``) or text."""
    if folder is not None:
        write(folder, ["racesim", "chaos", *sys.argv[2:]])
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        show()


def _check(args: argparse.Namespace) -> int:
    """``--check``: re-check a saved history; the exit status is the verdict."""
    from racesim.chaos.checking import check_file, print_check, write_check
    from racesim.chaos.linearize import LINEARIZABLE, NOT_LINEARIZABLE
    from racesim.cli.exits import OK, PROBLEM_FOUND, UNDECIDED
    from racesim.util.outdir import prepare_out

    if args.replay is not None:
        raise RacesimError("--check and --replay cannot be used together")
    folder = prepare_out(args.out, force=args.force) if args.out is not None else None
    report = check_file(args.check, _max_states(args))
    _deliver(args, folder, lambda into, command: write_check(into, report, command),
             report.to_json(), lambda: print_check(report))
    status = report.check.status
    return OK if status == LINEARIZABLE else PROBLEM_FOUND if status == NOT_LINEARIZABLE \
        else UNDECIDED
