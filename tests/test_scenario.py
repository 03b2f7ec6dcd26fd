"""Scenario files: durations, the shipped scenarios, overrides, digests and distributions."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pydantic
import pytest

from racesim.errors import ScenarioError
from racesim.scenario import (
    CatalogGenerator,
    DurationDistribution,
    EmpiricalCount,
    FixedBufferConfig,
    FixedCount,
    FixedDuration,
    GeometricCount,
    LogNormalDuration,
    OrderUpToRestockConfig,
    PeriodicRestockConfig,
    PeriodicSnapshotSyncConfig,
    Scenario,
    load_scenario,
    parse_scenario,
)
from racesim.util.units import format_duration, parse_duration

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))
DAY = 86400.0

MINIMAL_TEXT = """\
name = "two-channel-last-unit"
duration = "2d"
[[catalog]]
sku = "SKU-1"
initial_stock = 1
orders_per_day = 480
[[channels]]
name = "amazon"
share = 0.5
webhook.latency = { dist = "fixed", value = "30s" }
listing_latency = { dist = "fixed", value = "10s" }
[[channels]]
name = "ebay"
share = 0.5
webhook.latency = { dist = "exponential", mean = "20s" }
webhook.duplicates = { p2 = 0.3, p3 = 0.05 }
listing_latency = { dist = "fixed", value = "10s" }
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""


@pytest.fixture
def minimal() -> Scenario:
    return load_scenario(SCENARIOS / "minimal.toml")


def scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml")


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("3d", 259200.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("1d2h", 93600.0),
        ("1d2h30m", 95400.0),
        ("1h30m15.5s", 5415.5),
        (" 1d 2h ", 93600.0),
        (".5s", 0.5),
        (0, 0.0),
        (42, 42.0),
        (2.5, 2.5),
        (np.int64(7), 7.0),
    ],
)
def test_parse_duration_accepts_numbers_and_unit_strings(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("5 minutes", "not a duration"),
        ("90", "has no unit"),
        ("-5s", "must be ≥ 0"),
        (-1, "must be ≥ 0"),
        (float("inf"), "finite"),
        (float("nan"), "finite"),
        ("2h1d", "largest to smallest"),
        ("5m5m", "largest to smallest"),
        ("", "not a duration"),
        (True, "not a duration"),
        (None, "not a duration"),
        ("1d2", "not a duration"),
    ],
)
def test_parse_duration_rejects_with_a_message_naming_the_value(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_duration(value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (3.0, "3s"),
        (300.0, "5m"),
        (7200.0, "2h"),
        (93600.0, "1d2h"),
        (95400.0, "1d2h30m"),
        (90.0, "1m30s"),
        (2.5, "2.5s"),
        (0.25, "250ms"),
        (-3.0, "-3s"),
    ],
)
def test_format_duration_reads_like_the_file(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.25, 1.0, 59.5, 3600.0, 95400.0, 7 * DAY, 1.000001])
def test_format_duration_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


# --- the shipped scenarios -------------------------------------------------------------


