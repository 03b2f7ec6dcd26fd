"""racesim.policy.analytic's closed forms, and the simulation agreeing with them.

Model-vs-formula tests never pin a seeded number: a formula must lie inside the 99.9 %
interval of the simulated estimate (Wilson for a proportion, normal for a mean), and a
simulated distribution must pass a chi-square goodness-of-fit test (p > 0.001) against
the law the formula predicts. Seeds are fixed so that a failure can be replayed.

Why 99.9 % and not 99 %: this file makes about 30 such checks. At 99 % each, a correct
model would fail one of them about one time in four whenever the random streams change;
at 99.9 % (the same level as the chi-square threshold) about one time in thirty. The
checks keep their power: each model test below is sized so that the obvious wrong
answer (fixed instead of exponential latency, λ(t)·E[L] instead of the M_t/G/∞ integral)
falls well outside the interval.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from racesim.policy.analytic import (
    buffer_expected_cost,
    critical_ratio,
    double_buy_probability,
    exceed_probability_exponential,
    exceed_probability_fixed,
    expected_excess_exponential,
    expected_excess_fixed,
    newsvendor_buffer,
    orders_in_flight_mean,
    orders_in_flight_mean_time_varying,
    orders_in_flight_pmf,
)
from racesim.scenario import Scenario, parse_scenario
from racesim.sim.demand import DAY, draw_arrivals
from racesim.study.replications import run_scenario
from racesim.util.stats import wilson_interval

CONFIDENCE = 0.999
Z = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # ≈ 3.29
P_MIN = 0.001  # goodness-of-fit tests fail below this p-value


# -- statistics helpers -------------------------------------------------------------------

def _mean_interval(values: np.ndarray) -> tuple[float, float]:
    """Normal-theory interval of a mean of many independent values (CONFIDENCE)."""
    half = Z * values.std(ddof=1) / math.sqrt(values.size)
    return values.mean() - half, values.mean() + half


def _pooled(observed: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring bins, from the left, until every expected count is ≥ 5."""
    obs, exp, o, e = [], [], 0.0, 0.0
    for count, mean in zip(observed, expected, strict=True):
        o, e = o + count, e + mean
        if e >= 5:
            obs.append(o)
            exp.append(e)
            o, e = 0.0, 0.0
    if e > 0 or o > 0:  # a small remainder joins the last bin
        obs[-1] += o
        exp[-1] += e
    return np.asarray(obs), np.asarray(exp)


def _chisquare_counts(counts: np.ndarray, pmf: np.ndarray) -> float:
    """p-value of counts (0, 1, 2, …) against a law on 0…len(pmf)−1 plus a tail bin."""
    top = len(pmf)
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    probabilities = np.append(pmf, max(1.0 - pmf.sum(), 0.0))
    obs, exp = _pooled(observed, probabilities * counts.size)
    exp *= obs.sum() / exp.sum()  # the rounding of the tail bin, not a fit
    assert len(obs) >= 5, "too few bins for a meaningful test"
    return float(stats.chisquare(obs, exp).pvalue)


# -- race 1 in the model: the last unit sold twice ----------------------------------------

def _latency(shape: str, seconds: float) -> str:
    if shape == "fixed":
        return f'{{ dist = "fixed", value = {seconds} }}'
    return f'{{ dist = "exponential", mean = {seconds} }}'


def _last_unit(orders_per_day: float, shares: tuple[float, ...], shapes: tuple[str, ...],
               webhook: tuple[float, ...], listing: tuple[float, ...]) -> Scenario:
    """One unit left on len(shares) marketplaces, event-driven sync, no buffer."""
    lines = ['name = "last-unit"', 'duration = "1h"', "[[catalog]]", 'sku = "SKU-1"',
             "initial_stock = 1", f"orders_per_day = {orders_per_day}"]
    for i, (share, shape, w, ell) in enumerate(zip(shares, shapes, webhook, listing,
                                                   strict=True)):
        lines += ["[[channels]]", f'name = "m{i}"', f"share = {share}",
                  f"webhook.latency = {_latency(shape, w)}",
                  f"listing_latency = {_latency('fixed', ell)}"]
    lines += ["[sync]", 'mode = "event_driven"', "[buffer]", 'policy = "fixed"', "units = 0"]
    return parse_scenario("\n".join(lines), source="last-unit")


