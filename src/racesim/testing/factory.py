"""What a test hands the harness — a spec string, an :class:`EngineSpec` or a callable —
made into the :class:`~racesim.chaos.engines.EngineSpec` the chaos runners take.

A callable is called once per run (``factory(run_id)``, or ``factory()`` if it takes no
argument), and once per worker of a concurrent run with the same run id, exactly as
``--engine python:FILE.py:FACTORY`` is; unlike that spec it is called as it is, so a
closure or a lambda over a test's fixtures works too. A module-level function is also
named by its file, so a failure's message can say how to run it again from the command
line (:func:`engine_argument`).

This module imports the chaos harness (numpy, pandas): :mod:`racesim.testing.survival`
loads it only when a check runs.
"""

from __future__ import annotations

import inspect
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from racesim.chaos.engines import EngineSpec, EngineUnderTest, open_factory, parse_engine

__all__ = ["EngineFactory", "FactorySpec", "engine_argument", "engine_spec"]

EngineFactory = Callable[..., Any]
"""A callable making a fresh engine: ``factory(run_id)`` or ``factory()``."""


@dataclass(frozen=True, slots=True)
class FactorySpec(EngineSpec):
    """A Python engine made by a callable the test holds, not by a ``module:name``.

    ``target`` is ``path/to/file.py:name`` when the callable is a module-level function
    (or class) of a file, so the command line can load it too, and empty otherwise;
    ``name`` is its qualified name, for labels.
    """

    factory: EngineFactory = field(kw_only=True, repr=False, compare=False)
    name: str = field(default="", kw_only=True)

    @property
    def label(self) -> str:
        """``python tests/test_engine.py:make_engine``, or the factory's name if it has no file."""
        return f"python {self.target}" if self.target else f"python factory {self.name}"

    def open(self, run_id: str) -> EngineUnderTest:
        """The engine the callable makes for run ``run_id``."""
        return open_factory(self.factory, run_id, self.label)


def engine_spec(factory: str | EngineSpec | EngineFactory, store: str | None = None,
                token: str | None = None) -> EngineSpec:
    """The spec of ``factory``: a spec string as ``racesim chaos --engine`` reads it
    (``ledger``, ``naive_counter``, ``python:…``, ``http://…``; ``store`` goes with
    ``ledger`` and ``token`` with ``http://``), an :class:`EngineSpec`, or a callable."""
    if isinstance(factory, EngineSpec):
        if store is not None or token is not None:
            raise TypeError("store and token go with an engine spec string, not an EngineSpec")
        return factory
    if isinstance(factory, str):
        # A namespace of its own keeps this check's run ids apart from other runs' on a
        # shared HTTP server (as racesim chaos does).
        return parse_engine(factory, store, f"t{uuid.uuid4().hex[:10]}-", token)
    if not callable(factory):
        raise TypeError(f"factory must be a spec string, an EngineSpec or a callable making "
                        f"an engine (got {type(factory).__name__})")
    if store is not None or token is not None:
        raise TypeError("store and token go with an engine spec string, not a callable")
    name = getattr(factory, "__qualname__", None) or type(factory).__name__
    return FactorySpec("python", _location(factory), factory=factory, name=name)


def _location(factory: EngineFactory) -> str:
    """``file.py:name`` of a module-level callable (relative to the working folder when
    below it), or ``""`` when the command line could not load it (a closure, a lambda)."""
    name = getattr(factory, "__qualname__", "")
    module = sys.modules.get(getattr(factory, "__module__", "") or "")
    if not name or "<" in name or module is None or getattr(module, name, None) is not factory:
        return ""
    try:
        source = inspect.getsourcefile(factory)
    except TypeError:
        return ""
    if source is None:
        return ""
    path = Path(source).resolve()
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    return f"{shown.as_posix()}:{name}"


def engine_argument(spec: EngineSpec) -> list[str] | None:
    """The ``--engine …`` arguments (with ``--store``) that make the same engine on the
    command line, or None when none can (a callable without a file)."""
    if spec.kind == "python":
        return ["--engine", f"python:{spec.target}"] if spec.target else None
    if spec.kind == "ledger" and spec.target != "memory://":
        return ["--engine", "ledger", "--store", spec.target]
    return ["--engine", spec.target if spec.kind == "http" else spec.kind]
