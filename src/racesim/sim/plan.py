"""Everything random about each order, drawn before the simulation starts.

For every buyer of a channel: how many copies of the order webhook the seller will get
and how late each copy is, how many handler attempts fail, whether the buyer cancels and
when, how long the warehouse takes, whether the order comes back and when. Drawn per
channel from named streams (see :mod:`racesim.sim.streams`), indexed by the buyer's
position in that channel's arrival sequence — so a buyer keeps the same fate under every
buffer and sync policy, which is what makes policy comparisons sharp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from racesim.scenario.distributions import FixedDuration
from racesim.sim.demand import Arrivals
from racesim.sim.sampler import Sampleable
from racesim.sim.streams import Streams

if TYPE_CHECKING:
    from racesim.scenario import Channel, Warehouse

__all__ = ["OrderPlan", "draw_plan"]

MAX_COPIES = 3


@dataclass(frozen=True)
class OrderPlan:
    """Per-buyer draws for one channel (arrays of the channel's arrival count)."""

    copies: np.ndarray  # webhook copies the seller will receive: 1, 2 or 3
    latency: np.ndarray  # (n, 3) seconds from the sale to each copy's first attempt; a
    # duplicate's latency counts from its original's arrival
    retry_delay: np.ndarray  # (n, 3) seconds added by failed handler attempts
    dropped: np.ndarray  # (n, 3) bool: every attempt failed; the copy is dead-lettered
    failed_attempts: np.ndarray  # (n, 3) int: handler attempts that failed
    # (the cancellation draws are all 0 on a channel whose buyers never cancel, the
    # return draws all 0 when nothing comes back: no order reads them)
    cancels: np.ndarray  # bool: the buyer cancels before fulfilment
    cancel_after: np.ndarray  # seconds from the sale to the cancellation
    cancel_latency: np.ndarray  # seconds from the cancellation to its webhook
    cancel_lost: np.ndarray  # bool: the cancellation webhook never arrives
    handling: np.ndarray  # seconds the warehouse takes from reservation to shipment
    returns: np.ndarray  # bool: the shipment comes back
    return_delay: np.ndarray  # seconds from shipment to the return's arrival
    confirm_delay: np.ndarray  # seconds from arrival to warehouse confirmation
    return_webhook: np.ndarray  # seconds from confirmation to the RETURN webhook


def _sample(distribution: Sampleable, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.asarray(distribution.sample(rng, n), dtype=float).reshape(n)


def _delays(distribution: Sampleable, streams: Streams, name: str, n: int) -> np.ndarray:
    """``n`` draws of ``distribution`` from stream ``name`` (seconds); a fixed delay draws
    nothing, so its stream is not even made (a replication makes a stream in microseconds,
    and small ones make dozens)."""
    if isinstance(distribution, FixedDuration):
        return np.full(n, float(distribution.value))
    return _sample(distribution, streams(name), n)


def draw_plan(channel: Channel, warehouse: Warehouse, arrivals: Arrivals,
              streams: Streams) -> OrderPlan:
    """Draw the fate of every buyer in ``arrivals`` of ``channel``."""
    n = len(arrivals)
    name = channel.name
    webhook = channel.webhook
    duplicates = getattr(webhook, "duplicates", None)
    p2 = duplicates.p2 if duplicates else 0.0
    p3 = duplicates.p3 if duplicates else 0.0
    if p2 > 0 or p3 > 0:
        u = streams(f"duplicates/{name}").uniform(size=n)
        copies = np.where(u < p3, 3, np.where(u < p3 + p2, 2, 1)).astype(np.int64)
    else:  # every uniform would give one copy: the stream is not read
        copies = np.ones(n, dtype=np.int64)

    # The first copy is the original; a duplicate is sent again later and travels with
    # its own latency, so it can overtake other orders' webhooks but never its original
    # (duplicates must not change when the seller first learns of an order).
    latency = _delays(webhook.latency, streams, f"webhook-latency/{name}",
                      n * MAX_COPIES).reshape(n, MAX_COPIES)
    latency[:, 1:] += latency[:, :1]

    failure_rate = getattr(webhook, "failure_rate", 0.0) or 0.0
    max_attempts = getattr(webhook, "max_attempts", 10)
    failed = np.zeros((n, MAX_COPIES), dtype=np.int64)
    retry_delay = np.zeros((n, MAX_COPIES))
    if failure_rate > 0:
        rng = streams(f"handler-failures/{name}")
        failed = np.minimum(rng.geometric(1.0 - failure_rate, size=(n, MAX_COPIES)) - 1,
                            max_attempts)
        backoffs = _delays(webhook.retry_backoff, streams, f"retry-backoff/{name}",
                           n * MAX_COPIES * max_attempts).reshape(n, MAX_COPIES, max_attempts)
        steps = np.arange(max_attempts)
        retry_delay = np.where(steps < failed[..., None], backoffs, 0.0).sum(axis=2)
    dropped = failed >= max_attempts

    cancels, cancel_share, cancel_lost, cancel_latency = _draw_cancels(channel, n, streams)
    handling = _delays(warehouse.handling_time, streams, f"handling/{name}", n)
    returns, return_delay, confirm_delay, return_webhook = _draw_returns(warehouse, name, n,
                                                                         streams)
    return OrderPlan(copies=copies, latency=latency, retry_delay=retry_delay, dropped=dropped,
                     failed_attempts=failed, cancels=cancels,
                     cancel_after=cancel_share * handling, cancel_latency=cancel_latency,
                     cancel_lost=cancel_lost, handling=handling, returns=returns,
                     return_delay=return_delay, confirm_delay=confirm_delay,
                     return_webhook=return_webhook)


def _draw_cancels(channel: Channel, n: int, streams: Streams
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whether each buyer cancels, when (a share of the handling time), whether the
    webhook is lost, and its latency (seconds).

    A channel whose buyers never cancel reads none of its cancellation streams: nothing
    would read the draws (all False and 0 instead), and no other draw comes from them.
    """
    cancel_rate = getattr(channel, "cancel_rate", 0.0) or 0.0
    if cancel_rate <= 0:
        return np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n)
    name = channel.name
    cancel_rng = streams(f"cancels/{name}")
    loss = getattr(channel, "cancel_webhook_loss", 0.0) or 0.0
    cancels = cancel_rng.uniform(size=n) < cancel_rate
    cancel_share = cancel_rng.uniform(size=n)
    cancel_lost = cancel_rng.uniform(size=n) < loss
    cancel_latency = _sample(channel.webhook.latency, streams(f"cancel-latency/{name}"), n)
    return cancels, cancel_share, cancel_lost, cancel_latency


def _draw_returns(warehouse: Warehouse, name: str, n: int, streams: Streams
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whether each shipment of channel ``name`` comes back, and its three delays (seconds).

    With no returns the returns stream is not read (all False and 0 instead), as for
    cancellations in :func:`_draw_cancels`.
    """
    if warehouse.return_rate <= 0:
        return np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n), np.zeros(n)
    returns_rng = streams(f"returns/{name}")
    returns = returns_rng.uniform(size=n) < warehouse.return_rate
    return_delay = _sample(warehouse.return_delay, returns_rng, n)
    confirm_delay = _sample(warehouse.return_confirm_delay, returns_rng, n)
    return_webhook = _sample(warehouse.return_webhook_delay, returns_rng, n)
    return returns, return_delay, confirm_delay, return_webhook
