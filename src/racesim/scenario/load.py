"""Read scenarios from TOML files, TOML text or plain data.

Every problem is reported as a :class:`~racesim.errors.ScenarioError` whose message has
one line per problem, ``<file>: <field path>: <message> (got <value>)``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from racesim.errors import ScenarioError
from racesim.scenario.model import Scenario, validate_scenario

__all__ = ["load_scenario", "parse_scenario"]

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file; messages name the file by its base name."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{file}: no such scenario file") from None
    except OSError as error:
        raise ScenarioError(f"{file}: cannot read scenario file ({error.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text (byte {error.start} is {raw[error.start]:#04x})"
        raise ScenarioError(f"{file.name}: {message}") from None
    return parse_scenario(text, source=file.name)


def parse_scenario(text_or_dict: str | Mapping[str, Any], source: str = "<string>") -> Scenario:
    """Validate a scenario given as TOML text or as plain data (e.g. from ``tomllib``)."""
    if isinstance(text_or_dict, str):
        return validate_scenario(_read_toml(text_or_dict, source), source)
    if isinstance(text_or_dict, Mapping):
        return validate_scenario(text_or_dict, source)
    kind = type(text_or_dict).__name__
    raise ScenarioError(f"{source}: expected TOML text or a mapping (got a {kind})")


def _read_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes ``<source>: line L, column C: invalid TOML: …``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error).splitlines()[0]
        line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
        found = _POSITION.search(message)
        if found:
            message = message[: found.start()]
            line, column = int(found.group(1)), int(found.group(2))
        where = f"line {line}, column {column}" if line else "end of file"
        raise ScenarioError(f"{source}: {where}: invalid TOML: {message}") from None
