"""Running one seed's concurrent delivery again and again: how often does it fail?

A concurrent verdict is not reproducible from the seed alone — the rounds are, the order
the threads run in is not — so a seed that failed once may pass the next time. Rerunning
it N times (:func:`repeat_seed`) measures how often the engine fails there: the share of
runs that were not linearizable, with its Wilson interval, which says how rare the race
can still be when none of the N runs caught it (0 of 100 runs: below 3.7 % at 95 %).

Each run has its own run id (``s{SEED}r{R}``, R from 1), so runs side by side on
several processes never share a store and each failing run's store is kept apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from racesim.chaos.concurrent import ConcurrentRun, run_concurrent_runs
from racesim.chaos.engines import EngineSpec
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    UNDECIDED,
)
from racesim.chaos.swarm import SWARM_VERSION
from racesim.errors import RacesimError
from racesim.util.stats import wilson_interval

__all__ = ["MAX_REPEAT", "RepeatReport", "check_repeat", "repeat_seed"]

MAX_REPEAT = 10_000
"""Most runs ``--repeat`` accepts."""

CONFIDENCE = 0.95
"""Confidence of the failure rate's Wilson interval."""


@dataclass(frozen=True)
class RepeatReport:
    """The N runs of one seed at one concurrency, in run order (run R is ``runs[R-1]``)."""

    label: str
    seed: int
    concurrency: int
    swarm_version: int
    runs: tuple[ConcurrentRun, ...]
    workers: str = "thread"

    @property
    def failures(self) -> list[int]:
        """Numbers (from 1) of the runs that failed: not linearizable, or a broken state."""
        return [n for n, run in enumerate(self.runs, start=1)
                if run.check.status == NOT_LINEARIZABLE or run.final_state is not None]

    @property
    def verdicts(self) -> dict[str, int]:
        """How many runs got each verdict (every verdict named, zeros included)."""
        counted = Counter(run.check.status for run in self.runs)
        return {status: counted.get(status, 0)
                for status in (LINEARIZABLE, NOT_LINEARIZABLE, UNDECIDED)}

    @property
    def interval(self) -> tuple[float, float]:
        """The failure rate's Wilson interval at :data:`CONFIDENCE` (fractions)."""
        return wilson_interval(len(self.failures), len(self.runs), CONFIDENCE)

    @property
    def first_failure(self) -> int | None:
        """The number of the first run that failed."""
        failures = self.failures
        return failures[0] if failures else None

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-ready dict (what ``repeat.json`` and ``--json`` hold)."""
        low, high = self.interval
        return {"engine": self.label, "seed": self.seed, "concurrency": self.concurrency,
                "workers": self.workers, "swarm_version": self.swarm_version,
                "repeat": len(self.runs), "failures": len(self.failures),
                "failure_rate": len(self.failures) / len(self.runs),
                "interval": {"method": "wilson", "confidence": CONFIDENCE,
                             "low": low, "high": high},
                "verdicts": self.verdicts, "failed_runs": self.failures,
                "first_failure": self.first_failure,
                "runs": [{"run": n, "verdict": run.check.status,
                          "operations": len(run.operations), "states": run.check.states,
                          "witness": len(run.witness),
                          "final_state": (None if run.final_state is None
                                          else run.final_state.invariant)}
                         for n, run in enumerate(self.runs, start=1)]}


def check_repeat(repeat: int, concurrency: int) -> None:
    """Refuse a repeat count out of bounds, and repeats of a sequential run.

    At ``concurrency`` 1 a run is the sequential harness's, one delivery at a time: the
    same seed gives the same verdict every time, so repeating it measures nothing.
    """
    if not 1 <= repeat <= MAX_REPEAT:
        raise RacesimError(f"--repeat must be 1 to {MAX_REPEAT:,} (got {repeat})")
    if concurrency < 2:
        raise RacesimError("--repeat needs --concurrency above 1: one delivery at a time, "
                           "a seed gives the same verdict every run (replay it with "
                           "--replay alone)")


def repeat_seed(spec: EngineSpec, seed: int, concurrency: int, repeat: int = 1, *,
                jobs: int = 1, swarm_version: int = SWARM_VERSION,
                max_states: int = DEFAULT_MAX_STATES, progress: bool = False,
                workers: str = "thread") -> RepeatReport:
    """Deliver seed ``seed`` from ``concurrency`` threads ``repeat`` times, each run checked.

    The runs are spread over ``jobs`` processes like seeds are
    (:func:`~racesim.chaos.concurrent.run_concurrent_runs`); the report lists them in run
    order whatever ``jobs`` is. ``concurrency`` 1 is refused (:func:`check_repeat`).
    """
    check_repeat(repeat, concurrency)
    runs = run_concurrent_runs(spec, [(seed, f"s{seed}r{n}") for n in range(1, repeat + 1)],
                               concurrency, jobs=jobs, swarm_version=swarm_version,
                               max_states=max_states, progress=progress, workers=workers)
    return RepeatReport(spec.label, seed, concurrency, swarm_version, tuple(runs), workers)
