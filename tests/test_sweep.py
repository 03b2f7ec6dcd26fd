"""Sweeps: a grid of scenario variants, R replications each, on common random numbers.

A grid lists override paths and their values (``"buffer.units" = [0, 1, 2]``); every
combination is a point. The grid is checked against the scenario before anything runs,
each problem one line naming the path. Replication r uses the same seed at every point,
so every point faces the same buyers, and the tables do not depend on what ran them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import Recording
from racesim.cli.main import main
from racesim.errors import ScenarioError
from racesim.scenario import (
    FixedBufferConfig,
    PercentBufferConfig,
    Scenario,
    load_scenario,
    parse_scenario,
)
from racesim.sim.streams import replication_seeds
from racesim.study.executors import DaskExecutor
from racesim.study.grid import Grid
from racesim.study.replications import run_replication
from racesim.study.sweep import SweepResult, format_summary, sweep
from racesim.util.stats import clustered_rate_interval, mean_interval, wilson_interval

ROOT = Path(__file__).resolve().parents[1]
RACE1 = ROOT / "scenarios" / "race1_double_buy.toml"
SMALL_SELLER = ROOT / "scenarios" / "small_seller.toml"
BENCHMARK = ROOT / "benchmarks" / "bench_sweep.py"



@pytest.fixture(scope="module")
def race1() -> Scenario:
    """Two marketplaces racing for the last unit, three simulated days."""
    return load_scenario(RACE1)


@pytest.fixture(scope="module")
def short_race(race1: Scenario) -> Scenario:
    """race1 cut to two simulated days (a few ms per replication)."""
    return race1.with_overrides({"duration": "2d"})



def need_dask() -> None:
    """Skip (locally) or fail (in CI) when dask.distributed is not installed."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        message = ("dask.distributed is not installed: pip install -e '.[dev]' "
                   "(or 'racesim[dask]') to run the Dask tests")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the Dask tests, but {message}")
        pytest.skip(message)


def hide_nothing(sku: str, available: int, now: float) -> int:
    """A buffer policy: hide no units."""
    return 0


def hide_two(sku: str, available: int, now: float) -> int:
    """A buffer policy: always hide two units."""
    return 2


class BoundTwo:
    """A policy bound to the scenario first, like ``racesim.policy.buffers.seed_formula``."""

    def bind(self, scenario: Scenario) -> Callable[[str, int, float], int]:
        """The per-call policy: hide two units."""
        return hide_two


# -- reading grids -------------------------------------------------------------------------


def test_lists_make_a_cartesian_product_first_field_outermost() -> None:
    grid = Grid.parse_toml('"buffer.units" = [0, 1, 2]\nsync.debounce = ["0s", "5s"]\n',
                           source="g.toml")
    assert grid.parameters == ("buffer.units", "sync.debounce")
    assert len(grid) == 6
    assert list(grid.combinations())[:3] == [
        {"buffer.units": 0, "sync.debounce": "0s"},
        {"buffer.units": 0, "sync.debounce": "5s"},
        {"buffer.units": 1, "sync.debounce": "0s"}]


def test_quoted_paths_dotted_keys_and_tables_are_the_same_grid() -> None:
    quoted = Grid.parse_toml('"buffer.units" = [0, 1]')
    assert Grid.parse_toml("buffer.units = [0, 1]").axes == quoted.axes
    assert Grid.parse_toml("[buffer]\nunits = [0, 1]").axes == quoted.axes
    assert Grid.from_dict({"buffer": {"units": [0, 1]}}).axes == quoted.axes


def test_a_list_of_tables_replaces_the_whole_table(race1: Scenario) -> None:
    grid = Grid.parse_toml('buffer = [{ policy = "percent", percent = 5 },\n'
                           '          { policy = "fixed", units = 2 }]')
    first, second = grid.resolve(race1)
    assert isinstance(first.scenario.buffer, PercentBufferConfig)
    assert first.scenario.buffer.percent == 5
    assert second.scenario.buffer == FixedBufferConfig(units=2)
    assert first.labels == {"buffer": '{"percent":5,"policy":"percent"}'}


