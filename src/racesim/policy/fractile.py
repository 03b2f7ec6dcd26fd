"""The critical-fractile closed form for per-channel buffers in the two-channel case.

Beside the exact chain of :mod:`racesim.policy.two_channel` (same case, same
assumptions: Poisson buyers λ_c, exponential listing latency ℓ_c = 1/μ_c, webhook
latency 0, S units restocked up to S every T), a newsvendor-style marginal analysis that
solves no chain: the b-th unit hidden from channel c is worth hiding iff the oversell
cost it prevents (underage) is at least the margin it loses (overage).

**Overage: the give-back priced in.** A buyer on c turned away by the buffer claims a
unit, but the claim is given back when a later sale takes the unit (:mod:`racesim.sim.claims`):
the margin is lost only on units still on hand when the episode ends. Let h be the
channel with the larger buffer b_hi, s the other (b_lo). While a > b_hi both sell (rate
λ_1 + λ_2), so a reaches b_hi at τ ~ Erlang(S − b_hi, λ_1 + λ_2) (τ = 0 if b_hi = S).
In the R = T − τ left, s sells D_s ~ Poisson(λ_s R) buyers' worth, at most
d = b_hi − b_lo units (below b_lo it hides too), and h's buyers N_h ~ Poisson(λ_h R)
claim: a_end = b_hi − min(D_s, d) units are left, against N_h + (D_s − d)⁺ claims, so

    L(b_1, b_2) ≈ E[min(a_end, claims)]
                = E_τ Σ_n P(D_s = n) Σ_{j=1}^{a_end(n)} P(N_h ≥ j − (n − d)⁺),

(Erlang law by 48-point Gauss–Legendre on [0, T], Poisson tails by scipy.stats). A
seller with listing latency sells only once the restock's push has landed, Y ~ Exp(μ_s)
into the episode (as if the last episode sold out): its demand is over T − max(τ, Y),
not R (Y by quadrature too). A unit at level j ≤ b_hi is thus lost only if s's demand
over the rest of the episode falls short of the b_hi − j + 1 units s must sell to reach
it, and h has claimed it. The overage of channel c's b-th unit is
m (L(b | b') − L(b − 1 | b')), b' the other's buffer — it depends on b', hence the rule's
turns below. Charging every claim as lost instead (the form before the give-back)
answers (1, 0), (0, 1) and (1, 1) on the three test cases, 13, 7.2 and 4.3 times the
optimum's cost. L is exact when b_hi = S, b_lo = 0 and the seller lists at once (hide
every unit from one channel, the other sells what it can: the chain's figure to 1e-5),
within 10 % of the chain with a slow seller (its listing at the restock is not always
0); elsewhere it over-counts: it ignores claims cut when a sale takes a claimed unit and claims come
again, and both channels' claims are pooled.

**Underage: the oversell it prevents.** Channel c sells its last listed unit in a race.
It starts when the ledger is down to b_c + 1 (S − b_c − 1 sales in: probability
P(Poisson((λ_1 + λ_2)T) ≥ S − b_c − 1) that the episode gets there) and the other channel
c' makes that sale while c shows its last unit (probability A_c = λ'/(λ' + λ_c)): a push
of 0 is now in flight to c. Let N_c be the sales c' makes before c's window closes — the
push landing (μ_c) or c's own buyer taking the unit (λ_c): P(N_c ≥ n) = g_c^n with
g_c = λ'/(λ' + λ_c + μ_c), the other channel's demand during c's listing latency. If N_c
reaches b_c the ledger is empty while c still shows a unit, and c's next buyer comes
before the landing with probability ρ_c = λ_c/(λ_c + μ_c):

    E[oversells on c] ≈ P(Poisson((λ_1 + λ_2)T) ≥ S − b_c − 1) A_c ρ_c g_c^{b_c},

and the underage of the b-th unit is c_o,c (E[oversells](b − 1) − E[oversells](b)) —
the critical fractile is in N_c's geometric tail. With ℓ_c = 0 or b_c = S channel c never
oversells. This is the rougher half: one race an episode, the other channel listing what
the ledger has (its own buffer and latency left out), c's own sales overwritten by an
older push and pushes queued behind one another ignored. Measured against the chain on
the three test cases' grids (tests/test_two_channel.py), the closed form's cost of a pair
is 0.17–4.8 times the chain's (exact where one channel hides every unit and the other
lists at once).

**The rule.** Channel c's buffer given the other's b' is the b ∈ {0, …, S} whose
cumulative marginal (overage − underage over units 1…b) is least — the newsvendor's
first b whose next unit saves less than it costs, where the marginal is monotone.
Channels are answered in turn, each given the other's latest buffer, until neither
moves; started from (0, 0) with either channel first, the cheaper fixed point (by the
closed form's own cost) is the answer. Holding cost is left out. On the three test
cases (cost per episode, the chain's): slow/fast (3, 0) = the optimum, 0.162; fast/slow
(0, 2), 0.698 for the optimum (0, 3)'s 0.672 (+3.9 %, a flat curve); both slow (2, 0)
= the optimum, 0.380. On six more cases tried (S 2–4, demand 4–15 an hour, latencies
0–600 s, c_o/m from 1 to 10) it gave the chain's optimum every time; it is approximate
nonetheless, and the chain stays the reference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

from racesim.policy.two_channel import TwoChannelCase

__all__ = ["approximate_cost", "fractile_buffers", "lost_units", "oversells"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)
_TAIL = 1e-12


def _selling_times(case: TwoChannelCase, seller: int, start: float) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(times, weights): the law of the time the seller sells after a reaches b_hi at
    ``start``. Its listing shows the restock only when that push lands, Y ~ Exp(μ_s)
    after the episode starts (as if the last episode sold out): T − max(start, Y)."""
    left = case.horizon - start
    ell = case.listing_latency[seller]
    if ell == 0:
        return np.array([left]), np.array([1.0])
    ys = (_NODES + 1.0) * case.horizon / 2.0
    weights = _WEIGHTS * case.horizon / 2.0 * stats.expon.pdf(ys, scale=ell)
    times = case.horizon - np.maximum(ys, start)
    late = float(stats.expon.sf(case.horizon, scale=ell))  # the push lands after T
    return np.append(times, 0.0), np.append(weights, late)


