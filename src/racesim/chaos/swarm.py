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
    conflict_rate: float  # P(an order is re-sent with a different quantity or channel)
    oddity_rate: float  # P(each of the rarer hostile events below, per chance)

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
        oddity_rate=float(rng.choice([0.0, 0.05, 0.15])),
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


Line = tuple[str, str]
"""An order line: (order id, SKU)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a seed's shop may send, drawn before the run starts.

    ``initial``: webhooks sent whatever the engine does — orders (some with a second line,
    some re-sent with another quantity or channel), buyers' cancellations, restocks, cycle
    counts, and the odd webhook that can never apply (a shipment of a cancelled order, a
    return of an order that never shipped). The rest are *follow-ups*, per order line,
    that the engine's answers trigger, as in a real shop: a line the engine reserved is
    shipped (``shipments``) and may come back (``returns``, once the shipment is
    recorded), or is cancelled too late (``late_cancels``); a line it rejected is
    cancelled by the seller (``seller_cancels``).
    """

    initial: list[Planned]
    shipments: dict[Line, Planned]
    returns: dict[Line, list[Planned]]
    late_cancels: dict[Line, Planned]
    seller_cancels: dict[Line, Planned]

    @property
    def webhooks(self) -> int:
        """Webhooks the shop sends unconditionally."""
        return len(self.initial)


def draw_plan(settings: ChaosSettings, streams: Streams) -> Plan:
    """Draw the seed's shop: its webhooks, their follow-ups, and every copy's lateness.

    Orders arrive as a Poisson stream (one per 20 s on average) on skewed SKUs, so last
    units are contended; a buyer cancels some (possibly before the order's webhook
    arrives); the rest ship some minutes after being reserved, and some come back, partly
    or in two parcels. Restocks and cycle counts fall anywhere in the period. With the
    seed's ``oddity_rate``, rarer trouble: a second line on another SKU, a cancellation
    after shipping, a shipment after cancelling, a return of more than shipped or of an
    order never shipped, a purchase order, count or return re-sent with other figures,
    and a copy that arrives hours or days late.
    """
    rng, copies_rng, delay_rng = streams("workload"), streams("copies"), streams("delays")
    s = settings

    def odd() -> bool:
        return bool(rng.random() < s.oddity_rate)

    def planned(webhook: Webhook) -> Planned:
        copies = 1
        if copies_rng.random() < s.duplicate_rate:
            copies = 3 if copies_rng.random() < s.triple_share else 2
        late = [float(x) for x in (delay_rng.uniform(0, s.reorder_window, copies)
                                   if s.reorder_window else np.zeros(copies))]
        if copies_rng.random() < s.oddity_rate:  # a retry long after: hours to two days
            late.append(float(delay_rng.uniform(3_600.0, 172_800.0)))
        return Planned(webhook, tuple(x + 0.001 * c for c, x in enumerate(late)))

    skus = [f"SKU-{k}" for k in range(s.skus)]
    popularity = rng.dirichlet(np.ones(s.skus))
    horizon = 20.0 * s.orders
    initial: list[Planned] = []
    shipments: dict[Line, Planned] = {}
    returns: dict[Line, list[Planned]] = {}
    late_cancels: dict[Line, Planned] = {}
    seller_cancels: dict[Line, Planned] = {}
    for sku in skus:
        units = int(rng.integers(0, s.opening_stock + 1))
        if units:
            initial.append(planned(Webhook("stock.received", 0.0, sku, quantity=units,
                                           ref="OPENING")))
    t = 0.0
    for n in range(s.orders):
        t += float(rng.exponential(20.0))
        channel = CHANNELS[int(rng.integers(len(CHANNELS)))]
        order_id = f"{channel[:3].upper()}-{1000 + n}"
        lines = [skus[int(rng.choice(s.skus, p=popularity))]]
        if s.skus > 1 and odd():  # a second line, on another SKU
            lines.append(skus[(skus.index(lines[0]) + 1 + int(rng.integers(s.skus - 1)))
                              % s.skus])
        buyer_cancels = rng.random() < s.cancel_rate
        for sku in lines:
            quantity = int(rng.choice([1, 1, 1, 2, 3]))
            line = (order_id, sku)
            initial.append(planned(Webhook("order.created", t, sku, order_id, quantity,
                                           channel)))
            if rng.random() < s.conflict_rate:  # re-sent with other content: a mismatch
                other = (Webhook("order.created", 0, sku, order_id, quantity + 1, channel)
                         if rng.random() < 0.7 else
                         Webhook("order.created", 0, sku, order_id, quantity,
                                 CHANNELS[(CHANNELS.index(channel) + 1) % len(CHANNELS)]))
                initial.append(planned(replace(other, at=t + float(rng.exponential(30.0)))))
            seller_cancels[line] = planned(Webhook("order.cancelled",
                                                   float(rng.exponential(60.0)), sku,
                                                   order_id))
            if buyer_cancels:  # whatever the engine said
                cancelled = t + float(rng.exponential(120.0))
                initial.append(planned(Webhook("order.cancelled", cancelled, sku, order_id)))
                if odd():  # the warehouse ships it anyway: never applies
                    initial.append(planned(Webhook("order.shipped",
                                                   cancelled + float(rng.exponential(300.0)),
                                                   sku, order_id)))
                if odd():  # a "return" of an order that never shipped
                    initial.append(planned(Webhook("return.received",
                                                   cancelled + float(rng.exponential(900.0)),
                                                   sku, order_id, 1, ref=f"RMA-{n}-{sku}-x")))
                continue
            shipments[line] = planned(Webhook("order.shipped", float(rng.exponential(300.0)),
                                              sku, order_id))
            if odd():  # the buyer cancels after it shipped: too late, never applies
                late_cancels[line] = planned(Webhook("order.cancelled",
                                                     float(rng.exponential(600.0)), sku,
                                                     order_id))
            if rng.random() < s.return_rate:
                back = int(rng.integers(1, quantity + 1))
                parcels = [back] if back == 1 or rng.random() < 0.7 else [1, back - 1]
                if odd():
                    parcels.append(quantity)  # together, more back than shipped
                after = 0.0
                returns[line] = []
                for p, units in enumerate(parcels):
                    after += float(rng.exponential(900.0))
                    back_in = Webhook("return.received", after, sku, order_id, units,
                                      ref=f"RMA-{n}-{sku}-{p}")
                    returns[line].append(planned(back_in))
                    if odd():  # re-sent with another count of units: a mismatch
                        returns[line].append(planned(replace(back_in, at=after + 60.0,
                                                             quantity=units + 1)))
    for r in range(s.restocks):
        received = Webhook("stock.received", float(rng.uniform(0, horizon)),
                           skus[int(rng.integers(s.skus))], quantity=int(rng.integers(2, 11)),
                           ref=f"PO-{r}")
        initial.append(planned(received))
        if odd():  # the purchase order re-sent with a corrected quantity: a mismatch
            initial.append(planned(replace(received, at=received.at + 120.0,
                                           quantity=received.quantity + 1)))
    for c in range(s.cycle_counts):
        counted = Webhook("stock.adjusted", float(rng.uniform(0, horizon)),
                          skus[int(rng.integers(s.skus))],
                          quantity=int(rng.choice([-2, -1, -1, 1])), reason="cycle count",
                          ref=f"COUNT-{c}")
        initial.append(planned(counted))
        if odd():  # the same count re-sent with another figure: a mismatch
            initial.append(planned(replace(counted, at=counted.at + 120.0,
                                           quantity=-counted.quantity)))
    return Plan(initial, shipments, returns, late_cancels, seller_cancels)


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
