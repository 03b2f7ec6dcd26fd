"""Over-dispersed (Gamma–Poisson) demand: the scenario field, the model, its closed form.

Statistical checks follow tests/test_analytic.py: a formula must lie inside the 99.9 %
interval of the simulated estimate (normal theory for a mean or a variance, Wilson for a
proportion) or a law must pass a chi-square test at p > 0.001; seeds are fixed so that a
failure can be replayed. This file makes about 20 such checks, so a correct model fails
one of them about one time in fifty whenever the random streams change — while a model
that drew Poisson days (variance μ instead of μ + φμ²), or one multiplier per channel
instead of per SKU, fails them by many intervals.
"""

from __future__ import annotations

import hashlib
import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from racesim.cli.main import main
from racesim.errors import ScenarioError
from racesim.policy.analytic import (
    exceed_probability_fixed,
    exceed_probability_negative_binomial,
    expected_excess_fixed,
    expected_excess_negative_binomial,
    negative_binomial_quantile,
    negative_binomial_variance,
)
from racesim.policy.buffers import (
    NegativeBinomialQuantile,
    PoissonQuantile,
    bind_policy,
    exposure_p99,
)
from racesim.scenario import Scenario, parse_scenario
from racesim.sim.demand import DAY, day_multipliers, draw_arrivals
from racesim.sim.model import Simulation
from racesim.sim.results import LOST_SALE_CAUSES
from racesim.sim.streams import Streams
from racesim.sim.summary import MONEY_FIELDS
from racesim.study.replications import run_scenario
from racesim.util.stats import wilson_interval

CONFIDENCE = 0.999
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # ≈ 3.29
P_MIN = 0.001


def _scenario(skus: int, orders_per_day: float, days: int, demand: str | None,
              shares: tuple[float, ...] = (0.6, 0.4)) -> Scenario:
    """``skus`` equal SKUs sold on len(shares) marketplaces for ``days`` days."""
    lines = ['name = "dispersed"', f'duration = "{days}d"']
    for k in range(skus):
        lines += ["[[catalog]]", f'sku = "SKU-{k}"', "initial_stock = 5",
                  f"orders_per_day = {orders_per_day}"]
        if demand is not None:
            lines.append(f"demand = {demand}")
    for i, share in enumerate(shares):
        lines += ["[[channels]]", f'name = "m{i}"', f"share = {share}",
                  'webhook.latency = { dist = "lognormal", median = "40s", p99 = "5m" }',
                  "webhook.duplicates = { p2 = 0.1, p3 = 0.02 }",
                  'listing_latency = { dist = "fixed", value = "30s" }']
    lines += ["[sync]", 'mode = "event_driven"', "[buffer]", 'policy = "fixed"', "units = 0"]
    return parse_scenario("\n".join(lines), source="dispersed.toml")


def _gamma(dispersion: float) -> str:
    return f'{{ kind = "gamma_poisson", dispersion = {dispersion} }}'


