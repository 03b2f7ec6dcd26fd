"""Buffer policies: how many units of a SKU to hide from the marketplaces.

The seller publishes ``max(available − buffer, 0)`` to every marketplace. A policy is any
callable ``policy(sku, available, now) -> units`` (whole units ≥ 0; ``available`` is the
ledger's available count, ``now`` seconds of simulated time), so analysts can try their
own in a notebook. Policies that need to know the scenario (its demand, its latencies)
have a ``bind(scenario)`` method returning such a callable; :func:`bind_policy` calls it.

Named policies and their formulas (λ: the SKU's expected demand in units per second at
``now``, over all channels, including the time-of-day profile and bursts; W: the
exposure window):

============================ ================================================================
``fixed(units)``             ``units``
``percent(p, min_units)``    ``max(min_units, ⌈p/100 · available⌉)``
``seed_formula(m, p, k)``    ``max(m, ⌈p/100 · available⌉, ⌈λ · k · P99⌉)``
``poisson_quantile(ε, k)``   smallest b with ``P(N > b) ≤ ε``, N ~ Poisson(λ_others · k · P99)
``allocation(share)``        ``available − ⌊share · available⌋``: the channel is allotted a share
============================ ================================================================

:class:`NegativeBinomialQuantile` is the over-dispersed sibling of ``poisson_quantile``
(from Python; not yet a scenario ``policy`` kind): for a ``gamma_poisson`` SKU of
dispersion φ, N is negative binomial with that mean and size 1/φ.

P99 is the scenario's 99th-percentile sync latency, from its distributions: the slowest
channel's webhook p99 + the slowest listing p99 + the sync interval (periodic modes) +
the snapshot lag and debounce where they apply — a sum of p99s, so it errs on the safe
side. λ_others is the demand of every channel but the quietest one: when a sale on one
marketplace is on its way to the others, that is the demand that can race for the units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = [
    "AllocationBuffer",
    "BufferPolicy",
    "ByClass",
    "FixedBuffer",
    "NegativeBinomialQuantile",
    "PercentBuffer",
    "PoissonQuantile",
    "SeedFormula",
    "allocation",
    "bind_policy",
    "exposure_p99",
    "fixed",
    "percent",
    "poisson_quantile",
    "seed_formula",
]

Policy = Callable[[str, int, float], int]


class BufferPolicy(Protocol):
    """How many units to withhold from the listings of ``sku`` at time ``now`` (seconds)."""

    def __call__(self, sku: str, available: int, now: float) -> int: ...


@runtime_checkable
class Bindable(Protocol):
    """A policy that needs the scenario first: ``bind(scenario)`` returns the callable."""

    def bind(self, scenario: Scenario) -> Policy: ...


AnyPolicy = Bindable | Policy
"""What :func:`bind_policy` takes: a plain policy callable, or one to bind."""


@dataclass(frozen=True, slots=True)
class FixedBuffer:
    """Hide the same number of units of every SKU: ``buffer = units``."""

    units: int

    def __post_init__(self) -> None:
        if self.units < 0:
            raise ValueError(f"FixedBuffer: units must be ≥ 0 (got {self.units})")

    def __call__(self, sku: str, available: int, now: float) -> int:
        return self.units


@dataclass(frozen=True, slots=True)
class PercentBuffer:
    """Hide a share of the available stock.

    ``buffer = max(min_units, ⌈percent/100 · available⌉)``.
    """

    percent: float
    min_units: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError(f"PercentBuffer: percent must be in [0, 100] (got {self.percent})")
        if self.min_units < 0:
            raise ValueError(f"PercentBuffer: min_units must be ≥ 0 (got {self.min_units})")

    def __call__(self, sku: str, available: int, now: float) -> int:
        share = math.ceil(self.percent / 100 * max(available, 0) - 1e-9)
        return max(self.min_units, share)


@dataclass(frozen=True, slots=True)
class AllocationBuffer:
    """Allot the channel a share of the available stock and hide the rest.

    ``buffer = a − ⌊share · a⌋`` with ``a = max(available, 0)``: the listing shows
    ``⌊share · available⌋`` (Dynamics-style channel allocation); ``share = 1`` hides
    nothing. Given per channel, the shares need not sum to 1 (each channel sees its own).
    """

    share: float

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(f"AllocationBuffer: share must be in (0, 1] (got {self.share})")

    def __call__(self, sku: str, available: int, now: float) -> int:
        units = available if available > 0 else 0
        return units - math.floor(self.share * units + 1e-9)


def exposure_p99(scenario: Scenario) -> float:
    """The scenario's P99 sync latency in seconds (a sum of p99s: see the module docs)."""
    channels = scenario.channels
    webhook = max(channel.webhook.latency.quantile(0.99) for channel in channels)
    listing = max(channel.listing_latency.quantile(0.99) for channel in channels)
    sync = scenario.sync
    if sync.mode == "event_driven":
        extra = sync.debounce
    elif sync.mode == "periodic_snapshot":
        extra = sync.interval + sync.snapshot_lag
    else:
        extra = sync.interval
    return webhook + listing + extra