def _lost_in(case: TwoChannelCase, high: int, low: int, hider: int, start: float) -> float:
    """E[min(units left, claims)] when a reaches ``high`` at ``start`` seconds."""
    seller = 1 - hider
    claim_mean = case.rates[hider] * (case.horizon - start)
    times, weights = _selling_times(case, seller, start)
    sell_means = case.rates[seller] * times
    span = high - low
    counts = np.arange(int(stats.poisson.isf(_TAIL, sell_means.max())) + span + 2)
    law = stats.poisson.pmf(counts[:, None], sell_means[None, :]) @ weights
    total = 0.0
    for n, weight in zip(counts.tolist(), law.tolist(), strict=True):
        units_left = high - min(n, span)
        extra = max(n - span, 0)  # the seller's buyers who claim once it hides too
        levels = np.arange(1, units_left + 1)
        total += weight * float(stats.poisson.sf(levels - extra - 1, claim_mean).sum())
    return total


@lru_cache(maxsize=4096)
def lost_units(case: TwoChannelCase, b1: int, b2: int) -> float:
    """L(b_1, b_2): expected units lost to the buffers in an episode (the give-back in)."""
    high, low = max(b1, b2), min(b1, b2)
    if high == 0:
        return 0.0
    hider = 0 if b1 >= b2 else 1
    stage = case.stock - high
    if stage == 0:
        return _lost_in(case, high, low, hider, 0.0)
    times = (_NODES + 1.0) * case.horizon / 2.0
    density = stats.gamma.pdf(times, stage, scale=1.0 / sum(case.rates))
    weights = _WEIGHTS * case.horizon / 2.0 * density
    return float(sum(w * _lost_in(case, high, low, hider, t)
                     for t, w in zip(times, weights, strict=True)))


def oversells(case: TwoChannelCase, c: int, b: int) -> float:
    """Expected oversells on channel c in an episode with buffer b on it (one race)."""
    lam, ell = case.rates[c], case.listing_latency[c]
    other = sum(case.rates) - lam
    if ell == 0 or lam == 0 or other == 0 or b >= case.stock:
        return 0.0
    mu = 1.0 / ell
    reach = float(stats.poisson.sf(case.stock - b - 2, (lam + other) * case.horizon))
    race, rho, g = other / (other + lam), lam / (lam + mu), other / (other + lam + mu)
    return reach * race * rho * g ** b


def approximate_cost(case: TwoChannelCase, b1: int, b2: int) -> float:
    """The closed form's cost of an episode: oversells and margin lost (no holding)."""
    c1, c2 = case.oversell_costs
    return (c1 * oversells(case, 0, b1) + c2 * oversells(case, 1, b2)
            + case.margin * lost_units(case, b1, b2))


def _best_response(case: TwoChannelCase, c: int, other: int) -> int:
    """Channel c's buffer given the other's: the least cumulative marginal cost."""
    cumulative, best, best_b = 0.0, 0.0, 0
    for b in range(1, case.stock + 1):
        pair, before = ((b, other), (b - 1, other)) if c == 0 else ((other, b), (other, b - 1))
        overage = case.margin * (lost_units(case, *pair) - lost_units(case, *before))
        underage = case.oversell_costs[c] * (oversells(case, c, b - 1) - oversells(case, c, b))
        cumulative += overage - underage
        if cumulative < best - 1e-12:
            best, best_b = cumulative, b
    return best_b


def fractile_buffers(case: TwoChannelCase) -> tuple[int, int]:
    """The critical-fractile closed form's (b1, b2): approximate, no chain solved."""
    answers = []
    for first in (0, 1):
        buffers = [0, 0]
        for turn in range(8):
            c = (first + turn) % 2
            moved = _best_response(case, c, buffers[1 - c])
            if moved == buffers[c] and turn > 0:
                break
            buffers[c] = moved
        answers.append((buffers[0], buffers[1]))
    return min(answers, key=lambda b: (approximate_cost(case, *b), b[0] + b[1], b[0]))
