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

Swarm versions. A new kind of draw changes what each seed produces, so the swarm has a
version (:data:`SWARM_VERSION`), recorded in every trace and summary, and every version
stays drawable (``racesim chaos --swarm-version N``) so that a seed an older racesim
reported still reproduces. Version 1 is the original swarm. Version 2 adds the key
shapes a real shop produces and version 1 never drew. Their choices come from two new
streams, ``shape-settings`` and ``shapes``, that version 1 never consults, so a version-1
seed draws exactly what it always drew (in version 2 the other streams' later draws
shift too: a new webhook has its copies, a bulk line its own returns):

- one document reference across several SKUs: a purchase order restocking several SKUs,
  a cycle count of the whole shelf, an RMA returning two SKUs of one order;
- one reference across commands and orders: a restock's PO number reused by a
  "damaged on arrival" adjustment of the same SKU; one parcel returning the same SKU
  from two orders (its tracking number as the return's reference);
- order lines of 4 to 50 units (log-uniform), with pallets of stock to match;
- order ids that differ from an earlier one only in case or a leading/trailing space
  (distinct to the ledger, which keys on the exact string), long ids (up to 201
  characters: within the 256 a webhook allows, with room for the HTTP adapter's run
  prefix), and SKUs that differ only in non-ASCII characters.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

import numpy as np

from racesim.errors import RacesimError
from racesim.sim.streams import Streams
from racesim.webhooks.format import Webhook

__all__ = [
    "SWARM_VERSION",
    "SWARM_VERSIONS",
    "ChaosSettings",
    "Delivery",
    "Plan",
    "Planned",
    "copies",
    "draw_plan",
    "draw_settings",
    "swarm_sku",
]

CHANNELS = ("amazon", "allegro", "ebay", "shop")

SWARM_VERSION = 2
"""The swarm a seed draws by default (see the module docstring)."""

SWARM_VERSIONS = (1, 2)
"""Every swarm version that can still be drawn."""

_COLOURS = "紅藍綠黑"
"""Colour names for SKUs that differ only in non-ASCII characters (TEE-紅, TEE-藍, …)."""

_SKU_NAME = re.compile(rf"SKU-\d+|TEE-[{_COLOURS}]")


def swarm_sku(name: str) -> bool:
    """Whether ``name`` is a SKU the swarm draws (so a ledger holding only those is ours)."""
    return _SKU_NAME.fullmatch(name) is not None


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
    # version 2 (all zero in version 1): the key shapes of the module docstring
    swarm_version: int = 1
    shared_ref_rate: float = 0.0  # P(a PO, count or return shares its reference)
    bulk_rate: float = 0.0  # P(an order line is 4–50 units; a restock a pallet)
    lookalike_rate: float = 0.0  # P(an order id differs from an earlier one by case/space)
    id_width: int = 0  # order ids' digits zero-padded to this width (0: short ids)
    unicode_skus: bool = False  # SKUs that differ only in non-ASCII characters

    def to_json(self) -> dict[str, float | int]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


def draw_settings(streams: Streams, version: int = SWARM_VERSION) -> ChaosSettings:
    """Draw a seed's settings for swarm ``version``: calm shops and hostile ones alike."""
    if version not in SWARM_VERSIONS:
        raise RacesimError(f"swarm version {version} is unknown (known: "
                           f"{', '.join(map(str, SWARM_VERSIONS))})")
    rng = streams("settings")
    settings = ChaosSettings(
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
    if version == 1:
        return settings
    extra = streams("shape-settings")
    return replace(settings, swarm_version=version,
                   shared_ref_rate=float(extra.choice([0.0, 0.1, 0.3])),
                   bulk_rate=float(extra.choice([0.0, 0.05, 0.2])),
                   lookalike_rate=float(extra.choice([0.0, 0.05, 0.2])),
                   id_width=int(extra.integers(24, 181)) if extra.random() < 0.25 else 0,
                   unicode_skus=bool(extra.random() < 0.25))


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
    and a copy that arrives hours or days late. From swarm version 2, the key shapes of
    the module docstring, chosen by the ``shapes`` stream.
    """
    rng, copies_rng, delay_rng = streams("workload"), streams("copies"), streams("delays")
    shapes = streams("shapes")  # version 2 and later only: version 1 never draws from it
    s = settings
    v2 = s.swarm_version >= 2

    def odd() -> bool:
        return bool(rng.random() < s.oddity_rate)

    def shape(rate: float) -> bool:
        return v2 and bool(shapes.random() < rate)

    def planned(webhook: Webhook) -> Planned:
        copies = 1
        if copies_rng.random() < s.duplicate_rate:
            copies = 3 if copies_rng.random() < s.triple_share else 2
        late = [float(x) for x in (delay_rng.uniform(0, s.reorder_window, copies)
                                   if s.reorder_window else np.zeros(copies))]
        if copies_rng.random() < s.oddity_rate:  # a retry long after: hours to two days
            late.append(float(delay_rng.uniform(3_600.0, 172_800.0)))
        return Planned(webhook, tuple(x + 0.001 * c for c, x in enumerate(late)))

    def other_sku(sku: str) -> str:
        return skus[(skus.index(sku) + 1 + int(shapes.integers(s.skus - 1))) % s.skus]

    skus = [f"TEE-{c}" for c in _COLOURS[:s.skus]] if s.unicode_skus else \
        [f"SKU-{k}" for k in range(s.skus)]
    popularity = rng.dirichlet(np.ones(s.skus))
    horizon = 20.0 * s.orders
    initial: list[Planned] = []
    shipments: dict[Line, Planned] = {}
    returns: dict[Line, list[Planned]] = {}
    late_cancels: dict[Line, Planned] = {}
    seller_cancels: dict[Line, Planned] = {}
    placed: list[Line] = []  # each order's first line, for look-alike ids
    parcels_of: dict[str, str] = {}  # a SKU's last return parcel, for a shared parcel
    for sku in skus:
        units = int(rng.integers(0, s.opening_stock + 1))
        if shape(s.bulk_rate):  # a pallet on the shelf
            units += int(shapes.integers(20, 121))
        if units:
            initial.append(planned(Webhook("stock.received", 0.0, sku, quantity=units,
                                           ref="OPENING")))
    t = 0.0
    for n in range(s.orders):
        t += float(rng.exponential(20.0))
        channel = CHANNELS[int(rng.integers(len(CHANNELS)))]
        order_id = f"{channel[:3].upper()}-{1000 + n}" if not s.id_width else \
            f"gid://{channel}/Order/{1000 + n:0{s.id_width}d}"
        lines = [skus[int(rng.choice(s.skus, p=popularity))]]
        if placed and shape(s.lookalike_rate):  # an earlier id in another case or spacing
            earlier, sku = placed[int(shapes.integers(len(placed)))]
            taken = {line[0] for line in placed}
            variants = sorted({earlier.lower(), earlier.upper(), f"{earlier} ",
                               f" {earlier}"} - taken)
            if variants:
                order_id, lines[0] = variants[int(shapes.integers(len(variants)))], sku
        placed.append((order_id, lines[0]))
        if s.skus > 1 and odd():  # a second line, on another SKU
            lines.append(skus[(skus.index(lines[0]) + 1 + int(rng.integers(s.skus - 1)))
                              % s.skus])
        one_rma = s.skus > 1 and shape(s.shared_ref_rate)  # both lines back under one RMA
        if one_rma and len(lines) == 1:
            lines.append(other_sku(lines[0]))
        buyer_cancels = rng.random() < s.cancel_rate
        for sku in lines:
            quantity = int(rng.choice([1, 1, 1, 2, 3]))
            if shape(s.bulk_rate):  # 4–50 units, log-uniform
                quantity = int(np.exp(shapes.uniform(np.log(4), np.log(51))))
            line = (order_id, sku)
            initial.append(planned(Webhook("order.created", t, sku, order_id, quantity,
                                           channel)))
            if rng.random() < s.conflict_rate:  # re-sent with other content: a mismatch
                resent = (Webhook("order.created", 0, sku, order_id, quantity + 1, channel)
                          if rng.random() < 0.7 else
                          Webhook("order.created", 0, sku, order_id, quantity,
                                  CHANNELS[(CHANNELS.index(channel) + 1) % len(CHANNELS)]))
                initial.append(planned(replace(resent, at=t + float(rng.exponential(30.0)))))
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
            if rng.random() < s.return_rate or one_rma:
                back = int(rng.integers(1, quantity + 1))
                parcels = [back] if back == 1 or rng.random() < 0.7 else [1, back - 1]
                if odd():
                    parcels.append(quantity)  # together, more back than shipped
                refs = [f"RMA-{n}-{p}" if one_rma else f"RMA-{n}-{sku}-{p}"
                        for p in range(len(parcels))]
                if sku in parcels_of and not one_rma and shape(s.shared_ref_rate):
                    refs[0] = parcels_of[sku]  # in one parcel with another order's return
                parcels_of[sku] = refs[0]
                after = 0.0
                returns[line] = []
                for units, ref in zip(parcels, refs, strict=True):
                    after += float(rng.exponential(900.0))
                    back_in = Webhook("return.received", after, sku, order_id, units,
                                      ref=ref)
                    returns[line].append(planned(back_in))
                    if odd():  # re-sent with another count of units: a mismatch
                        returns[line].append(planned(replace(back_in, at=after + 60.0,
                                                             quantity=units + 1)))
    for r in range(s.restocks):
        at, sku = float(rng.uniform(0, horizon)), skus[int(rng.integers(s.skus))]
        received = Webhook("stock.received", at, sku, quantity=int(rng.integers(2, 11)),
                           ref=f"PO-{r}")
        if shape(s.bulk_rate):  # a pallet
            received = replace(received, quantity=int(shapes.integers(20, 121)))
        initial.append(planned(received))
        if odd():  # the purchase order re-sent with a corrected quantity: a mismatch
            initial.append(planned(replace(received, at=received.at + 120.0,
                                           quantity=received.quantity + 1)))
        if s.skus > 1 and shape(s.shared_ref_rate):  # the same PO restocks other SKUs
            for k, other in enumerate(x for x in skus if x != sku):
                if k == 0 or shapes.random() < 0.5:
                    initial.append(planned(replace(received, at=at + 1.0 + k, sku=other,
                                                   quantity=int(shapes.integers(2, 11)))))
        if shape(s.shared_ref_rate):  # damaged on arrival: an adjustment under the PO's ref
            initial.append(planned(Webhook(
                "stock.adjusted", at + float(shapes.exponential(600.0)), sku,
                quantity=-int(shapes.integers(1, 3)), reason="damaged on arrival",
                ref=received.ref)))
    for c in range(s.cycle_counts):
        counted = Webhook("stock.adjusted", float(rng.uniform(0, horizon)),
                          skus[int(rng.integers(s.skus))],
                          quantity=int(rng.choice([-2, -1, -1, 1])), reason="cycle count",
                          ref=f"COUNT-{c}")
        initial.append(planned(counted))
        if odd():  # the same count re-sent with another figure: a mismatch
            initial.append(planned(replace(counted, at=counted.at + 120.0,
                                           quantity=-counted.quantity)))
        if s.skus > 1 and shape(s.shared_ref_rate):  # the whole shelf, one count's ref
            for k, other in enumerate(x for x in skus if x != counted.sku):
                initial.append(planned(replace(counted, at=counted.at + 1.0 + k, sku=other,
                                               quantity=int(shapes.choice([-2, -1, -1, 1])))))
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