# (seed, orders per day, shares, webhook shapes, webhook value or mean s, listing latency s)
DOUBLE_BUY_CASES = [
    pytest.param(1, 4320, (0.7, 0.3), ("fixed", "fixed"), (45, 10), (5, 20), id="2-fixed"),
    pytest.param(2, 2880, (0.5, 0.5), ("exponential", "exponential"), (120, 90), (10, 10),
                 id="2-exponential"),
    pytest.param(3, 2880, (0.6, 0.4), ("fixed", "exponential"), (30, 150), (10, 15),
                 id="2-mixed"),
    pytest.param(4, 2880, (0.5, 0.3, 0.2), ("exponential", "fixed", "exponential"),
                 (120, 20, 150), (10, 5, 15), id="3-mixed"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "orders_per_day", "shares", "shapes", "webhook", "listing"),
                         DOUBLE_BUY_CASES)
def test_the_double_buy_rate_matches_its_closed_form(
        seed: int, orders_per_day: float, shares: tuple[float, ...], shapes: tuple[str, ...],
        webhook: tuple[float, ...], listing: tuple[float, ...]) -> None:
    """P(at least one oversell) of the last unit, fixed or exponential webhook latency.

    At these rates (s·E[W] up to 2) the exponential answer is well below the fixed-latency
    one with the same mean, so the interval also tells the two shapes apart.
    """
    scenario = _last_unit(orders_per_day, shares, shapes, webhook, listing)
    replications = 800
    result = run_scenario(scenario, seed=seed, replications=replications, jobs=2)
    oversold = result.per_replication["oversold"]
    assert oversold.max() <= len(shares) - 1  # each other marketplace sells at most once
    rates = [orders_per_day / DAY * share for share in shares]
    expected = double_buy_probability(rates, webhook, listing, webhook_latency_dist=shapes)
    low, high = wilson_interval(int((oversold > 0).sum()), replications, CONFIDENCE)
    assert low <= expected <= high, (expected, low, high)


def test_the_double_buy_closed_form_with_exponential_latency() -> None:
    rate, mean, listing = 0.01, 50.0, 10.0
    exponential = double_buy_probability([rate, rate], [mean, mean], [listing, listing],
                                         webhook_latency_dist="exponential")
    # Given W, no double-buy with probability exp(−λ(W + ℓ)); E[exp(−λW)] = 1/(1 + λ·mean).
    assert exponential == pytest.approx(1 - math.exp(-rate * listing) / (1 + rate * mean))
    fixed = double_buy_probability([rate, rate], [mean, mean], [listing, listing])
    assert exponential < fixed  # Jensen: a random latency of the same mean races less
    zero = double_buy_probability([rate, rate], [0.0, 0.0], [listing, listing],
                                  webhook_latency_dist="exponential")
    assert zero == pytest.approx(double_buy_probability([rate, rate], [0, 0],
                                                        [listing, listing]))


def test_the_double_buy_closed_form_mixes_shapes_per_marketplace() -> None:
    rates, webhook, listing = [0.02, 0.01, 0.005], [30.0, 60.0, 90.0], [5.0, 10.0, 20.0]
    mixed = double_buy_probability(rates, webhook, listing,
                                   webhook_latency_dist=["fixed", "exponential", "fixed"])
    total = sum(rates)
    by_hand = 0.0
    for i in range(3):
        others = [j for j in range(3) if j != i]
        s = sum(rates[j] for j in others)
        quiet_w = 1 / (1 + s * webhook[i]) if i == 1 else math.exp(-s * webhook[i])
        quiet = quiet_w * math.exp(-sum(rates[j] * listing[j] for j in others))
        by_hand += rates[i] / total * (1 - quiet)
    assert mixed == pytest.approx(by_hand)


def test_the_double_buy_closed_form_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"webhook_latency_dist\[1\]\(='gamma'\)"):
        double_buy_probability([0.1, 0.1], [1, 1], [1, 1],
                               webhook_latency_dist=["fixed", "gamma"])
    with pytest.raises(ValueError, match="one entry per marketplace"):
        double_buy_probability([0.1, 0.1], [1, 1], [1, 1], webhook_latency_dist=["fixed"])
    with pytest.raises(ValueError, match="must be ≥ 0"):
        double_buy_probability([0.1, 0.1], [-1, 1], [1, 1], webhook_latency_dist="exponential")


