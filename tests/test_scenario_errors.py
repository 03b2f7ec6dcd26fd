"""Broken scenario files: each problem is one plain line naming the file and the field.

Every file in ``tests/data/broken/`` holds exactly one mistake; the table below says
where the message must point and what it must say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from racesim.errors import RacesimError, ScenarioError
from racesim.scenario import load_scenario, parse_scenario

BROKEN = Path(__file__).parent / "data" / "broken"
MINIMAL = Path(__file__).resolve().parents[1] / "scenarios" / "minimal.toml"

# file stem → (field path, fragment of the message)
EXPECTED: dict[str, tuple[str, str]] = {
    "bad_duration": ("duration", "not a duration: use seconds or a string such as"),
    "both_catalogs": ("catalog_generator", "not both"),
    "burst_after_end": (
        "channels[1].bursts[1].start",
        "starts after the scenario ends (got 2d1h ≥ 2d)",
    ),
    "duplicate_channel": ("channels[1].name", "duplicate channel name 'amazon' (also channels[0])"),
    "duplicate_sku": ("catalog[1].sku", "duplicate SKU 'SKU-1' (also catalog[0])"),
    "duplicates_over_one": (
        "channels[1].webhook.duplicates",
        "p2 + p3 must be ≤ 1 (got 0.7 + 0.5 = 1.2)",
    ),
    "failure_rate_one": ("channels[1].webhook.failure_rate", "must be < 1 (got 1)"),
    "interval_missing": ("sync.interval", "required field is missing"),
    "interval_under_a_second": ("sync.interval", "must be ≥ 1s (got 100ms)"),
    "invalid_syntax": ("line 5, column 15", "invalid TOML: Expected '=' after a key"),
    "latency_over_a_week": ("channels[1].webhook.latency.mean", "must be ≤ 7d (got 8d)"),
    "missing_required": ("channels[1].listing_latency", "required field is missing"),
    "misspelled_key": (
        "channels[1].webhook.duplicate",
        "unknown field; did you mean 'duplicates'?",
    ),
    "negative_rate": ("catalog[0].orders_per_day", "must be ≥ 0 (got -5)"),
    "no_catalog": ("catalog", "give [[catalog]] entries or a [catalog_generator] table"),
    "p99_below_median": ("channels[1].webhook.latency.p99", "must be ≥ median (got 3s < 5s)"),
    "profile_23_values": ("channels[0].profile", "must have 24 hourly values (got 23)"),
    "reorder_point_at_level": ("catalog[0].restock.reorder_point", "must be < level (got 40 ≥ 40)"),
    "shares_not_one": ("channels", "shares must sum to 1 (got 0.9 = amazon 0.5 + ebay 0.4)"),
    "shrinkage_too_high": ("warehouse.shrinkage_per_day", "must be ≤ 1000 (got 1000000)"),
    "snapshot_lag_event_driven": (
        "sync.snapshot_lag",
        "not allowed when mode = 'event_driven' (only when mode = 'periodic_snapshot')",
    ),
    "stock_as_string": ("catalog[0].initial_stock", "must be a whole number (got '1')"),
    "unknown_buffer_policy": (
        "buffer.policy",
        "unknown policy 'poisson': expected one of 'fixed', 'percent'",
    ),
    "unknown_distribution": (
        "channels[1].webhook.latency.dist",
        "unknown dist 'gamma': expected one of 'fixed', 'exponential', 'lognormal', 'uniform', "
        "'empirical'",
    ),
    "unknown_engine": (
        "engine.kind",
        "must be one of 'ledger' or 'naive_counter' (got 'postgres')",
    ),
    "warmup_too_long": ("warmup", "must be < duration (got 3d ≥ 2d)"),
}

BOILERPLATE = re.compile(
    r"pydantic|https?://|errors\.pydantic|validation error|Input should|Value error|type=|\[type",
    re.IGNORECASE,
)


def problems_in(path: Path) -> list[str]:
    """The lines of the ScenarioError that loading ``path`` raises."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value).splitlines()


def test_every_broken_file_has_an_expectation() -> None:
    stems = {path.stem for path in BROKEN.glob("*.toml")}
    assert stems == set(EXPECTED)
    assert len(stems) >= 12


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_broken_file_gives_one_plain_line_naming_file_and_field(stem: str) -> None:
    path, fragment = EXPECTED[stem]
    (line,) = problems_in(BROKEN / f"{stem}.toml")
    assert line.startswith(f"{stem}.toml: {path}: ")
    assert fragment in line
    assert not BOILERPLATE.search(line), line


def test_the_style_guide_example_reads_as_documented() -> None:
    (line,) = problems_in(BROKEN / "p99_below_median.toml")
    assert line == (
        "p99_below_median.toml: channels[1].webhook.latency.p99: must be ≥ median (got 3s < 5s)"
    )


def test_several_problems_give_one_line_each() -> None:
    text = MINIMAL.read_text(encoding="utf-8")
    text = text.replace("initial_stock = 1", "initial_stock = -1")
    text = text.replace('value = "30s"', 'value = "30 s!"')
    text = text.replace("units = 0", "units = 0\nunit = 1")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="multi.toml")
    assert str(caught.value).splitlines() == [
        "multi.toml: catalog[0].initial_stock: must be ≥ 0 (got -1)",
        "multi.toml: channels[0].webhook.latency.value: not a duration: use seconds or a string "
        'such as "90s", "5m", "1.5h", "1d2h30m" (units d, h, m, s, ms) (got \'30 s!\')',
        "multi.toml: buffer.unit: unknown field; did you mean 'units'?",
    ]


def test_errors_are_both_racesim_errors_and_value_errors() -> None:
    with pytest.raises(RacesimError):
        load_scenario(BROKEN / "negative_rate.toml")
    with pytest.raises(ValueError, match=r"^negative_rate\.toml: "):
        load_scenario(BROKEN / "negative_rate.toml")


def test_a_missing_file_is_named_in_full(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "gone.toml"
    with pytest.raises(ScenarioError, match=re.escape(f"{missing}: no such scenario file")):
        load_scenario(missing)


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario(tmp_path)


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"^latin1\.toml: not UTF-8 text \(byte 11 is 0xe9\)$"):
        load_scenario(path)


def test_strings_and_data_name_their_source() -> None:
    with pytest.raises(ScenarioError, match=r"^<string>: line 1, column 6: invalid TOML"):
        parse_scenario("name \n")
    data = load_scenario(MINIMAL).to_dict()
    del data["name"]
    with pytest.raises(ScenarioError, match=r"^inline: name: required field is missing$"):
        parse_scenario(data, source="inline")


def test_anything_but_text_or_a_mapping_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"expected TOML text or a mapping \(got a list\)"):
        parse_scenario([], source="x")  # type: ignore[arg-type]
