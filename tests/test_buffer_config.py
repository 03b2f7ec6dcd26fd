"""A scenario's ``[buffer]`` table: one configuration record per kind, each building its policy.

The kinds are listed once (:mod:`racesim.policy.kinds`); the scenario's records, the
tuner's families and ``racesim tune --policy`` all take them from there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from racesim.cli.main import main
from racesim.policy.buffers import (
    FixedBuffer,
    PercentBuffer,
    PoissonQuantile,
    SeedFormula,
    bind_policy,
    exposure_p99,
)
from racesim.policy.kinds import BUFFER_KINDS
from racesim.scenario import (
    BUFFER_CONFIGS,
    FixedBufferConfig,
    PercentBufferConfig,
    PoissonQuantileConfig,
    Scenario,
    SeedFormulaConfig,
    parse_scenario,
)
from racesim.study.tune import FAMILIES

BASE = '''
name = "two shops"
duration = "1d"
[[catalog]]
sku = "MUG"
initial_stock = 200
orders_per_day = 864
[[channels]]
name = "shop"
share = 0.75
webhook.latency = { dist = "fixed", value = "5s" }
listing_latency = { dist = "fixed", value = "10s" }
[[channels]]
name = "market"
share = 0.25
webhook.latency = { dist = "fixed", value = "20s" }
listing_latency = { dist = "fixed", value = "30s" }
'''


def _scenario(sync: str, buffer: str = 'policy = "fixed"\nunits = 0') -> Scenario:
    return parse_scenario(f"{BASE}\n[sync]\n{sync}\n[buffer]\n{buffer}\n")


@pytest.mark.parametrize(("table", "record", "policy"), [
    ('policy = "fixed"\nunits = 3', FixedBufferConfig, FixedBuffer(3)),
    ('policy = "percent"\npercent = 12.5\nmin_units = 2', PercentBufferConfig,
     PercentBuffer(12.5, 2)),
    ('policy = "seed_formula"\nmin_units = 1\npercent = 4\nlatency_multiple = 3',
     SeedFormulaConfig, SeedFormula(1, 4.0, 3.0)),
    ('policy = "poisson_quantile"\nepsilon = 0.01\nlatency_multiple = 2',
     PoissonQuantileConfig, PoissonQuantile(0.01, 2.0)),
])
def test_each_buffer_table_builds_its_runtime_policy(table: str, record: type,
                                                     policy: object) -> None:
    scenario = _scenario('mode = "event_driven"', table)
    assert type(scenario.buffer) is record
    built = scenario.buffer.to_policy()
    assert type(built) is type(policy) and built == policy


def test_defaults_of_a_record_are_the_defaults_of_its_policy() -> None:
    assert SeedFormulaConfig().to_policy() == SeedFormula()
    assert PoissonQuantileConfig().to_policy() == PoissonQuantile()


def test_the_built_policy_hides_what_its_formula_says() -> None:
    # 864 orders a day = 0.01 per second; P99 = slowest webhook 20 s + slowest listing 30 s.
    scenario = _scenario('mode = "event_driven"',
                         'policy = "seed_formula"\nmin_units = 0\npercent = 0\n'
                         'latency_multiple = 10')
    policy = bind_policy(scenario.buffer.to_policy(), scenario)
    assert policy("MUG", 200, 3600.0) == 5  # ⌈0.01 × 10 × 50⌉
    percent = bind_policy(_scenario('mode = "event_driven"',
                                    'policy = "percent"\npercent = 10\nmin_units = 3'
                                    ).buffer.to_policy(), scenario)
    assert percent("MUG", 101, 0.0) == 11 and percent("MUG", 5, 0.0) == 3


@pytest.mark.parametrize(("sync", "expected"), [
    ('mode = "event_driven"', 50.0),
    ('mode = "event_driven"\ndebounce = "4s"', 54.0),
    ('mode = "periodic_push_time"\ninterval = "60s"', 110.0),
    ('mode = "periodic_snapshot"\ninterval = "5m"\nsnapshot_lag = "4m"', 590.0),
    ('mode = "periodic_delta"\ninterval = "2m"', 170.0),
    ('mode = "compare_and_set"\ninterval = "30s"', 80.0),
])
def test_exposure_p99_adds_what_each_sync_mode_delays(sync: str, expected: float) -> None:
    assert exposure_p99(_scenario(sync)) == pytest.approx(expected)


def test_the_buffer_kinds_are_listed_once_and_used_everywhere() -> None:
    assert tuple(BUFFER_CONFIGS) == BUFFER_KINDS
    assert tuple(FAMILIES) == BUFFER_KINDS
    assert all(family.name == name for name, family in FAMILIES.items())


def test_racesim_tune_offers_every_kind_and_nothing_else(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    with pytest.raises(SystemExit) as refused:
        main(["tune", missing, "--policy", "bogus"])
    assert refused.value.code == 2
    listed = ", ".join(repr(kind) for kind in BUFFER_KINDS)
    assert f"invalid choice: 'bogus' (choose from {listed})" in capsys.readouterr().err
    for kind in BUFFER_KINDS:  # accepted: the run then stops at the missing file
        assert main(["tune", missing, "--policy", kind]) == 2
        assert "no such scenario file" in capsys.readouterr().err


def test_reading_a_scenario_does_not_load_the_simulator_or_scipy() -> None:
    source = Path(__file__).resolve().parents[1] / "src"
    code = ("import sys; import racesim.scenario; "
            "print(sorted(m for m in ('scipy', 'simpy', 'racesim.sim') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(source)}).stdout
    assert out.strip() == "[]"
