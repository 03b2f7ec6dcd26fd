"""Sweep grids: which scenario fields to vary, and over which values.

A grid names scenario fields by the override paths of
:meth:`racesim.scenario.Scenario.with_overrides` and lists values for each. Every
combination of the lists is one *point* (a Cartesian product, first field outermost)::

    # grid.toml
    "buffer.units" = [0, 1, 2, 3]            # quoted: the key is the path
    sync.interval = ["30s", "5m"]            # unquoted dotted keys work too
    buffer = [{ policy = "percent", percent = 5 }, { policy = "fixed", units = 2 }]

Explicit combinations go in ``[[points]]`` tables; they act as one more axis (each
point combined with every combination of the lists). Their keys are override paths —
quote dotted ones — and a table value replaces the whole table::

    [[points]]
    sync = { mode = "event_driven" }
    [[points]]
    sync = { mode = "periodic_push_time", interval = "60s" }
    "channels[ebay].webhook.duplicates.p2" = 0.3

The same grid as Python data: ``Grid.from_dict({"buffer.units": [0, 1, 2, 3]})``.

A grid is checked in two steps, both before anything runs, and every problem is one
line of a :class:`~racesim.errors.ScenarioError` naming the grid and the path: its shape
when it is read (a value that is not a list, an empty list, a value listed twice, a
malformed path, a path given twice or inside another), and each point against the
scenario in :meth:`Grid.resolve` (unknown field, wrong type or range, a combination the
scenario refuses).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from racesim.errors import ScenarioError
from racesim.scenario import Scenario
from racesim.scenario.overrides import split_path

__all__ = ["POINTS_KEY", "Axis", "Grid", "GridPoint"]

POINTS_KEY = "points"
"""The grid key holding explicit combinations (``[[points]]``)."""

_POSITION = re.compile(r"\s*\((at line (\d+), column (\d+)|at end of document)\)\s*$")

MAX_POINT_PROBLEMS = 20
"""At most this many lines about invalid combinations; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Axis:
    """One varied field: an override path and the values it takes, in order."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One combination of a grid, checked against a scenario.

    ``overrides`` are the path → value pairs applied to the base scenario (giving
    ``scenario``); ``labels`` are the same values as table cells: scalars as given,
    tables and lists as compact JSON text, None for a path this point leaves alone.
    """

    index: int
    overrides: Mapping[str, Any]
    labels: Mapping[str, object]
    scenario: Scenario

    def describe(self) -> str:
        """``"buffer.units=2, sync.interval=30s"``."""
        return _describe(self.overrides)


