"""Output folders: refused early when unusable, and never a file racesim did not write lost.

Every command that writes ``--out`` (run, sweep, report, chaos, demo) goes through
:mod:`racesim.util.outdir`; its CSVs go through :mod:`racesim.util.csvsafe`. The refusals are
checked with the simulation itself replaced by a function that fails the test when
called, so "refused before any simulation" is observed, not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import racesim.chaos
import racesim.cli.demo
import racesim.cli.output
import racesim.report.build
import racesim.study.replications
import racesim.study.sweep
from racesim.cli.main import main
from racesim.errors import RacesimError
from racesim.util.csvsafe import neutralise, write_csv
from racesim.util.outdir import prepare_out

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios" / "minimal.toml"
HYPERLINK = '=HYPERLINK("x")'

SIMULATIONS = {  # what each command would simulate first, as (module, attribute)
    "run": (racesim.study.replications, "run_scenario"),
    "sweep": (racesim.study.sweep, "sweep"),
    "report": (racesim.report.build, "compute"),
    "chaos": (racesim.chaos, "run_chaos"),
    "demo": (racesim.cli.demo, "duplicate_storm"),
}


def _argv(command: str, out: Path, tmp_path: Path) -> list[str]:
    """A small, valid invocation of ``command`` writing to ``out``."""
    if command == "sweep":
        grid = tmp_path / "grid.toml"
        grid.write_text('"buffer.units" = [0, 1]\n', encoding="utf-8")
        return ["sweep", str(MINIMAL), "--grid", str(grid), "--json", "--out", str(out)]
    return {"run": ["run", str(MINIMAL), "--json"],
            "report": ["report", str(MINIMAL), "--replications", "1"],
            "chaos": ["chaos", "--seeds", "1", "--json"],
            "demo": ["demo", "--json"]}[command] + ["--out", str(out)]


def _snapshot(folder: Path, itself: bool = True) -> dict[str, tuple[int, int, bytes | None]]:
    """Every entry below ``folder`` (and itself): its mode, mtime and bytes (files).

    ``itself=False`` leaves out the folder's own entry, whose mtime moves when racesim
    stages files in it (and removes them again).
    """
    found = {}
    for path in [folder, *sorted(folder.rglob("*"))][0 if itself else 1:]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime_ns, content)
    return found


def _users_folder(tmp_path: Path) -> Path:
    """A folder of someone's own files, a manifest.json racesim did not write among them."""
    folder = tmp_path / "mine"
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "manifest.json").write_text('{"files": ["tables/x.csv"]}', encoding="utf-8")
    return folder


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def _forbid_simulation(monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    module, name = SIMULATIONS[command]

    def simulated(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{command} simulated although its --out was unusable")

    monkeypatch.setattr(module, name, simulated)


# -- refused before anything runs ------------------------------------------------------------


@pytest.mark.parametrize("command", list(SIMULATIONS))
@pytest.mark.parametrize("kind", ["a file", "under /proc", "someone's folder"])
def test_an_unusable_out_is_refused_in_one_line_before_any_simulation(
        command: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _forbid_simulation(monkeypatch, command)
    if kind == "a file":
        out = tmp_path / "results.txt"
        out.write_text("keep me\n", encoding="utf-8")
    elif kind == "under /proc":
        out = Path("/proc/racesim-cannot-be-here")
    else:
        out = _users_folder(tmp_path)
    argv = _argv(command, out, tmp_path)
    before = _snapshot(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"racesim: error: --out {out}: ") and err.count("\n") == 1, err
    assert {"a file": "is a file", "under /proc": "cannot create it",
            "someone's folder": "did not write"}[kind] in err
    assert _snapshot(tmp_path) == before  # same entries, bytes and mtimes
    assert not out.exists() or kind != "under /proc"


def test_a_folder_racesim_wrote_is_accepted_and_an_empty_one_too(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_out(empty).root == empty
    assert prepare_out(tmp_path / "new" / "deeper").root == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked by creating it, then removed again
    assert main(["demo", "--out", str(empty)]) == 0
    assert prepare_out(empty).root == empty  # now it holds racesim's manifest
    with pytest.raises(RacesimError, match="did not write"):
        prepare_out(_users_folder(tmp_path))
    assert prepare_out(_users_folder(tmp_path / "forced"), force=True)


# -- never a file racesim did not write ------------------------------------------------------


def test_an_interrupted_runs_staging_folder_is_cleared_but_a_running_ones_is_not(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    for name, pid in (("dead", int(finished.stdout)), ("alive", os.getpid())):
        staging = out / f".racesim-staging-{name}"
        staging.mkdir(parents=True)
        (staging / ".racesim-staging").write_text(f"{pid}\n", encoding="ascii")
        (staging / "summary.csv").write_text("half-written", encoding="utf-8")
    assert main(["demo", "--json", "--out", str(out)]) == 0  # staging folders are not files
    assert not (out / ".racesim-staging-dead").exists()
    assert (out / ".racesim-staging-alive" / "summary.csv").is_file()
    assert ".racesim-staging-alive/summary.csv" not in _manifest(out)["files"]


def test_force_writes_beside_the_users_files_and_leaves_them_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _users_folder(tmp_path)
    (folder / "notes.txt").write_bytes(b"my notes\r\n")
    theirs = {name: (folder / name).read_bytes() for name in ("tables/x.csv", "notes.txt")}
    assert main(["demo", "--out", str(folder)]) == 2
    assert main(["demo", "--out", str(folder), "--force"]) == 0
    assert {name: (folder / name).read_bytes() for name in theirs} == theirs
    written = _manifest(folder)["files"]
    assert written == sorted(["deliveries.csv", "events.csv", "ledger.db", "manifest.json",
                              "summary.csv"])
    assert _files(folder) == {*written, *theirs}  # no staging folder left either
    assert main(["demo", "--out", str(folder), "--seed", "4"]) == 0  # now racesim's folder
    assert {name: (folder / name).read_bytes() for name in theirs} == theirs
    capsys.readouterr()


def test_a_second_run_replaces_and_removes_only_what_the_manifest_lists(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(MINIMAL), "--replications", "2", "--json", "--out", str(out)]) == 0
    first = set(_manifest(out)["files"])
    assert {"rep-001/orders.parquet", "summary.json", "manifest.json"} <= first
    assert first == _files(out)
    (out / "rep-001" / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "mine.csv").write_text("x\n=1\n", encoding="utf-8")
    assert main(["run", str(MINIMAL), "--replications", "1", "--json", "--out", str(out)]) == 0
    second = set(_manifest(out)["files"])
    assert not any(name.startswith("rep-001/") for name in second)
    assert second | {"rep-001/notes.txt", "mine.csv"} == _files(out)  # rep-001's tables gone
    assert (out / "rep-001" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "mine.csv").read_text(encoding="utf-8") == "x\n=1\n"


def test_a_users_file_where_racesim_would_write_stops_the_run_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", str(MINIMAL), "--json", "--out", str(out)]) == 0
    (out / "rep-001").mkdir()
    (out / "rep-001" / "orders.parquet").write_bytes(b"the user's own file")
    before = _snapshot(out, itself=False)
    capsys.readouterr()
    assert main(["run", str(MINIMAL), "--replications", "2", "--json", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rep-001/orders.parquet is not a file racesim wrote here" in err
    assert err.count("\n") == 1 and "--force" in err
    assert _snapshot(out, itself=False) == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_a_run_that_fails_while_writing_leaves_the_folder_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", str(MINIMAL), "--json", "--out", str(out)]) == 0
    before = _snapshot(out, itself=False)
    real, calls = racesim.cli.output.write_table, []

    def fails_on_the_third_table(frame: pd.DataFrame, path: Path) -> Path:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(frame, path)

    monkeypatch.setattr(racesim.cli.output, "write_table", fails_on_the_third_table)
    assert main(["run", str(MINIMAL), "--seed", "9", "--json", "--out", str(out)]) == 3
    assert "No space left on device" in capsys.readouterr().err
    assert _snapshot(out, itself=False) == before  # staged tables dropped, nothing moved


def test_links_inside_the_folder_are_never_followed_out_of_it(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    assert main(["run", str(MINIMAL), "--replications", "2", "--json", "--out", str(out)]) == 0
    elsewhere.mkdir()
    for path in (out / "rep-001").iterdir():  # the user moves rep-001 away, links it back
        path.rename(elsewhere / path.name)
    (out / "rep-001").rmdir()
    (out / "rep-001").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "keep.txt").write_text("outside", encoding="utf-8")
    kept = _snapshot(elsewhere)
    assert main(["run", str(MINIMAL), "--replications", "1", "--json", "--out", str(out)]) == 0
    assert _snapshot(elsewhere) == kept  # the stale rep-001 tables behind the link stay
    assert (out / "rep-001").is_symlink()


def test_a_manifest_naming_paths_outside_the_folder_cannot_delete_them(tmp_path: Path) -> None:
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({
        "racesim_manifest": 1, "files": ["../victim.txt", str(victim), "manifest.json"]}),
        encoding="utf-8")
    assert main(["demo", "--json", "--out", str(out)]) == 0
    assert victim.read_text(encoding="utf-8") == "precious"
    assert "../victim.txt" not in _manifest(out)["files"]


def test_chaos_replay_adds_its_traces_and_keeps_the_runs_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chaos"
    assert main(["chaos", "--engine", "naive_counter", "--seeds", "2", "--no-shrink",
                 "--json", "--out", str(out)]) == 1
    seed = json.loads(capsys.readouterr().out)["first_failure"]["seed"]
    run = {name: (out / name).read_bytes() for name in ("seeds.csv", "summary.json")}
    (out / f"seed-{seed}.trace.jsonl").unlink()
    assert main(["chaos", "--engine", "naive_counter", "--replay", str(seed), "--no-shrink",
                 "--json", "--out", str(out)]) == 1
    assert {name: (out / name).read_bytes() for name in run} == run
    manifest = _manifest(out)
    assert {*run, f"seed-{seed}.trace.jsonl", f"seed-{seed}.short.jsonl"} <= set(manifest["files"])
    assert manifest["files"] == sorted(_files(out))
    assert manifest["replayed_seed"] == seed and manifest["command"][:2] == ["racesim", "chaos"]


@pytest.mark.slow  # two small reports: about 5 s
def test_report_into_a_folder_keeps_the_users_tables_and_figures_byte_identical(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    (out / "tables").mkdir(parents=True)
    (out / "figures").mkdir()
    (out / "tables" / "x.csv").write_bytes(b"sku,units\nMUG,3\n")
    (out / "figures" / "y.png").write_bytes(b"\x89PNG\r\n\x1a\n the user's chart")
    theirs = {name: (out / name).read_bytes() for name in ("tables/x.csv", "figures/y.png")}
    argv = ["report", str(MINIMAL), "--replications", "2", "--target", "0.5", "--out", str(out)]
    assert main(argv) == 2  # someone's folder: refused without --force
    assert main([*argv, "--force"]) == 0
    assert {name: (out / name).read_bytes() for name in theirs} == theirs
    listed = _manifest(out)["files"]
    assert "tables/buffer_sweep.csv" in listed and "tables/x.csv" not in listed
    assert main([*argv, "--seed", "3"]) == 0  # racesim's folder now: updated in place
    assert {name: (out / name).read_bytes() for name in theirs} == theirs
    assert _manifest(out)["seed"] == 3 and _files(out) == {*_manifest(out)["files"], *theirs}
    capsys.readouterr()


# -- CSV cells that would be formulas --------------------------------------------------------


def test_write_csv_quotes_formula_like_text_and_leaves_numbers_alone(tmp_path: Path) -> None:
    frame = pd.DataFrame({"sku": [HYPERLINK, "+1", "-x", "@sum", "\tt", "\rr", "MUG", None],
                          "delta": [-1, -2, 3, 0, -5, 6, 7, 8],
                          "mixed": [-1, "-1", 2.5, "ok", None, "=A1", 3, "x"]},
                         index=pd.Index(["=i", "j", "k", "l", "m", "n", "o", "p"], name="-key"))
    path = write_csv(frame, tmp_path / "t.csv", index=True)
    back = pd.read_csv(path, keep_default_na=False, dtype={"sku": str, "mixed": str})
    assert back["sku"].tolist() == [f"'{HYPERLINK}", "'+1", "'-x", "'@sum", "'\tt", "'\rr",
                                    "MUG", ""]
    assert back["delta"].tolist() == [-1, -2, 3, 0, -5, 6, 7, 8]  # numeric, no quote
    assert pd.api.types.is_integer_dtype(back["delta"])
    assert back["mixed"].tolist() == ["-1", "'-1", "2.5", "ok", "", "'=A1", "3", "x"]
    assert back.columns[0] == "'-key" and back["'-key"][0] == "'=i"
    assert frame["sku"].iloc[0] == HYPERLINK  # the caller's frame is not changed
    assert neutralise(frame.reset_index(drop=True))["delta"].dtype == frame["delta"].dtype


def test_sweep_csv_quotes_a_formula_sku_and_its_parquet_keeps_it_raw(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(f'"catalog[0].sku" = [{json.dumps(HYPERLINK)}, "MUG"]\n', encoding="utf-8")
    scenario = tmp_path / "short.toml"
    scenario.write_text(MINIMAL.read_text(encoding="utf-8").replace('"2d"', '"6h"'),
                        encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--grid", str(grid), "--json", "--out", str(out)]) == 0
    csv = pd.read_csv(out / "runs.csv")
    assert csv["catalog[0].sku"].tolist() == [f"'{HYPERLINK}", "MUG"]
    assert (out / "runs.csv").read_text(encoding="utf-8").count(f"\"'{HYPERLINK}\"".replace(
        '"x"', '""x""')) == 1
    parquet = pd.read_parquet(out / "runs.parquet")
    assert parquet["catalog[0].sku"].tolist() == [HYPERLINK, "MUG"]
    assert (csv["oversold"] == parquet["oversold"]).all()


def test_run_tables_without_pyarrow_are_neutralised_csv(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "hostile.toml"
    scenario.write_text(MINIMAL.read_text(encoding="utf-8").replace(
        '"SKU-1"', json.dumps(HYPERLINK)).replace('"2d"', '"6h"'), encoding="utf-8")
    assert main(["run", str(scenario), "--json", "--out", str(tmp_path / "parquet")]) == 0
    raw = pd.read_parquet(tmp_path / "parquet" / "rep-000" / "per_sku.parquet")
    assert raw.index.tolist() == [HYPERLINK]
    with monkeypatch.context() as without:  # an install without pyarrow writes CSV
        without.setitem(sys.modules, "pyarrow", None)
        assert main(["run", str(scenario), "--json", "--out", str(tmp_path / "csv")]) == 0
    per_sku = pd.read_csv(tmp_path / "csv" / "rep-000" / "per_sku.csv")
    assert per_sku["sku"].tolist() == [f"'{HYPERLINK}"]
    assert not os.path.exists(tmp_path / "csv" / "rep-000" / "per_sku.parquet")
    capsys.readouterr()
