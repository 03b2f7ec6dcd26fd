"""``assert_engine_survives``: the chaos harness as one assertion in a test.

With ``concurrency=1`` every seed runs through the sequential harness
(:func:`racesim.chaos.run_chaos`: one delivery at a time, every invariant audited after
each, a failing seed shrunk to a short trace); with ``concurrency=K`` > 1 each seed's
webhooks are delivered by K threads at once and the recorded history is checked for
linearizability (:func:`racesim.chaos.concurrent.run_concurrent`, stopping at the first
seed that does not pass). A failure raises :class:`AssertionError` whose message is the
verdict (:mod:`racesim.testing.failures`): the seed, the shrunk trace or the minimal
non-linearizable timeline, the files written and the commands that reproduce it.

Importing this module loads nothing heavy; the harness (numpy, pandas) is imported when a
check runs, so a suite that never calls it pays nothing for the plugin.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from racesim.chaos.engines import EngineSpec

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_SEEDS", "Survival", "assert_engine_survives",
           "check_engine"]

DEFAULT_SEEDS = 200
"""Seeds a check runs unless told otherwise."""

DEFAULT_CONCURRENCY = 8
"""Workers delivering each seed at once unless told otherwise (1: the sequential harness)."""

MAX_CONCURRENCY = 64
"""Most workers a check may use (as ``racesim chaos --concurrency``)."""

@dataclass(frozen=True, slots=True)
class Survival:
    """The verdict of one check: whether the engine survived, and if not, why and where.

    ``seeds``: the seeds that ran (a concurrent check stops at the first that fails);
    ``verdict``: ``passed``, the broken invariant (sequential), ``not linearizable``,
    ``undecided`` (concurrent: the search reached ``max_states`` — never a pass) or
    ``final state: INVARIANT`` (concurrent: the history linearized, the state it left did
    not hold);
    ``message``: what :func:`assert_engine_survives` raises (for a pass, one line saying
    what held); ``files``: the traces or histories written, to reproduce a failure from.
    """

    engine: str
    concurrency: int
    seeds: tuple[int, ...]
    passed: bool
    verdict: str
    failed_seed: int | None
    message: str
    files: tuple[Path, ...]


def _seed_range(seeds: int | Iterable[int], first_seed: int) -> list[int]:
    """The seeds to run: ``seeds`` of them from ``first_seed``, or the ones listed."""
    if isinstance(seeds, bool):
        raise TypeError("seeds must be a count or an iterable of seeds (got a bool)")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1 (got {seeds})")
        if isinstance(first_seed, bool) or not isinstance(first_seed, int) or first_seed < 0:
            raise ValueError(f"first_seed must be a whole number ≥ 0 (got {first_seed!r})")
        return list(range(first_seed, first_seed + seeds))
    listed = list(seeds)
    bad = [s for s in listed if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if not listed or bad:
        raise ValueError(f"seeds must list whole numbers ≥ 0 (got {listed[:5]!r})")
    return listed


def check_engine(factory: str | EngineSpec | Callable[..., Any],
                 seeds: int | Iterable[int] = DEFAULT_SEEDS,
                 concurrency: int = DEFAULT_CONCURRENCY, *, first_seed: int = 0,
                 store: str | None = None, token: str | None = None,
                 max_states: int | None = None, shrink_budget: int = 400,
                 swarm_version: int | None = None, out: str | Path | None = None) -> Survival:
    """Run the chaos harness against ``factory``'s engines; the verdict, without raising.

    ``factory``: an engine spec as ``racesim chaos --engine`` reads it (``"ledger"`` with
    ``store``, ``"naive_counter"``, ``"python:FILE.py:FACTORY"``, ``"http://…"`` with
    ``token``), an :class:`~racesim.chaos.engines.EngineSpec`, or a callable making a
    fresh engine per run id (and per worker: every worker of one run gets the same id).
    ``max_states`` bounds the linearizability search per group of SKUs (default 100,000).
    A failure's files go to ``out`` (a folder, created if needed), else to a new
    temporary folder; nothing is written when the engine survives.
    """
    from racesim.chaos.swarm import SWARM_VERSION
    from racesim.testing.factory import engine_spec

    if isinstance(concurrency, bool) or not isinstance(concurrency, int) \
            or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be 1 to {MAX_CONCURRENCY} (got {concurrency!r})")
    if max_states is not None and (isinstance(max_states, bool) or not isinstance(max_states, int)
                                   or max_states < 1):
        raise ValueError(f"max_states must be a whole number ≥ 1 (got {max_states!r})")
    spec = engine_spec(factory, store, token)
    chosen = _seed_range(seeds, first_seed)
    version = SWARM_VERSION if swarm_version is None else swarm_version
    folder = _folder_maker(out)
    if concurrency == 1:
        return _sequential(spec, chosen, shrink_budget, version, folder)
    return _concurrent(spec, chosen, concurrency, max_states, version, folder)


def assert_engine_survives(factory: str | EngineSpec | Callable[..., Any],
                           seeds: int | Iterable[int] = DEFAULT_SEEDS,
                           concurrency: int = DEFAULT_CONCURRENCY, **options: Any) -> Survival:
    """Fail the calling test with the harness's verdict unless the engine survives.

    Takes the arguments of :func:`check_engine`; raises :class:`AssertionError` whose
    message holds the failing seed, its shrunk trace (``concurrency=1``) or the minimal
    sub-history that cannot be linearized (``concurrency`` > 1), the files written and
    how to reproduce it with ``racesim chaos``. Returns the verdict when it passed.
    """
    __tracebackhide__ = True
    survival = check_engine(factory, seeds, concurrency, **options)
    if not survival.passed:
        raise AssertionError(survival.message)
    return survival


def _folder_maker(out: str | Path | None) -> Callable[[], Path]:
    """Where a failure's files go, made only when there is one to write."""
    def make() -> Path:
        if out is None:
            return Path(tempfile.mkdtemp(prefix="racesim-chaos-"))
        Path(out).mkdir(parents=True, exist_ok=True)
        return Path(out)
    return make


