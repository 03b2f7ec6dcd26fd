"""Set values deep inside a scenario's plain-data form by dotted path.

Paths name keys with dots and list items with brackets, by position or by name::

    buffer.units
    sync.interval
    channels[1].webhook.duplicates.p2
    channels[ebay].share              # the channel whose name is "ebay"
    catalog[SKU-1].initial_stock      # the catalog entry whose sku is "SKU-1"

Missing tables on the way are created (``catalog[0].restock.quantity``); a path that
does not fit the data raises :class:`~racesim.errors.ScenarioError`. Whether the result
is a valid scenario is left to validation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from racesim.errors import ScenarioError
from racesim.scenario.fields import show

__all__ = ["Named", "apply_overrides", "split_path"]

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)")
_ITEM = re.compile(r"\[\s*([^\[\]]*?)\s*\]")
_NAME_KEYS = ("name", "sku")
"""Keys by which a list item can be selected: ``channels[ebay]``, ``catalog[SKU-1]``."""


@dataclass(frozen=True, slots=True)
class Named:
    """A list item selected by its ``name`` (or ``sku``) rather than its position."""

    name: str


Step = str | int | Named


def split_path(path: str) -> list[Step]:
    """``"channels[1].webhook.p2"`` → ``["channels", 1, "webhook", "p2"]``; ValueError if malformed.

    ``[ebay]`` becomes ``Named("ebay")``.
    """
    steps: list[Step] = []
    position = 0
    while position < len(path):
        dot = position > 0 and path.startswith(".", position)
        key = _KEY.match(path, position + dot)
        item = None if dot else _ITEM.match(path, position)
        if key is not None and (dot or position == 0):
            steps.append(key.group(1))
            position = key.end()
        elif item is not None and position > 0 and item.group(1):
            text = item.group(1)
            steps.append(int(text) if text.isdigit() else Named(text))
            position = item.end()
        else:
            raise ValueError(f"malformed override path {path!r} at character {position + 1}")
    if not steps:
        raise ValueError("malformed override path: empty")
    return steps


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, object], source: str
) -> dict[str, Any]:
    """A deep copy of ``data`` with each ``path: value`` of ``overrides`` set, in order."""
    result: dict[str, Any] = copy.deepcopy(dict(data))
    for path, value in overrides.items():
        try:
            steps = split_path(path)
        except ValueError as error:
            raise ScenarioError(f"{source}: {error}") from None
        _set(result, steps, value, path, source)
    return result


def _set(data: dict[str, Any], steps: list[Step], value: object, path: str, source: str) -> None:
    """Set ``value`` at ``steps`` below ``data``, creating tables for missing (or None) keys."""
    container: Any = data
    for depth, step in enumerate(steps):
        last = depth == len(steps) - 1
        where = _render(steps[:depth]) or "the top level"
        if isinstance(container, dict) and isinstance(step, str):
            if last:
                container[step] = value
                return
            if container.get(step) is None:
                container[step] = {}
            container = container[step]
        elif isinstance(container, list) and not isinstance(step, str):
            position = _position(container, step, where, path, source)
            if last:
                container[position] = value
                return
            container = container[position]
        else:
            kind = "a table" if isinstance(step, str) else "a list"
            raise ScenarioError(f"{source}: {path}: {where} is not {kind} (got {show(container)})")


def _position(items: list[Any], step: int | Named, where: str, path: str, source: str) -> int:
    """The index of ``step`` (a position, or a name/sku) in ``items``."""
    if isinstance(step, int):
        if step < len(items):
            return step
        raise ScenarioError(f"{source}: {path}: {where} has {len(items)} items (got index {step})")
    for position, item in enumerate(items):
        if isinstance(item, dict) and any(item.get(key) == step.name for key in _NAME_KEYS):
            return position
    raise ScenarioError(f"{source}: {path}: no item named {step.name!r} in {where}")


def _render(steps: list[Step]) -> str:
    """``["channels", 1, "webhook"]`` → ``"channels[1].webhook"``."""
    text = ""
    for step in steps:
        if isinstance(step, str):
            text += f".{step}" if text else step
        else:
            text += f"[{step.name if isinstance(step, Named) else step}]"
    return text
