"""The pytest plugin: the ``racesim_chaos`` fixture and the ``--racesim-…`` options.

pytest loads it in every run where racesim is installed (the ``pytest11`` entry point
``racesim.testing``; ``-p racesim.testing`` loads it from a source tree), so it imports
only pytest and the light half of :mod:`racesim.testing`: numpy, pandas, SimPy, SciPy and
matplotlib load when a test first runs a check.

Options, for every check run through the fixture:

``--racesim-seeds N``
    the number of seeds of every check, overriding the tests' own counts (from each
    check's first seed) — a few in the quick loop, thousands in a nightly run;
``--racesim-concurrency K``
    the workers of checks that do not name theirs (default 8; 1 runs the sequential
    harness).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from racesim.testing.survival import (
    DEFAULT_CONCURRENCY,
    DEFAULT_SEEDS,
    MAX_CONCURRENCY,
    Survival,
    check_engine,
)

if TYPE_CHECKING:
    from racesim.chaos.engines import EngineSpec

__all__ = ["ChaosHarness", "pytest_addoption", "racesim_chaos"]


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An option's type: a whole number from ``low`` to ``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high:,} (got {value})")
        return value
    return parse


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--racesim-seeds`` and ``--racesim-concurrency`` (see the module docstring)."""
    group = parser.getgroup("racesim", "racesim chaos harness (racesim.testing)")
    group.addoption("--racesim-seeds", type=_whole(1, 10**9), default=None, metavar="N",
                    help="seeds of every racesim_chaos check, overriding the tests' own "
                         "counts")
    group.addoption("--racesim-concurrency", type=_whole(1, MAX_CONCURRENCY), default=None,
                    metavar="K", help="workers of racesim_chaos checks that name none "
                                      f"(default {DEFAULT_CONCURRENCY}; 1: sequential)")


class ChaosHarness:
    """What the ``racesim_chaos`` fixture gives a test: checks with the run's options.

    Each check's files (on failure) go to a folder of the test's ``tmp_path``
    (``racesim-chaos-1``, ``-2``, … one per check), which pytest keeps for the last
    few runs, so the message's ``racesim chaos --check …`` works after the run.
    """

    def __init__(self, folder: Path, seeds: int | None = None,
                 concurrency: int | None = None) -> None:
        self.folder = folder
        self.seeds = seeds
        self.concurrency = concurrency
        self._checks = itertools.count(1)

    def check(self, factory: str | EngineSpec | Callable[..., Any],
              seeds: int | Iterable[int] | None = None, concurrency: int | None = None,
              **options: Any) -> Survival:
        """The verdict of :func:`~racesim.testing.check_engine` with this run's options;
        never raises for a failing engine (assert on the :class:`Survival`)."""
        if self.seeds is not None:
            seeds = self._overridden(self.seeds, seeds, options)
        if concurrency is None:
            concurrency = self.concurrency or DEFAULT_CONCURRENCY
        options.setdefault("out", self.folder / f"racesim-chaos-{next(self._checks)}")
        return check_engine(factory, DEFAULT_SEEDS if seeds is None else seeds, concurrency,
                            **options)

    def survives(self, factory: str | EngineSpec | Callable[..., Any],
                 seeds: int | Iterable[int] | None = None, concurrency: int | None = None,
                 **options: Any) -> Survival:
        """:func:`~racesim.testing.assert_engine_survives` with this run's options."""
        __tracebackhide__ = True
        survival = self.check(factory, seeds, concurrency, **options)
        if not survival.passed:
            raise AssertionError(survival.message)
        return survival

    @staticmethod
    def _overridden(count: int, seeds: int | Iterable[int] | None,
                    options: dict[str, Any]) -> int:
        """``--racesim-seeds`` seeds from the check's first one (a listed check's first
        seed becomes ``first_seed``)."""
        if seeds is not None and not isinstance(seeds, int):
            listed = list(seeds)
            if listed:
                options["first_seed"] = listed[0]
        return count


@pytest.fixture
def racesim_chaos(request: pytest.FixtureRequest, tmp_path: Path) -> ChaosHarness:
    """Run racesim's chaos harness against an engine: ``racesim_chaos.survives(factory)``
    fails the test with the seed, the shrunk trace or non-linearizable timeline, and the
    commands that reproduce it; ``racesim_chaos.check(factory)`` returns the verdict."""
    config = request.config
    return ChaosHarness(tmp_path, config.getoption("racesim_seeds"),
                        config.getoption("racesim_concurrency"))