def _sequential(spec: EngineSpec, seeds: list[int], shrink_budget: int, swarm_version: int,
                folder: Callable[[], Path]) -> Survival:
    """Every seed through the sequential harness; the first failing seed's trace shrunk."""
    from racesim.chaos import run_chaos
    from racesim.testing.failures import sequential_failure

    report = run_chaos(spec, seeds, shrink_budget=shrink_budget, swarm_version=swarm_version)
    if report.passed:
        held = (f"{spec.label}: every invariant held on {len(seeds)} seed(s) (swarm "
                f"v{swarm_version}, one delivery at a time)")
        return Survival(spec.label, 1, tuple(seeds), True, "passed", None, held, ())
    first = report.failures[0]
    assert first.violation is not None  # a failure is a seed with a violation
    message, files = sequential_failure(spec, report, folder())
    return Survival(spec.label, 1, tuple(seeds), False, first.violation.invariant,
                    first.seed, message, files)


def _concurrent(spec: EngineSpec, seeds: list[int], concurrency: int, max_states: int | None,
                swarm_version: int, folder: Callable[[], Path]) -> Survival:
    """Each seed from ``concurrency`` threads, its history checked; stop at the first
    seed that is not linearizable, could not be decided or left a broken state."""
    from racesim.chaos.concurrent import run_concurrent
    from racesim.chaos.linearize import DEFAULT_MAX_STATES, LINEARIZABLE
    from racesim.testing.failures import concurrent_failure

    bound = DEFAULT_MAX_STATES if max_states is None else max_states
    runs = run_concurrent(spec, seeds, concurrency, swarm_version=swarm_version,
                          max_states=bound, stop_at_failure=True)
    ran = tuple(run.seed for run in runs)
    last = runs[-1]
    if last.passed:
        held = (f"{spec.label}: {len(ran)} seed(s) from {concurrency} workers at once, "
                f"every history linearizable and every final state sound "
                f"(swarm v{swarm_version})")
        return Survival(spec.label, concurrency, ran, True, "passed", None, held, ())
    message, files = concurrent_failure(spec, runs, len(seeds), concurrency, bound,
                                        swarm_version, folder())
    broken = last.final_state
    verdict = (f"final state: {broken.invariant}"
               if broken is not None and last.check.status == LINEARIZABLE
               else last.check.status)
    return Survival(spec.label, concurrency, ran, False, verdict, last.seed, message, files)
