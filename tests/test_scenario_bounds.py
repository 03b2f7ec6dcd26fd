"""Scenario limits before work starts: bounded fields, bounded files, a pre-flight budget.

Every numeric field has a lower and an upper bound (racesim.scenario.limits); a file's
size and nesting are bounded before it is parsed; and a job whose estimated SimPy events
or memory exceed the budget is refused before anything runs or is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import Recording
from racesim.cli.main import main
from racesim.errors import ScenarioError
from racesim.ledger import Ledger
from racesim.scenario import load_scenario, parse_scenario
from racesim.scenario.limits import MAX_FILE_BYTES, limits_table
from racesim.sim.model import Simulation
from racesim.study.budget import (
    Budget,
    BudgetError,
    check_report,
    check_run,
    check_tune,
    estimate_replication,
    parse_size,
)
from racesim.study.replications import run_scenario
from racesim.study.sweep import sweep
from racesim.study.tune import tune

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))
MINIMAL = (ROOT / "scenarios" / "minimal.toml").read_text(encoding="utf-8")

# A shop with plenty of stock: no races, so the tuner settles at once (a fast tune/report).
CALM = """
name = "calm"
duration = "1d"
[[catalog]]
sku = "SKU-1"
initial_stock = 100000
orders_per_day = 1000
[[channels]]
name = "amazon"
share = 0.5
webhook.latency = { dist = "fixed", value = "30s" }
listing_latency = { dist = "fixed", value = "10s" }
[[channels]]
name = "ebay"
share = 0.5
webhook.latency = { dist = "fixed", value = "20s" }
listing_latency = { dist = "fixed", value = "10s" }
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""