@dataclass(frozen=True, slots=True)
class Grid:
    """Fields to vary and their values; see the module documentation for the format."""

    axes: tuple[Axis, ...] = ()
    points: tuple[Mapping[str, Any], ...] = ()
    """Explicit combinations (``[[points]]``), each path → value; () if none."""
    source: str = "grid"
    """Names the grid in error messages (its file name when read from a file)."""

    # -- reading -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "grid") -> Grid:
        """A grid from plain data: ``{"buffer.units": [0, 1], "points": [{…}, …]}``.

        Nested tables are read as dotted paths (``{"buffer": {"units": [0, 1]}}`` is
        ``buffer.units``); every leaf must be a non-empty list of distinct values.
        Raises :class:`ScenarioError` with one line per problem.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{source}: expected a table of path = [values] "
                                f"(got a {type(data).__name__})")
        problems: list[str] = []
        axes: list[Axis] = []
        for path, values in _flatten({k: v for k, v in data.items() if k != POINTS_KEY}):
            problems += [f"{source}: {line}" for line in _axis_problems(path, values)]
            if isinstance(values, list | tuple):
                axes.append(Axis(path, tuple(values)))
        points: list[dict[str, Any]] = []
        if POINTS_KEY in data:
            points, point_problems = _read_points(data[POINTS_KEY])
            problems += [f"{source}: {line}" for line in point_problems]
        paths = [axis.path for axis in axes] + _point_paths(points)
        problems += [f"{source}: {line}" for line in _path_problems(paths, len(axes))]
        if not axes and not points and not problems:
            problems.append(f"{source}: no fields to sweep: give at least one "
                            "path = [values] or a [[points]] table")
        if problems:
            raise ScenarioError("\n".join(problems))
        return cls(axes=tuple(axes), points=tuple(points), source=source)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Grid:
        """Read a grid file; messages name the file by its base name."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{file}: no such grid file") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ScenarioError(f"{file}: cannot read grid file ({reason})") from None
        return cls.parse_toml(text, source=file.name)

    @classmethod
    def parse_toml(cls, text: str, source: str = "grid") -> Grid:
        """A grid from TOML text; a syntax error names the line and column."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            message = str(error).splitlines()[0]
            found = _POSITION.search(message)
            where = ""
            if found:
                message = message[: found.start()]
                where = (f"line {found.group(2)}, column {found.group(3)}: " if found.group(2)
                         else "end of file: ")
            raise ScenarioError(f"{source}: {where}invalid TOML: {message}") from None
        return cls.from_dict(data, source=source)

    # -- shape ---------------------------------------------------------------------------

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every path the grid sets, axes first, in the order given: the table columns."""
        return (*(axis.path for axis in self.axes), *_point_paths(self.points))

    def __len__(self) -> int:
        """The number of points (combinations)."""
        return math.prod(len(axis.values) for axis in self.axes) * max(1, len(self.points))

    def combinations(self) -> Iterator[dict[str, Any]]:
        """Each point's overrides, path → value: first axis outermost, points innermost."""
        extra: Sequence[Mapping[str, Any]] = self.points or ({},)
        for values in itertools.product(*(axis.values for axis in self.axes)):
            base = {axis.path: value for axis, value in zip(self.axes, values, strict=True)}
            for point in extra:
                yield {**base, **point}

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back to an equal grid (for manifests)."""
        data: dict[str, Any] = {axis.path: list(axis.values) for axis in self.axes}
        if self.points:
            data[POINTS_KEY] = [dict(point) for point in self.points]
        return data

    # -- checking against a scenario -----------------------------------------------------

    def resolve(self, scenario: Scenario) -> list[GridPoint]:
        """Apply each point to ``scenario``; all problems at once, before anything runs.

        One line per distinct problem, ``<grid>: <path>: <message>``. A problem that
        only some points have, outside the fields the lists vary (shares that no longer
        sum to 1, a field a ``[[points]]`` table misses), also names the first point
        that has it.
        Raises :class:`ScenarioError`.
        """
        parameters = self.parameters
        resolved: list[GridPoint] = []
        seen: dict[str, tuple[int, dict[str, Any], int]] = {}  # line → first point, count
        failed = 0
        for index, overrides in enumerate(self.combinations()):
            try:
                variant = scenario.with_overrides(overrides, source=self.source)
            except ScenarioError as error:
                failed += 1
                for line in dict.fromkeys(str(error).splitlines()):
                    first, first_overrides, count = seen.get(line, (index, overrides, 0))
                    seen[line] = (first, first_overrides, count + 1)
                continue
            labels = {path: _label(overrides[path]) if path in overrides else None
                      for path in parameters}
            resolved.append(GridPoint(index, overrides, labels, variant))
        if seen:
            problems = [self._with_point(line, *where) for line, where in seen.items()]
            shown = problems[:MAX_POINT_PROBLEMS]
            if len(problems) > len(shown):
                shown.append(f"{self.source}: … and {len(problems) - len(shown)} more "
                             f"problems ({failed} of {len(self)} points are invalid)")
            raise ScenarioError("\n".join(shown))
        return resolved

    def _with_point(self, line: str, index: int, overrides: dict[str, Any], count: int) -> str:
        """``line``, naming the first point that has it when the line alone cannot.

        Lines every point has, and lines about a field a list varies (whose message
        shows the value), are clear as they are.
        """
        path = line.removeprefix(f"{self.source}: ").split(": ", 1)[0]
        if count == len(self) or any(_inside(path, axis.path) for axis in self.axes):
            return line
        more = f"; {count - 1} more point{'s' if count > 2 else ''}" if count > 1 else ""
        return f"{line} [point {index}: {_describe(overrides)}{more}]"


# -- helpers ------------------------------------------------------------------------------


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for each leaf; tables nest into dotted paths, lists are leaves."""
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _axis_problems(path: str, values: Any) -> list[str]:
    """Problems with one ``path = [values]`` entry, each ``<path>: <message>``."""
    problems = _syntax_problems(path)
    if not isinstance(values, list | tuple):
        shown = "an empty table" if isinstance(values, Mapping) else _show(values)
        return [*problems, f"{path}: expected a list of values, e.g. [{_show(values)}] "
                           f"for a single one (got {shown})"]
    if not values:
        return [*problems, f"{path}: empty list of values (give at least one)"]
    return problems + [f"{path}: {message}" for message in _duplicate_problems(list(values))]