class _Demand:
    """Expected demand per SKU and channel at any time, in units per second."""

    def __init__(self, scenario: Scenario) -> None:
        self.base = {sku.sku: sku.units_per_day() / 86_400.0 for sku in scenario.skus()}
        self.channels = [(channel.share, channel.hourly_profile(), tuple(channel.bursts))
                         for channel in scenario.channels]

    def channel_rates(self, sku: str, now: float) -> list[float]:
        """Units per second each channel is expected to sell of ``sku`` at ``now``."""
        base, hour = self.base[sku], int(now // 3600) % 24
        rates = []
        for share, profile, bursts in self.channels:
            multiplier = profile[hour]
            for burst in bursts:
                if burst.start <= now < burst.start + burst.length:
                    multiplier *= burst.multiplier
            rates.append(base * share * multiplier)
        return rates


@dataclass(frozen=True, slots=True)
class SeedFormula:
    """``max(min_units, ⌈percent/100 · available⌉, ⌈λ · latency_multiple · P99⌉)``."""

    min_units: int = 5
    percent: float = 5.0
    latency_multiple: float = 2.0

    def __post_init__(self) -> None:
        if self.min_units < 0 or not 0 <= self.percent <= 100 or self.latency_multiple < 0:
            raise ValueError(f"SeedFormula: need min_units ≥ 0, 0 ≤ percent ≤ 100 and "
                             f"latency_multiple ≥ 0 (got {self})")

    def bind(self, scenario: Scenario) -> Policy:
        """The policy for one scenario: its demand rates and its P99 sync latency."""
        demand, window = _Demand(scenario), self.latency_multiple * exposure_p99(scenario)
        floor = PercentBuffer(self.percent, self.min_units)

        def seed_formula(sku: str, available: int, now: float) -> int:
            expected = sum(demand.channel_rates(sku, now)) * window
            return max(floor(sku, available, now), math.ceil(expected - 1e-9))

        return seed_formula


@lru_cache(maxsize=65_536)
def _poisson_quantile(mean: float, epsilon: float) -> int:
    """Smallest b with P(Poisson(mean) > b) ≤ epsilon."""
    from scipy import stats  # here, not at the top: reading a scenario need not load SciPy

    return int(stats.poisson.ppf(1.0 - epsilon, mean)) if mean > 0 else 0


@dataclass(frozen=True, slots=True)
class PoissonQuantile:
    """Smallest b with P(N > b) ≤ epsilon, N ~ Poisson(λ_others · latency_multiple · P99)."""

    epsilon: float = 0.003
    latency_multiple: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.epsilon < 1 or self.latency_multiple < 0:
            raise ValueError(f"PoissonQuantile: need 0 < epsilon < 1 and latency_multiple ≥ 0 "
                             f"(got {self})")

    def bind(self, scenario: Scenario) -> Policy:
        """The policy for one scenario: its demand rates and its P99 sync latency."""
        demand, window = _Demand(scenario), self.latency_multiple * exposure_p99(scenario)
        epsilon = self.epsilon

        def poisson_quantile(sku: str, available: int, now: float) -> int:
            rates = demand.channel_rates(sku, now)
            others = sum(rates) - min(rates) if len(rates) > 1 else sum(rates)
            return _poisson_quantile(round(others * window, 4), epsilon)

        return poisson_quantile


@lru_cache(maxsize=65_536)
def _negative_binomial_quantile(mean: float, dispersion: float, epsilon: float) -> int:
    """Smallest b with P(NB(mean, size 1/dispersion) > b) ≤ epsilon."""
    from racesim.policy.analytic import negative_binomial_quantile  # loads SciPy

    return negative_binomial_quantile(epsilon, mean, 1.0, dispersion) if mean > 0 else 0


@dataclass(frozen=True, slots=True)
class NegativeBinomialQuantile:
    """:class:`PoissonQuantile` for over-dispersed SKUs: N ~ NB(λ_others·k·P99, size 1/φ).

    φ is the SKU's ``demand.dispersion``; a Poisson SKU gets exactly the Poisson quantile.
    The NB law is the demand of a window inside one day of a ``gamma_poisson`` SKU
    (:func:`racesim.policy.analytic.exceed_probability_negative_binomial`): the seller
    does not know today's multiplier, so the buffer covers its whole spread.
    """

    epsilon: float = 0.003
    latency_multiple: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.epsilon < 1 or self.latency_multiple < 0:
            raise ValueError("NegativeBinomialQuantile: need 0 < epsilon < 1 and "
                             f"latency_multiple ≥ 0 (got {self})")

    def bind(self, scenario: Scenario) -> Policy:
        """The policy for one scenario: its demand rates, dispersions and P99 sync latency."""
        demand, window = _Demand(scenario), self.latency_multiple * exposure_p99(scenario)
        dispersion = {sku.sku: sku.demand.dispersion if sku.demand is not None else 0.0
                      for sku in scenario.skus()}
        epsilon = self.epsilon

        def negative_binomial_quantile(sku: str, available: int, now: float) -> int:
            rates = demand.channel_rates(sku, now)
            others = sum(rates) - min(rates) if len(rates) > 1 else sum(rates)
            mean, phi = round(others * window, 4), dispersion[sku]
            if phi <= 0:
                return _poisson_quantile(mean, epsilon)
            return _negative_binomial_quantile(mean, phi, epsilon)

        return negative_binomial_quantile


@dataclass(frozen=True)
class ByClass:
    """A policy per SKU class (``class`` in the catalog, e.g. velocity A/B/C)."""

    policies: Mapping[str, AnyPolicy]
    default: AnyPolicy = field(default_factory=lambda: FixedBuffer(0))

    def bind(self, scenario: Scenario) -> Policy:
        """Bind every class's policy and route each SKU to its class's."""
        bound = {name: bind_policy(policy, scenario) for name, policy in self.policies.items()}
        fallback = bind_policy(self.default, scenario)
        route = {sku.sku: bound.get(sku.class_ or "", fallback) for sku in scenario.skus()}

        def by_class(sku: str, available: int, now: float) -> int:
            return route.get(sku, fallback)(sku, available, now)

        return by_class


def bind_policy(policy: AnyPolicy, scenario: Scenario) -> Policy:
    """The per-call function of ``policy`` for ``scenario`` (plain callables as they are)."""
    return policy.bind(scenario) if isinstance(policy, Bindable) else policy


def fixed(units: int) -> FixedBuffer:
    """``buffer = units``."""
    return FixedBuffer(units)


def percent(p: float, min_units: int = 0) -> PercentBuffer:
    """``buffer = max(min_units, ⌈p/100 · available⌉)``."""
    return PercentBuffer(p, min_units)


def seed_formula(min_units: int = 5, percent: float = 5.0,
                 latency_multiple: float = 2.0) -> SeedFormula:
    """``max(min_units, percent % of available, expected sales in latency_multiple × P99)``."""
    return SeedFormula(min_units, percent, latency_multiple)


def allocation(share: float) -> AllocationBuffer:
    """``buffer = available − ⌊share · available⌋``: list a share of the available stock."""
    return AllocationBuffer(share)


def poisson_quantile(epsilon: float = 0.003, latency_multiple: float = 1.0) -> PoissonQuantile:
    """Smallest b with P(other channels' demand in the exposure window > b) ≤ epsilon."""
    return PoissonQuantile(epsilon, latency_multiple)