def test_all_expected_scenarios_are_shipped() -> None:
    names = {path.stem for path in SHIPPED}
    assert names >= {
        "minimal",
        "race1_double_buy",
        "race2_returns",
        "race3_stale_snapshot",
        "small_seller",
        "high_volume",
        "flash_sale",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_shipped_scenario_loads_and_is_short(path: Path) -> None:
    loaded = load_scenario(path)
    assert loaded.skus()
    assert math.isclose(sum(channel.share for channel in loaded.channels), 1.0)
    assert DAY <= loaded.duration <= 7 * DAY
    assert loaded.warmup < loaded.duration


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_shipped_scenario_round_trips_through_canonical_toml(path: Path) -> None:
    loaded = load_scenario(path)
    again = parse_scenario(loaded.to_toml(), source=path.name)
    assert again == loaded
    assert again.digest() == loaded.digest()
    assert again.to_toml() == loaded.to_toml()


@pytest.mark.parametrize(
    "path", [p for p in SHIPPED if p.stem != "minimal"], ids=lambda path: path.stem
)
def test_shipped_scenario_explains_itself_in_a_comment_header(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = list(itertools.takewhile(lambda line: line.startswith("#"), lines))
    assert 5 <= len(header) <= 15
    if "fitted by `racesim fit`" in header[0]:  # written by the fit: sources and assumptions
        assert any(line.startswith("# Read from:") for line in header)
        assert any("assume" in line for line in header)
    else:
        assert any("Look at" in line for line in header)


def test_minimal_is_exactly_the_documented_text(minimal: Scenario) -> None:
    assert (SCENARIOS / "minimal.toml").read_text(encoding="utf-8") == MINIMAL_TEXT
    assert minimal == parse_scenario(MINIMAL_TEXT)
    assert minimal.name == "two-channel-last-unit"
    assert minimal.duration == 2 * DAY
    amazon, ebay = minimal.channels
    assert amazon.webhook.latency == FixedDuration(value=30)
    assert ebay.webhook.latency.mean() == 20.0
    assert ebay.webhook.duplicates.copies() == pytest.approx((0.65, 0.3, 0.05))
    assert amazon.webhook.duplicates.mean_copies() == 1.0
    assert amazon.webhook.retry_backoff.mean() == 30.0
    assert minimal.buffer.policy == "fixed"
    assert minimal.engine.kind == "ledger"
    assert minimal.engine.store == "memory://"
    assert minimal.metrics.stranded_after == 48 * 3600
    assert minimal.warehouse.handling_time.mean() == 4 * 3600
    assert minimal.warehouse.return_recording == "on_confirm"


def test_race1_races_for_the_last_unit() -> None:
    race = scenario("race1_double_buy")
    assert len(race.channels) >= 2
    assert race.buffer.policy == "fixed"
    assert race.buffer.units == 0
    assert all(sku.initial_stock <= 3 and sku.restock is not None for sku in race.skus())
    assert min(channel.webhook.latency.mean() for channel in race.channels) >= 30


def test_race2_strands_returns_until_confirmed() -> None:
    race = scenario("race2_returns")
    assert race.warehouse.return_rate >= 0.1
    assert race.warehouse.return_recording == "on_confirm"
    delay = race.warehouse.return_confirm_delay.mean() + race.warehouse.return_webhook_delay.mean()
    assert delay >= DAY
    for sku in race.skus():  # supply falls short of demand, so listings run out often
        assert sku.restock is not None
        assert sku.restock.quantity < sku.orders_per_day * sku.restock.every / DAY


def test_race3_pushes_a_four_minute_old_snapshot_every_five_minutes() -> None:
    race = scenario("race3_stale_snapshot")
    assert isinstance(race.sync, PeriodicSnapshotSyncConfig)
    assert (race.sync.interval, race.sync.snapshot_lag) == (300.0, 240.0)


def test_small_seller_is_small_with_a_five_unit_buffer() -> None:
    small = scenario("small_seller")
    assert small.orders_per_day() < 1000
    assert isinstance(small.buffer, FixedBufferConfig)
    assert small.buffer.units == 5
    assert small.sync.mode == "periodic_push_time"
    assert small.sync.interval == 600.0  # a 10-minute push, so the last units race


def test_high_volume_generates_a_long_tail_over_four_channels() -> None:
    big = scenario("high_volume")
    assert big.catalog is None
    assert big.catalog_generator is not None
    assert big.orders_per_day() == pytest.approx(big.catalog_generator.total_orders_per_day)
    assert big.orders_per_day() >= 20_000
    assert len(big.skus()) >= 300
    assert [channel.name for channel in big.channels] == ["amazon", "allegro", "ebay", "shop"]
    assert big.sync.mode == "event_driven"
    assert big.duration == DAY


def test_flash_sale_bursts_on_one_channel() -> None:
    sale = scenario("flash_sale")
    bursting = [channel for channel in sale.channels if channel.bursts]
    assert len(bursting) == 1
    burst = bursting[0].bursts[0]
    assert burst.multiplier > 1
    assert burst.end <= sale.duration


# --- overrides -------------------------------------------------------------------------


def test_overrides_set_dotted_paths_and_list_items(minimal: Scenario) -> None:
    changed = minimal.with_overrides(
        {
            "buffer.units": 3,
            "channels[1].webhook.duplicates.p2": 0.1,
            "channels[amazon].webhook.latency": {"dist": "lognormal", "median": 5, "p99": "1m"},
            "catalog[SKU-1].initial_stock": 4,
            "warehouse.return_rate": 0.2,
            "seed": 7,
        }
    )
    assert changed.buffer == FixedBufferConfig(units=3)
    assert changed.channels[1].webhook.duplicates.p2 == 0.1
    assert changed.channels[1].webhook.duplicates.p3 == 0.05
    assert isinstance(changed.channels[0].webhook.latency, LogNormalDuration)
    assert changed.skus()[0].initial_stock == 4
    assert changed.warehouse.return_rate == 0.2
    assert changed.seed == 7
    assert minimal.buffer == FixedBufferConfig(units=0), "the original is left unchanged"
    assert changed.digest() != minimal.digest()


def test_overrides_accept_durations_and_whole_tables(minimal: Scenario) -> None:
    periodic = minimal.with_overrides({"sync": {"mode": "periodic_push_time", "interval": "5m"}})
    faster = periodic.with_overrides({"sync.interval": "30s"})
    assert faster.sync.mode == "periodic_push_time"
    assert faster.sync.interval == 30.0


def test_overrides_create_missing_tables(minimal: Scenario) -> None:
    changed = minimal.with_overrides(
        {"catalog[0].restock": {"policy": "periodic", "every": "1d", "quantity": 2}}
    )
    restocked = changed.with_overrides({"catalog[0].restock.quantity": 5})
    restock = restocked.skus()[0].restock
    assert isinstance(restock, PeriodicRestockConfig)
    assert (restock.every, restock.quantity, restock.lead_time) == (86400.0, 5, 0.0)


def test_overrides_reach_the_catalog_generator() -> None:
    big = scenario("high_volume")
    smaller = big.with_overrides({"catalog_generator.count": 50})
    assert len(smaller.skus()) == 50
    assert smaller.orders_per_day() == pytest.approx(big.orders_per_day())


def test_overrides_are_validated(minimal: Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"^overrides: buffer\.units: must be ≥ 0 \(got -1\)$"):
        minimal.with_overrides({"buffer.units": -1})
    with pytest.raises(ScenarioError, match=r"^sweep-3: channels\[1\]\.webhook\.duplicates: "):
        minimal.with_overrides({"channels[1].webhook.duplicates.p2": 0.99}, source="sweep-3")
    with pytest.raises(ScenarioError, match=r"sync\.interval: not allowed when mode"):
        minimal.with_overrides({"sync.interval": "30s"})
    with pytest.raises(ScenarioError, match=r"buffer\.unit: unknown field; did you mean 'units'"):
        minimal.with_overrides({"buffer.unit": 1})


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("channels[5].share", r"channels has 2 items \(got index 5\)"),
        ("channels[etsy].share", r"no item named 'etsy' in channels"),
        ("buffer[0]", r"buffer is not a list"),
        ("name.first", r"name is not a table"),
        ("channels..share", r"malformed override path"),
    ],
)
def test_override_paths_that_do_not_fit_are_refused(
    minimal: Scenario, path: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        minimal.with_overrides({path: 1})


# --- identity: digest and canonical text -----------------------------------------------


def test_digest_is_stable_and_ignores_spelling(minimal: Scenario) -> None:
    assert minimal.digest() == load_scenario(SCENARIOS / "minimal.toml").digest()
    assert len(minimal.digest()) == 64
    spelled_out = MINIMAL_TEXT.replace('duration = "2d"', 'duration = 172800\nwarmup = "0s"')
    spelled_out += '[engine]\nkind = "ledger"\nstore = "memory://"\n'
    assert parse_scenario(spelled_out).digest() == minimal.digest()
    assert minimal.with_overrides({"buffer.units": 1}).digest() != minimal.digest()


def test_digest_does_not_depend_on_key_order(minimal: Scenario) -> None:
    data = minimal.to_dict()
    reordered = dict(reversed(list(data.items())))
    assert parse_scenario(reordered).digest() == minimal.digest()


def test_canonical_text_uses_durations_and_omits_nothing(minimal: Scenario) -> None:
    text = minimal.to_toml()
    assert 'duration = "2d"' in text
    assert 'latency = { dist = "exponential", mean = "20s" }' in text
    assert 'stranded_after = "2d"' in text
    assert "seed" not in text  # unset optional values are left out, not written as null


def test_scenarios_are_immutable(minimal: Scenario) -> None:
    with pytest.raises(pydantic.ValidationError):
        minimal.duration = 1.0


# --- distributions ---------------------------------------------------------------------


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


def delay(**fields: object) -> DurationDistribution:
    """A delay distribution read the way a scenario file gives it (durations as text)."""
    return pydantic.TypeAdapter(DurationDistribution).validate_python(fields)


def test_lognormal_samples_match_median_and_p99(rng: np.random.Generator) -> None:
    latency = delay(dist="lognormal", median="5s", p99="1m")
    assert isinstance(latency, LogNormalDuration)
    assert latency.quantile(0.5) == pytest.approx(5.0)
    assert latency.quantile(0.99) == pytest.approx(60.0)
    assert latency.sigma == pytest.approx(math.log(12) / 2.3263478740408408)
    draws = latency.sample(rng, 200_000)
    assert np.median(draws) == pytest.approx(5.0, rel=0.02)
    assert np.quantile(draws, 0.99) == pytest.approx(60.0, rel=0.05)
    assert draws.mean() == pytest.approx(latency.mean(), rel=0.02)


def test_lognormal_with_p99_equal_to_median_is_fixed(rng: np.random.Generator) -> None:
    latency = LogNormalDuration(median=4, p99=4)
    assert latency.quantile(0.999) == latency.mean() == 4.0
    assert latency.sample(rng) == 4.0


def test_exponential_uniform_fixed_and_empirical_agree_with_samples(
    rng: np.random.Generator,
) -> None:
    exponential = delay(dist="exponential", mean="20s")
    assert exponential.quantile(0.5) == pytest.approx(20 * math.log(2))
    assert exponential.quantile(1.0) == math.inf
    assert exponential.sample(rng, 100_000).mean() == pytest.approx(20.0, rel=0.02)

    uniform = delay(dist="uniform", low="1s", high="5s")
    assert (uniform.mean(), uniform.quantile(0.25)) == (3.0, 2.0)
    draws = uniform.sample(rng, 10_000)
    assert draws.min() >= 1.0
    assert draws.max() <= 5.0

    fixed = delay(dist="fixed", value="30s")
    assert (fixed.mean(), fixed.quantile(0.9), fixed.sample(rng)) == (30.0, 30.0, 30.0)
    assert fixed.sample(rng, (2, 3)).shape == (2, 3)

    empirical = delay(dist="empirical", samples=["1s", 2.5, "4s"])
    assert empirical.mean() == 2.5
    assert empirical.quantile(0.75) == float(np.quantile([1.0, 2.5, 4.0], 0.75))
    assert set(empirical.sample(rng, 1000)) == {1.0, 2.5, 4.0}


def test_samples_are_floats_or_arrays_and_depend_only_on_the_generator() -> None:
    latency = delay(dist="lognormal", median="5s", p99="1m")
    one = latency.sample(np.random.default_rng(1))
    assert isinstance(one, float)
    first = latency.sample(np.random.default_rng(1), 5)
    again = latency.sample(np.random.default_rng(1), 5)
    assert first.dtype == np.float64
    np.testing.assert_array_equal(first, again)


def test_quantile_rejects_probabilities_outside_0_1() -> None:
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\] \(got 1.5\)"):
        FixedDuration(value=1).quantile(1.5)


