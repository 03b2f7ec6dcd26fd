"""Contention on purpose: a seed's deliveries cut into rounds for K workers, and races.

:func:`draw_rounds` takes the webhooks a seed's shop sends (the same plan as
:func:`racesim.chaos.run.run_seed` draws), in the order they reach the handler, and cuts
them into *rounds* of at most K deliveries that K workers send at once. At K = 1 every
round is one delivery and nothing else is drawn. Above 1, named streams used only there
add races, each stream drawn in a fixed order so that adding a kind of race later leaves
the others' draws alone:

``contention_duplicates``
    a copy of a delivery in the same round, racing itself;
``contention_bursts``
    a restock of a SKU's last unit or two, then one order per worker for it from several
    channels, released together;
``contention_cancels``
    a buyer's cancel racing its order: a round holding a copy of an order and its
    cancellation (and, half the time, a second copy of the order), just before the round
    that held the order. When that copy is the line's first delivery, the cancel may land
    before it — a correct engine refuses it, and it is redelivered; when the line was
    reserved already, its repeat is in flight while the cancel frees it;
``contention_restocks``
    a restock racing reservations of its SKU: one round of a restock and orders for more
    units than the SKU had before it (by the rounds applied in order), so whether the last
    orders are reserved depends on whether the restock lands first.

The drawn rounds come first and the races only add rounds, so the rounds without them
are the rounds earlier versions drew. :func:`deliver_share` is one worker's part: it
waits at the barrier before each round, and redelivers in the next round what the engine
refused, as our job runner redelivers a refused webhook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from racesim.chaos.recorder import Recorder
from racesim.chaos.reference import ReferenceModel
from racesim.chaos.run import MAX_ATTEMPTS
from racesim.chaos.swarm import SWARM_VERSION, Delivery, copies, draw_plan, draw_settings
from racesim.sim.streams import Streams
from racesim.webhooks.format import Webhook

__all__ = ["BURST_CHANNELS", "REDELIVERY_ROUNDS", "deliver_share", "draw_rounds"]

BURST_CHANNELS = ("amazon", "ebay", "shopify", "etsy")
"""Channels a burst's orders come from, in turn."""

REDELIVERY_ROUNDS = MAX_ATTEMPTS - 1
"""Rounds after the drawn ones in which the workers redeliver what is still refused, so
that every refused delivery is sent up to ``MAX_ATTEMPTS`` times in all."""


def draw_rounds(seed: int, concurrency: int,
                swarm_version: int = SWARM_VERSION) -> list[list[Webhook]]:
    """The seed's deliveries cut into rounds of at most ``concurrency`` webhooks (with the
    races of the module docstring above 1)."""
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
    rounds = _duplicates_and_bursts(webhooks, concurrency, streams)
    return _races(rounds, concurrency, streams("contention_cancels"),
                  streams("contention_restocks"))


def _duplicates_and_bursts(webhooks: list[Webhook], concurrency: int,
                           streams: Streams) -> list[list[Webhook]]:
    """Rounds of up to K deliveries, with racing copies and bursts (the first two streams)."""
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
    restock = Webhook("stock.received", at, sku, quantity=units, ref=f"BURST-{n}")
    orders = [Webhook("order.created", at, order_id=f"BURST{n}-{k}", sku=sku, quantity=1,
                      channel=BURST_CHANNELS[k % len(BURST_CHANNELS)])
              for k in range(concurrency)]
    return [[restock], orders]


def _races(rounds: list[list[Webhook]], concurrency: int, cancels: np.random.Generator,
           restocks: np.random.Generator) -> list[list[Webhook]]:
    """The rounds with cancels racing orders before them and restocks racing orders after.

    A reference model follows the rounds in order, so that a restock race can ask for more
    units than its SKU holds just then (an estimate: interleavings may differ).
    """
    cancel_rate, restock_rate = cancels.uniform(0.05, 0.25), restocks.uniform(0.03, 0.12)
    model = ReferenceModel()
    raced: list[list[Webhook]] = []
    for n, round_ in enumerate(rounds):
        orders = [w for w in round_ if w.type == "order.created"]
        added: list[list[Webhook]] = [round_]
        if orders and cancels.random() < cancel_rate:
            order = orders[int(cancels.integers(len(orders)))]
            added.insert(0, _cancel_race(n, order, concurrency, cancels))
        for webhook in (w for r in added for w in r):
            model.apply(webhook)
        if restocks.random() < restock_rate:
            sku = round_[0].sku
            added.append(_restock_race(n, sku, round_[0].at, model.figures(sku).available,
                                       concurrency, restocks))
            for webhook in added[-1]:
                model.apply(webhook)
        raced += added
    return raced


def _cancel_race(n: int, order: Webhook, concurrency: int,
                 stream: np.random.Generator) -> list[Webhook]:
    """A copy of ``order`` and the buyer's cancellation of its line, at once (and, half the
    time when three fit, a second copy of the order racing both)."""
    cancel = Webhook("order.cancelled", order.at, order.sku, order.order_id,
                     id=f"RACE{n}-cancel")
    second = concurrency >= 3 and stream.random() < 0.5
    return [order, cancel, *([order] if second else [])]


def _restock_race(n: int, sku: str, at: float, available: int, concurrency: int,
                  stream: np.random.Generator) -> list[Webhook]:
    """A restock of 1–3 units and orders (one per other worker, as even as whole units
    allow) for more than the ``available`` units before it, and no more than after it."""
    units = int(stream.integers(1, 4))
    wanted = max(available, 0) + units
    count = min(concurrency - 1, wanted)
    restock = Webhook("stock.received", at, sku, quantity=units, ref=f"RACE-{n}")
    orders = [Webhook("order.created", at, sku, f"RACE{n}-{k}",
                      wanted // count + (k < wanted % count),
                      BURST_CHANNELS[k % len(BURST_CHANNELS)])
              for k in range(count)]
    return [restock, *orders]


def deliver_share(recorder: Recorder, rounds: list[list[Webhook]], worker: int,
                  wait: Callable[[], object]) -> None:
    """Worker ``worker``'s part of the rounds, each delivery followed by a read of its SKU.

    Before each round it calls ``wait`` (the workers' barrier); then it redelivers what
    the engine raised on in the round before — stamped with this round's time, racing the
    round — and sends the round's ``worker``-th delivery, if the round has one. A
    delivery is sent at most ``MAX_ATTEMPTS`` times; :data:`REDELIVERY_ROUNDS` rounds
    after the drawn ones leave time for the last refusals. Every worker passes the
    barrier the same number of times.
    """
    due: list[tuple[Webhook, int]] = []  # (webhook, times sent)
    last_at = rounds[-1][0].at if rounds else 0.0
    for number in range(len(rounds) + REDELIVERY_ROUNDS):  # bounded by the rounds
        wait()
        round_ = rounds[number] if number < len(rounds) else []
        at = round_[0].at if round_ else last_at
        retries, due = due, []
        for webhook, sent in retries:
            _deliver(recorder, replace(webhook, at=at), sent, due)
        if worker < len(round_):
            _deliver(recorder, round_[worker], 0, due)


def _deliver(recorder: Recorder, webhook: Webhook, sent: int,
             due: list[tuple[Webhook, int]]) -> None:
    """Send one delivery and read its SKU; if refused, it is due again next round."""
    answer = recorder.command(webhook)
    recorder.read(webhook.sku)
    if "error" in answer and sent + 1 < MAX_ATTEMPTS:
        due.append((webhook, sent + 1))
