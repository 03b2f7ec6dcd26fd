"""Write plain data (tables, lists, strings, numbers, booleans) as canonical TOML text.

The layout is fixed, so equal data always gives equal text: top-level tables become
``[table]`` / ``[[array]]`` sections; inside them, tables that hold only plain values
(distributions, restock policies) are written inline, as are lists of such tables.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dumps(data: Mapping[str, Any]) -> str:
    """The TOML text of ``data`` (keys in the order given)."""
    lines: list[str] = []
    _table(lines, (), data, array=False)
    return "\n".join(lines).strip("\n") + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], array: bool) -> None:
    """Append a table: its header, its plain and inline values, then its sub-tables."""
    if path:
        name = ".".join(_key(part) for part in path)
        lines.extend(["", f"[[{name}]]" if array else f"[{name}]"])
    nested = {}
    for key, value in table.items():
        if path and _inline(value):
            lines.append(f"{_key(key)} = {_value(value, multiline=True)}")
        elif not path and _plain(value):
            lines.append(f"{_key(key)} = {_value(value)}")
        else:
            nested[key] = value
    for key, value in nested.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, key), value, array=False)
        else:
            for item in value:
                _table(lines, (*path, key), item, array=True)


def _plain(value: Any) -> bool:
    """A scalar, or a list of scalars."""
    if isinstance(value, list | tuple):
        return all(_plain(item) and not isinstance(item, list | tuple) for item in value)
    return not isinstance(value, Mapping)


def _inline(value: Any) -> bool:
    """Plain, a table of plain values, or a list of such tables."""
    if isinstance(value, Mapping):
        return all(_plain(item) for item in value.values())
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        return all(_inline(item) for item in value)
    return _plain(value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any, multiline: bool = False) -> str:
    """One TOML value; lists of inline tables go one per line when ``multiline``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to TOML")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        items = [_value(item) for item in value]
        if multiline and value and isinstance(value[0], Mapping):
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} to TOML")


def _string(text: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML escapes; DEL needs its own)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
