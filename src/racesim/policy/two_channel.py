"""Two channels, one SKU: the exact expected cost of per-channel buffers and its optimum.

The check on the per-channel tuner (issue 14, point 4): a case small enough to solve
exactly, built to the model's own semantics (:mod:`racesim.sim.model`,
:mod:`racesim.sim.sync`, :mod:`racesim.sim.marketplace`), so that a simulation of the
same case must agree with it and a tuner's choice can be priced against the optimum.

**Assumptions** (a scenario with exactly these is :func:`scenario_toml`). One SKU, two
channels; buyers arrive on channel c as a Poisson process of rate λ_c per second, each
wanting one unit; webhook latency 0 with one delivery per order (no duplicates,
failures, cancellations, returns, shrinkage or cycle counts); event-driven sync without
debounce; channel c's listing latency exponential with mean ℓ_c = 1/μ_c (or 0: a push
lands at once); a fixed buffer b_c per channel. Episodes of length T: each starts with
S units on hand and ends with a restock up to S (order-up-to, reviewed every T, lead time
0); the run starts with every listing showing its rule's value and nothing in flight.

**What the model does**, and so what the chain does. A buyer on c buys iff c's listing
l_c ≥ 1, which drops by one at once. The order reaches the ledger at the same instant:
if the ledger's available a ≥ 1 the unit is reserved (a ← a − 1), else the reservation
is refused — an *oversell* — and nothing else changes (the listing keeps its decrement).
Whenever a reservation or the restock changes a channel's published value
q_c = max(a − b_c, 0), the seller sends *every* channel its own absolute q_c (the
model's event-driven sync); a push drawn latency L lands at max(send + L, landing of the
push before it): a channel applies its updates in order, and an absolute push
overwrites whatever the listing shows, own sales since included. A buyer turned away
(l_c = 0) is lost to *no stock* if a = 0, to *the buffer* if a ≥ 1 and q_c = 0
(1 ≤ a ≤ b_c), else to *a stale listing*. A buyer lost to the buffer claims a unit of
margin only if a unit is left that no earlier such buyer has claimed since available last
rose or the last review (the model's ``lost_units_buffer``, :mod:`racesim.sim.claims`):
k claimed units, a claim while k < a; a reservation that takes a to below k gives the
latest claim back (that unit sold after all: one sale either way). Hidden units:
Σ_c s_c·(a − q_c) = Σ_c s_c·min(a, b_c), s_c = λ_c/(λ_1 + λ_2) the demand share.

**State.** (a, l_1, V_1, l_2, V_2, K): available units, each listing, each channel's
pushes in flight as *blocks*, and the claims K, the channel of each claimed unit oldest
first (k = |K| ≤ max(a, 0); a buffer-lost buyer on c appends c while k < a, a
reservation to a < k drops K's last k − a, the restock's review empties K). With
exponential latencies, the pushes in flight to one channel split into blocks: each begins
with a push whose own latency has not expired (an Exp(μ_c) clock, memoryless) followed by
pushes whose latency expired while they wait behind it; a block lands all at once, leaving
its last value. So V_c = (v_1, …, v_n) is the list of the blocks' last values, and each of
the n clocks rings at rate μ_c: block 1 ringing sets l_c ← v_1 and drops it; block j ≥ 2
ringing joins block j − 1, whose last value v_{j−1} is dropped. A new push appends a
block. Pushes carry values of q_c, which falls within an episode, so the states are few;
they are enumerated from the start state by breadth-first search, restock included.

**Equations.** With generator Q, the law p(t) of the state in an episode solves
p' = pQ from the episode's start law p_0; over the episode

    E[oversells on c]   = ∫_0^T Σ_x p_x(t) λ_c 1{l_c ≥ 1, a = 0} dt
    E[buffer-lost on c] = ∫_0^T Σ_x p_x(t) λ_c 1{l_c = 0, 1 ≤ a ≤ b_c} dt
    E[units lost on c]  = ∫_0^T Σ_x p_x(t) (λ_c 1{l_c = 0, 1 ≤ a ≤ b_c, k < a}
                                            − Σ_y Q_xy g_c(x, y)) dt
    E[hidden unit-s]    = ∫_0^T Σ_x p_x(t) Σ_c s_c min(a, b_c) dt

(each a rate reward: Poisson arrivals see time averages; g_c(x, y), the claims of c the
move x → y gives back, is a reward on the transition, whose expected count is the
integral of its rate), computed by uniformisation:
p(t) = Σ_k Pois(k; Λt) p_0 P^k with P = I + Q/Λ, and ∫_0^T p dt = Λ⁻¹ Σ_k
P(Pois(ΛT) > k) p_0 P^k, the series cut where its Poisson tail is below 1e-13. The
restock maps p(T) to the next episode's p_0; the long-run episode is the fixed point of
that map (iterated to 1e-12). Pushes left over from earlier episodes could make the
state space unbounded, so a state may hold at most one episode's pushes plus ``carry``
(default 1) more; the rest go to a sink, whose probability each figure reports as
``truncated`` (at most 3e-5 in the tests' cases). Cost of an episode:

    Σ_c c_o,c E[oversells on c] + m Σ_c E[units lost on c] + h E[hidden unit-days]

(the money of the scenario's ``[costs]``: oversell cost per order, margin per unit lost
to the buffer, holding per hidden unit-day). **Exact** for these assumptions, up to the series' cut,
the sink and float rounding; :func:`optimum` is the grid's argmin, b_c ∈ {0, …, S}.

The critical-fractile closed form beside it, with the give-back priced in, is
:func:`racesim.policy.fractile.fractile_buffers` (its derivation in that module).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy import stats

__all__ = [
    "EpisodeFigures",
    "Optimum",
    "TwoChannelCase",
    "expected_cost",
    "expected_figures",
    "optimum",
    "run_figures",
    "scenario_toml",
]

DAY_S = 86_400.0
MONTH_S = 30 * DAY_S
_TAIL = 1e-13  # the uniformisation series stops where the Poisson tail is below this
_MAX_STATES = 400_000
_CARRY = 1  # blocks in flight beyond one episode's own that a state may hold

State = tuple[int, int, tuple[int, ...], int, tuple[int, ...], tuple[int, ...]]
"""(available, listing 1, blocks in flight to 1, listing 2, blocks in flight to 2, the
channel (0 or 1) of each unit claimed by a buyer lost to the buffer since available last
rose, oldest first: at most max(available, 0) of them)."""

_OVERFLOW: State = (-1, 0, (), 0, (), ())
"""The sink: states with more blocks in flight than the cap (their mass is reported)."""


@dataclass(frozen=True)
class TwoChannelCase:
    """The case's parameters: rates per second, times in seconds, money per unit/order.

    ``rates`` λ_c (orders per second), ``listing_latency`` ℓ_c (mean seconds of the
    exponential listing latency; 0 = at once), ``stock`` S (units each episode starts
    with), ``horizon`` T (seconds per episode), ``oversell_cost`` c_o (money per oversold
    order, one figure or one per channel), ``margin`` m (money per buyer lost to the
    buffer), ``holding_per_unit_day`` h (money per hidden unit-day).
    """

    rates: tuple[float, float]
    listing_latency: tuple[float, float]
    stock: int
    horizon: float
    oversell_cost: float | tuple[float, float] = 0.0
    margin: float = 0.0
    holding_per_unit_day: float = 0.0

    def __post_init__(self) -> None:
        for name in ("rates", "listing_latency"):
            pair = getattr(self, name)
            if len(pair) != 2 or not all(math.isfinite(v) and v >= 0 for v in pair):
                raise ValueError(f"{name}(={pair!r}) must be two finite numbers ≥ 0")
        if sum(self.rates) <= 0:
            raise ValueError(f"rates(={self.rates!r}) must not both be 0")
        if isinstance(self.stock, bool) or not isinstance(self.stock, int) or \
                not 1 <= self.stock <= 30:
            raise ValueError(f"stock(={self.stock!r}) must be a whole number in 1–30")
        if not (math.isfinite(self.horizon) and self.horizon > 0):
            raise ValueError(f"horizon(={self.horizon!r}) must be a finite number > 0")
        money = [*self.oversell_costs, self.margin, self.holding_per_unit_day]
        if not all(math.isfinite(v) and v >= 0 for v in money):
            raise ValueError("oversell_cost, margin and holding_per_unit_day must be finite "
                             "and ≥ 0")

    @property
    def oversell_costs(self) -> tuple[float, float]:
        """c_o per channel (money per oversold order)."""
        cost = self.oversell_cost
        if isinstance(cost, tuple):
            if len(cost) != 2:
                raise ValueError(f"oversell_cost(={cost!r}) must be one number or two")
            return float(cost[0]), float(cost[1])
        return float(cost), float(cost)

    @property
    def shares(self) -> tuple[float, float]:
        """Each channel's share of demand, λ_c / (λ_1 + λ_2)."""
        total = sum(self.rates)
        return self.rates[0] / total, self.rates[1] / total

    @property
    def episodes_per_month(self) -> float:
        """Episodes in 30 days."""
        return MONTH_S / self.horizon


