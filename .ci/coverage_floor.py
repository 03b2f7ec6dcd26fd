"""Fail if any module of ``src/racesim`` is covered below a floor.

The quick test loop (``pytest -m "not slow"``) skips the heavy statistical and
multi-process tests; this check keeps it honest by asking that it still runs a fair part
of *every* module, so that a module no quick test touches cannot hide. It reads the JSON
report of coverage.py (``pytest --cov=racesim --cov-report=json:PATH``)::

    python .ci/coverage_floor.py .coverage.json --floor 30

Every ``.py`` file under ``src/racesim`` counts, so a module no test imported (absent
from the report) is reported at 0 %; files without statements (an empty ``__init__``)
are left out. Exit status 0 when every module reaches the floor, 1 when some do not
(each named on its own line), 2 when the report cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "racesim"
"""The package whose every module must reach the floor."""

EXEMPT = frozenset({"__main__.py"})
"""File names left out: ``python -m racesim`` runs only as a child process in the tests,
where coverage does not follow it (its one line calls ``racesim.cli.main.main``)."""


def module_coverage(report: dict[str, object], package: Path,
                    base: Path) -> dict[Path, float | None]:
    """Each module of ``package`` mapped to its percentage covered in ``report``.

    ``None`` marks a module without statements. Report paths are taken relative to
    ``base`` (the directory coverage ran in) when they are not absolute.
    """
    files = report.get("files")
    if not isinstance(files, dict):
        raise ValueError("no 'files' table (not a coverage.py JSON report?)")
    measured: dict[Path, tuple[int, float]] = {}
    for name, entry in files.items():
        path = Path(name) if Path(name).is_absolute() else base / name
        summary = entry["summary"]
        measured[path.resolve()] = (int(summary["num_statements"]),
                                    float(summary["percent_covered"]))
    result: dict[Path, float | None] = {}
    for module in sorted(package.rglob("*.py")):
        if module.name in EXEMPT:
            continue
        statements, percent = measured.get(module.resolve(), (-1, 0.0))
        if statements == 0 or (statements < 0 and not _has_statements(module)):
            result[module] = None
        else:
            result[module] = percent
    return result


def _has_statements(module: Path) -> bool:
    """Whether an unmeasured file holds code (not only a docstring or nothing)."""
    import ast

    body = ast.parse(module.read_text(encoding="utf-8")).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def below_floor(coverage: dict[Path, float | None], floor: float) -> list[tuple[Path, float]]:
    """The modules (with their percentage) covered less than ``floor`` percent."""
    return [(module, percent) for module, percent in coverage.items()
            if percent is not None and percent < floor]


def main(argv: list[str] | None = None) -> int:
    """Check the report named on the command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="coverage.py JSON report")
    parser.add_argument("--floor", type=float, default=30.0,
                        help="minimum percentage per module (default 30)")
    parser.add_argument("--package", type=Path, default=PACKAGE,
                        help="package directory whose modules must reach the floor")
    args = parser.parse_args(argv)
    if not 0 <= args.floor <= 100:
        parser.error(f"--floor: must be between 0 and 100 (got {args.floor:g})")
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        coverage = module_coverage(report, args.package, Path.cwd())
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"coverage_floor: {args.report}: cannot read the report: {error}",
              file=sys.stderr)
        return 2
    low = below_floor(coverage, args.floor)
    root = args.package.resolve().parent
    for module, percent in low:
        print(f"coverage_floor: {module.resolve().relative_to(root)}: {percent:.0f} % covered,"
              f" below the floor of {args.floor:g} %", file=sys.stderr)
    measured = [p for p in coverage.values() if p is not None]
    lowest = min(measured, default=100.0)
    if not low:
        print(f"coverage_floor: all {len(measured)} modules at or above {args.floor:g} %"
              f" (lowest {lowest:.0f} %)")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