# -- orders in flight in the model: an M/G/∞ queue ----------------------------------------

MEAN_LATENCY = 60.0  # seconds, the same for the three stationary shapes
SIGMA = 0.5  # of the lognormal's log; its median makes the mean MEAN_LATENCY
MEDIAN = MEAN_LATENCY / math.exp(SIGMA**2 / 2)
P99 = MEDIAN * math.exp(SIGMA * NormalDist().inv_cdf(0.99))
PROFILE = [0.5, 1.5] * 12  # hourly demand alternating low/high: the rate jumps every hour
SPACING = 300.0  # seconds between inspections: far beyond almost every latency
IN_FLIGHT = f"""
name = "in-flight"
duration = "3d"
[[catalog]]
sku = "SKU-1"
initial_stock = 100000000
orders_per_day = 23040
[[channels]]
name = "fixed"
share = 0.25
webhook.latency = {{ dist = "fixed", value = {MEAN_LATENCY} }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[[channels]]
name = "lognormal"
share = 0.25
webhook.latency = {{ dist = "lognormal", median = {MEDIAN}, p99 = {P99} }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[[channels]]
name = "exponential"
share = 0.25
webhook.latency = {{ dist = "exponential", mean = {MEAN_LATENCY} }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[[channels]]
name = "profiled"
share = 0.25
profile = {PROFILE}
bursts = [{{ start = "1d14h", length = "40m", multiplier = 3.0 }}]
webhook.latency = {{ dist = "fixed", value = "120s" }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[sync]
mode = "periodic_push_time"
interval = "1d"
[buffer]
policy = "fixed"
units = 0
"""


@pytest.fixture(scope="module")
def in_flight() -> tuple[Scenario, list[pd.DataFrame]]:
    """Two 3-day replications with far more stock than demand: every buyer buys."""
    scenario = parse_scenario(IN_FLIGHT, source="in-flight")
    result = run_scenario(scenario, seed=21, replications=2, jobs=2, tables=True)
    return scenario, [replication.orders for replication in result.replications]


def _inspection_times(duration: float) -> np.ndarray:
    """Every SPACING seconds, 60 s past each hour boundary, after a 10-minute warm-up."""
    times = np.arange(60.0, duration - SPACING, SPACING)
    return times[times >= 600.0]


def _in_flight_counts(orders: pd.DataFrame, channel: str, times: np.ndarray) -> np.ndarray:
    """Orders of ``channel`` with placed_at ≤ t < first_seen_at, at each time t."""
    mine = orders[orders["channel"] == channel]
    placed = np.sort(mine["placed_at"].to_numpy())
    seen = np.sort(mine["first_seen_at"].fillna(np.inf).to_numpy())  # never seen: in flight
    return np.searchsorted(placed, times, side="right") - np.searchsorted(seen, times,
                                                                          side="right")


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["fixed", "lognormal", "exponential"])
def test_orders_in_flight_are_poisson_whatever_the_latency_shape(
        in_flight: tuple[Scenario, list[pd.DataFrame]], channel: str) -> None:
    """Palm's theorem: N ~ Poisson(λ·E[L]) for fixed, lognormal and exponential latency."""
    scenario, tables = in_flight
    assert all(table["accepted"].all() for table in tables)  # no buyer was turned away
    config = next(c for c in scenario.channels if c.name == channel)
    rate = scenario.orders_per_day() / DAY * config.share
    mean_latency = config.webhook.latency.mean()
    assert mean_latency == pytest.approx(MEAN_LATENCY)
    times = _inspection_times(float(scenario.duration))
    counts = np.concatenate([_in_flight_counts(table, channel, times) for table in tables])
    mean = orders_in_flight_mean(rate, mean_latency)
    ks = np.arange(int(mean * 4) + 10)
    p_value = _chisquare_counts(counts, orders_in_flight_pmf(ks, rate, mean_latency))
    assert p_value > P_MIN, (channel, p_value, counts.mean(), mean)
    low, high = _mean_interval(counts.astype(float))
    assert low <= mean <= high, (channel, mean, low, high)