def edited(replacements: dict[str, str], text: str = MINIMAL) -> str:
    """``text`` with each key replaced (each must occur)."""
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def refusal(text: str, tmp_path: Path, name: str = "bad.toml") -> str:
    """The one line ``racesim run FILE --out DIR`` prints; DIR must not exist afterwards."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    (line,) = str(caught.value).splitlines()
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert not out.exists()
    return line


# -- per-field bounds ---------------------------------------------------------------------

FIELD_CASES = {
    "duration over a year": ({'duration = "2d"': 'duration = "400d"'},
                             "duration: must be ≤ 366d (got 400d)"),
    "webhook latency over a week": (
        {'webhook.latency = { dist = "fixed", value = "30s" }':
         'webhook.latency = { dist = "lognormal", median = "1h", p99 = "30d" }'},
        "channels[0].webhook.latency.p99: must be ≤ 7d (got 30d)"),
    "latency of 1e308 seconds": (
        {'listing_latency = { dist = "fixed", value = "10s" }':
         'listing_latency = { dist = "fixed", value = 1e308 }'},
        "channels[0].listing_latency.value: must be ≤ 366d (got 1e+308s)"),
    "a sync interval of 1e-300 s": (
        {'mode = "event_driven"': 'mode = "periodic_push_time"\ninterval = 1e-300'},
        "sync.interval: must be ≥ 1s (got 1e-300s)"),
    "a burst multiplier of 1e300": (
        {'share = 0.5\n': 'share = 0.5\nbursts = [{ start = "1h", length = "1h", '
                          'multiplier = 1e300 }]\n'},
        "channels[0].bursts[0].multiplier: must be ≤ 100 (got 1e+300)"),
    "buffer of 1e300 units": ({"units = 0": "units = 1e300"},
                              "buffer.units: must be ≤ 1000000000 (got a number of about"),
    "10^12 handler attempts": (
        {'webhook.duplicates = { p2 = 0.3, p3 = 0.05 }':
         'webhook.duplicates = { p2 = 0.3, p3 = 0.05 }\nwebhook.max_attempts = 1000000000000'},
        "channels[1].webhook.max_attempts: must be ≤ 100 (got 1000000000000)"),
    "10^12 CAS retries": (
        {'mode = "event_driven"':
         'mode = "compare_and_set"\ninterval = "1m"\ncas_max_retries = 1000000000000'},
        "sync.cas_max_retries: must be ≤ 100 (got 1000000000000)"),
    "a trillion orders a day": (
        {"orders_per_day = 480": "orders_per_day = 1e12"},
        "catalog[0].orders_per_day: must be ≤ 10000000 (got 1000000000000)"),
    "stock of 10^10": ({"initial_stock = 1": "initial_stock = 10000000000"},
                       "catalog[0].initial_stock: must be ≤ 1000000000 (got 10000000000)"),
    "cycle counts every half second": (
        {"[buffer]": '[warehouse]\ncycle_count_every = "500ms"\n[buffer]'},
        "warehouse.cycle_count_every: must be ≥ 1s (got 500ms)"),
    "a probability above 1": (
        {"share = 0.5\nwebhook.latency": "share = 0.5\ncancel_rate = 1.5\nwebhook.latency"},
        "channels[0].cancel_rate: must be ≤ 1 (got 1.5)"),
    "a debounce of a month": (
        {'mode = "event_driven"': 'mode = "event_driven"\ndebounce = "30d"'},
        "sync.debounce: must be ≤ 7d (got 30d)"),
}


@pytest.mark.parametrize("case", sorted(FIELD_CASES))
def test_out_of_bounds_fields_are_one_line_naming_file_and_field(case: str,
                                                                  tmp_path: Path) -> None:
    replacements, expected = FIELD_CASES[case]
    line = refusal(edited(replacements), tmp_path)
    assert line.startswith(f"bad.toml: {expected}"), line


def test_too_many_channels_and_too_many_skus_in_a_generator() -> None:
    data = parse_scenario(MINIMAL).to_dict()
    channel = data["channels"][0]
    data["channels"] = [{**channel, "name": f"c{i}", "share": 1 / 33} for i in range(33)]
    with pytest.raises(ScenarioError, match=r"^x: channels: must have at most 32 item"):
        parse_scenario(data, source="x")
    generated = edited({'[[catalog]]\nsku = "SKU-1"\ninitial_stock = 1\norders_per_day = 480':
                        "[catalog_generator]\ncount = 1000000\ntotal_orders_per_day = 100\n"
                        "zipf_exponent = 1\ninitial_stock_days = 1"})
    with pytest.raises(ScenarioError, match=r"^x: catalog_generator\.count: must be ≤ 100000"):
        parse_scenario(generated, source="x")


def test_a_five_megabyte_name_is_refused_without_being_echoed(tmp_path: Path) -> None:
    huge = "x" * 5_000_000
    text = edited({'name = "two-channel-last-unit"': f'name = "{huge}"'})
    path = tmp_path / "huge.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)  # 5 MB is over the file limit already
    assert len(str(caught.value)) < 300
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**parse_scenario(MINIMAL).to_dict(), "name": huge}, source="big")
    (line,) = str(caught.value).splitlines()
    assert line.startswith("big: name: must be at most 200 characters (got 5,000,000: 'xxx")
    assert len(line) < 200


def test_a_huge_unknown_key_and_a_huge_duration_text_are_cut_short() -> None:
    data = parse_scenario(MINIMAL).to_dict()
    data["k" * 100_000] = 1
    data["duration"] = "1" * 100_000 + "s"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="x")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert all(len(line) <= 400 for line in lines)
    assert lines[0].startswith("x: duration: a duration must be at most 64 characters")


def test_many_problems_are_counted_not_all_listed() -> None:
    data = parse_scenario(MINIMAL).to_dict()
    data["channels"][0]["profile"] = [-1.0] * 24
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, source="x")
    lines = str(caught.value).splitlines()
    assert len(lines) == 21
    assert lines[-1] == "x: … and 4 more problem(s)"


def test_the_readme_lists_every_bound() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert limits_table() in readme


# -- the file itself ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "a = " + "[" * 100_000,
    "a = " + "{ b = " * 50_000,
    "a" + ".a" * 300_000 + " = 1",
    "[" + "a." * 300_000 + "b]",
    "x = [" + "[" * 40 + "1" + "]" * 40 + "]",
], ids=["arrays", "inline tables", "dotted keys", "table header", "40 levels"])
def test_deeply_nested_toml_is_one_line_not_a_recursion_error(text: str, tmp_path: Path) -> None:
    line = refusal(text, tmp_path, "deep.toml")
    assert re.fullmatch(r"deep\.toml: (line 1: )?tables and lists nest deeper than 32 levels; "
                        r"a scenario needs 5( \(got \d+ levels\))?", line), line


def test_brackets_inside_strings_and_comments_do_not_count() -> None:
    text = edited({'name = "two-channel-last-unit"':
                   'name = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n'
                   "description = '''{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\n'''\n"
                   "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})
    assert parse_scenario(text).name.startswith("[[[")


def test_nested_plain_data_is_refused_too() -> None:
    data: dict[str, object] = parse_scenario(MINIMAL).to_dict()
    deep: dict[str, object] = {}
    data["warehouse"] = deep
    for _ in range(40):
        deep["x"] = deep = {}
    with pytest.raises(ScenarioError, match=r"^d: tables and lists nest deeper than 32"):
        parse_scenario(data, source="d")


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    text = MINIMAL + "\n" + "# padding\n" * (MAX_FILE_BYTES // 10)
    line = refusal(text, tmp_path, "fat.toml")
    assert line == ("fat.toml: scenario file is too large: at most 1 MiB (got 1.0 MiB); "
                    "a scenario describes a shop, not its data")
    with pytest.raises(ScenarioError, match="too large"):
        parse_scenario(text)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_read_no_further_than_the_limit() -> None:
    with pytest.raises(ScenarioError, match=r"^zero: scenario file is too large"):
        load_scenario("/dev/zero")


def test_an_integer_of_thousands_of_digits_is_invalid_toml() -> None:
    with pytest.raises(ScenarioError, match=r"^x: invalid TOML: Exceeds the limit"):
        parse_scenario("seed = " + "9" * 5000, source="x")


# -- the pre-flight budget ----------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_scenario_fits_the_default_budget(path: Path) -> None:
    scenario = load_scenario(path)
    check_run(scenario, 20, jobs=2, tables=True)
    check_tune(scenario, replications=8, max_replications=256, jobs=2)
    check_report(scenario, replications=20, jobs=2)


def scheduled_events(scenario: object) -> int:
    """SimPy events one replication scheduled (SimPy's own event-id counter)."""
    simulation = Simulation(scenario, np.random.SeedSequence(0), store="memory://",
                            tables=False)
    simulation.run()
    return next(simulation.env._eid)


@pytest.mark.parametrize("path", [
    *(p for p in SHIPPED if p.stem != "high_volume"),
    pytest.param(ROOT / "scenarios" / "high_volume.toml", marks=pytest.mark.slow),
], ids=lambda path: path.stem)
def test_the_event_estimate_is_within_a_factor_two_of_a_real_run(path: Path) -> None:
    scenario = load_scenario(path)
    ratio = estimate_replication(scenario).events / scheduled_events(scenario)
    assert 0.5 <= ratio <= 2.0, ratio


def test_a_huge_run_is_refused_naming_the_fields_and_nothing_is_written(tmp_path: Path,
                                                                       capsys) -> None:
    text = edited({'duration = "2d"': 'duration = "300d"', "orders_per_day = 480":
                   "orders_per_day = 9000000"})
    path = tmp_path / "big.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--replications", "3", "--out", str(out)]) == 2
    message = capsys.readouterr().err.strip()
    assert re.fullmatch(r"racesim: error: big\.toml: would simulate ~\d\.?\de\d+ events "
                        r"\(budget 5e8\): driven by catalog\[0\]\.orders_per_day × duration × "
                        r"replications; lower them or pass --max-events", message), message
    assert not out.exists()


