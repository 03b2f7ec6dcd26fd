"""Read scenarios from TOML files, TOML text or plain data.

Every problem is reported as a :class:`~racesim.errors.ScenarioError` whose message has
one line per problem, ``<file>: <field path>: <message> (got <value>)``.

Before a file is parsed its size is checked (at most
:data:`~racesim.scenario.limits.MAX_FILE_BYTES`), and so is how deeply its tables and
lists nest (at most :data:`~racesim.scenario.limits.MAX_NESTING`): ``tomllib`` recurses
once per level, so a file of ten thousand ``[`` would otherwise end in a RecursionError.
The depth is checked again on the parsed data (dotted keys nest without brackets).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from racesim.errors import ScenarioError
from racesim.scenario.limits import MAX_FILE_BYTES, MAX_NESTING
from racesim.scenario.model import Scenario, validate_scenario

__all__ = ["load_scenario", "nesting_depth", "parse_scenario"]

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_MIB = 1 << 20


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario file; messages name the file by its base name."""
    file = Path(path)
    raw = _read_bounded(file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text (byte {error.start} is {raw[error.start]:#04x})"
        raise ScenarioError(f"{file.name}: {message}") from None
    return parse_scenario(text, source=file.name)


def _read_bounded(file: Path) -> bytes:
    """The file's bytes, refusing one larger than MAX_FILE_BYTES without reading it all."""
    try:
        with file.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
                raise ScenarioError(f"{file.name}: {_too_big(info.st_size)}")
            raw = handle.read(MAX_FILE_BYTES + 1)  # a pipe or device has no size to check
    except FileNotFoundError:
        raise ScenarioError(f"{file}: no such scenario file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{file}: cannot read scenario file (Is a directory)") from None
    except OSError as error:
        raise ScenarioError(f"{file}: cannot read scenario file ({error.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{file.name}: {_too_big(None)}")
    return raw


def _too_big(size: int | None) -> str:
    got = f"{size / _MIB:.1f} MiB" if size is not None else "more"
    return (f"scenario file is too large: at most {MAX_FILE_BYTES // _MIB} MiB "
            f"(got {got}); a scenario describes a shop, not its data")


def parse_scenario(text_or_dict: str | Mapping[str, Any], source: str = "<string>") -> Scenario:
    """Validate a scenario given as TOML text or as plain data (e.g. from ``tomllib``)."""
    if isinstance(text_or_dict, str):
        return _checked(_read_toml(text_or_dict, source), source)
    if isinstance(text_or_dict, Mapping):
        return _checked(text_or_dict, source)
    kind = type(text_or_dict).__name__
    raise ScenarioError(f"{source}: expected TOML text or a mapping (got a {kind})")


def _checked(data: Mapping[str, Any], source: str) -> Scenario:
    depth = nesting_depth(data)
    if depth > MAX_NESTING:
        raise ScenarioError(f"{source}: tables and lists nest {_deeper()} (got {depth} levels)")
    return validate_scenario(data, source)


def _deeper() -> str:
    return f"deeper than {MAX_NESTING} levels; a scenario needs 5"


def nesting_depth(data: object, limit: int = MAX_NESTING) -> int:
    """How deeply tables and lists nest in ``data`` (a scalar is 0, ``{"a": 1}`` is 1).

    Walked with an explicit stack, never recursion; stops counting at ``limit + 1``.
    """
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children = list(value.values())
        elif isinstance(value, list | tuple):
            children = list(value)
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _read_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes ``<source>: line L, column C: invalid TOML: …``."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ScenarioError(f"{source}: {_too_big(len(text.encode('utf-8')))}")
    deep_at = _nesting_exceeded(text, MAX_NESTING)
    if deep_at is not None:
        raise ScenarioError(f"{source}: line {deep_at}: tables and lists nest {_deeper()}")
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
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        first = str(error).splitlines()[0][:200]
        raise ScenarioError(f"{source}: invalid TOML: {first}") from None
    except RecursionError:  # the bracket scan above should make this unreachable
        raise ScenarioError(f"{source}: tables and lists nest {_deeper()}") from None


_TOKEN = re.compile(r"\"\"\"|'''|[\"'#\[\]{}\n=,.]")
_BASIC_END = re.compile(r'(?:[^"\\\n]|\\.)*"')
_MULTI_BASIC_END = re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.DOTALL)


def _nesting_exceeded(text: str, limit: int) -> int | None:
    """The line where tables and lists first nest deeper than ``limit``, or None.

    A lexical scan (strings and comments skipped), linear in the text's length, run
    before ``tomllib``: its recursion a file of ten thousand ``[`` exhausts, and dotted
    keys (``a.a.a…``) cost it quadratic time. Depth here is open brackets plus the dots
    of the key being read — never more than the parsed data's depth, so a valid file is
    never refused by it. Text that is not TOML may be misread; the parser reports it.
    """
    depth, dots, line, position = 0, 0, 1, 0
    stack: list[str] = []
    in_key = True
    while True:
        token = _TOKEN.search(text, position)
        if token is None:
            return None
        kind, position = token.group(), token.end()
        if kind == "\n":
            line += 1
            dots, in_key = 0, in_key or not stack
        elif kind in "[{":
            stack.append(kind)
            depth += 1
            in_key = kind == "{" or (in_key and len(stack) <= 2 and "{" not in stack)
        elif kind in "]}":
            stack = stack[:-1]
            depth = max(depth - 1, 0)
        elif kind == "=":
            dots, in_key = 0, False
        elif kind == ",":
            dots, in_key = 0, bool(stack) and stack[-1] == "{"
        elif kind == ".":
            dots += in_key
        else:
            end = _string_end(text, kind, position)
            line += text.count("\n", position, end)
            position = end
        if depth + dots > limit:
            return line


def _string_end(text: str, opening: str, position: int) -> int:
    """Where the string or comment opened by ``opening`` just before ``position`` ends."""
    if opening == "#":
        end = text.find("\n", position)
    elif opening == "'":
        end = text.find("'", position)
        end = -1 if end < 0 or "\n" in text[position:end] else end + 1
    elif opening == "'''":
        end = text.find("'''", position)
        end = -1 if end < 0 else end + 3
    else:
        found = (_BASIC_END if opening == '"' else _MULTI_BASIC_END).match(text, position)
        end = -1 if found is None else found.end()
    if end < 0:
        return len(text)
    if len(opening) == 3:  # up to two quotes may close the text: """a"""" is 'a"'
        extra = len(text[end:end + 2]) - len(text[end:end + 2].lstrip(opening[0]))
        end += extra
    return end
