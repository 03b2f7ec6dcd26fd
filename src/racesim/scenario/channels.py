"""Marketplaces: their share of demand, its daily shape and bursts, and their webhooks.

::

    [[channels]]
    name = "ebay"
    share = 0.3                                   # of every SKU's orders
    profile = [0.2, 0.1, ..., 1.4]                # 24 hourly multipliers (any scale)
    bursts = [{ start = "1d18h", length = "2h", multiplier = 5.0 }]
    webhook.latency = { dist = "lognormal", median = "5s", p99 = "60s" }
    webhook.duplicates = { p2 = 0.3, p3 = 0.05 }  # P(delivered twice), P(three times)
    listing_latency = { dist = "fixed", value = "10s" }
    cancel_rate = 0.02
    publish = { buffer = { policy = "fixed", units = 2 }, cap = 20, threshold = 3 }

``publish`` (optional, :mod:`racesim.scenario.publish`) is this channel's own rule for
what its listing shows: a buffer (else ``[buffer]``), a cap and a threshold.

Times are seconds since the scenario starts, and the scenario starts at midnight, so
hour ``h`` of the profile covers ``[h·3600, (h+1)·3600)`` of every day.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from racesim.scenario.distributions import DurationDistribution, FixedDuration, delay_problems
from racesim.scenario.fields import (
    Attempts,
    Duration,
    Name,
    NonNegative,
    PositiveDuration,
    Probability,
    Record,
    RetryProbability,
    Share,
    at_most,
    problem,
    raise_problems,
    show,
)
from racesim.scenario.limits import (
    MAX_BURST_MULTIPLIER,
    MAX_BURSTS,
    MAX_EMPIRICAL,
    MAX_LATENCY_S,
    MAX_PROFILE_VALUE,
    MIN_BURST_MULTIPLIER,
)
from racesim.scenario.publish import PublishConfig

__all__ = ["Burst", "Channel", "Duplicates", "WebhookConfig"]

HOURS = 24


class Duplicates(Record):
    """How often one order webhook is delivered more than once."""

    p2: Probability = 0.0
    """Probability that it arrives exactly twice."""
    p3: Probability = 0.0
    """Probability that it arrives exactly three times."""

    @model_validator(mode="after")
    def _at_most_one(self) -> Duplicates:
        if self.p2 + self.p3 > 1.0:
            got = f"{show(self.p2)} + {show(self.p3)} = {show(self.p2 + self.p3)}"
            raise_problems("duplicates", [((), f"p2 + p3 must be ≤ 1 (got {got})", None)])
        return self

    def copies(self) -> tuple[float, float, float]:
        """Probabilities of one, two and three deliveries."""
        return (1.0 - self.p2 - self.p3, self.p2, self.p3)

    def mean_copies(self) -> float:
        """Expected deliveries per webhook (1 + p2 + 2·p3)."""
        return 1.0 + self.p2 + 2.0 * self.p3


class WebhookConfig(Record):
    """How a channel's order webhooks reach the seller's handler."""

    latency: DurationDistribution
    """Delay from the sale to the first delivery (seconds)."""
    duplicates: Duplicates = Duplicates()
    failure_rate: RetryProbability = 0.0
    """Probability that one delivery fails in the handler and is retried."""
    retry_backoff: DurationDistribution = FixedDuration(value=30.0)
    """Delay before a failed delivery is retried (seconds)."""
    max_attempts: Attempts = 10
    """Deliveries tried before the marketplace gives up."""

    @model_validator(mode="after")
    def _latencies_bounded(self) -> WebhookConfig:
        problems = [*delay_problems("latency", self.latency, MAX_LATENCY_S),
                    *delay_problems("retry_backoff", self.retry_backoff, MAX_LATENCY_S)]
        raise_problems("webhook", problems)
        return self


class Burst(Record):
    """Demand on one channel multiplied by ``multiplier`` during [start, start + length)."""

    start: Duration
    length: PositiveDuration
    multiplier: Annotated[NonNegative, Field(ge=MIN_BURST_MULTIPLIER),
                          at_most(MAX_BURST_MULTIPLIER)]

    @property
    def end(self) -> float:
        """When the burst is over (seconds since the start)."""
        return self.start + self.length

    def active(self, t: float) -> bool:
        """Whether the burst covers time ``t`` (seconds since the start)."""
        return self.start <= t < self.end


class Channel(Record):
    """One marketplace (or the seller's own shop)."""

    name: Name
    share: Share
    """Fraction of every SKU's orders placed on this channel (shares sum to 1)."""
    profile: Annotated[tuple[Annotated[NonNegative, at_most(MAX_PROFILE_VALUE)], ...],
                       Field(max_length=MAX_EMPIRICAL)] | None = None
    """24 hourly demand multipliers, any scale; see :meth:`hourly_profile`."""
    bursts: Annotated[tuple[Burst, ...], Field(max_length=MAX_BURSTS)] = ()
    webhook: WebhookConfig
    listing_latency: DurationDistribution
    """Delay from a stock push to the new quantity being visible on the listing."""
    cancel_rate: Probability = 0.0
    """Fraction of orders the buyer cancels before fulfilment."""
    cancel_webhook_loss: Probability = 0.0
    """Probability that a cancellation webhook never arrives."""
    publish: PublishConfig | None = None
    """This channel's publishing rule (buffer, cap, threshold); None: ``[buffer]`` alone."""

    @model_validator(mode="after")
    def _listing_latency_bounded(self) -> Channel:
        problems = delay_problems("listing_latency", self.listing_latency, MAX_LATENCY_S)
        raise_problems("channel", problems)
        return self

    @field_validator("profile")
    @classmethod
    def _day_profile(cls, profile: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if profile is not None:
            if len(profile) != HOURS:
                raise problem(f"must have 24 hourly values (got {len(profile)})")
            if not any(profile):
                raise problem("must not be all zero (no demand at any hour)")
        return profile

    def hourly_profile(self) -> tuple[float, ...]:
        """The 24 hourly multipliers scaled to mean 1 (all 1 when no profile is given)."""
        if self.profile is None:
            return (1.0,) * HOURS
        mean = sum(self.profile) / HOURS
        return tuple(value / mean for value in self.profile)

    def multiplier_at(self, t: float) -> float:
        """Demand multiplier at ``t`` seconds: hourly profile × every active burst."""
        multiplier = self.hourly_profile()[int(t // 3600) % HOURS]
        for burst in self.bursts:
            if burst.active(t):
                multiplier *= burst.multiplier
        return multiplier
