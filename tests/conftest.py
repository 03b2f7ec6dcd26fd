"""Shared fixtures: every ledger test runs once per store backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from postgres_server import fresh_postgres_url, require_postgres
from racesim.ledger import Ledger
from racesim.study.executors import Executor

STORES = ["memory", "sqlite", "postgres"]
"""Every backend; "postgres" runs on a throwaway server (skipped without one, unless CI)."""


def store_url(kind: str, directory: Path, name: str = "ledger") -> str:
    """A fresh store URL of the given kind whose files live in ``directory``.

    For "postgres", a new schema on the shared throwaway server (see postgres_server.py).
    """
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{directory / f'{name}.db'}"
    if kind == "postgres":
        return fresh_postgres_url(name)
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The backend under test: each test using it runs once per store."""
    if request.param == "postgres":
        require_postgres()
    return request.param


@pytest.fixture
def make_ledger(store_kind: str, tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """A factory of fresh, empty ledgers on the store under test (closed afterwards)."""
    opened: list[Ledger] = []

    def make() -> Ledger:
        ledger = Ledger.open(store_url(store_kind, tmp_path, f"ledger{len(opened)}"))
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: Callable[[], Ledger]) -> Ledger:
    """A fresh, empty ledger on the store under test."""
    return make_ledger()


def _load_hypothesis_profile() -> None:
    """Register Hypothesis profiles and load the one ``HYPOTHESIS_PROFILE`` names.

    ``ci`` (the default) runs each property test 200 times; ``dev`` runs 25, for quick
    local iterations: ``HYPOTHESIS_PROFILE=dev pytest``.
    """
    import os

    from hypothesis import settings

    settings.register_profile("ci", max_examples=200)
    settings.register_profile("dev", max_examples=25)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_load_hypothesis_profile()


T = TypeVar("T")
R = TypeVar("R")


class Recording(Executor):
    """Runs tasks in this process and keeps them, to see what a run or sweep asked for."""

    def __init__(self) -> None:
        self.tasks: list[object] = []

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run here, recording each task."""
        work = list(items)
        self.tasks += work
        return map(function, work)

    def describe(self) -> dict[str, object]:
        """``{"kind": "recording"}``."""
        return {"kind": "recording"}
