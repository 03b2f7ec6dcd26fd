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

    The parts are drawn in a fixed order — opening stock, orders, restocks, cycle
    counts — each from the streams it always used, so that a seed draws the same plan
    whichever racesim drew it (a test pins the plans of 50 seeds of each version).
    """
    shop = _ShopDraw(settings, streams)
    shop.opening_stock()
    shop.orders()
    for r in range(settings.restocks):
        shop.restock(r)
    for c in range(settings.cycle_counts):
        shop.cycle_count(c)
    return shop.plan


@dataclass(frozen=True, slots=True)
class _Order:
    """One order as drawn: what every one of its lines shares."""

    n: int  # the order's number in the seed, for its id and return references
    at: float  # sending time of its order.created webhooks (seconds)
    order_id: str
    channel: str
    buyer_cancels: bool  # the buyer cancels it, whatever the engine answered
    one_rma: bool  # every line comes back under one RMA reference (version 2)


class _ShopDraw:
    """The draws of :func:`draw_plan`, one method per part of the shop, into one plan.

    Four streams: ``workload`` (what happens and when), ``copies`` and ``delays`` (how
    many copies of a webhook reach the seller, and how late), and ``shapes`` (version 2's
    key shapes; version 1 never draws from it). Each method draws from them in exactly
    the order the swarm always did: reordering two draws changes every later one.
    """

    def __init__(self, settings: ChaosSettings, streams: Streams) -> None:
        self.settings = s = settings
        self.rng, self.copies_rng = streams("workload"), streams("copies")
        self.delay_rng, self.shapes = streams("delays"), streams("shapes")
        self.v2 = s.swarm_version >= 2
        self.skus = [f"TEE-{c}" for c in _COLOURS[:s.skus]] if s.unicode_skus else \
            [f"SKU-{k}" for k in range(s.skus)]
        self.popularity = self.rng.dirichlet(np.ones(s.skus))
        self.horizon = 20.0 * s.orders  # restocks and counts fall in [0, horizon) seconds
        self.plan = Plan(initial=[], shipments={}, returns={}, late_cancels={},
                         seller_cancels={})
        self.placed: list[Line] = []  # each order's first line, for look-alike ids
        self.parcels_of: dict[str, str] = {}  # a SKU's last return parcel, to share one

    # -- the draws every part uses --------------------------------------------------------

    def odd(self) -> bool:
        """Whether one of the rarer hostile events happens (``oddity_rate``)."""
        return bool(self.rng.random() < self.settings.oddity_rate)

    def shape(self, rate: float) -> bool:
        """Whether a version-2 key shape happens; never in version 1 (and no draw)."""
        return self.v2 and bool(self.shapes.random() < rate)

    def planned(self, webhook: Webhook) -> Planned:
        """``webhook`` with the lateness of each of its 1–3 copies (and a rare late retry)."""
        s = self.settings
        copies = 1
        if self.copies_rng.random() < s.duplicate_rate:
            copies = 3 if self.copies_rng.random() < s.triple_share else 2
        late = [float(x) for x in (self.delay_rng.uniform(0, s.reorder_window, copies)
                                   if s.reorder_window else np.zeros(copies))]
        if self.copies_rng.random() < s.oddity_rate:  # a retry long after: hours to two days
            late.append(float(self.delay_rng.uniform(3_600.0, 172_800.0)))
        return Planned(webhook, tuple(x + 0.001 * c for c, x in enumerate(late)))

    def send(self, webhook: Webhook) -> None:
        """Add ``webhook`` to the webhooks sent whatever the engine does."""
        self.plan.initial.append(self.planned(webhook))

    def other_sku(self, sku: str) -> str:
        """Another SKU than ``sku``, chosen by the ``shapes`` stream."""
        s, skus = self.settings, self.skus
        return skus[(skus.index(sku) + 1 + int(self.shapes.integers(s.skus - 1))) % s.skus]

    # -- the parts of the shop, in the order they are drawn --------------------------------

    def opening_stock(self) -> None:
        """Each SKU's units on the shelf at the start (a pallet, now and then, in v2)."""
        s = self.settings
        for sku in self.skus:
            units = int(self.rng.integers(0, s.opening_stock + 1))
            if self.shape(s.bulk_rate):  # a pallet on the shelf
                units += int(self.shapes.integers(20, 121))
            if units:
                self.send(Webhook("stock.received", 0.0, sku, quantity=units, ref="OPENING"))

    def orders(self) -> None:
        """The seed's orders, one every 20 s on average (a Poisson stream)."""
        t = 0.0
        for n in range(self.settings.orders):
            t += float(self.rng.exponential(20.0))
            self.order(n, t)

    def order(self, n: int, at: float) -> None:
        """Order ``n``, sent at ``at``: its lines, and what becomes of each of them."""
        s, skus = self.settings, self.skus
        channel = CHANNELS[int(self.rng.integers(len(CHANNELS)))]
        order_id, first = self._first_line(n, channel)
        lines = [first]
        if s.skus > 1 and self.odd():  # a second line, on another SKU
            lines.append(skus[(skus.index(first) + 1 + int(self.rng.integers(s.skus - 1)))
                              % s.skus])
        one_rma = s.skus > 1 and self.shape(s.shared_ref_rate)  # both lines back, one RMA
        if one_rma and len(lines) == 1:
            lines.append(self.other_sku(first))
        buyer_cancels = bool(self.rng.random() < s.cancel_rate)
        order = _Order(n, at, order_id, channel, buyer_cancels, one_rma)
        for sku in lines:
            self._order_line(order, sku)

    def _first_line(self, n: int, channel: str) -> Line:
        """Order ``n``'s id and first SKU: new, or (v2) an earlier id in another case."""
        s = self.settings
        order_id = f"{channel[:3].upper()}-{1000 + n}" if not s.id_width else \
            f"gid://{channel}/Order/{1000 + n:0{s.id_width}d}"
        sku = self.skus[int(self.rng.choice(s.skus, p=self.popularity))]
        if self.placed and self.shape(s.lookalike_rate):  # an earlier id, cased or spaced
            earlier, earlier_sku = self.placed[int(self.shapes.integers(len(self.placed)))]
            taken = {line[0] for line in self.placed}
            variants = sorted({earlier.lower(), earlier.upper(), f"{earlier} ",
                               f" {earlier}"} - taken)
            if variants:
                order_id = variants[int(self.shapes.integers(len(variants)))]
                sku = earlier_sku
        self.placed.append((order_id, sku))
        return order_id, sku

    def _order_line(self, order: _Order, sku: str) -> None:
        """One line of ``order``: its webhook(s), and the follow-ups the answer triggers."""
        s = self.settings
        quantity = int(self.rng.choice([1, 1, 1, 2, 3]))
        if self.shape(s.bulk_rate):  # 4–50 units, log-uniform
            quantity = int(np.exp(self.shapes.uniform(np.log(4), np.log(51))))
        self._order_created(order, sku, quantity)
        self.plan.seller_cancels[(order.order_id, sku)] = self.planned(Webhook(
            "order.cancelled", float(self.rng.exponential(60.0)), sku, order.order_id))
        if order.buyer_cancels:  # whatever the engine said
            self._cancelled_by_buyer(order, sku)
        else:
            self._shipped(order, sku, quantity)

    def _order_created(self, order: _Order, sku: str, quantity: int) -> None:
        """The line's order.created webhook, sometimes re-sent with other content."""
        channel = order.channel
        self.send(Webhook("order.created", order.at, sku, order.order_id, quantity, channel))
        if self.rng.random() < self.settings.conflict_rate:  # re-sent: a mismatch
            resent = (Webhook("order.created", 0, sku, order.order_id, quantity + 1, channel)
                      if self.rng.random() < 0.7 else
                      Webhook("order.created", 0, sku, order.order_id, quantity,
                              CHANNELS[(CHANNELS.index(channel) + 1) % len(CHANNELS)]))
            self.send(replace(resent, at=order.at + float(self.rng.exponential(30.0))))

    def _cancelled_by_buyer(self, order: _Order, sku: str) -> None:
        """The buyer's cancellation, and now and then a shipment or return that can't apply."""
        cancelled = order.at + float(self.rng.exponential(120.0))
        self.send(Webhook("order.cancelled", cancelled, sku, order.order_id))
        if self.odd():  # the warehouse ships it anyway: never applies
            self.send(Webhook("order.shipped", cancelled + float(self.rng.exponential(300.0)),
                              sku, order.order_id))
        if self.odd():  # a "return" of an order that never shipped
            self.send(Webhook("return.received", cancelled + float(self.rng.exponential(900.0)),
                              sku, order.order_id, 1, ref=f"RMA-{order.n}-{sku}-x"))

    def _shipped(self, order: _Order, sku: str, quantity: int) -> None:
        """A reserved line's follow-ups: its shipment, a too-late cancel, its returns."""
        line = (order.order_id, sku)
        self.plan.shipments[line] = self.planned(Webhook(
            "order.shipped", float(self.rng.exponential(300.0)), sku, order.order_id))
        if self.odd():  # the buyer cancels after it shipped: too late, never applies
            self.plan.late_cancels[line] = self.planned(Webhook(
                "order.cancelled", float(self.rng.exponential(600.0)), sku, order.order_id))
        if self.rng.random() < self.settings.return_rate or order.one_rma:
            self._returned(order, sku, quantity)

    def _returned(self, order: _Order, sku: str, quantity: int) -> None:
        """Units of a shipped line coming back, in one parcel or two (or, oddly, more)."""
        back = int(self.rng.integers(1, quantity + 1))
        parcels = [back] if back == 1 or self.rng.random() < 0.7 else [1, back - 1]
        if self.odd():
            parcels.append(quantity)  # together, more back than shipped
        refs = self._return_refs(order, sku, len(parcels))
        after = 0.0
        returns = self.plan.returns[(order.order_id, sku)] = []
        for units, ref in zip(parcels, refs, strict=True):
            after += float(self.rng.exponential(900.0))
            back_in = Webhook("return.received", after, sku, order.order_id, units, ref=ref)
            returns.append(self.planned(back_in))
            if self.odd():  # re-sent with another count of units: a mismatch
                returns.append(self.planned(replace(back_in, at=after + 60.0,
                                                    quantity=units + 1)))

    def _return_refs(self, order: _Order, sku: str, parcels: int) -> list[str]:
        """Each parcel's reference: per line, per order (one RMA) or (v2) a shared parcel."""
        refs = [f"RMA-{order.n}-{p}" if order.one_rma else f"RMA-{order.n}-{sku}-{p}"
                for p in range(parcels)]
        if sku in self.parcels_of and not order.one_rma and \
                self.shape(self.settings.shared_ref_rate):
            refs[0] = self.parcels_of[sku]  # in one parcel with another order's return
        self.parcels_of[sku] = refs[0]
        return refs

    def restock(self, r: int) -> None:
        """Purchase order ``r``: received stock, perhaps re-sent, shared or damaged (v2)."""
        s, shapes = self.settings, self.shapes
        at = float(self.rng.uniform(0, self.horizon))
        sku = self.skus[int(self.rng.integers(s.skus))]
        received = Webhook("stock.received", at, sku, quantity=int(self.rng.integers(2, 11)),
                           ref=f"PO-{r}")
        if self.shape(s.bulk_rate):  # a pallet
            received = replace(received, quantity=int(shapes.integers(20, 121)))
        self.send(received)
        if self.odd():  # the purchase order re-sent with a corrected quantity: a mismatch
            self.send(replace(received, at=received.at + 120.0, quantity=received.quantity + 1))
        if s.skus > 1 and self.shape(s.shared_ref_rate):  # the same PO restocks other SKUs
            for k, other in enumerate(x for x in self.skus if x != sku):
                if k == 0 or shapes.random() < 0.5:
                    self.send(replace(received, at=at + 1.0 + k, sku=other,
                                      quantity=int(shapes.integers(2, 11))))
        if self.shape(s.shared_ref_rate):  # damaged on arrival: an adjustment, the PO's ref
            self.send(Webhook("stock.adjusted", at + float(shapes.exponential(600.0)), sku,
                              quantity=-int(shapes.integers(1, 3)), reason="damaged on arrival",
                              ref=received.ref))

    def cycle_count(self, c: int) -> None:
        """Cycle count ``c``: one SKU's correction, perhaps re-sent, or (v2) a whole shelf."""
        s = self.settings
        counted = Webhook("stock.adjusted", float(self.rng.uniform(0, self.horizon)),
                          self.skus[int(self.rng.integers(s.skus))],
                          quantity=int(self.rng.choice([-2, -1, -1, 1])), reason="cycle count",
                          ref=f"COUNT-{c}")
        self.send(counted)
        if self.odd():  # the same count re-sent with another figure: a mismatch
            self.send(replace(counted, at=counted.at + 120.0, quantity=-counted.quantity))
        if s.skus > 1 and self.shape(s.shared_ref_rate):  # the whole shelf, one count's ref
            for k, other in enumerate(x for x in self.skus if x != counted.sku):
                self.send(replace(counted, at=counted.at + 1.0 + k, sku=other,
                                  quantity=int(self.shapes.choice([-2, -1, -1, 1]))))


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