def test_count_distributions(rng: np.random.Generator) -> None:
    fixed = FixedCount(value=2)
    assert fixed.sample(rng) == 2
    assert isinstance(fixed.sample(rng), int)

    empirical = EmpiricalCount(values=(1, 2, 3), weights=(0.7, 0.2, 0.1))
    assert empirical.mean() == pytest.approx(1.4)
    assert [empirical.quantile(q) for q in (0.5, 0.7, 0.8, 0.95)] == [1, 1, 2, 3]
    draws = empirical.sample(rng, 100_000)
    assert draws.dtype == np.int64
    assert np.mean(draws == 1) == pytest.approx(0.7, abs=0.01)

    geometric = GeometricCount(mean=1.4)
    draws = geometric.sample(rng, 100_000)
    assert draws.min() >= 1
    assert draws.mean() == pytest.approx(1.4, rel=0.02)
    assert geometric.quantile(0.99) == int(np.quantile(draws, 0.99))
    assert GeometricCount(mean=1).sample(rng, 10).tolist() == [1] * 10


# --- the generated catalog -------------------------------------------------------------


def test_generated_catalog_is_deterministic_zipf() -> None:
    generator = CatalogGenerator.model_validate(
        {
            "count": 120,
            "total_orders_per_day": 5000,
            "zipf_exponent": 1.2,
            "initial_stock_days": 7,
            "min_initial_stock": 2,
            "restock": {
                "policy": "order_up_to",
                "level_days": 10,
                "reorder_point_days": 3,
                "review": "1d",
            },
        }
    )
    skus = generator.generate()
    assert skus == generator.generate()
    assert len(skus) == 120
    assert [sku.sku for sku in skus[:2]] == ["SKU-001", "SKU-002"]
    assert math.fsum(sku.orders_per_day for sku in skus) == pytest.approx(5000, rel=1e-12)
    assert skus[0].orders_per_day / skus[1].orders_per_day == pytest.approx(2**1.2)
    assert all(a.orders_per_day > b.orders_per_day for a, b in itertools.pairwise(skus))
    assert all(sku.initial_stock >= 2 for sku in skus)
    assert skus[0].initial_stock == math.floor(7 * skus[0].orders_per_day + 0.5)
    restock = skus[0].restock
    assert isinstance(restock, OrderUpToRestockConfig)
    assert restock.reorder_point < restock.level
    assert [skus[0].class_, skus[-1].class_] == ["A", "C"]


def test_scenario_skus_resolve_the_generator_once() -> None:
    big = scenario("high_volume")
    assert big.skus() is big.skus()
    assert big.skus() == big.catalog_generator.generate()  # type: ignore[union-attr]


# --- channels --------------------------------------------------------------------------


def test_hourly_profile_is_normalised_and_bursts_multiply() -> None:
    sale = scenario("flash_sale")
    allegro = next(channel for channel in sale.channels if channel.bursts)
    profile = allegro.hourly_profile()
    assert len(profile) == 24
    assert sum(profile) / 24 == pytest.approx(1.0)
    burst = allegro.bursts[0]
    inside = burst.start + 60
    hour = int(inside // 3600) % 24
    assert allegro.multiplier_at(inside) == pytest.approx(profile[hour] * burst.multiplier)
    assert allegro.multiplier_at(burst.end + 1) == pytest.approx(profile[hour + 2])
    plain = sale.channels[0]
    assert plain.hourly_profile() == (1.0,) * 24


def test_parse_scenario_accepts_plain_data(minimal: Scenario) -> None:
    assert parse_scenario(minimal.to_dict()) == minimal