def _daily_counts(simulation: Simulation, days: int) -> np.ndarray:
    """Buyers per (channel, SKU, day) of a simulation's drawn arrivals."""
    counts = np.zeros((len(simulation.orders), len(simulation.skus), days), dtype=np.int64)
    for c, arrivals in enumerate(orders.arrivals for orders in simulation.orders):
        day = (arrivals.times // DAY).astype(np.int64)
        np.add.at(counts[c], (arrivals.skus, day), 1)
    return counts


def _nb_moment_intervals(counts: np.ndarray, mean: float, dispersion: float) -> None:
    """Sample mean and variance of i.i.d. NB counts inside their 99.9 % intervals.

    The variance's interval uses Var(s²) = (μ₄ − σ⁴(n − 3)/(n − 1))/n with μ₄ the NB's
    fourth central moment, summed from its pmf.
    """
    n = counts.size
    variance = negative_binomial_variance(mean, dispersion)
    half = Z * math.sqrt(variance / n)
    assert abs(counts.mean() - mean) <= half, ("mean", counts.mean(), mean, half)
    size = 1.0 / dispersion
    ks = np.arange(int(mean + 60 * math.sqrt(variance)) + 50)
    mu4 = float(((ks - mean) ** 4 * stats.nbinom.pmf(ks, size, size / (size + mean))).sum())
    spread = Z * math.sqrt((mu4 - variance**2 * (n - 3) / (n - 1)) / n)
    sample = counts.var(ddof=1)
    assert abs(sample - variance) <= spread, ("variance", sample, variance, spread)
    poisson = mean  # the wrong answer this test must tell apart: outside the interval
    assert abs(poisson - variance) > spread


# -- (1) the model's daily counts per SKU are negative binomial ----------------------------

@pytest.mark.parametrize(("skus", "days", "orders_per_day", "dispersion", "seed"), [
    pytest.param(4, 50, 40.0, 0.5, 1, id="quick-200-sku-days"),
    pytest.param(20, 300, 30.0, 0.3, 2, marks=pytest.mark.slow, id="6000-sku-days"),
    pytest.param(20, 300, 8.0, 2.0, 3, marks=pytest.mark.slow, id="heavy-tail"),
])
def test_daily_counts_have_the_negative_binomial_mean_and_variance(
        skus: int, days: int, orders_per_day: float, dispersion: float, seed: int) -> None:
    """Orders per SKU per day over every channel: mean μ, variance μ + φμ² (NB2)."""
    scenario = _scenario(skus, orders_per_day, days, _gamma(dispersion))
    counts = _daily_counts(Simulation(scenario, seed), days)
    _nb_moment_intervals(counts.sum(axis=0).ravel(), orders_per_day, dispersion)


def test_one_multiplier_per_sku_and_day_is_shared_by_every_channel() -> None:
    """Channels' daily counts of a SKU covary by φ·μ_a·μ_b: they rise on the same days."""
    dispersion, mean, days = 0.5, 40.0, 50
    counts = _daily_counts(Simulation(_scenario(4, mean, days, _gamma(dispersion)), 4), days)
    first, second = counts[0].ravel(), counts[1].ravel()
    # Poisson channels given the day: correlation φμ_aμ_b / √(Var_a Var_b) ≈ 0.9 here,
    # 0 if each channel had its own multiplier; 200 SKU-days tell them apart easily.
    a, b = 0.6 * mean, 0.4 * mean
    expected = dispersion * a * b / math.sqrt(negative_binomial_variance(a, dispersion) *
                                              negative_binomial_variance(b, dispersion))
    observed = float(np.corrcoef(first, second)[0, 1])
    assert expected > 0.85 and observed > 0.7, (observed, expected)
    poisson = _daily_counts(Simulation(_scenario(4, mean, days, None), 4), days)
    assert abs(np.corrcoef(poisson[0].ravel(), poisson[1].ravel())[0, 1]) < 0.3


def test_a_poisson_sku_beside_dispersed_ones_keeps_poisson_days() -> None:
    text = _scenario(2, 40.0, 100, _gamma(1.0)).to_dict()
    del text["catalog"][1]["demand"]
    scenario = Scenario.model_validate(text)
    counts = _daily_counts(Simulation(scenario, 5), 100).sum(axis=0)
    plain = counts[1]
    # Poisson(40) days: the variance-to-mean ratio of 100 days is 1 ± 0.47 (99.9 %).
    assert 0.5 < plain.var(ddof=1) / plain.mean() < 1.5
    assert counts[0].var(ddof=1) / counts[0].mean() > 10  # 1 + φμ = 41 expected


# -- (2) the model against the negative-binomial closed form ------------------------------

WINDOW = 7200.0  # two hours at the start of every simulated day
NB_ORDERS_PER_DAY = 48.0  # 4 orders expected in a window


def _window_counts(dispersion: float, replications: int, seed: int) -> np.ndarray:
    """Orders in [d·DAY, d·DAY + WINDOW) for every day d of ``replications`` 366-day runs.

    One window a day: windows of different days have independent multipliers, so the
    counts are independent draws of the window's law (two windows of one day are not).
    """
    scenario = _scenario(1, NB_ORDERS_PER_DAY, 366, _gamma(dispersion), shares=(1.0,))
    skus, channel = list(scenario.skus()), scenario.channels[0]
    duration = float(scenario.duration)
    windows = []
    for r in range(replications):
        streams = Streams(np.random.SeedSequence(seed).spawn(replications)[r])
        factors = day_multipliers(skus, duration, streams)
        assert factors is not None
        times = draw_arrivals(channel, skus, duration, streams("demand/m0"),
                              streams("units/m0"), factors).times
        inside = times % DAY < WINDOW
        windows.append(np.bincount((times[inside] // DAY).astype(np.int64), minlength=366))
    return np.concatenate(windows)


def _check_tail(counts: np.ndarray, rate: float, dispersion: float, buffer: int) -> None:
    probability = exceed_probability_negative_binomial(rate, WINDOW, dispersion, buffer)
    low, high = wilson_interval(int((counts > buffer).sum()), counts.size, CONFIDENCE)
    assert low <= probability <= high, ("P(N > B)", buffer, probability, low, high)
    excess = expected_excess_negative_binomial(rate, WINDOW, dispersion, buffer)
    values = np.maximum(counts - buffer, 0).astype(float)
    half = Z * values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - excess) <= half, ("E[(N − B)+]", buffer, excess, half)


@pytest.mark.parametrize(("dispersion", "replications", "buffers"), [
    pytest.param(1.0, 6, (0, 4, 8), id="quick"),
    pytest.param(0.4, 40, (0, 2, 4, 8, 12), marks=pytest.mark.slow, id="phi-0.4"),
    pytest.param(3.0, 40, (0, 4, 10, 20), marks=pytest.mark.slow, id="phi-3"),
])
def test_demand_in_a_window_follows_the_negative_binomial(
        dispersion: float, replications: int, buffers: tuple[int, ...]) -> None:
    """Window counts: NB tail and loss function; the Poisson tail is refused (quick: 2,196)."""
    rate = NB_ORDERS_PER_DAY / DAY
    counts = _window_counts(dispersion, replications, seed=int(dispersion * 10))
    for buffer in buffers:
        _check_tail(counts, rate, dispersion, buffer)
    size = 1.0 / dispersion
    ks = np.arange(60)
    pmf = stats.nbinom.pmf(ks, size, size / (size + rate * WINDOW))
    assert _chisquare(counts, pmf) > P_MIN
    # The Poisson closed form the model used to match is now far outside the interval.
    buffer = buffers[-1]
    low, high = wilson_interval(int((counts > buffer).sum()), counts.size, CONFIDENCE)
    assert not low <= exceed_probability_fixed(rate, WINDOW, buffer) <= high


def _chisquare(counts: np.ndarray, pmf: np.ndarray) -> float:
    """p-value of counts against ``pmf`` on 0…len−1 plus a tail bin (bins pooled to ≥ 5)."""
    observed = np.bincount(np.minimum(counts, len(pmf)), minlength=len(pmf) + 1)
    expected = np.append(pmf, max(1.0 - pmf.sum(), 0.0)) * counts.size
    obs, exp, o, e = [], [], 0.0, 0.0
    for count, mean in zip(observed, expected, strict=True):
        o, e = o + count, e + mean
        if e >= 5:
            obs.append(o)
            exp.append(e)
            o, e = 0.0, 0.0
    obs[-1], exp[-1] = obs[-1] + o, exp[-1] + e
    assert len(obs) >= 5
    scaled = np.asarray(exp) * sum(obs) / sum(exp)
    return float(stats.chisquare(np.asarray(obs), scaled).pvalue)


def test_the_negative_binomial_closed_forms_against_their_definitions() -> None:
    ks = np.arange(4000)
    for mean, dispersion, buffer in [(0.5, 0.3, 1), (5.0, 1.0, 4), (20.0, 0.1, 25),
                                     (3.0, 10.0, 2), (7.0, 0.5, 0)]:
        size = 1.0 / dispersion
        pmf = stats.nbinom.pmf(ks, size, size / (size + mean))
        assert expected_excess_negative_binomial(mean, 1.0, dispersion, buffer) == \
            pytest.approx(float((np.maximum(ks - buffer, 0) * pmf).sum()), rel=1e-9)
        assert exceed_probability_negative_binomial(mean, 1.0, dispersion, buffer) == \
            pytest.approx(float(pmf[ks > buffer].sum()), rel=1e-9, abs=1e-15)
        for epsilon in (0.2, 0.01, 1e-4):
            b = negative_binomial_quantile(epsilon, mean, 1.0, dispersion)
            assert pmf[ks > b].sum() <= epsilon + 1e-12
            assert b == 0 or pmf[ks > b - 1].sum() > epsilon
    # B = 0: every order is beyond the buffer; φ → 0: back to Poisson.
    assert expected_excess_negative_binomial(0.1, 30.0, 2.0, 0) == pytest.approx(3.0)
    assert exceed_probability_negative_binomial(0.1, 30.0, 1e-9, 4) == \
        pytest.approx(exceed_probability_fixed(0.1, 30.0, 4), rel=1e-6)
    assert expected_excess_negative_binomial(0.1, 30.0, 1e-9, 4) == \
        pytest.approx(expected_excess_fixed(0.1, 30.0, 4), rel=1e-6)
    assert negative_binomial_variance(4.0, 0.5) == 12.0
    assert exceed_probability_negative_binomial(0.0, 30.0, 1.0, 0) == 0.0
    with pytest.raises(ValueError, match=r"dispersion\(=0.0\) must be a finite number > 0"):
        exceed_probability_negative_binomial(0.1, 30.0, 0.0, 1)
    with pytest.raises(ValueError, match=r"buffer\(=-1\)"):
        expected_excess_negative_binomial(0.1, 30.0, 1.0, -1)
    with pytest.raises(ValueError, match=r"epsilon\(=1.0\) must be a probability"):
        negative_binomial_quantile(1.0, 0.1, 30.0, 1.0)


def test_the_negative_binomial_buffer_is_the_poisson_one_for_poisson_skus() -> None:
    """Per SKU: the NB quantile of the other channels' demand in the exposure window."""
    text = _scenario(2, 400.0, 1, _gamma(1.5)).to_dict()
    del text["catalog"][1]["demand"]
    scenario = Scenario.model_validate(text)
    nb = bind_policy(NegativeBinomialQuantile(epsilon=0.01), scenario)
    poisson = bind_policy(PoissonQuantile(epsilon=0.01), scenario)
    rate_others = 400.0 / DAY * 0.6  # all but the quietest channel (share 0.4)
    window = exposure_p99(scenario)
    assert nb("SKU-1", 5, 0.0) == poisson("SKU-1", 5, 0.0) > 0
    expected = negative_binomial_quantile(0.01, rate_others, window, 1.5)
    assert nb("SKU-0", 5, 0.0) == expected > poisson("SKU-0", 5, 0.0)
    with pytest.raises(ValueError, match="0 < epsilon < 1"):
        NegativeBinomialQuantile(epsilon=0.0)


# -- (3) Poisson scenarios are bit-identical to before over-dispersed demand existed ---------

# sha256 of the per-replication metrics of `racesim run SCENARIO --seed 3 --json` (every
# field but the derived Wilson interval and the measured time, keys sorted), computed with
# the code from before the demand kinds existed: a Poisson scenario must never touch the
# dispersion stream. flash_sale is the file as it was then (the shipped one has since been
# reworked). The projection leaves out what later changed only the output's form (the
# run's field names, the interval's last bits once scipy computes it) and the fields added
# since (the lost sales split by cause, which sums to the lost sales the hash covers; the
# money of a scenario with [costs], priced from the counts the hash covers).
POISSON_FINGERPRINTS = {
    "scenarios/race1_double_buy.toml":
        "089e36d62481ed2e4ecf721cfb74786138cc5b0042a72bdf75f0580da1b76fe0",
    "tests/data/flash_sale_recorded.toml":
        "306f202632b09de9ecedcc64c13e2bbcd3ce2ffdd849e22033b67c2ab54c4793",
}
_DERIVED = {"oversell_rate_ci", "measured_s", *LOST_SALE_CAUSES, *MONEY_FIELDS}


@pytest.mark.parametrize("name", sorted(POISSON_FINGERPRINTS))
def test_poisson_scenarios_give_the_same_bytes_as_before(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", name, "--seed", "3", "--json"]) == 0
    rows = [{key: value for key, value in row.items() if key not in _DERIVED}
            for row in json.loads(capsys.readouterr().out)["per_replication"]]
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()
    assert digest == POISSON_FINGERPRINTS[name]


# -- (4) common random numbers and reproducibility ---------------------------------------

def test_dispersion_leaves_every_other_stream_as_it_was() -> None:
    """Per buyer position, latencies and duplicates are the same draws whatever φ is."""
    plans = [[orders.plan for orders in Simulation(_scenario(3, 40.0, 5, demand), 7).orders]
             for demand in (None, _gamma(0.2), _gamma(2.0))]
    for channel in range(2):
        sizes = [len(p[channel].copies) for p in plans]
        assert len(set(sizes)) > 1  # demand did change: the check below is not vacuous
        n = min(sizes)
        for other in plans[1:]:
            assert (other[channel].copies[:n] == plans[0][channel].copies[:n]).all()
            assert (other[channel].latency[:n] == plans[0][channel].latency[:n]).all()


def test_two_dispersions_have_their_busy_days_on_the_same_days() -> None:
    """One uniform per SKU-day, inverted through each Gamma: the days keep their ranks."""
    low, high = (day_multipliers(list(_scenario(3, 40.0, 60, _gamma(phi)).skus()),
                                 60 * DAY, Streams(11)) for phi in (0.2, 2.0))
    assert low is not None and high is not None
    assert (np.argsort(low, axis=0) == np.argsort(high, axis=0)).all()
    assert high.std() > low.std()
    assert day_multipliers(list(_scenario(3, 40.0, 60, None).skus()), 60 * DAY,
                           Streams(11)) is None


def test_a_dispersed_run_is_reproducible_and_independent_of_jobs() -> None:
    scenario = _scenario(2, 40.0, 3, _gamma(0.8))
    one = run_scenario(scenario, seed=5, replications=3, jobs=1).summary()
    two = run_scenario(scenario, seed=5, replications=3, jobs=2).summary()
    again = run_scenario(scenario, seed=5, replications=3, jobs=1).summary()
    assert one == two == again
    assert run_scenario(scenario, seed=6, replications=3).summary() != one
    poisson = run_scenario(_scenario(2, 40.0, 3, None), seed=5, replications=3).summary()
    assert poisson != one


# -- (5) the scenario field: per SKU, per generated class, and its bad values -----------------

GENERATED = """
name = "tail"
duration = "1d"
[catalog_generator]
count = 30
total_orders_per_day = 600
zipf_exponent = 1.1
initial_stock_days = 3
{demand}
[[channels]]
name = "shop"
share = 1.0
webhook.latency = {{ dist = "fixed", value = "5s" }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""


def test_the_generator_gives_each_class_its_demand() -> None:
    demand = ('demand = { kind = "gamma_poisson", dispersion = 0.2 }\n'
              'demand_by_class = { C = { kind = "gamma_poisson", dispersion = 1.5 }, '
              'A = { kind = "poisson" } }')
    skus = parse_scenario(GENERATED.format(demand=demand), source="tail.toml").skus()
    by_class = {sku.class_: sku.demand for sku in skus}
    assert set(by_class) == {"A", "B", "C"}
    assert by_class["A"] is not None and by_class["A"].kind == "poisson"
    assert by_class["B"] is not None and by_class["B"].dispersion == 0.2
    assert by_class["C"] is not None and by_class["C"].dispersion == 1.5
    plain = parse_scenario(GENERATED.format(demand=""), source="tail.toml")
    assert all(sku.demand is None for sku in plain.skus())
    assert "demand" not in plain.to_dict()["catalog_generator"]  # old files, same digest


@pytest.mark.parametrize(("demand", "message"), [
    ('demand = { kind = "gamma_poisson", dispersion = 11 }',
     "bad.toml: catalog[0].demand.dispersion: must be ≤ 10 (got 11)"),
    ('demand = { kind = "gamma_poisson", dispersion = 0 }',
     "bad.toml: catalog[0].demand.dispersion: must be > 0 (got 0)"),
    ('demand = { kind = "gamma_poisson" }',
     "bad.toml: catalog[0].demand.dispersion: required field is missing"),
    ('demand = { kind = "gamma_poisson", dispersion = "0.3" }',
     "bad.toml: catalog[0].demand.dispersion: must be a number (got '0.3')"),
    ('demand = { kind = "gamma_poisson", dispersion = nan }',
     "bad.toml: catalog[0].demand.dispersion:"),
    ('demand = { kind = "negbin", dispersion = 1 }',
     "bad.toml: catalog[0].demand.kind: unknown kind 'negbin'"),
    ('demand = { kind = "poisson", dispersion = 1 }',
     "bad.toml: catalog[0].demand.dispersion: not allowed when kind = 'poisson'"),
])
def test_bad_demand_values_name_the_field_and_the_file(demand: str, message: str) -> None:
    text = _scenario(1, 10.0, 1, None).to_toml().replace(
        "orders_per_day = 10.0\n", f"orders_per_day = 10.0\n{demand}\n")
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, source="bad.toml")
    assert str(error.value).startswith(message), str(error.value)
    assert len(str(error.value).splitlines()) == 1


def test_bad_generated_demand_names_the_field_and_the_file() -> None:
    text = GENERATED.format(demand='demand_by_class = { D = { kind = "poisson" } }')
    with pytest.raises(ScenarioError, match=r"^tail.toml: catalog_generator.demand_by_class"):
        parse_scenario(text, source="tail.toml")
    text = GENERATED.format(demand='demand = { kind = "gamma_poisson", dispersion = 50 }')
    with pytest.raises(ScenarioError, match=r"^tail.toml: catalog_generator.demand.dispersion: "
                                            r"must be ≤ 10 \(got 50\)$"):
        parse_scenario(text, source="tail.toml")


def test_the_budget_counts_the_day_multipliers() -> None:
    """The (days × SKUs) multiplier array is part of a dispersed run's estimated peak."""
    from racesim.study.budget import BYTES_PER_SKU_DAY, estimate_replication

    poisson = estimate_replication(_scenario(40, 2.0, 300, None))
    dispersed = estimate_replication(_scenario(40, 2.0, 300, _gamma(0.5)))
    assert dispersed.peak_bytes - poisson.peak_bytes == BYTES_PER_SKU_DAY * 40 * 300
    assert dispersed.events == poisson.events  # the multipliers have mean 1


def test_the_report_appendix_says_which_skus_are_bursty() -> None:
    """The method appendix's catalog names each SKU's day-to-day demand when any is bursty."""
    from types import SimpleNamespace

    from racesim.report.method import _catalog

    mixed = parse_scenario(
        _scenario(2, 10.0, 3, None).to_toml().replace(
            'sku = "SKU-1"', f'sku = "SKU-1"\ndemand = {_gamma(0.25)}'), source="mixed.toml")
    page = _catalog(SimpleNamespace(scenario=mixed))  # type: ignore[arg-type]
    assert "<th>day to day</th>" in page
    assert "<td>Poisson</td>" in page and "<td>bursty, d = 0.25</td>" in page
    plain = _catalog(SimpleNamespace(scenario=_scenario(2, 10.0, 3, None)))  # type: ignore[arg-type]
    assert "day to day" not in plain  # Poisson-only reports are unchanged