@dataclass(frozen=True)
class EpisodeFigures:
    """Expected figures of one episode (or a sum of episodes) for buffers (b_1, b_2).

    Counts per channel; ``hidden_unit_hours`` weighted by demand share (the model's
    ``hidden_unit_hours``); ``cost`` in money.
    """

    buffers: tuple[int, int]
    oversells: tuple[float, float]
    buffer_lost: tuple[float, float]
    """Buyers lost to the buffer (the model's ``lost_sales_buffer``)."""
    buffer_lost_units: tuple[float, float]
    """Units lost to the buffer (the model's ``lost_units_buffer``: the claims outstanding
    when each spell ends)."""
    sales: tuple[float, float]
    hidden_unit_hours: float
    cost: float
    episodes: float = 1.0
    truncated: float = 0.0
    """Probability cut off by the cap on pushes in flight (a bound on the error's weight)."""

    @property
    def oversold(self) -> float:
        """Oversold orders, both channels."""
        return sum(self.oversells)

    @property
    def lost_sales_buffer(self) -> float:
        """Buyers lost to the buffer, both channels."""
        return sum(self.buffer_lost)

    @property
    def lost_units_buffer(self) -> float:
        """Units lost to the buffer (what the margin is lost on), both channels."""
        return sum(self.buffer_lost_units)