def test_points_are_one_more_axis(race1: Scenario) -> None:
    grid = Grid.parse_toml('''
        "buffer.units" = [0, 2]
        [[points]]
        sync = { mode = "event_driven" }
        [[points]]
        sync = { mode = "periodic_push_time", interval = "60s" }
        "channels[ebay].webhook.duplicates.p2" = 0.3
    ''')
    assert grid.parameters == ("buffer.units", "sync", "channels[ebay].webhook.duplicates.p2")
    assert len(grid) == 4
    points = grid.resolve(race1)
    assert [p.scenario.buffer for p in points] == [FixedBufferConfig(units=u) for u in (0, 0, 2, 2)]
    assert [p.scenario.sync.mode for p in points] == ["event_driven", "periodic_push_time"] * 2
    assert points[1].scenario.channels[1].webhook.duplicates.p2 == 0.3
    assert points[0].labels["channels[ebay].webhook.duplicates.p2"] is None  # not set there
    assert points[1].describe() == ('buffer.units=0, sync={"interval":"60s",'
                                    '"mode":"periodic_push_time"}, '
                                    'channels[ebay].webhook.duplicates.p2=0.3')


def test_a_grid_file_round_trips_through_plain_data(tmp_path: Path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text('"buffer.units" = [0, 1]\n[[points]]\n"sync.debounce" = "5s"\n',
                    encoding="utf-8")
    grid = Grid.from_toml(path)
    assert grid.source == "grid.toml"
    assert grid.to_dict() == {"buffer.units": [0, 1], "points": [{"sync.debounce": "5s"}]}
    assert Grid.from_dict(grid.to_dict(), source="grid.toml") == grid


# -- every bad grid is one line naming the path ---------------------------------------------

BAD_SHAPES = [
    ('"buffer.units" = 3',
     "g.toml: buffer.units: expected a list of values, e.g. [3] for a single one (got 3)"),
    ('"buffer.units" = []', "g.toml: buffer.units: empty list of values (give at least one)"),
    ('"buffer.units" = [0, 1, 1.0]', "g.toml: buffer.units: duplicate value 1 (items 1 and 2)"),
    ('"sync.interval" = ["30s", "1m", "30s"]',
     'g.toml: sync.interval: duplicate value "30s" (items 0 and 2)'),
    ('"buffer..units" = [1]',
     "g.toml: buffer..units: malformed override path 'buffer..units' at character 7"),
    ('"buffer.units" = [1]\nbuffer = [{ policy = "fixed", units = 1 }]',
     "g.toml: buffer: overlaps buffer.units: vary one or the other"),
    ('"buffer.units" = [1]\n[buffer]\nunits = [2]', "g.toml: buffer.units: given twice"),
    ('"buffer.units" = [1]\n[[points]]\n"buffer.units" = 2',
     "g.toml: buffer.units: given twice (in a list and in [[points]])"),
    ('[[points]]\n"buffer.units" = 1\nbuffer = { policy = "fixed", units = 2 }',
     "g.toml: points[0].buffer: overlaps buffer.units: vary one or the other"),
    ('points = []', "g.toml: points: empty list of points (give at least one)"),
    ('points = [1]', "g.toml: points[0]: expected a table of path = value (got 1)"),
    ('[[points]]\n"buffer.units" = 1\n[[points]]\n"buffer.units" = 1',
     "g.toml: points[1]: same combination as points[0]"),
    ('', "g.toml: no fields to sweep: give at least one path = [values] or a [[points]] table"),
    ('"buffer.units" = [0, 1', "g.toml: end of file: invalid TOML: Unclosed array"),
    ('"buffer.units" = [0, 1]]', "g.toml: line 1, column 24: invalid TOML: Expected newline"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SHAPES,
                         ids=[m.split(": ", 2)[-1][:40] for _, m in BAD_SHAPES])
def test_a_malformed_grid_is_refused_when_read(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        Grid.parse_toml(text, source="g.toml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_every_shape_problem_is_reported_at_once() -> None:
    with pytest.raises(ScenarioError) as caught:
        Grid.from_dict({"buffer.units": [], "sync.interval": "30s"}, source="g.toml")
    assert str(caught.value).splitlines() == [
        "g.toml: buffer.units: empty list of values (give at least one)",
        'g.toml: sync.interval: expected a list of values, e.g. ["30s"] for a single one '
        '(got "30s")']


BAD_POINTS = [
    ({"buffer.unit": [0, 1]}, ["g.toml: buffer.unit: unknown field; did you mean 'units'?"]),
    ({"bufer.units": [0, 1]}, ["g.toml: bufer: unknown field; did you mean 'buffer'?"]),
    ({"buffer.units": ["two", -1, 3]},
     ["g.toml: buffer.units: must be a whole number (got 'two')",
      "g.toml: buffer.units: must be ≥ 0 (got -1)"]),
    ({"channels[2].share": [0.5]},
     ["g.toml: channels[2].share: channels has 2 items (got index 2)"]),
    ({"channels[ebay].share": [0.4, 0.5]},
     ["g.toml: channels: shares must sum to 1 (got 1.1 = amazon 0.6 + ebay 0.5) "
      "[point 1: channels[ebay].share=0.5]"]),
    ({"points": [{"sync": {"mode": "periodic_push_time", "interval": "1m"}},
                 {"sync": {"mode": "periodic_push_time"}}]},
     ['g.toml: sync.interval: required field is missing '
      '[point 1: sync={"mode":"periodic_push_time"}]']),
]


@pytest.mark.parametrize(("data", "lines"), BAD_POINTS,
                         ids=["unknown-field", "unknown-table", "wrong-type-and-range",
                              "no-such-item", "cross-field", "point-misses-a-field"])
def test_a_grid_the_scenario_refuses_fails_before_anything_runs(
        race1: Scenario, data: dict[str, Any], lines: list[str]) -> None:
    grid = Grid.from_dict(data, source="g.toml")
    with pytest.raises(ScenarioError) as caught:
        grid.resolve(race1)
    assert str(caught.value).splitlines() == lines
    recording = Recording()
    with pytest.raises(ScenarioError):
        sweep(race1, grid, replications=2, executor=recording)
    assert recording.tasks == []  # nothing was simulated


def test_a_missing_grid_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.toml: no such grid file"):
        Grid.from_toml(tmp_path / "nope.toml")


# -- the tables ----------------------------------------------------------------------------


def test_runs_are_tidy_and_the_summary_pools_them(short_race: Scenario) -> None:
    result = sweep(short_race, {"buffer.units": [0, 1, 2]}, replications=4, seed=5)
    runs, summary = result.runs, result.summary
    assert runs.shape[0] == 3 * 4
    assert list(runs.columns[:8]) == ["point", "buffer.units", "replication", "orders",
                                      "oversold", "oversell_rate", "oversell_rate_ci_low",
                                      "oversell_rate_ci_high"]
    assert {"lost_sales", "hidden_unit_hours", "sync_latency_p99_s"} <= set(runs.columns)
    assert list(zip(runs["point"], runs["replication"], strict=True)) == [
        (p, r) for p in range(3) for r in range(4)]
    assert runs["buffer.units"].tolist() == [0] * 4 + [1] * 4 + [2] * 4

    assert summary.shape[0] == 3
    assert summary["buffer.units"].tolist() == [0, 1, 2]
    assert (summary["replications"] == 4).all()
    by_point = runs.groupby("point")
    month = 30 / (short_race.duration - short_race.warmup) * 86_400  # one replication → 30 d
    assert np.allclose(summary["orders_total"], by_point["orders"].sum())
    assert np.allclose(summary["orders_per_month"], by_point["orders"].mean() * month)
    assert np.allclose(summary["lost_sales_per_month"], by_point["lost_sales"].mean() * month)
    for point, group in by_point:
        row = summary.loc[summary["point"] == point].iloc[0]
        orders, oversold = group["orders"].sum(), group["oversold"].sum()
        assert row["orders_total"] == orders and row["oversold_total"] == oversold
        rate = clustered_rate_interval(group["oversold"], group["orders"])
        assert row["oversell_rate"] == pytest.approx(oversold / orders) == rate.rate
        assert (row["oversell_rate_low"], row["oversell_rate_high"]) == rate.interval
        low, high = wilson_interval(int(oversold), int(orders))
        assert (row["oversell_rate_wilson_low"], row["oversell_rate_wilson_high"]) == (low, high)
        assert 0 <= row["oversell_rate_low"] <= row["oversell_rate"] <= row["oversell_rate_high"]
        for metric in ("lost_sales", "hidden_unit_hours"):
            mean, low, high = mean_interval(group[metric].to_numpy())
            assert (row[f"{metric}_per_month"], row[f"{metric}_per_month_low"],
                    row[f"{metric}_per_month_high"]) == \
                pytest.approx((mean * month, low * month, high * month), nan_ok=True)
    assert "buffer.units" in format_summary(result).splitlines()[2]


def test_replication_r_uses_the_same_seed_at_every_point(short_race: Scenario) -> None:
    recording = Recording()
    sweep(short_race, {"buffer.units": [0, 2, 4]}, replications=3, seed=9, executor=recording)
    expected = replication_seeds(9, 3)
    assert len(recording.tasks) == 9
    for task in recording.tasks:
        seed = task.seed
        assert (seed.entropy, seed.spawn_key) == (expected[task.replication].entropy,
                                                  expected[task.replication].spawn_key)


def test_every_point_faces_the_same_buyers(short_race: Scenario) -> None:
    """Common random numbers: the buffer changes what is sold, never who comes to buy.

    Every arriving buyer either buys (an order) or finds the listing empty (a lost
    sale), so orders + lost sales is the demand; it must be the same at every point for
    each replication, and differ between replications.
    """
    result = sweep(short_race, {"buffer.units": [0, 1, 3]}, replications=4, seed=2)
    demand = result.runs.assign(buyers=result.runs["orders"] + result.runs["lost_sales"])
    per_replication = demand.pivot(index="replication", columns="point", values="buyers")
    assert (per_replication.nunique(axis=1) == 1).all()
    assert per_replication[0].nunique() > 1
    assert (result.summary["orders_total"].diff().dropna() < 0).all()  # …while sales do change

    # …down to each buyer's arrival time and marketplace, in the full tables
    seed = replication_seeds(2, 4)[1]
    arrivals = [run_replication(short_race.with_overrides({"buffer.units": units}), seed, 1,
                                tables=True).tables()["orders"][["channel", "sku", "placed_at"]]
                for units in (0, 3)]
    pd.testing.assert_frame_equal(arrivals[0], arrivals[1])


@pytest.mark.slow  # a statistical check over a sweep: about 9 s
def test_oversell_rate_falls_with_the_buffer(race1: Scenario,
                                             record_property: Callable[[str, object], None]
                                             ) -> None:
    result = sweep(race1, {"buffer.units": list(range(11))}, replications=20, seed=1, jobs=2)
    pooled = result.summary.set_index("buffer.units")["oversell_rate"]
    assert pooled[0] > 0.005  # about 2 % of orders oversold without a buffer
    assert pooled[0] > pooled[10]
    assert (pooled.diff().dropna() <= 0.002).all()  # non-increasing, within 0.2 points
    hidden = result.summary["hidden_unit_hours_total"]
    assert (hidden.diff().dropna() > 0).all()  # …and the buffer's cost grows
    share = result.monotone_share("buffer.units")
    record_property("monotone_share", share)
    print(f"monotone_share(buffer.units, oversell_rate) = {share:.2f}")
    assert share >= 0.9


def test_policies_are_one_more_axis(short_race: Scenario) -> None:
    by_policy = sweep(short_race, Grid(), replications=3, seed=4,
                      policies={"none": hide_nothing, "two": hide_two, "bound": BoundTwo()})
    assert by_policy.parameters == ("policy",)
    assert by_policy.summary["policy"].tolist() == ["none", "two", "bound"]
    same_buffers = {"points": [{"buffer.units": 0}, {"buffer.units": 2},
                               {"buffer": {"policy": "fixed", "units": 2}}]}
    by_units = sweep(short_race, same_buffers, replications=3, seed=4)
    metrics = ["orders", "oversold", "lost_sales", "hidden_unit_hours"]
    pd.testing.assert_frame_equal(by_policy.runs[metrics], by_units.runs[metrics])
    with pytest.raises(TypeError, match="policy 'x' is neither callable nor has a bind"):
        sweep(short_race, Grid(), policies={"x": 3})  # type: ignore[dict-item]


@pytest.mark.slow  # worker processes and a Dask cluster: about 10 s
def test_same_tables_on_one_process_two_processes_and_dask(short_race: Scenario) -> None:
    need_dask()
    grid = {"buffer.units": [0, 1, 2]}
    one = sweep(short_race, grid, replications=4, seed=7, jobs=1)
    two = sweep(short_race, grid, replications=4, seed=7, jobs=2)
    with DaskExecutor(workers=2) as executor:
        dask = sweep(short_race, grid, replications=4, seed=7, executor=executor)
    assert dask.executor == {"kind": "dask", "scheduler": None, "workers": 2}
    assert two.executor == {"kind": "local", "jobs": 2}
    for other in (two, dask):
        pd.testing.assert_frame_equal(one.runs, other.runs, check_exact=True)
        pd.testing.assert_frame_equal(one.summary, other.summary, check_exact=True)


def test_a_different_seed_gives_different_runs(short_race: Scenario) -> None:
    grid = {"buffer.units": [0]}
    first = sweep(short_race, grid, replications=3, seed=1)
    assert not first.runs.equals(sweep(short_race, grid, replications=3, seed=2).runs)


# -- monotone_share ------------------------------------------------------------------------


def _result(runs: pd.DataFrame, parameters: tuple[str, ...], race1: Scenario) -> SweepResult:
    summary = runs.groupby("point", as_index=False).first()
    return SweepResult(scenario=race1, grid=Grid(), seed=0, replications=2,
                       parameters=parameters, runs=runs, summary=summary)


def test_monotone_share_counts_replications_that_never_rise(race1: Scenario) -> None:
    runs = pd.DataFrame({"point": [0, 0, 1, 1, 2, 2], "units": [4, 4, 0, 0, 2, 2],
                         "replication": [0, 1] * 3,
                         # by units 0, 2, 4: replication 0 falls 0.3, 0.2, 0.1; 1 rises
                         "oversell_rate": [0.1, 0.3, 0.3, 0.1, 0.2, 0.2]})
    result = _result(runs, ("units",), race1)
    assert result.monotone_share("units") == 0.5


def test_monotone_share_needs_a_one_dimensional_sweep(race1: Scenario) -> None:
    runs = pd.DataFrame({"point": [0, 1], "a": [0, 1], "b": [0, 1], "replication": [0, 0],
                         "oversell_rate": [0.1, 0.0]})
    result = _result(runs, ("a", "b"), race1)
    with pytest.raises(ValueError, match="one-dimensional sweep: besides a, b also vary"):
        result.monotone_share("a")
    with pytest.raises(ValueError, match="'c' is not a swept parameter"):
        result.monotone_share("c")


# -- saving --------------------------------------------------------------------------------


def test_save_writes_parquet_csv_and_a_manifest(short_race: Scenario, tmp_path: Path) -> None:
    result = sweep(short_race, {"buffer.units": [0, 1]}, replications=2, seed=3)
    written = result.save(tmp_path / "out", scenario_path=RACE1)
    assert sorted(written) == ["manifest.json", "runs.csv", "runs.parquet", "summary.csv",
                               "summary.parquet"]
    runs = pd.read_parquet(written["runs.parquet"])
    pd.testing.assert_frame_equal(runs, result.runs, check_dtype=False)
    summary = pd.read_csv(written["summary.csv"])
    assert summary["oversell_rate"].tolist() == pytest.approx(
        result.summary["oversell_rate"].tolist())

    manifest = json.loads(written["manifest.json"].read_text(encoding="utf-8"))
    assert manifest["scenario_digest"] == short_race.digest()
    assert parse_scenario(manifest["scenario_toml"]).digest() == short_race.digest()
    assert manifest["scenario_text"] == RACE1.read_text(encoding="utf-8")
    assert manifest["grid"] == {"buffer.units": [0, 1]}
    assert (manifest["seed"], manifest["replications"], manifest["points"]) == (3, 2, 2)
    assert manifest["executor"] == {"kind": "local", "jobs": 1}
    assert {"python", "racesim", "numpy", "pandas", "pyarrow"} <= set(manifest["versions"])


def test_mixed_kinds_of_value_still_save_as_parquet(tmp_path: Path) -> None:
    seller = load_scenario(SMALL_SELLER).with_overrides({"duration": "2d"})
    result = sweep(seller, {"sync.interval": ["30s", 120]}, replications=1)
    assert result.runs["sync.interval"].tolist() == ["30s", 120]
    written = result.save(tmp_path)
    assert pd.read_parquet(written["runs.parquet"])["sync.interval"].tolist() == ["30s", "120"]


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def short_files(short_race: Scenario, tmp_path: Path) -> tuple[Path, Path]:
    """A two-day race1 scenario file and a three-point grid file."""
    scenario = tmp_path / "race1_2d.toml"
    scenario.write_text(short_race.to_toml(), encoding="utf-8")
    grid = tmp_path / "grid.toml"
    grid.write_text('"buffer.units" = [0, 1, 2]\n', encoding="utf-8")
    return scenario, grid


def test_cli_sweep_end_to_end_as_json(short_files: tuple[Path, Path], tmp_path: Path) -> None:
    scenario, grid = short_files
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "racesim", "sweep", str(scenario), "--grid", str(grid),
         "--replications", "3", "--seed", "1", "--jobs", "2", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar with --json
    data = json.loads(done.stdout)
    assert (data["points"], data["replications"], data["seed"]) == (3, 3, 1)
    assert data["executor"] == {"kind": "local", "jobs": 2}
    assert [row["buffer.units"] for row in data["summary"]] == [0, 1, 2]
    assert {"oversell_rate", "oversell_rate_low", "oversell_rate_wilson_low", "meets_target",
            "meets_target_reason", "lost_sales_per_month_high",
            "hidden_unit_hours_per_month"} <= set(data["summary"][0])
    assert {p.name for p in out.iterdir()} == {"manifest.json", "runs.csv", "runs.parquet",
                                               "summary.csv", "summary.parquet"}
    same = sweep(load_scenario(scenario), Grid.from_toml(grid), replications=3, seed=1)
    assert [row["oversold_total"] for row in data["summary"]] == \
        same.summary["oversold_total"].tolist()


def test_cli_sweep_prints_the_summary_table(short_files: tuple[Path, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    scenario, grid = short_files
    assert main(["sweep", str(scenario), "--grid", str(grid), "--replications", "2"]) == 0
    captured = capsys.readouterr()
    assert "3 point(s) × 2 replication(s)" in captured.out
    assert "oversell %" in captured.out and "95 % CI %" in captured.out
    assert "lost sales/month" in captured.out and "per 30 measured days" in captured.out
    assert "[-" not in captured.out  # no interval of a rate below zero
    assert "sweep" in captured.err  # the progress bar, on by default


def test_cli_sweep_bad_grid_is_one_line_and_exit_2(short_files: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    scenario, grid = short_files
    grid.write_text('"buffer.unit" = [0, 1]\n', encoding="utf-8")
    assert main(["sweep", str(scenario), "--grid", str(grid)]) == 2
    err = capsys.readouterr().err
    assert err == "racesim: error: grid.toml: buffer.unit: unknown field; did you mean 'units'?\n"


def test_cli_sweep_scheduler_needs_the_dask_executor(short_files: tuple[Path, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    scenario, grid = short_files
    assert main(["sweep", str(scenario), "--grid", str(grid), "--executor", "local",
                 "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "needs the dask executor" in capsys.readouterr().err


def test_cli_sweep_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["sweep", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for option in ("--grid", "--replications", "--seed", "--jobs", "--executor",
                   "--scheduler", "--out", "--json"):
        assert option in out


# -- the benchmark -------------------------------------------------------------------------


@pytest.mark.slow  # the sweep benchmark on 1 and 2 workers and Dask: about 12 s
def test_quick_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "local, 2 workers" in done.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["environment"]["quick"] is True
    for name in ("local_1", "local_2"):
        assert figures[name]["seconds"] > 0 and figures[name]["tasks_per_s"] > 0
    assert figures["local_2"]["speedup"] > 0
    assert figures["identical_to_local_1"]["local_2"] is True
    if figures["dask_2"] is not None:
        assert figures["dask_2"]["startup_s"] > 0 and figures["dask_2"]["seconds"] > 0
        assert figures["identical_to_local_1"]["dask_2"] is True
