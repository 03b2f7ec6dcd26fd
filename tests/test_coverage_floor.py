"""The per-module coverage floor of the quick loop (``.ci/coverage_floor.py``) names every
module below the floor, counts a module absent from the report as 0 %, and ignores files
without code."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[1] / ".ci" / "coverage_floor.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_floor", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_floor"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A tiny package: two modules with code, an empty ``__init__``, an unmeasured one."""
    root = tmp_path / "src" / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text('"""Only a docstring."""\n')
    (root / "good.py").write_text("x = 1\n")
    (root / "sub" / "poor.py").write_text("y = 2\n")
    (root / "sub" / "never.py").write_text('"""Doc."""\nz = 3\n')
    return root


def _report(tmp_path: Path, package: Path, percents: dict[str, float]) -> Path:
    files = {str((package / name).relative_to(tmp_path)):
             {"summary": {"num_statements": 10, "percent_covered": percent}}
             for name, percent in percents.items()}
    files[str((package / "__init__.py").relative_to(tmp_path))] = {
        "summary": {"num_statements": 0, "percent_covered": 100.0}}
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps({"files": files}))
    return path


def test_modules_below_the_floor_and_unmeasured_ones_fail(
        tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    report = _report(tmp_path, package, {"good.py": 80.0, "sub/poor.py": 12.0})
    monkeypatch.chdir(tmp_path)
    assert tool.main([str(report), "--floor", "30", "--package", str(package)]) == 1
    err = capsys.readouterr().err
    assert "pkg/sub/poor.py: 12 % covered, below the floor of 30 %" in err
    assert "pkg/sub/never.py: 0 % covered" in err
    assert "good.py" not in err and "__init__" not in err


def test_every_module_at_the_floor_passes(tmp_path: Path, package: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    report = _report(tmp_path, package,
                     {"good.py": 30.0, "sub/poor.py": 55.0, "sub/never.py": 31.0})
    monkeypatch.chdir(tmp_path)
    assert tool.main([str(report), "--floor", "30", "--package", str(package)]) == 0
    assert "all 3 modules at or above 30 % (lowest 30 %)" in capsys.readouterr().out


def test_an_unreadable_report_is_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = _tool()
    bad = tmp_path / "coverage.json"
    bad.write_text("{not json")
    assert tool.main([str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