@dataclass(frozen=True)
class Optimum:
    """The cheapest buffers on the grid b_c ∈ {0, …, max}, and every cost it compared."""

    buffers: tuple[int, int]
    cost: float
    cost_per_month: float
    costs: dict[tuple[int, int], float] = field(repr=False)


class _Chain:
    """The CTMC of one episode for buffers (b_1, b_2): states, generator, rewards."""

    def __init__(self, case: TwoChannelCase, buffers: tuple[int, int],
                 carry: int = _CARRY) -> None:
        self.case, self.buffers = case, buffers
        self.mu = tuple(math.inf if ell == 0 else 1.0 / ell for ell in case.listing_latency)
        s = case.stock
        # blocks one episode can send a channel (some q falls at most S − min b times,
        # plus the restock's push), and ``carry`` more left over from episodes before
        self.cap = (s - min(buffers) + 1 + carry,) * 2
        self.start: State = (s, self._q(s, 0), (), self._q(s, 1), (), ())
        self.index: dict[State, int] = {_OVERFLOW: 0}
        self.states: list[State] = [_OVERFLOW]
        rows: list[int] = []
        cols: list[int] = []
        rates: list[float] = []
        given_back: list[tuple[int, int, float]] = []  # (state, channel, rate) per unit
        queue: deque[State] = deque()
        self._find(self.start, queue)
        restock_to = [0]
        while queue:
            state = queue.popleft()
            i = self.index[state]
            for target, rate in self._moves(state):
                rows.append(i)
                cols.append(self._find(target, queue))
                rates.append(rate)
                given_back.extend((i, c, rate) for c in state[5][len(target[5]):])
            restock_to.append(self._find(self._restock(state), queue))
        n = len(self.states)
        self.give_back = np.zeros((n, 2))  # claimed units a move gives back, × its rate
        for i, c, rate in given_back:
            self.give_back[i, c] += rate
        self.off = sp.csr_matrix((rates, (rows, cols)), shape=(n, n))
        self.exit = np.asarray(self.off.sum(axis=1)).ravel()
        self.restock_to = np.asarray(restock_to)

    def _find(self, state: State, queue: deque[State]) -> int:
        """The index of ``state`` (queued for search if new); beyond the cap, the sink's."""
        if len(state[2]) > self.cap[0] or len(state[4]) > self.cap[1]:
            return 0
        i = self.index.get(state)
        if i is None:
            if len(self.states) >= _MAX_STATES:
                raise ValueError(f"the case needs more than {_MAX_STATES} states; "
                                 "give it less stock")
            i = self.index[state] = len(self.states)
            self.states.append(state)
            queue.append(state)
        return i

    def _q(self, available: int, c: int) -> int:
        return max(available - self.buffers[c], 0)

    def _push(self, listing: int, blocks: tuple[int, ...], c: int,
              value: int) -> tuple[int, tuple[int, ...]]:
        """A push of ``value`` to channel c: lands at once with latency 0, else queues."""
        if math.isinf(self.mu[c]):
            return value, ()
        return listing, (*blocks, value)

    def _after_reservation(self, state: State, old: int) -> State:
        """If a going from ``old`` to a changed any q_c, push every channel its own q_c.

        Claims beyond max(a, 0) are given back, the latest first: the sale took a unit a
        turned-away buyer claimed, one sale either way (the cut is the move's reward)."""
        a, l1, v1, l2, v2, claimed = state
        if self._q(a, 0) != self._q(old, 0) or self._q(a, 1) != self._q(old, 1):
            l1, v1 = self._push(l1, v1, 0, self._q(a, 0))
            l2, v2 = self._push(l2, v2, 1, self._q(a, 1))
        return a, l1, v1, l2, v2, claimed[:max(a, 0)]

    def _restock(self, state: State) -> State:
        """The episode's end: the ledger back up to S, and the pushes that sends. The
        review ends the claims: it restocks, or would have had the claimed units sold."""
        a, l1, v1, l2, v2, _ = state
        return self._after_reservation((self.case.stock, l1, v1, l2, v2, ()), a)

    def _moves(self, state: State) -> Iterator[tuple[State, float]]:
        """Every transition out of ``state`` with its rate (per second)."""
        a, l1, v1, l2, v2, claimed = state
        lam = self.case.rates
        if l1 >= 1 and lam[0] > 0:
            sold: State = (a, l1 - 1, v1, l2, v2, claimed)
            yield (self._after_reservation((a - 1, *sold[1:]), a) if a >= 1 else sold), lam[0]
        elif lam[0] > 0 and len(claimed) < a <= self.buffers[0]:  # lost to the buffer
            yield (a, l1, v1, l2, v2, (*claimed, 0)), lam[0]
        if l2 >= 1 and lam[1] > 0:
            sold = (a, l1, v1, l2 - 1, v2, claimed)
            yield (self._after_reservation((a - 1, *sold[1:]), a) if a >= 1 else sold), lam[1]
        elif lam[1] > 0 and len(claimed) < a <= self.buffers[1]:
            yield (a, l1, v1, l2, v2, (*claimed, 1)), lam[1]
        for c, (listing, blocks) in enumerate(((l1, v1), (l2, v2))):
            mu = self.mu[c]
            for j in range(len(blocks)):
                if j == 0:
                    landed, rest = blocks[0], blocks[1:]
                else:
                    landed, rest = listing, blocks[:j - 1] + blocks[j:]
                yield ((a, landed, rest, l2, v2, claimed) if c == 0
                       else (a, l1, v1, landed, rest, claimed)), mu

    @cached_property
    def rewards(self) -> np.ndarray:
        """Rate rewards per state: oversells 1, 2; buffer-lost 1, 2; sales 1, 2; hidden;
        units lost to the buffer 1, 2 (the buffer-lost buyers' claims less the claimed
        units later sales take: each move's give-back as a rate, a negative reward)."""
        lam, (b1, b2), shares = self.case.rates, self.buffers, self.case.shares
        table = np.zeros((len(self.states), 9))
        for i, (a, l1, _, l2, _, claimed) in enumerate(self.states):
            if i == 0:
                continue  # the sink earns nothing
            for c, (listing, b) in enumerate(((l1, b1), (l2, b2))):
                if listing >= 1:
                    table[i, 4 + c] = lam[c]
                    if a == 0:
                        table[i, c] = lam[c]
                elif 1 <= a <= b:
                    table[i, 2 + c] = lam[c]
                    if len(claimed) < a:
                        table[i, 7 + c] = lam[c]
            table[i, 6] = shares[0] * min(a, b1) + shares[1] * min(a, b2)
        table[:, 7:9] -= self.give_back
        return table

    @cached_property
    def _uniformised(self) -> tuple[sp.csr_matrix, float, np.ndarray, np.ndarray]:
        """(Pᵀ, Λ, Poisson(ΛT) weights, their tails) for :meth:`episode`."""
        uniform = max(float(self.exit.max()), 1e-300) * 1.02
        step = (self.off.T / uniform + sp.diags(1.0 - self.exit / uniform)).tocsr()
        mean = uniform * self.case.horizon
        terms = int(stats.poisson.isf(_TAIL, mean)) + 2
        counts = np.arange(terms)
        return step, uniform, stats.poisson.pmf(counts, mean), stats.poisson.sf(counts, mean)

    def episode(self, p0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p(T), ∫_0^T p dt) from the start law ``p0``, by uniformisation."""
        step, uniform, weights, tails = self._uniformised
        vector = p0.astype(float)
        p_end, integral = np.zeros_like(vector), np.zeros_like(vector)
        for weight, tail in zip(weights, tails, strict=True):
            p_end += weight * vector
            integral += tail * vector
            vector = step @ vector
        return p_end, integral / uniform

    def restock(self, p_end: np.ndarray) -> np.ndarray:
        """The next episode's start law: p(T) moved by the restock."""
        return np.bincount(self.restock_to, weights=p_end, minlength=len(self.states))

    def figures(self, integral: np.ndarray, episodes: float,
                truncated: float) -> EpisodeFigures:
        """The expected figures of an episode (or episodes) with time-integral ``integral``."""
        case = self.case
        totals = integral @ self.rewards
        oversells = (float(totals[0]), float(totals[1]))
        lost = (float(totals[2]), float(totals[3]))
        units = (float(totals[7]), float(totals[8]))
        hidden_s = float(totals[6])
        c1, c2 = case.oversell_costs
        cost = (c1 * oversells[0] + c2 * oversells[1] + case.margin * sum(units)
                + case.holding_per_unit_day * hidden_s / DAY_S)
        return EpisodeFigures(self.buffers, oversells, lost, units, (float(totals[4]),
                              float(totals[5])), hidden_s / 3600.0, cost, episodes, truncated)