def test_memory_is_budgeted_too(tmp_path: Path, capsys) -> None:
    path = tmp_path / "wide.toml"
    path.write_text(edited({'duration = "2d"': 'duration = "20d"', "orders_per_day = 480":
                            "orders_per_day = 200000"}), encoding="utf-8")
    assert main(["run", str(path), "--max-events", "1e12", "--out", str(tmp_path / "o")]) == 2
    message = capsys.readouterr().err
    assert "would need ~" in message and "of memory (budget 4 GiB)" in message
    assert "pass --max-memory" in message
    assert not (tmp_path / "o").exists()


def test_bursts_that_multiply_the_drawn_buyers_are_named() -> None:
    bursts = ", ".join(f'{{ start = "{h}h", length = "1h", multiplier = 100 }}' for h in (1, 3, 5))
    scenario = parse_scenario(edited({"share = 0.5\n": f"share = 0.5\nbursts = [{bursts}]\n"}))
    with pytest.raises(BudgetError, match=r"^bursty: would need ~\S+ GiB of memory \(budget 4 "
                       r"GiB\): driven by catalog\[0\]\.orders_per_day × channels\[0\]\."
                       r"bursts\[2\]\.multiplier × duration; lower them or pass --max-memory$"):
        run_scenario(scenario, source="bursty")


def test_run_is_refused_below_its_estimate_and_runs_once_raised(tmp_path: Path,
                                                               capsys) -> None:
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert main(["run", str(path), "--max-events", "500", "--json"]) == 2
    assert "would simulate ~9.8e2 events (budget 5e2)" in capsys.readouterr().err
    assert main(["run", str(path), "--max-events", "5000", "--json"]) == 0
    assert '"replications": 1' in capsys.readouterr().out


def test_the_library_refuses_before_any_replication_runs() -> None:
    scenario = parse_scenario(MINIMAL, source="minimal.toml")
    executor = Recording()
    with pytest.raises(BudgetError, match=r"^minimal\.toml: would simulate"):
        run_scenario(scenario, replications=10, executor=executor,
                     budget=Budget(max_events=1e3), source="minimal.toml")
    with pytest.raises(BudgetError, match=r"^minimal\.toml: would simulate .* the grid's 3"):
        sweep(scenario, {"buffer.units": [0, 1, 2]}, replications=2, executor=executor,
              budget=Budget(max_events=5e3), source="minimal.toml")
    assert executor.tasks == []
    with pytest.raises(BudgetError, match="pass --max-memory"):
        run_scenario(scenario, executor=executor, budget=Budget(max_memory=2**20))


