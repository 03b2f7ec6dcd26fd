"""One seed's world: what happens in the shop, and how its webhooks reach the engine.

In the manner of swarm testing, each seed first draws its own *settings* — how many SKUs
and orders, how often a webhook is duplicated (0–50 %), how far deliveries may overtake
one another, how often our job runner redelivers or a handler crashes, how much is
cancelled, returned, restocked and counted — so that a few hundred seeds cover calm
shops and hostile ones. Then it draws the shop's *plan*: the webhooks its systems send
(each once), the follow-ups that the engine's answers will trigger (shipping what was
reserved, cancelling what was refused), and for each webhook the lateness of the 1–3
copies that reach the seller.

Everything comes from the seed's named streams (:class:`racesim.sim.streams.Streams`), so
``seed`` alone reproduces the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from racesim.sim.streams import Streams
from racesim.webhooks import Webhook

__all__ = ["ChaosSettings", "Delivery", "Plan", "Planned", "copies", "draw_plan", "draw_settings"]

CHANNELS = ("amazon", "allegro", "ebay", "shop")


@dataclass(frozen=True, slots=True)
class ChaosSettings:
    """What one seed drew. Rates are probabilities; times are seconds."""

    skus: int
    orders: int
    opening_stock: int  # most units of a SKU on the shelf at the start
    duplicate_rate: float  # P(a webhook arrives more than once)
    triple_share: float  # P(three copies | duplicated)
    reorder_window: float  # deliveries are late by U(0, window): copies overtake others
    redelivery_rate: float  # P(our job runner delivers a handled webhook again)
    crash_rate: float  # P(a handler crashes on a delivery)
    cancel_rate: float
    return_rate: float
    restocks: int
    cycle_counts: int
    conflict_rate: float  # P(an order is re-sent with a different quantity)

    def to_json(self) -> dict[str, float | int]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


def draw_settings(streams: Streams) -> ChaosSettings:
    """Draw a seed's settings: calm shops and hostile ones alike."""
    rng = streams("settings")
    return ChaosSettings(
        skus=int(rng.integers(1, 5)),
        orders=int(rng.integers(8, 60)),
        opening_stock=int(rng.integers(1, 16)),
        duplicate_rate=float(rng.uniform(0, 0.5)),
        triple_share=float(rng.uniform(0, 0.5)),
        reorder_window=float(rng.choice([0.0, 5.0, 60.0, 600.0])) * float(rng.uniform(0.5, 1)),
        redelivery_rate=float(rng.uniform(0, 0.2)),
        crash_rate=float(rng.uniform(0, 0.15)),
        cancel_rate=float(rng.uniform(0, 0.4)),
        return_rate=float(rng.uniform(0, 0.4)),
        restocks=int(rng.integers(0, 9)),
        cycle_counts=int(rng.integers(0, 4)),
        conflict_rate=float(rng.choice([0.0, 0.05])),
    )