def _change(following: np.ndarray, before: np.ndarray) -> float:
    """L¹ distance of two start laws, the sink left out and each renormalised."""
    a, b = following[1:], before[1:]
    return float(np.abs(a / a.sum() - b / b.sum()).sum())


def _check_buffers(case: TwoChannelCase, b1: int, b2: int) -> tuple[int, int]:
    for name, b in (("b1", b1), ("b2", b2)):
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or b < 0:
            raise ValueError(f"{name}(={b!r}) must be a whole number of units ≥ 0")
    return int(b1), int(b2)


def expected_figures(case: TwoChannelCase, b1: int, b2: int, *,
                     carry: int = _CARRY) -> EpisodeFigures:
    """Expected figures of one episode in the long run (the restock map's fixed point).

    ``carry``: pushes in flight that a state may hold beyond what one episode sends
    (left over from earlier episodes); states beyond go to a sink whose probability is
    ``truncated`` (at most 3e-5 at the default 1 in the tests' cases).
    """
    if isinstance(carry, bool) or not isinstance(carry, int) or not 0 <= carry <= 4:
        raise ValueError(f"carry(={carry!r}) must be a whole number in 0–4")
    chain = _Chain(case, _check_buffers(case, b1, b2), carry)
    p0 = np.zeros(len(chain.states))
    p0[chain.index[chain.start]] = 1.0
    for _ in range(500):
        p_end, integral = chain.episode(p0)
        following = chain.restock(p_end)
        cut = float(following[0])
        following[0] = 0.0
        following /= following.sum()
        change = _change(following, p0)
        p0 = following
        if change < 1e-12:
            break
    else:
        raise ArithmeticError("the episode start law did not settle in 500 episodes")
    return chain.figures(integral, 1.0, cut)  # its start law is p0's to 1e-12