def test_sweep_is_refused_and_accepted_when_raised(tmp_path: Path, capsys) -> None:
    path, grid = tmp_path / "minimal.toml", tmp_path / "grid.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    grid.write_text('"buffer.units" = [0, 1, 2]\n', encoding="utf-8")
    out = tmp_path / "sweep"
    args = ["sweep", str(path), "--grid", str(grid), "--replications", "2", "--json"]
    assert main([*args, "--out", str(out), "--max-events", "3000"]) == 2
    assert "would simulate ~5.9e3 events (budget 3e3)" in capsys.readouterr().err
    assert not out.exists()
    assert main([*args, "--max-events", "1e4"]) == 0
    assert '"points": 3' in capsys.readouterr().out


@pytest.mark.slow  # a whole tune: about 12 s
def test_tune_is_refused_and_accepted_when_raised(tmp_path: Path, capsys) -> None:
    path = tmp_path / "calm.toml"
    path.write_text(CALM, encoding="utf-8")
    assert main(["tune", str(path), "--max-events", "1e4", "--json"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"calm\.toml: would simulate ~\S+ events \(budget 1e4\): driven by "
                     r"catalog\[0\]\.orders_per_day × duration × replications", err), err
    assert main(["tune", str(path), "--max-events", "1e7", "--json"]) == 0
    assert '"meets_target": true' in capsys.readouterr().out


def test_report_is_refused_before_its_folder_is_made(tmp_path: Path, capsys) -> None:
    path = tmp_path / "calm.toml"
    path.write_text(CALM, encoding="utf-8")
    out = tmp_path / "report"
    assert main(["report", str(path), "--out", str(out), "--max-events", "1e5"]) == 2
    assert re.search(r"calm\.toml: would simulate ~\S+ events \(budget 1e5\)",
                     capsys.readouterr().err)
    assert not out.exists()


def test_tune_counts_its_max_replications_when_the_target_needs_them() -> None:
    scenario = parse_scenario(MINIMAL)  # about one order a replication: the pilot wants all
    with pytest.raises(BudgetError, match=r"× max_replications; lower them"):
        tune(scenario, max_replications=256, budget=Budget(max_events=1e6))
    check_tune(scenario, replications=8, max_replications=16, budget=Budget(max_events=1e6))


def test_budget_and_sizes_are_validated() -> None:
    assert parse_size("4GiB") == 4 * 2**30
    assert parse_size("512 MiB") == 2**29
    assert parse_size("8e9") == 8e9
    with pytest.raises(ValueError, match="expected a size"):
        parse_size("lots")
    with pytest.raises(ValueError, match="max_events must be a positive number"):
        Budget(max_events=0)
    with pytest.raises(SystemExit) as caught:
        main(["run", "x.toml", "--max-events", "-5"])
    assert caught.value.code == 2


# -- a scenario's own [engine] store ------------------------------------------------------


def with_store(text: str, url: str) -> str:
    return edited({"[sync]": f'[engine]\nstore = "{url}"\n\n[sync]'}, text)


def test_engine_store_gives_each_replication_its_own_database(tmp_path: Path) -> None:
    scenario = parse_scenario(with_store(MINIMAL, f"sqlite:///{tmp_path / 'shop.db'}"))
    result = run_scenario(scenario, seed=3, replications=3, tables=True)
    files = sorted(path.name for path in tmp_path.glob("shop*.db"))
    assert files == ["shop-r0.db", "shop-r1.db", "shop-r2.db"]
    for r, name in enumerate(files):
        with Ledger.open(f"sqlite:///{tmp_path / name}") as ledger:
            assert ledger.event_count() == len(result.replications[r].events)
            assert ledger.verify() == []
    again = run_scenario(parse_scenario(MINIMAL), seed=3, replications=3)
    assert result.summary() == again.summary()


def test_sweeps_on_an_engine_store_leave_no_databases_behind(tmp_path: Path) -> None:
    scenario = parse_scenario(with_store(MINIMAL, f"sqlite:///{tmp_path / 'shop.db'}"
                                         "?synchronous=OFF"))
    result = sweep(scenario, {"buffer.units": [0, 1]}, replications=2)
    assert len(result.runs) == 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a whole report: about 25 short simulations, figures and HTML
def test_report_runs_a_scenario_with_an_engine_store(tmp_path: Path) -> None:
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()
    path = tmp_path / "calm.toml"
    path.write_text(with_store(CALM, f"sqlite:///{ledgers / 'calm.db'}?synchronous=OFF"),
                    encoding="utf-8")
    out = tmp_path / "report"
    assert main(["report", str(path), "--replications", "2", "--out", str(out)]) == 0
    assert (out / "index.html").is_file()
    assert list(ledgers.iterdir()) == []  # every replication's throwaway ledger is gone
