"""Concurrent chaos: K workers deliver a seed's webhooks at once; the history is checked.

A sequential trace cannot catch an engine that checks, then acts, without a lock: each
delivery finishes before the next begins. Here a seed's webhooks (the same shop as
:func:`racesim.chaos.run.run_seed` draws) are cut into *rounds* of up to K deliveries;
the K workers — threads or processes (:mod:`racesim.chaos.workers`) — wait at a barrier
before each round and then deliver their share of it together, each followed by a read
of its SKU, so the round's commands and reads overlap. Every call is timed by a
:class:`~racesim.chaos.recorder.Recorder`, and the merged history is checked for
linearizability (:mod:`racesim.chaos.linearize`).

Contention on purpose comes from named streams used only here (so K = 1 draws nothing
new): ``contention_duplicates`` puts a copy of a delivery into the same round, racing
itself; ``contention_bursts`` adds bursts — a restock of the SKU's last one or two units,
then one order per worker for it from different channels, released together.

Webhooks of one round carry one time (the round's), so writers that commit in another
order than the webhooks were stamped stay within the ledger's clock tolerance. Crash
points and follow-ups that depend on answers (shipments, returns) belong to the
sequential harness and are not drawn here. An interleaving is not reproducible from the
seed alone: the rounds are, the order workers run in is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from racesim.chaos.engines import EngineSpec
from racesim.chaos.history import Operation
from racesim.chaos.linearize import (
    DEFAULT_MAX_STATES,
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Check,
    check_history,
)
from racesim.chaos.swarm import SWARM_VERSION, Delivery, copies, draw_plan, draw_settings
from racesim.chaos.witness import history_witness
from racesim.chaos.workers import Workers, open_workers, start_workers
from racesim.errors import RacesimError
from racesim.sim.streams import Streams
from racesim.webhooks.format import Webhook

__all__ = ["ConcurrentRun", "draw_rounds", "open_workers", "run_concurrent",
           "run_concurrent_seed"]

MAX_CONCURRENCY = 64
"""Most workers ``--concurrency`` accepts."""

BURST_CHANNELS = ("amazon", "ebay", "shopify", "etsy")
"""Channels a burst's orders come from, in turn."""


def draw_rounds(seed: int, concurrency: int,
                swarm_version: int = SWARM_VERSION) -> list[list[Webhook]]:
    """The seed's deliveries cut into rounds of at most ``concurrency`` webhooks."""
    streams = Streams(np.random.SeedSequence(seed))
    settings = draw_settings(streams, swarm_version)
    plan = draw_plan(settings, streams)
    deliveries: list[Delivery] = []
    for n, planned in enumerate(plan.initial):
        deliveries += copies(planned, planned.webhook.at, len(deliveries), f"W{n}")
    deliveries.sort(key=lambda d: (d.at, d.index))
    webhooks = [replace(d.webhook, at=d.at, crash="") for d in deliveries]
    if concurrency == 1:
        return [[w] for w in webhooks]
    racing, bursts = streams("contention_duplicates"), streams("contention_bursts")
    duplicate_rate, burst_rate = racing.uniform(0.1, 0.5), bursts.uniform(0.05, 0.2)
    rounds: list[list[Webhook]] = []
    pending = list(webhooks)
    while pending:
        batch: list[Webhook] = []
        while pending and len(batch) < concurrency:
            batch.append(pending.pop(0))
            if len(batch) < concurrency and racing.random() < duplicate_rate:
                batch.append(batch[-1])  # the same delivery twice, at once
        at = batch[0].at
        rounds.append([replace(w, at=at) for w in batch])
        if bursts.random() < burst_rate:
            rounds += _burst(len(rounds), batch[0].sku, at, concurrency, bursts)
    return rounds


def _burst(n: int, sku: str, at: float, concurrency: int,
           stream: np.random.Generator) -> list[list[Webhook]]:
    """A restock of the last unit or two, then one order per worker for them at once."""
    units = int(stream.integers(1, 3))
    restock = Webhook("stock.received", at, sku=sku, quantity=units, ref=f"BURST-{n}")
    orders = [Webhook("order.created", at, order_id=f"BURST{n}-{k}", sku=sku, quantity=1,
                      channel=BURST_CHANNELS[k % len(BURST_CHANNELS)])
              for k in range(concurrency)]
    return [[restock], orders]


@dataclass(frozen=True)
class ConcurrentRun:
    """One seed's concurrent run: its history, the verdict and, on failure, the witness."""

    seed: int
    operations: tuple[Operation, ...]
    check: Check
    witness: tuple[Operation, ...]

    @property
    def passed(self) -> bool:
        """Linearizable (an undecided history is never a pass)."""
        return self.check.status == LINEARIZABLE


def run_concurrent_seed(spec: EngineSpec, seed: int, concurrency: int, *,
                        swarm_version: int = SWARM_VERSION,
                        max_states: int = DEFAULT_MAX_STATES,
                        clock: Callable[[], float] | None = None,
                        workers: str | Workers = "thread") -> ConcurrentRun:
    """Deliver seed ``seed`` from ``concurrency`` workers and check the history.

    ``workers``: ``thread`` or ``process`` (started for this seed alone), or workers
    already running (:func:`~racesim.chaos.workers.start_workers`) to reuse across seeds;
    ``clock`` times a thread's calls instead of ``time.monotonic``.
    """
    _check_concurrency(concurrency)
    if isinstance(workers, str):
        with start_workers(workers, spec, concurrency, clock) as started:
            return _run_seed(started, spec, seed, swarm_version, max_states)
    if workers.concurrency != concurrency:
        raise RacesimError(f"{workers.concurrency} workers cannot run --concurrency "
                           f"{concurrency}")
    return _run_seed(workers, spec, seed, swarm_version, max_states)


def _check_concurrency(concurrency: int) -> None:
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise RacesimError(f"--concurrency must be 1 to {MAX_CONCURRENCY} (got {concurrency})")


def _run_seed(workers: Workers, spec: EngineSpec, seed: int, swarm_version: int,
              max_states: int) -> ConcurrentRun:
    """One seed's rounds delivered by ``workers``, its history checked; a passing seed's
    throwaway store is deleted, a failing one's kept."""
    rounds = draw_rounds(seed, workers.concurrency, swarm_version)
    delivered = workers.deliver(spec, f"s{seed}", rounds)
    operations = delivered.operations
    check = check_history(operations, max_states)
    witness = history_witness(operations, check, max_states)
    if delivered.keeper is not None:
        if check.status == NOT_LINEARIZABLE and check.failing is not None:
            delivered.keeper.close()
        else:
            spec.discard(delivered.keeper)
    return ConcurrentRun(seed, tuple(operations), check, tuple(witness))


def run_concurrent(spec: EngineSpec, seeds: Iterable[int], concurrency: int, *,
                   swarm_version: int = SWARM_VERSION, max_states: int = DEFAULT_MAX_STATES,
                   stop_at_failure: bool = False, workers: str = "thread") -> list[ConcurrentRun]:
    """Run every seed concurrently, one after another (each seed's K workers share the
    cores); with ``stop_at_failure``, stop after the first seed that is not linearizable.

    ``workers``: ``thread`` or ``process``; worker processes start once for all seeds.
    """
    _check_concurrency(concurrency)
    runs: list[ConcurrentRun] = []
    with start_workers(workers, spec, concurrency) as started:
        for seed in seeds:
            runs.append(_run_seed(started, spec, seed, swarm_version, max_states))
            if stop_at_failure and not runs[-1].passed:
                break
    return runs