def run_figures(case: TwoChannelCase, b1: int, b2: int, episodes: int) -> EpisodeFigures:
    """Expected totals over a run of ``episodes`` episodes from the run's start state.

    What one replication of :func:`scenario_toml` with ``episodes`` is expected to count:
    the first episode starts with every listing showing its rule's value, each later one
    from the restock of the one before.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes(={episodes!r}) must be a whole number ≥ 1")
    chain = _Chain(case, _check_buffers(case, b1, b2))
    p0 = np.zeros(len(chain.states))
    p0[chain.index[chain.start]] = 1.0
    total = np.zeros_like(p0)
    for done in range(1, episodes + 1):
        p_end, integral = chain.episode(p0)
        total += integral
        following = chain.restock(p_end)
        settled = _change(following, p0) < 1e-12
        leak = float(following[0] - p0[0])
        p0 = following
        if settled:  # every later episode is this one again (its sink mass aside)
            total += (episodes - done) * integral
            p0[0] += (episodes - done) * leak
            break
    return chain.figures(total, float(episodes), float(p0[0]))


def expected_cost(case: TwoChannelCase, b1: int, b2: int) -> float:
    """Expected cost (money) of one long-run episode with buffers (b1, b2)."""
    return expected_figures(case, b1, b2).cost


def optimum(case: TwoChannelCase, max_buffer: int | None = None) -> Optimum:
    """The (b1, b2) of least expected cost on {0, …, max_buffer}² (default S), exactly.

    Ties go to the smaller total buffer, then the smaller b1.
    """
    top = case.stock if max_buffer is None else max_buffer
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= case.stock:
        raise ValueError(f"max_buffer(={max_buffer!r}) must be a whole number in 0–S "
                         f"(S = {case.stock})")
    costs = {(b1, b2): expected_cost(case, b1, b2)
             for b1 in range(top + 1) for b2 in range(top + 1)}
    best = min(costs, key=lambda b: (costs[b], b[0] + b[1], b[0]))
    return Optimum(best, costs[best], costs[best] * case.episodes_per_month, costs)


def _latency_toml(mean: float) -> str:
    if mean == 0:
        return '{ dist = "fixed", value = 0 }'
    return f'{{ dist = "exponential", mean = {mean!r} }}'


def _costs_toml(case: TwoChannelCase, currency: str, names: tuple[str, str]) -> str:
    """The case's money as a ``[costs]`` table (an oversell's cost as each channel's penalty)."""
    c1, c2 = case.oversell_costs
    return (f'[costs]\ncurrency = "{currency}"\nmargin = {case.margin!r}\noversell = 0.0\n'
            f"penalty = {{ {names[0]} = {c1!r}, {names[1]} = {c2!r} }}\n"
            f"holding_per_unit_day = {case.holding_per_unit_day!r}\n")


