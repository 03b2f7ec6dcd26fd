"""Closed forms the simulation must agree with where their assumptions hold.

Each function states its assumptions, its units and where the result comes from; the
tests (``tests/test_sim_model.py``, ``tests/test_analytic.py``) compare them with the
simulation. Rates are per second, times in seconds, stock and buffers in units.

- race 1, the last unit sold twice: :func:`double_buy_probability`;
- orders whose webhook has not reached the seller yet (an M/G/∞ queue):
  :func:`orders_in_flight_mean`, :func:`orders_in_flight_pmf`,
  :func:`orders_in_flight_mean_time_varying`;
- demand during an exposure window beyond a buffer of B units:
  :func:`exceed_probability_fixed`, :func:`exceed_probability_exponential`,
  :func:`expected_excess_fixed`, :func:`expected_excess_exponential`; and with
  over-dispersed (Gamma–Poisson) demand: :func:`exceed_probability_negative_binomial`,
  :func:`expected_excess_negative_binomial`, :func:`negative_binomial_quantile`;
- the buffer that balances oversells against hidden stock (newsvendor):
  :func:`critical_ratio`, :func:`newsvendor_buffer`, :func:`buffer_expected_cost`.

Per-channel buffers have their own modules, each deriving its result in its docstring:
:mod:`racesim.policy.two_channel` (the exact expected cost of buffers (b1, b2) in a
two-channel case, a Markov chain, and its optimum) and :mod:`racesim.policy.fractile`
(the critical-fractile closed form beside it, with the hidden unit that another channel
sells later priced in).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import integrate, stats

__all__ = [
    "LatencyShape",
    "buffer_expected_cost",
    "critical_ratio",
    "double_buy_probability",
    "exceed_probability_exponential",
    "exceed_probability_fixed",
    "exceed_probability_negative_binomial",
    "expected_excess_exponential",
    "expected_excess_fixed",
    "expected_excess_negative_binomial",
    "negative_binomial_quantile",
    "negative_binomial_variance",
    "newsvendor_buffer",
    "orders_in_flight_mean",
    "orders_in_flight_mean_time_varying",
    "orders_in_flight_pmf",
]

LatencyShape = Literal["fixed", "exponential"]
"""How a webhook latency is distributed: always its value, or exponential with that mean."""

_SHAPES = ("fixed", "exponential")


# -- argument checks ----------------------------------------------------------------------

def _non_negative(name: str, value: float) -> float:
    """``value`` as a float if it is finite and ≥ 0, else a ValueError naming it."""
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name}(={value!r}) must be a finite number ≥ 0")
    return number


def _positive(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name}(={value!r}) must be a finite number > 0")
    return number


def _units(name: str, value: int) -> int:
    """``value`` if it is a whole number of units ≥ 0 (int or numpy integer, not bool)."""
    if isinstance(value, bool):
        raise ValueError(f"{name}(={value!r}) must be a whole number of units ≥ 0")
    try:
        units = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}(={value!r}) must be a whole number of units ≥ 0") from None
    if units < 0:
        raise ValueError(f"{name}(={value!r}) must be a whole number of units ≥ 0")
    return units


# -- race 1: the last unit sold twice -----------------------------------------------------

def _shapes(webhook_latency_dist: LatencyShape | Sequence[LatencyShape],
            k: int) -> list[str]:
    shapes: list[str]
    if isinstance(webhook_latency_dist, str):
        shapes = [webhook_latency_dist] * k
    else:
        shapes = list(webhook_latency_dist)
        if len(shapes) != k:
            raise ValueError("webhook_latency_dist needs one entry per marketplace (got "
                             f"{len(shapes)} for {k} marketplaces)")
    for i, shape in enumerate(shapes):
        if shape not in _SHAPES:
            raise ValueError(f"webhook_latency_dist[{i}](={shape!r}) must be one of "
                             f"{', '.join(_SHAPES)}")
    return shapes


def _latency_laplace(shape: str, latency: float, s: float) -> float:
    """E[exp(−s·W)] for a webhook latency W of the given shape and value/mean (seconds)."""
    if shape == "fixed":
        return math.exp(-s * latency)
    return 1.0 / (1.0 + s * latency)  # m / (m + s) with m = 1 / mean


def double_buy_probability(rates: Sequence[float], webhook_latency: Sequence[float],
                           listing_latency: Sequence[float], *,
                           webhook_latency_dist: LatencyShape | Sequence[LatencyShape]
                           = "fixed") -> float:
    """Probability that the last unit is sold twice (race 1): fixed or exponential latency.

    Assumptions: one unit left, listed as 1 on K marketplaces; buyers arrive on
    marketplace i as a Poisson process of rate ``rates[i]`` (per second), each wanting one
    unit; the seller learns of a sale on i after ``webhook_latency[i]`` seconds, reserves
    the unit and immediately pushes 0, which marketplace j shows after
    ``listing_latency[j]`` seconds; buffer 0; no restock, cancellation or return before
    the race is over.

    Derivation. Merge the K arrival processes (rate λ = Σλ_i). The first buyer comes from
    marketplace i with probability λ_i/λ, and that marketplace's listing drops to 0 at
    once. Every other marketplace j keeps showing 1 until the push reaches it, w_i + ℓ_j
    seconds after the sale. By the memoryless property of the Poisson process, the
    probability that no buyer arrives on j in that window is exp(−λ_j (w_i + ℓ_j)), and
    windows of different marketplaces are independent. A double-buy happens unless no
    other marketplace sells in its window:

        P = Σ_i (λ_i / λ) · [1 − Π_{j≠i} exp(−λ_j (w_i + ℓ_j))]

    With two marketplaces every double-buy ends in exactly one refused reservation (an
    oversell): whichever webhook reaches the ledger second is rejected. A third sale is
    impossible there, since each marketplace sells at most once before its listing shows 0.

    Random webhook latency. With ``webhook_latency_dist="exponential"`` (or one shape per
    marketplace) ``webhook_latency[i]`` is the *mean* 1/m_i of an exponential latency W_i
    (seconds); listing latencies stay fixed. Given W_i the windows are as above, and they
    share the one W_i, so with s_i = Σ_{j≠i} λ_j (per second)

        P = Σ_i (λ_i / λ) · [1 − E[exp(−s_i W_i)] · exp(−Σ_{j≠i} λ_j ℓ_j)],

    where E[exp(−s W)] = m_i / (m_i + s) for the exponential, exp(−s w_i) when fixed (the
    Laplace transform of W_i). By Jensen's inequality a random latency with the same mean
    gives a *smaller* P than a fixed one.

    With K ≥ 3 marketplaces, P is the probability of *at least one* oversell: two or more
    other marketplaces may each sell in their windows (each then oversells once, and a
    later webhook may close the remaining windows early, so the expected number of
    oversells is not a simple sum). The event "no other marketplace sells before the first
    seller's zero reaches it" is unaffected by that, so P stays exact.

    Sources: the superposition, thinning and memoryless properties of Poisson processes
    (Kingman, *Poisson Processes*, 1993, ch. 2 and 5; Ross, *Introduction to Probability
    Models*, ch. 5); the Laplace transform of the exponential distribution (Feller, *An
    Introduction to Probability Theory and Its Applications*, vol. II, ch. XIII).
    """
    k = len(rates)
    if not k == len(webhook_latency) == len(listing_latency):
        raise ValueError("rates, webhook_latency and listing_latency need one entry per "
                         f"marketplace (got {k}, {len(webhook_latency)}, "
                         f"{len(listing_latency)})")
    if any(r < 0 for r in rates) or any(w < 0 for w in webhook_latency) or \
            any(ell < 0 for ell in listing_latency):
        raise ValueError("rates and latencies must be ≥ 0")
    shapes = _shapes(webhook_latency_dist, k)
    total = sum(rates)
    if total <= 0:
        return 0.0
    probability = 0.0
    for i, rate in enumerate(rates):
        others = sum(rates[j] for j in range(k) if j != i)
        listing = sum(rates[j] * listing_latency[j] for j in range(k) if j != i)
        quiet = _latency_laplace(shapes[i], webhook_latency[i], others) * math.exp(-listing)
        probability += rate / total * (1.0 - quiet)
    return probability


# -- orders in flight: an M/G/∞ queue -----------------------------------------------------

def orders_in_flight_mean(rate: float, mean_latency: float) -> float:
    """Mean number of orders placed but not yet seen by the seller: λ·E[L] (orders).

    Assumptions: orders arrive as a Poisson process of ``rate`` orders per second that
    has run for longer than any latency; each order's webhook takes an independent
    latency L (seconds) of mean ``mean_latency``, whatever its distribution; latencies do
    not wait for one another (infinitely many servers). Then the number N of orders in
    flight is Poisson with mean λ·E[L] — see :func:`orders_in_flight_pmf`. The mean alone
    is Little's law (Little 1961, *Operations Research* 9(3)) and needs no Poisson input.
    """
    return _non_negative("rate", rate) * _non_negative("mean_latency", mean_latency)


def orders_in_flight_pmf(k: int | npt.ArrayLike, rate: float,
                         mean_latency: float) -> float | np.ndarray:
    """P(N = k): the number of orders in flight is Poisson(λ·E[L]) (probability).

    Palm's theorem for the M/G/∞ queue: with Poisson arrivals of ``rate`` per second and
    independent service times (here webhook latencies, seconds) of mean
    ``mean_latency``, the stationary number in service is Poisson with mean λ·E[L] —
    for *every* latency distribution, fixed, exponential or lognormal alike: only its
    mean matters. ``k`` may be an int or an array of counts (≥ 0).

    Sources: Palm (1943), *Ericsson Technics* 44; Takács, *Introduction to the Theory of
    Queues* (1962); Ross, *Introduction to Probability Models*, the M/G/∞ example of the
    Poisson-process chapter (number in system at t is Poisson with mean λ∫₀ᵗ(1−G(y))dy).
    """
    mean = orders_in_flight_mean(rate, mean_latency)
    counts = np.asarray(k)
    if counts.dtype.kind not in "iu" or (counts < 0).any():
        raise ValueError(f"k(={k!r}) must be whole numbers of orders ≥ 0")
    pmf = stats.poisson.pmf(counts, mean)
    return float(pmf) if np.ndim(pmf) == 0 else np.asarray(pmf, dtype=float)


def orders_in_flight_mean_time_varying(
        rate_fn: Callable[[float], float], survival_fn: Callable[[float], float], t: float,
        *, start: float = -math.inf, rate_breaks: Sequence[float] = (),
        survival_breaks: Sequence[float] = (), latency_bound: float = math.inf) -> float:
    """Mean number of orders in flight at time ``t`` with a time-varying order rate.

    m(t) = ∫₀^∞ λ(t − u) · (1 − G(u)) du   (orders)

    where ``rate_fn(s)`` is λ(s), orders per second at time s (seconds), and
    ``survival_fn(u)`` is 1 − G(u) = P(L > u), the probability that a webhook takes
    longer than u seconds. Orders arrive only from ``start`` on (λ = 0 before; the
    simulation starts at 0), so the integral stops at u = t − start. With a constant
    rate and ``start = -inf`` it is λ·E[L] (:func:`orders_in_flight_mean`).

    For a non-homogeneous Poisson input (the M_t/G/∞ queue) the number in flight at t is
    again Poisson, with this mean (Eick, Massey & Whitt 1993, "The physics of the
    M_t/G/∞ queue", *Operations Research* 41(4)); latencies independent of each other and
    of the arrivals. Computed with ``scipy.integrate.quad``: pass the times at which the
    rate jumps (``rate_breaks``: hour boundaries of a daily profile, burst edges) and the
    latencies at which the survival jumps (``survival_breaks``: a fixed latency), so that
    the quadrature does not step over a discontinuity; ``latency_bound`` (seconds) is a
    latency no webhook exceeds (survival 0 beyond), if there is one.
    """
    t = float(t)
    if not math.isfinite(t):
        raise ValueError(f"t(={t!r}) must be a finite time in seconds")
    if math.isnan(float(start)) or float(start) == math.inf:
        raise ValueError(f"start(={start!r}) must be a time in seconds or -inf")
    bound = float(latency_bound)
    if math.isnan(bound) or bound < 0:
        raise ValueError(f"latency_bound(={latency_bound!r}) must be ≥ 0 seconds")
    upper = min(t - float(start), bound)
    if upper <= 0:
        return 0.0

    def integrand(u: float) -> float:
        rate = float(rate_fn(t - u))
        survival = float(survival_fn(u))
        if not rate >= 0:
            raise ValueError(f"rate_fn({t - u!r}) = {rate!r}: a rate must be ≥ 0 per second")
        if not 0.0 <= survival <= 1.0:
            raise ValueError(f"survival_fn({u!r}) = {survival!r}: must be a probability")
        return rate * survival

    points = sorted({t - float(b) for b in rate_breaks} | {float(b) for b in survival_breaks})
    points = [p for p in points if 0.0 < p < upper]
    limit = 100 + 4 * len(points)
    if math.isfinite(upper):
        value, _ = integrate.quad(integrand, 0.0, upper, points=points or None, limit=limit)
        return max(value, 0.0)
    finite = points[-1] if points else 0.0
    head = integrate.quad(integrand, 0.0, finite, points=points[:-1] or None,
                          limit=limit)[0] if finite > 0 else 0.0
    tail = integrate.quad(integrand, finite, math.inf, limit=limit)[0]
    return max(head + tail, 0.0)


# -- demand during an exposure window -----------------------------------------------------

def exceed_probability_fixed(rate: float, window: float, buffer: int) -> float:
    """P(N > B): more orders arrive in a window of fixed length than the buffer holds.

    N ~ Poisson(λL) is the number of orders (one unit each) arriving at ``rate`` λ per
    second during ``window`` L seconds — the time a listing keeps showing stock the
    seller no longer has (webhook plus listing latency); ``buffer`` B units are hidden
    from the listing. P(N > B) = 1 − F(B; λL) with F the Poisson CDF; every order beyond
    B is an oversell. Assumes a homogeneous Poisson process over the window (Ross,
    *Introduction to Probability Models*, ch. 5).
    """
    mean = _non_negative("rate", rate) * _non_negative("window", window)
    return float(stats.poisson.sf(_units("buffer", buffer), mean))


def exceed_probability_exponential(rate: float, window_rate: float, buffer: int) -> float:
    """P(N > B) when the window is exponential: (λ / (λ + m))^(B+1).

    The window lasts an exponential time of rate m = ``window_rate`` per second (mean
    1/m seconds, e.g. an exponential webhook latency); orders arrive at ``rate`` λ per
    second, independently of the window. N is then geometric on {0, 1, …} with
    P(N ≥ n) = q^n, q = λ/(λ+m): each next event is an order before the window closes
    with probability λ/(λ+m), by the competing exponential clocks (Ross, *Introduction to
    Probability Models*, ch. 5: the number of Poisson events during an independent
    exponential time; the same count gives the M/M/1 arrivals during one service in
    Kleinrock, *Queueing Systems*, vol. 1, 1975). ``buffer`` B ≥ 0 units.
    """
    lam = _non_negative("rate", rate)
    m = _positive("window_rate", window_rate)
    return (lam / (lam + m)) ** (_units("buffer", buffer) + 1)


def expected_excess_fixed(rate: float, window: float, buffer: int) -> float:
    """E[(N − B)⁺]: expected orders beyond the buffer in a fixed window (oversold units).

    The Poisson first-order loss function. With μ = λL (``rate`` per second × ``window``
    seconds) and F the Poisson(μ) CDF, E[N·1{N > B}] = μ·P(N ≥ B), so

        E[(N − B)⁺] = μ·(1 − F(B − 1)) − B·(1 − F(B)),

    which is μ at B = 0 (F(−1) = 0: every order is beyond an empty buffer). Sources:
    Hadley & Whitin, *Analysis of Inventory Systems* (1963), Poisson loss functions;
    Zipkin, *Foundations of Inventory Management* (2000), the loss function of a discrete
    demand.
    """
    mean = _non_negative("rate", rate) * _non_negative("window", window)
    b = _units("buffer", buffer)
    at_least_b = 1.0 if b == 0 else float(stats.poisson.sf(b - 1, mean))
    excess = mean * at_least_b - b * float(stats.poisson.sf(b, mean))
    return max(excess, 0.0)  # rounding can leave −1e-17 far in the tail


def expected_excess_exponential(rate: float, window_rate: float, buffer: int) -> float:
    """E[(N − B)⁺] for an exponential window: q^(B+1) · (λ + m)/m, q = λ/(λ + m).

    N geometric as in :func:`exceed_probability_exponential` (``rate`` λ and
    ``window_rate`` m per second, ``buffer`` B units): E[(N − B)⁺] = Σ_{n > B} P(N ≥ n)
    = Σ_{n ≥ B+1} qⁿ = q^(B+1)/(1 − q); at B = 0 it is E[N] = λ/m (orders). Source: the
    tail-sum formula for a non-negative integer variable (Feller, vol. I, ch. XI) applied
    to the geometric law.
    """
    lam = _non_negative("rate", rate)
    m = _positive("window_rate", window_rate)
    q = lam / (lam + m)
    return q ** (_units("buffer", buffer) + 1) * (lam + m) / m


# -- demand during an exposure window, over-dispersed -----------------------------------

def _negative_binomial(rate: float, window: float, dispersion: float) -> tuple[float, float]:
    """(size r, success probability p) of the window's NB law, scipy's ``nbinom(r, p)``."""
    mean = _non_negative("rate", rate) * _non_negative("window", window)
    size = 1.0 / _positive("dispersion", dispersion)
    return size, size / (size + mean)


def negative_binomial_variance(mean: float, dispersion: float) -> float:
    """Variance of a Gamma–Poisson count of mean μ: μ + φ·μ² (NB2, size 1/φ; orders²).

    N | G ~ Poisson(μG) with E[G] = 1, Var G = φ: Var N = E[μG] + Var(μG) = μ + φμ² (the
    law of total variance). Source: Cameron & Trivedi, *Regression Analysis of Count
    Data* (2013), ch. 3, the NB2 model.
    """
    mu = _non_negative("mean", mean)
    return mu + _positive("dispersion", dispersion) * mu * mu


def exceed_probability_negative_binomial(rate: float, window: float, dispersion: float,
                                         buffer: int) -> float:
    """P(N > B) when the window's demand is Gamma–Poisson: the negative-binomial tail.

    Assumptions: as :func:`exceed_probability_fixed` (orders of one unit at ``rate`` λ
    per second over a fixed ``window`` L seconds, ``buffer`` B units), except that the
    rate is multiplied by one G ~ Gamma(shape 1/φ, scale φ) for the whole window — the
    model's day multiplier of a ``gamma_poisson`` SKU of ``dispersion`` φ, for a window
    inside one simulated day. Mixing Poisson(λLG) over G gives the negative binomial
    with size r = 1/φ and p = r/(r + λL): mean λL, variance λL + φ(λL)², and
    P(N > B) = 1 − F_NB(B). As φ → 0 it is the Poisson tail; for φ > 0 the tail is
    heavier, so the same buffer oversells more often. Sources: Greenwood & Yule (1920),
    *J. Royal Statistical Society* 83(2), the Gamma mixture of Poissons; Johnson, Kemp &
    Kotz, *Univariate Discrete Distributions* (2005), ch. 5.
    """
    size, p = _negative_binomial(rate, window, dispersion)
    return float(stats.nbinom.sf(_units("buffer", buffer), size, p))


def expected_excess_negative_binomial(rate: float, window: float, dispersion: float,
                                      buffer: int) -> float:
    """E[(N − B)⁺] for Gamma–Poisson window demand: the negative-binomial loss function.

    N as in :func:`exceed_probability_negative_binomial` (mean μ = λL, size r = 1/φ,
    success probability p). The size-biased NB is again NB, one size up:
    n·P_r(N = n) = μ·P_{r+1}(N = n − 1), so E[N·1{N > B}] = μ·P_{r+1}(N ≥ B) and

        E[(N − B)⁺] = μ·(1 − F_{r+1}(B − 1)) − B·(1 − F_r(B)),

    the Poisson loss function of :func:`expected_excess_fixed` with the NB laws in place
    of the Poisson ones (μ at B = 0). Source: the loss function of a discrete demand
    (Zipkin, *Foundations of Inventory Management*, 2000, ch. 6) with the NB identity of
    Johnson, Kemp & Kotz (2005), ch. 5.
    """
    size, p = _negative_binomial(rate, window, dispersion)
    mean = float(rate) * float(window)
    b = _units("buffer", buffer)
    at_least_b = 1.0 if b == 0 else float(stats.nbinom.sf(b - 1, size + 1.0, p))
    excess = mean * at_least_b - b * float(stats.nbinom.sf(b, size, p))
    return max(excess, 0.0)


def negative_binomial_quantile(epsilon: float, rate: float, window: float,
                               dispersion: float) -> int:
    """The smallest buffer B (units) with P(N > B) ≤ ``epsilon`` for Gamma–Poisson demand.

    N as in :func:`exceed_probability_negative_binomial`; the over-dispersed sibling of
    the Poisson quantile the ``poisson_quantile`` buffer uses. For a newsvendor buffer
    pass ``demand_quantile=lambda q: negative_binomial_quantile(1 - q, …)`` to
    :func:`newsvendor_buffer`. Found by galloping then bisecting on the NB tail, not by
    ``ppf``, so the answer is exactly the smallest such B.
    """
    eps = float(epsilon)
    if not 0.0 < eps < 1.0:
        raise ValueError(f"epsilon(={epsilon!r}) must be a probability in (0, 1)")
    size, p = _negative_binomial(rate, window, dispersion)

    def tail(b: int) -> float:
        return float(stats.nbinom.sf(b, size, p))

    high, step = 0, 1
    while tail(high) > eps:
        high, step = high + step, step * 2
    low = max(high - step // 2, 0)
    while low < high:
        middle = (low + high) // 2
        if tail(middle) <= eps:
            high = middle
        else:
            low = middle + 1
    return high


# -- the newsvendor buffer ----------------------------------------------------------------

def critical_ratio(cost_oversell: float, margin_lost_sale: float) -> float:
    """The newsvendor's critical ratio c_u / (c_u + c_o) (a probability).

    c_u = ``cost_oversell`` is the underage cost (the buffer was one unit too small: one
    oversell), c_o = ``margin_lost_sale`` the overage cost (one unit too many: a unit
    hidden for nothing, a sale lost), both in money per unit. See
    :func:`newsvendor_buffer`.
    """
    under = _non_negative("cost_oversell", cost_oversell)
    over = _non_negative("margin_lost_sale", margin_lost_sale)
    if under + over == 0:
        raise ValueError("cost_oversell and margin_lost_sale are both 0: every buffer costs "
                         "nothing, so none is optimal")
    return under / (under + over)


def _window_cdf(rate: float | None, window: float | None,
                window_rate: float | None) -> Callable[[int], float]:
    """F(b) = P(N ≤ b) of the demand in a fixed or exponential window."""
    if rate is None:
        raise ValueError("give rate (orders per second) with window or window_rate, or "
                         "give demand_quantile")
    lam = _non_negative("rate", rate)
    if (window is None) == (window_rate is None):
        raise ValueError("give exactly one of window (seconds, fixed) and window_rate "
                         "(per second, exponential window)")
    if window is not None:
        mean = lam * _non_negative("window", window)
        return lambda b: float(stats.poisson.cdf(b, mean))
    m = _positive("window_rate", window_rate)  # type: ignore[arg-type]
    q = lam / (lam + m)
    return lambda b: 1.0 - q ** (b + 1)


def newsvendor_buffer(cost_oversell: float, margin_lost_sale: float, *,
                      rate: float | None = None, window: float | None = None,
                      window_rate: float | None = None,
                      demand_quantile: Callable[[float], int] | None = None) -> int:
    """The buffer (units) that minimises expected oversell plus hidden-stock cost.

    The smallest B with F(B) ≥ c_u/(c_u + c_o), where F is the CDF of N, the orders that
    reach a listing during its exposure window (:func:`critical_ratio`). The mapping onto
    the newsvendor (order B newspapers, demand N):

    - *underage* — N > B: the buffer was too small and each of the N − B orders beyond
      it is an oversell, costing c_u = ``cost_oversell`` (refund, cancellation penalty,
      marketplace defect rate) per unit;
    - *overage* — N < B: B − N units were hidden from buyers for nothing, each counted as
      a lost sale worth its margin c_o = ``margin_lost_sale``.

    Expected cost c_u·E[(N − B)⁺] + c_o·E[(B − N)⁺] (:func:`buffer_expected_cost`) is
    convex in B, with forward difference −c_u + (c_u + c_o)·F(B), so the first B where
    F(B) reaches the critical ratio is optimal. N is given either by
    ``demand_quantile(p)`` (returning the smallest b with F(b) ≥ p) or as Poisson demand
    of ``rate`` orders per second over a fixed ``window`` (seconds) or an exponential
    window of rate ``window_rate`` (per second); see the exceed-probability functions.

    Assumptions: one period, one unit per order; a hidden unit is charged as a lost sale
    in full, an upper bound, since it is lost only if buyers want it while it is hidden
    (a restock may come first). Sources: Arrow, Harris & Marschak (1951), "Optimal
    inventory policy", *Econometrica* 19(3); Porteus, *Foundations of Stochastic
    Inventory Theory* (2002), ch. 1, the newsvendor's critical fractile.
    """
    ratio = critical_ratio(cost_oversell, margin_lost_sale)
    if ratio >= 1.0:
        raise ValueError(f"margin_lost_sale(={margin_lost_sale!r}) must be > 0: with free "
                         "hidden stock the buffer would grow without bound")
    if demand_quantile is not None:
        if rate is not None or window is not None or window_rate is not None:
            raise ValueError("give either demand_quantile or rate with window/window_rate, "
                             "not both")
        return _units("demand_quantile(critical ratio)", demand_quantile(ratio))
    cdf = _window_cdf(rate, window, window_rate)
    b = 0
    step = 1
    while cdf(b) < ratio:  # gallop, then bisect: the smallest b with F(b) ≥ ratio
        b, step = b + step, step * 2
    low, high = max(b - step // 2, 0), b
    while low < high:
        middle = (low + high) // 2
        if cdf(middle) >= ratio:
            high = middle
        else:
            low = middle + 1
    return high


def buffer_expected_cost(buffer: int, cost_oversell: float, margin_lost_sale: float, *,
                         rate: float, window: float | None = None,
                         window_rate: float | None = None) -> float:
    """Expected cost (money) of a buffer of B units: c_u·E[(N − B)⁺] + c_o·E[(B − N)⁺].

    N is Poisson demand of ``rate`` orders per second over a fixed ``window`` (seconds)
    or an exponential window of rate ``window_rate`` (per second); c_u, c_o as in
    :func:`newsvendor_buffer`, whose answer minimises this. E[(B − N)⁺] = B − E[N] +
    E[(N − B)⁺] (Porteus 2002, ch. 1).
    """
    b = _units("buffer", buffer)
    under = _non_negative("cost_oversell", cost_oversell)
    over = _non_negative("margin_lost_sale", margin_lost_sale)
    _window_cdf(rate, window, window_rate)  # validates the window arguments
    if window is not None:
        mean = rate * window
        excess = expected_excess_fixed(rate, window, b)
    else:
        mean = rate / float(window_rate)  # type: ignore[arg-type]
        excess = expected_excess_exponential(rate, float(window_rate), b)  # type: ignore[arg-type]
    return under * excess + over * (b - mean + excess)
