"""What produced a set of results: the manifest record every racesim output folder holds.

Every command that writes a folder records, in its ``manifest.json`` (written by
:mod:`racesim.util.outdir`, which adds ``racesim_manifest`` and ``files``), what wrote it, the
scenario it came from (the file's own text and its sha256), the settings that drive the
numbers (seed, replications, …), the versions of Python and of the packages that compute
them, the command line and the time. With these the same numbers can be produced again.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["NOT_INSTALLED", "VERSIONED", "record", "scenario_source", "versions", "written_at"]

VERSIONED = ("racesim", "simpy", "numpy", "pandas", "scipy", "pydantic", "pyarrow", "dask",
             "distributed", "matplotlib", "tqdm")
"""The packages whose versions every manifest records (after Python's)."""

NOT_INSTALLED = "not installed"
"""The version recorded for a package that is not installed."""


def versions(tools: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """Python's version and each of :data:`VERSIONED`'s, then ``tools`` (e.g. Chromium's)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = NOT_INSTALLED
    return {**found, **(tools or {})}


def written_at() -> str:
    """Now, in UTC to the second (ISO 8601): when a manifest was written."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def scenario_source(path: str | os.PathLike[str] | None,
                    text: str | None = None) -> dict[str, str | None]:
    """``scenario_file``, ``scenario_sha256`` and ``scenario_text`` of a scenario.

    ``text`` is what was simulated; without it, the file at ``path`` is read (UTF-8).
    With neither, all three are None.
    """
    if text is None and path is not None:
        text = Path(path).read_text(encoding="utf-8")
    return {"scenario_file": None if path is None else str(path),
            "scenario_sha256": None if text is None else
            hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "scenario_text": text}


def record(what: str, *, scenario_path: str | os.PathLike[str] | None = None,
           scenario_text: str | None = None, command: Sequence[str] | None = None,
           tools: Mapping[str, str | None] | None = None,
           **settings: Any) -> dict[str, Any]:
    """The manifest of one output, JSON-ready.

    ``what`` names the output (``"racesim run"``); then the scenario (see
    :func:`scenario_source`), ``settings`` in the order given, :func:`versions` (with
    ``tools``), ``command`` (default: this process's ``sys.argv``) and :func:`written_at`.
    """
    return {"what": what, **scenario_source(scenario_path, scenario_text), **settings,
            "versions": versions(tools),
            "command": list(sys.argv if command is None else command),
            "written_at": written_at()}