def scenario_toml(case: TwoChannelCase, episodes: int, *, buffer: int = 0,
                  names: tuple[str, str] = ("slow", "fast"),
                  currency: str | None = None) -> str:
    """A scenario file of the case: ``episodes`` episodes, uniform ``buffer`` units.

    Per-channel buffers go to the model as ``buffer={names[0]: FixedBuffer(b1), …}``.
    With ``currency``, a ``[costs]`` table carries the case's money (margin, each
    channel's oversell cost as its ``penalty``, holding), for a tuner on cost.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes(={episodes!r}) must be a whole number ≥ 1")
    rate = sum(case.rates)
    share = case.shares
    channels = "".join(
        f'[[channels]]\nname = "{names[c]}"\nshare = {share[c]!r}\n'
        f'webhook.latency = {{ dist = "fixed", value = 0 }}\n'
        f"listing_latency = {_latency_toml(case.listing_latency[c])}\n"
        for c in range(2))
    costs = "" if currency is None else _costs_toml(case, currency, names)
    return (f'name = "two-channel-check"\nduration = {case.horizon * episodes!r}\n'
            f'[[catalog]]\nsku = "SKU-1"\ninitial_stock = {case.stock}\n'
            f"orders_per_day = {rate * DAY_S!r}\n"
            f'restock = {{ policy = "order_up_to", level = {case.stock}, '
            f"reorder_point = {case.stock - 1}, review = {case.horizon!r}, lead_time = 0 }}\n"
            f'{channels}[sync]\nmode = "event_driven"\n'
            f'[buffer]\npolicy = "fixed"\nunits = {buffer}\n{costs}')