@dataclass(frozen=True, slots=True)
class Planned:
    """A webhook the shop will send, with the lateness of each copy that reaches us.

    ``webhook.at`` is its sending time — absolute for the shop's own webhooks, relative
    to the moment it is triggered for follow-ups (see :class:`Plan`). One copy per
    element of ``lateness`` (seconds).
    """

    webhook: Webhook
    lateness: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a seed's shop may send, drawn before the run starts.

    ``initial``: webhooks sent whatever the engine does — orders (some re-sent with another
    quantity), buyers' cancellations, restocks, cycle counts. The rest are *follow-ups*
    that the engine's answers trigger, as in a real shop: an order the engine reserved is
    shipped (``shipments``) and may come back (``returns``, after the shipment is
    recorded); an order it rejected is cancelled by the seller (``seller_cancels``).
    """

    initial: list[Planned]
    shipments: dict[str, Planned]
    returns: dict[str, list[Planned]]
    seller_cancels: dict[str, Planned]

    @property
    def webhooks(self) -> int:
        """Webhooks the shop sends unconditionally."""
        return len(self.initial)


def draw_plan(settings: ChaosSettings, streams: Streams) -> Plan:
    """Draw the seed's shop: its webhooks, their follow-ups, and every copy's lateness.

    Orders arrive as a Poisson stream (one per 20 s on average) on skewed SKUs, so last
    units are contended; a buyer cancels some (possibly before the order's webhook
    arrives); the rest ship some minutes after being reserved, and some come back, partly
    or in two parcels. Restocks and cycle counts fall anywhere in the period.
    """
    rng, copies_rng, delay_rng = streams("workload"), streams("copies"), streams("delays")
    s = settings

    def planned(webhook: Webhook) -> Planned:
        copies = 1
        if copies_rng.random() < s.duplicate_rate:
            copies = 3 if copies_rng.random() < s.triple_share else 2
        late = delay_rng.uniform(0, s.reorder_window, copies) if s.reorder_window else \
            np.zeros(copies)
        return Planned(webhook, tuple(float(x) + 0.001 * c for c, x in enumerate(late)))

    skus = [f"SKU-{k}" for k in range(s.skus)]
    popularity = rng.dirichlet(np.ones(s.skus))
    horizon = 20.0 * s.orders
    initial: list[Planned] = []
    shipments: dict[str, Planned] = {}
    returns: dict[str, list[Planned]] = {}
    seller_cancels: dict[str, Planned] = {}
    for sku in skus:
        units = int(rng.integers(0, s.opening_stock + 1))
        if units:
            initial.append(planned(Webhook("stock.received", 0.0, sku, quantity=units,
                                           ref="OPENING")))
    t = 0.0
    for n in range(s.orders):
        t += float(rng.exponential(20.0))
        sku = skus[int(rng.choice(s.skus, p=popularity))]
        channel = CHANNELS[int(rng.integers(len(CHANNELS)))]
        quantity = int(rng.choice([1, 1, 1, 2, 3]))
        order_id = f"{channel[:3].upper()}-{1000 + n}"
        initial.append(planned(Webhook("order.created", t, sku, order_id, quantity, channel)))
        if rng.random() < s.conflict_rate:  # re-sent with another quantity: a mismatch
            initial.append(planned(Webhook("order.created", t + float(rng.exponential(30.0)),
                                           sku, order_id, quantity + 1, channel)))
        seller_cancels[order_id] = planned(Webhook("order.cancelled",
                                                   float(rng.exponential(60.0)), sku,
                                                   order_id))
        if rng.random() < s.cancel_rate:  # the buyer cancels, whatever the engine said
            initial.append(planned(Webhook("order.cancelled",
                                           t + float(rng.exponential(120.0)), sku, order_id)))
            continue
        shipments[order_id] = planned(Webhook("order.shipped", float(rng.exponential(300.0)),
                                              sku, order_id))
        if rng.random() < s.return_rate:
            back = int(rng.integers(1, quantity + 1))
            parcels = [back] if back == 1 or rng.random() < 0.7 else [1, back - 1]
            after = 0.0
            returns[order_id] = []
            for p, units in enumerate(parcels):
                after += float(rng.exponential(900.0))
                returns[order_id].append(planned(Webhook("return.received", after, sku,
                                                         order_id, units,
                                                         ref=f"RMA-{n}-{p}")))
    for r in range(s.restocks):
        initial.append(planned(Webhook("stock.received", float(rng.uniform(0, horizon)),
                                       skus[int(rng.integers(s.skus))],
                                       quantity=int(rng.integers(2, 11)), ref=f"PO-{r}")))
    for c in range(s.cycle_counts):
        delta = int(rng.choice([-2, -1, -1, 1]))
        initial.append(planned(Webhook("stock.adjusted", float(rng.uniform(0, horizon)),
                                       skus[int(rng.integers(s.skus))], quantity=delta,
                                       reason="cycle count", ref=f"COUNT-{c}")))
    return Plan(initial, shipments, returns, seller_cancels)


@dataclass(frozen=True, slots=True, order=True)
class Delivery:
    """One copy of a webhook reaching the seller's handler at time ``at``."""

    at: float
    index: int  # tie-break, and the delivery's identity in the schedule
    webhook: Webhook
    attempt: int = 0  # 0 first delivery; each redelivery of the same copy adds one


def copies(planned: Planned, sent_at: float, first_index: int, tag: str) -> list[Delivery]:
    """The deliveries of a planned webhook sent at ``sent_at`` (tagged with its id)."""
    webhook = replace(planned.webhook, at=sent_at, id=tag)
    return [Delivery(sent_at + late, first_index + c, webhook)
            for c, late in enumerate(planned.lateness)]