@pytest.mark.slow
def test_orders_in_flight_follow_a_time_varying_rate(
        in_flight: tuple[Scenario, list[pd.DataFrame]]) -> None:
    """M_t/G/∞: at each t, N(t) ~ Poisson(∫ λ(t−u)(1−G(u)) du) with the hourly profile.

    Inspections 60 s after an hour boundary see half an hour's and half the previous
    hour's rate (latency 120 s), which λ(t)·E[L] would get wrong by 50 %. Counts are
    summed per time-of-day slot (Poisson sums) and tested with a chi-square.
    """
    scenario, tables = in_flight
    config = next(c for c in scenario.channels if c.name == "profiled")
    latency = config.webhook.latency.mean()
    base = scenario.orders_per_day() / DAY * config.share
    duration = float(scenario.duration)
    breaks = [*np.arange(0.0, duration + 1, 3600.0)]
    breaks += [edge for burst in config.bursts for edge in (burst.start, burst.end)]

    def rate(t: float) -> float:
        return base * config.multiplier_at(t)

    def survival(u: float) -> float:
        return 1.0 if u < latency else 0.0

    times = _inspection_times(duration)
    means = np.array([orders_in_flight_mean_time_varying(
        rate, survival, t, start=0.0, rate_breaks=breaks, survival_breaks=[latency])
        for t in times])
    counts = sum(_in_flight_counts(table, "profiled", times) for table in tables)
    expected = means * len(tables)
    slot = ((times % DAY) // SPACING).astype(np.int64)
    observed_by_slot = np.bincount(slot, weights=counts)
    expected_by_slot = np.bincount(slot, weights=expected)
    assert expected_by_slot.min() >= 5
    statistic = float((((observed_by_slot - expected_by_slot) ** 2) / expected_by_slot).sum())
    p_value = float(stats.chi2.sf(statistic, df=slot.max() + 1))  # nothing fitted
    assert p_value > P_MIN, (statistic, slot.max() + 1)


def test_orders_in_flight_closed_forms() -> None:
    assert orders_in_flight_mean(0.5, 30.0) == 15.0
    ks = np.arange(60)
    assert orders_in_flight_pmf(ks, 0.5, 30.0).sum() == pytest.approx(1.0)
    assert orders_in_flight_pmf(3, 0.5, 30.0) == pytest.approx(15**3 * math.exp(-15) / 6)
    assert orders_in_flight_pmf(0, 0.0, 30.0) == 1.0
    with pytest.raises(ValueError, match=r"k\(=-1\) must be whole numbers"):
        orders_in_flight_pmf(-1, 0.5, 30.0)
    with pytest.raises(ValueError, match=r"mean_latency\(=-2.0\) must be"):
        orders_in_flight_mean(0.5, -2.0)


def test_the_time_varying_mean_reduces_to_little_and_steps_with_the_rate() -> None:
    def exponential(u: float) -> float:
        return math.exp(-u / 40.0)

    def fixed(u: float) -> float:
        return 1.0 if u < 40.0 else 0.0

    constant = orders_in_flight_mean_time_varying(lambda t: 0.2, exponential, 1000.0)
    assert constant == pytest.approx(orders_in_flight_mean(0.2, 40.0))
    # Started 10 s ago: only 10 s of orders can be in flight.
    young = orders_in_flight_mean_time_varying(lambda t: 0.2, fixed, 10.0, start=0.0,
                                               survival_breaks=[40.0])
    assert young == pytest.approx(2.0)

    def step(t: float) -> float:  # 0.1 per second before t = 500, 0.4 after
        return 0.1 if t < 500.0 else 0.4

    # At t = 510: 10 s at 0.4 and 30 s at 0.1 are within the last 40 s.
    mixed = orders_in_flight_mean_time_varying(step, fixed, 510.0, rate_breaks=[500.0],
                                               survival_breaks=[40.0])
    assert mixed == pytest.approx(0.4 * 10 + 0.1 * 30)
    assert orders_in_flight_mean_time_varying(step, fixed, -5.0, start=0.0) == 0.0
    with pytest.raises(ValueError, match="must be a probability"):
        orders_in_flight_mean_time_varying(lambda t: 1.0, lambda u: 2.0, 10.0, start=0.0)
    with pytest.raises(ValueError, match="must be ≥ 0 per second"):
        orders_in_flight_mean_time_varying(lambda t: -1.0, fixed, 10.0, start=0.0)
    with pytest.raises(ValueError, match="finite time"):
        orders_in_flight_mean_time_varying(step, fixed, math.inf)


# -- demand during an exposure window, drawn by the model's own generator -------------------

ORDERS_PER_DAY = 8640.0  # 0.1 orders per second
DEMAND = f"""
name = "demand"
duration = "1d"
[[catalog]]
sku = "SKU-1"
initial_stock = 1
orders_per_day = {ORDERS_PER_DAY}
[[channels]]
name = "shop"
share = 1.0
webhook.latency = {{ dist = "fixed", value = "30s" }}
listing_latency = {{ dist = "fixed", value = "10s" }}
[sync]
mode = "event_driven"
[buffer]
policy = "fixed"
units = 0
"""
WINDOWS = 20_000


def _arrival_times(duration: float, seed: int) -> np.ndarray:
    """Buyers over ``duration`` seconds from racesim.sim.demand.draw_arrivals."""
    scenario = parse_scenario(DEMAND, source="demand")
    arrivals = draw_arrivals(scenario.channels[0], list(scenario.skus()), duration,
                             np.random.default_rng(seed), np.random.default_rng(seed + 1))
    assert (arrivals.units == 1).all()
    return arrivals.times


def _check_exceedance(counts: np.ndarray, buffer: int, probability: float,
                      excess: float) -> None:
    low, high = wilson_interval(int((counts > buffer).sum()), counts.size, CONFIDENCE)
    assert low <= probability <= high, ("P(N > B)", probability, low, high)
    low, high = _mean_interval(np.maximum(counts - buffer, 0).astype(float))
    assert low <= excess <= high, ("E[(N − B)+]", excess, low, high)


@pytest.mark.parametrize(("mean", "buffer"), [(2.0, 0), (2.0, 3), (5.0, 4), (5.0, 8),
                                              (12.0, 15)])
def test_demand_in_a_fixed_window_beyond_the_buffer(mean: float, buffer: int) -> None:
    """Orders in back-to-back windows of L seconds: Poisson(λL) tail and loss function."""
    rate = ORDERS_PER_DAY / DAY
    window = mean / rate
    times = _arrival_times(WINDOWS * window, seed=int(mean * 100) + buffer)
    counts = np.bincount((times // window).astype(np.int64), minlength=WINDOWS)[:WINDOWS]
    _check_exceedance(counts, buffer, exceed_probability_fixed(rate, window, buffer),
                      expected_excess_fixed(rate, window, buffer))


@pytest.mark.parametrize(("ratio", "buffer"), [(1.0, 0), (2.0, 3), (4.0, 6)])
def test_demand_in_an_exponential_window_beyond_the_buffer(ratio: float, buffer: int) -> None:
    """Orders in back-to-back exponential windows (rate m = λ/ratio): geometric law."""
    rate = ORDERS_PER_DAY / DAY
    window_rate = rate / ratio
    lengths = np.random.default_rng(int(ratio * 10) + buffer).exponential(1 / window_rate,
                                                                          WINDOWS)
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    times = _arrival_times(float(edges[-1]), seed=int(ratio * 1000) + buffer)
    counts = np.diff(np.searchsorted(times, edges))
    _check_exceedance(counts, buffer,
                      exceed_probability_exponential(rate, window_rate, buffer),
                      expected_excess_exponential(rate, window_rate, buffer))
    q = rate / (rate + window_rate)  # and the whole law is geometric
    pmf = (1 - q) * q ** np.arange(int(8 * ratio) + 10)
    assert _chisquare_counts(counts, pmf) > P_MIN


def test_exceedance_closed_forms_at_their_edges() -> None:
    # B = 0: every order in the window is beyond the buffer.
    assert expected_excess_fixed(0.1, 30.0, 0) == pytest.approx(3.0)
    assert expected_excess_exponential(0.1, 0.05, 0) == pytest.approx(2.0)
    assert exceed_probability_fixed(0.1, 30.0, 0) == pytest.approx(1 - math.exp(-3.0))
    assert exceed_probability_exponential(1.0, 1.0, 2) == pytest.approx(0.125)
    # No demand, nothing exceeds.
    assert exceed_probability_fixed(0.0, 30.0, 0) == 0.0
    assert expected_excess_fixed(0.1, 0.0, 2) == 0.0
    assert exceed_probability_exponential(0.0, 1.0, 0) == 0.0
    # The loss function against its definition, summed over the Poisson law.
    ks = np.arange(200)
    for mean, buffer in [(0.5, 1), (7.0, 5), (7.0, 12), (30.0, 25)]:
        direct = float((np.maximum(ks - buffer, 0) * stats.poisson.pmf(ks, mean)).sum())
        assert expected_excess_fixed(mean, 1.0, buffer) == pytest.approx(direct)
    with pytest.raises(ValueError, match=r"buffer\(=1.5\) must be a whole number"):
        exceed_probability_fixed(0.1, 30.0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"buffer\(=-1\)"):
        expected_excess_exponential(0.1, 0.05, -1)
    with pytest.raises(ValueError, match=r"window_rate\(=0.0\) must be a finite number > 0"):
        exceed_probability_exponential(0.1, 0.0, 1)
    with pytest.raises(ValueError, match=r"rate\(=nan\)"):
        expected_excess_fixed(math.nan, 1.0, 1)


# -- the newsvendor buffer ----------------------------------------------------------------

def test_the_critical_ratio_weighs_oversells_against_hidden_stock() -> None:
    assert critical_ratio(9.0, 1.0) == pytest.approx(0.9)
    assert critical_ratio(0.0, 5.0) == 0.0
    asked: list[float] = []

    def quantile(p: float) -> int:
        asked.append(p)
        return 3

    assert newsvendor_buffer(3.0, 1.0, demand_quantile=quantile) == 3
    assert asked == [pytest.approx(0.75)]


def test_the_newsvendor_buffer_is_the_first_to_reach_the_critical_ratio() -> None:
    # Exponential window with λ = m: N geometric, F(b) = 1 − 2^−(b+1), exact in binary.
    assert newsvendor_buffer(1.0, 1.0, rate=0.1, window_rate=0.1) == 0  # F(0) = 0.5
    assert newsvendor_buffer(3.0, 1.0, rate=0.1, window_rate=0.1) == 1  # F(1) = 0.75
    assert newsvendor_buffer(3.01, 1.0, rate=0.1, window_rate=0.1) == 2
    assert newsvendor_buffer(0.0, 1.0, rate=0.1, window=60.0) == 0  # oversells are free
    assert newsvendor_buffer(5.0, 1.0, rate=0.0, window=60.0) == 0  # no demand


@pytest.mark.parametrize(("cost_oversell", "margin"), [(1.0, 1.0), (10.0, 2.0), (2.0, 10.0),
                                                       (50.0, 1.0)])
@pytest.mark.parametrize("window", [{"window": 30.0}, {"window": 120.0},
                                    {"window_rate": 1 / 60}])
def test_the_newsvendor_buffer_minimises_the_expected_cost(
        cost_oversell: float, margin: float, window: dict[str, float]) -> None:
    rate = 0.1
    best = newsvendor_buffer(cost_oversell, margin, rate=rate, **window)
    costs = [buffer_expected_cost(b, cost_oversell, margin, rate=rate, **window)
             for b in range(80)]
    assert best == int(np.argmin(costs))
    if "window" in window:
        cdf = stats.poisson(rate * window["window"]).cdf
        ratio = critical_ratio(cost_oversell, margin)
        assert cdf(best) >= ratio and (best == 0 or cdf(best - 1) < ratio)


def test_the_newsvendor_buffer_refuses_unclear_questions() -> None:
    with pytest.raises(ValueError, match=r"margin_lost_sale.*must be > 0"):
        newsvendor_buffer(1.0, 0.0, rate=0.1, window=30.0)
    with pytest.raises(ValueError, match="both 0"):
        critical_ratio(0.0, 0.0)
    with pytest.raises(ValueError, match="exactly one of window"):
        newsvendor_buffer(1.0, 1.0, rate=0.1, window=30.0, window_rate=0.1)
    with pytest.raises(ValueError, match="exactly one of window"):
        newsvendor_buffer(1.0, 1.0, rate=0.1)
    with pytest.raises(ValueError, match="give rate"):
        newsvendor_buffer(1.0, 1.0, window=30.0)
    with pytest.raises(ValueError, match="not both"):
        newsvendor_buffer(1.0, 1.0, rate=0.1, window=30.0, demand_quantile=lambda p: 1)
    with pytest.raises(ValueError, match=r"cost_oversell\(=-1.0\)"):
        newsvendor_buffer(-1.0, 1.0, rate=0.1, window=30.0)
    with pytest.raises(ValueError, match="whole number of units"):
        newsvendor_buffer(1.0, 1.0, demand_quantile=lambda p: 2.5)  # type: ignore[arg-type,return-value]