def _syntax_problems(path: str) -> list[str]:
    try:
        split_path(path)
    except ValueError as error:
        return [f"{path}: {error}"]
    return []


def _duplicate_problems(values: list[Any]) -> list[str]:
    """A message for each value equal to an earlier one (so a point would run twice)."""
    problems = []
    for j, value in enumerate(values):
        for i in range(j):
            if _same(values[i], value):
                problems.append(f"duplicate value {_show(value)} (items {i} and {j})")
                break
    return problems


def _read_points(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``[[points]]`` tables and the problems with them."""
    where = POINTS_KEY
    if not isinstance(data, list | tuple):
        return [], [f"{where}: expected a list of tables ([[points]]) (got {_show(data)})"]
    if not data:
        return [], [f"{where}: empty list of points (give at least one)"]
    points: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, point in enumerate(data):
        if not isinstance(point, Mapping) or not point:
            got = "an empty table" if isinstance(point, Mapping) else _show(point)
            problems.append(f"{where}[{i}]: expected a table of path = value (got {got})")
            continue
        for path in point:
            problems += [f"{where}[{i}].{line}" for line in _syntax_problems(str(path))]
        problems += [f"{where}[{i}].{line}" for line in _path_problems(list(point), len(point))]
        for j, earlier in enumerate(points):
            if _same(earlier, dict(point)):
                problems.append(f"{where}[{i}]: same combination as {where}[{j}]")
                break
        points.append(dict(point))
    return points, problems


def _point_paths(points: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each path the points set, in order of first appearance."""
    return list(dict.fromkeys(path for point in points for path in point))


def _path_problems(paths: list[str], axes: int) -> list[str]:
    """A path given twice, or inside another (``buffer`` and ``buffer.units``).

    The first ``axes`` paths are the lists', the rest the ``[[points]]``'. Two points
    may set overlapping paths (``buffer.units`` in one, the whole ``buffer`` in
    another); a list and a point may not, and one point may not set both.
    """
    problems = []
    for j, path in enumerate(paths):
        for i in range(j):
            other = paths[i]
            if i >= axes or not _related(path, other):
                continue
            where = " (in a list and in [[points]])" if i < axes <= j else ""
            if path == other:
                problems.append(f"{path}: given twice{where}")
            else:
                problems.append(f"{path}: overlaps {other}{where}: vary one or the other")
            break
    return problems


def _related(path: str, other: str) -> bool:
    """Whether one path is the other or lies inside it."""
    return _inside(path, other) or _inside(other, path)


def _inside(path: str, other: str) -> bool:
    """Whether ``path`` is ``other`` or lies inside it (``buffer.units`` in ``buffer``)."""
    return path == other or (path.startswith(other) and path[len(other)] in ".[")


def _same(a: Any, b: Any) -> bool:
    """Equal as scenario values: 1 and 1.0 are the same, True and 1 are not."""
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, Mapping):
        return ("table", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("list", tuple(_canonical(v) for v in value))
    return ("other", repr(value))


def _label(value: Any) -> object:
    """A value as a table cell: scalars as they are, tables and lists as compact JSON."""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # a numpy scalar
    return value


def _show(value: Any) -> str:
    """A value as it would be written in a grid file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _describe(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{path}={_label(value)}" for path, value in overrides.items())
