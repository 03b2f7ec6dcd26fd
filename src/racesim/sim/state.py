"""The state records of one replication: what the model writes, the sync and results read.

:class:`~racesim.sim.model.Simulation` owns every record here: it builds them before the
run and writes them as events happen. The sync processes (:mod:`.sync`) read the per-SKU
published values and write their pushes, staleness counts and reflections; the results
(:mod:`.results`) read everything once the run has ended, through
:class:`SimulationState`. Neither imports the model.

The records hold parallel lists indexed by SKU number, arrival number or channel number
(not one object per order): the event loop reads and writes them millions of times, and
plain list indexing is what Python does fastest. Times are seconds of simulated time.

**Unset times.** A per-order time that has not happened (yet) is NaN, :data:`UNSET` —
the cheapest encoding in a list of floats and the one numpy and pandas read as missing.
Read it with :func:`is_set` (one time) or :func:`set_mask` (an array of times), never by
comparing a value with itself.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from racesim.ledger import Ledger
    from racesim.ledger.naive import NaiveCounter
    from racesim.sim.demand import Arrivals
    from racesim.sim.money import CostRates
    from racesim.sim.plan import OrderPlan
    from racesim.sim.tracking import HiddenStock, VisibilityGaps

__all__ = ["UNSET", "ChannelOrders", "Counts", "Logs", "Reflections",
           "SimulationState", "SkuStock", "SyncRecord", "is_set", "set_mask"]

UNSET = math.nan
"""A per-order time that has not happened (see the module's docstring)."""


def is_set(at: float) -> bool:
    """Whether the per-order time ``at`` has happened (is not :data:`UNSET`)."""
    return not math.isnan(at)


def set_mask(times: np.ndarray) -> np.ndarray:
    """For an array of per-order times: True where the time has happened."""
    return ~np.isnan(times)


class ChannelOrders:
    """One channel's buyers: their draws and each order's state, indexed by arrival number.

    The draws (``ids`` … ``dropped``) are fixed before the run, from ``arrivals`` and
    ``plan``, as Python lists (numpy scalar indexing is slow in the event loop). The
    state lists are written by the model as the order moves on; every ``…`` time is
    :data:`UNSET` until it happens.
    """

    __slots__ = ("accepted", "arrivals", "cancelled", "cancels", "copies", "delays",
                 "deliveries", "dropped", "failed", "first_seen", "fulfilled", "handling", "ids",
                 "lost_buffer", "lost_buffer_units", "lost_no_stock", "lost_stale_listing",
                 "name", "oversold", "plan", "released", "reservations", "reserved",
                 "return_arrived", "return_recorded", "short", "sku", "units")

    def __init__(self, name: str, arrivals: Arrivals, plan: OrderPlan, skus: int) -> None:
        n = len(arrivals)
        self.name = name
        self.arrivals = arrivals
        self.plan = plan
        # -- draws -----------------------------------------------------------------------
        self.ids = [f"{name}-{j + 1}" for j in range(n)]  # order ids, as the engine sees them
        self.sku: list[int] = arrivals.skus.tolist()  # SKU number of each order
        self.units: list[int] = arrivals.units.tolist()
        self.handling: list[float] = plan.handling.tolist()  # seconds from reserve to ship
        self.cancels: list[bool] = plan.cancels.tolist()  # the buyer will cancel
        self.failed: list[list[int]] = plan.failed_attempts.tolist()  # per webhook copy
        # seconds until each copy of the webhook would reach the engine (copy by copy),
        # the numbers of the copies that do, and how many every handler attempt failed
        # for (dead letters); a sale reads them, most buyers of a small scenario make none
        self.delays: list[list[float]] = (plan.latency + plan.retry_delay).tolist()
        self.copies, self.dropped = _arriving_copies(plan)
        # -- state -----------------------------------------------------------------------
        self.accepted = [False] * n  # the marketplace's listing showed enough: a sale
        self.first_seen = [UNSET] * n  # the first copy of the webhook reached the engine
        self.reserved = [UNSET] * n  # the engine reserved the units (first copy)
        self.oversold = [UNSET] * n  # the engine refused: cancelled on the marketplace
        self.cancelled = [UNSET] * n  # the buyer cancelled
        self.released = [UNSET] * n  # the cancellation released the reservation
        self.fulfilled = [UNSET] * n  # the warehouse shipped it
        self.short = [UNSET] * n  # the warehouse found the shelf short and cancelled it
        self.return_arrived = [UNSET] * n  # the returned units reached the warehouse
        self.return_recorded = [UNSET] * n  # the return was booked in the engine
        self.deliveries = [0] * n  # webhook copies that reached the engine
        self.reservations = [0] * n  # reserve calls answered 'reserved' (naive: may be > 1)
        # Buyers per SKU placed after the warm-up who found the listing short (no order),
        # by the one cause of each as the buyer arrived (they sum to the lost sales the
        # metrics count):
        self.lost_no_stock = [0] * skus  # too few unpromised units on the shelf
        self.lost_buffer = [0] * skus  # the engine had them; the buffer kept them unpublished
        self.lost_stale_listing = [0] * skus  # there, but the listing (or ledger) lagged
        # The units the buffer cost: what those buyers could have bought had nothing been
        # hidden, each at most the available units not already claimed by an earlier
        # buyer of the spell, less any a later sale took (given back: see .claims).
        self.lost_buffer_units = [0] * skus

    def __len__(self) -> int:
        return len(self.ids)


def _arriving_copies(plan: OrderPlan) -> tuple[list[tuple[int, ...]], list[int]]:
    """Per order: the numbers of the copies that reach the engine, and how many of its
    copies were dead-lettered.

    Without a dead letter (no handler failures: the usual case) every copy arrives, and
    orders with as many copies share one tuple of copy numbers.
    """
    copies = plan.copies.tolist()
    if not plan.dropped.any():
        numbers = [tuple(range(c)) for c in range(max(copies, default=0) + 1)]
        return [numbers[c] for c in copies], [0] * len(copies)
    dropped = plan.dropped.tolist()
    return ([tuple(copy for copy in range(c) if not dropped[j][copy])
             for j, c in enumerate(copies)],
            [sum(dropped[j][:c]) for j, c in enumerate(copies)])


class SkuStock:
    """The seller's and the warehouse's figures per SKU, indexed by SKU number (units).

    ``buffer_units`` and ``published`` are per channel, then per SKU
    (``published[c][k]``): channels under one publishing rule (one *group*, see
    :mod:`.rules`) share one list, so the model writes each group's figures once.
    ``group_of[c]`` is channel c's group (all 0 when every channel follows one rule).
    """

    __slots__ = ("available", "buffer_units", "claimed", "committed", "group_buffer",
                 "group_of", "group_published", "names", "on_order", "overstated",
                 "overstated_excess", "physical", "published", "purchase_orders", "receiving")

    def __init__(self, names: list[str], initial: list[int],
                 group_of: tuple[int, ...] = (0,)) -> None:
        n = len(names)
        groups = max(group_of) + 1
        self.names = names
        self.group_of = group_of
        self.physical = list(initial)  # on the shelves or in receiving (the truth)
        self.receiving = [0] * n  # returned units in the warehouse, not yet booked
        self.committed = [0] * n  # units sold on a marketplace, not shipped/cancelled
        self.on_order = [0] * n  # units ordered from suppliers, not yet received
        self.purchase_orders = [0] * n  # purchase orders placed so far (a count)
        self.available = [0] * n  # the engine's available units
        # units claimed by buyers the buffer turned away in the current spell, at most
        # max(available, 0) (a fall of available gives the excess back; a restock,
        # release, return or positive adjust ends the spell, as does an order-up-to
        # review that would have reordered them had they sold): written by .claims only
        self.claimed = [0] * n
        # per group: what its buffer policy withholds now, and what its rule lists
        self.group_buffer = [[0] * n for _ in range(groups)]
        self.group_published = [[0] * n for _ in range(groups)]
        # the same lists per channel: what each listing should show (its rule's q)
        self.buffer_units = [self.group_buffer[g] for g in group_of]
        self.published = [self.group_published[g] for g in group_of]
        self.overstated = [0] * n  # pushes (one per channel) above the channel's published
        self.overstated_excess = [0] * n  # units by which those pushes overstated it


@dataclass(slots=True)
class Counts:
    """Events the model counts as they happen (whole run, warm-up included)."""

    duplicate: int = 0
    """Webhook copies the engine answered 'duplicate'."""
    mismatch: int = 0
    """Webhook copies the engine answered 'mismatch' (same id, different content)."""
    dead_letter_orders: int = 0
    """Order webhook copies every handler attempt failed for."""
    dead_letter_cancels: int = 0
    """Cancellation webhooks that ran out of attempts before the order arrived."""
    cancel_too_late: int = 0
    """Cancellations that reached an order already shipped."""
    short_shipments: int = 0
    """Reserved orders the warehouse could not ship (the shelf held too few units)."""
    redeliveries: int = 0
    """Cancellation webhooks retried because their order had not arrived yet."""


class Logs:
    """Row logs the tables are built from; rows are plain tuples (cheap to append).

    ``deliveries``: (channel, arrival, copy, at, failed attempts, status) per webhook
    copy that reached the engine; ``pushes``: (channel, sku, mode, computed at, sent at,
    visible at, value, published when visible, listing before, listing after, applied)
    per push that reached a listing (only with tables); ``listings``: (at, channel, sku,
    value, cause) per listing change, or None without tables; ``published_changes``:
    (at, sku) per change of a published value; ``drift``: (at, sku, recorded, counted)
    per SKU at each cycle count.
    """

    __slots__ = ("deliveries", "drift", "listings", "published_changes", "pushes")

    def __init__(self, tables: bool) -> None:
        self.deliveries: list[tuple[int, int, int, float, int, str]] = []
        self.pushes: list[tuple[int, int, str, float, float, float, int, int, int, int,
                                bool]] = []
        self.listings: list[tuple[float, int, int, int, str]] | None = [] if tables else None
        self.published_changes: list[tuple[float, int]] = []
        self.drift: list[tuple[float, int, int, int]] = []


class Reflections:
    """One marketplace's reflections as three parallel typed columns.

    A reflection (sku or ``ALL_SKUS`` = −1, computed at, visible at) says that from
    ``visible at`` the listing shows a value the seller computed at ``computed at``: the
    sync-latency metric is built on them. The columns are ``array.array`` buffers of
    machine integers and doubles, so the metric reads them as numpy arrays without
    converting a Python object per value (a replication records one per push).
    """

    __slots__ = ("computed", "sku", "visible")

    def __init__(self) -> None:
        self.sku: array[int] = array("q")
        self.computed: array[float] = array("d")
        self.visible: array[float] = array("d")

    def add(self, sku: int, computed_at: float, visible_at: float) -> None:
        """From ``visible_at`` the listing shows a value computed at ``computed_at``."""
        self.sku.append(sku)
        self.computed.append(computed_at)
        self.visible.append(visible_at)


class SyncRecord:
    """What the sync process leaves for the metrics: reflections per channel, refusals."""

    __slots__ = ("reflections", "refused")

    def __init__(self, channels: int) -> None:
        self.reflections = [Reflections() for _ in range(channels)]
        self.refused = 0  # compare-and-set pushes a marketplace refused


@dataclass(frozen=True, slots=True)
class SimulationState:
    """Everything a finished replication leaves for its metrics and tables.

    ``duration``, ``warmup`` and ``stranded_after`` are seconds (from the scenario);
    ``channels`` and ``channel_names`` are indexed by channel number, ``sku_names`` by
    SKU number.
    """

    engine: Ledger | NaiveCounter
    sku_names: list[str]
    channel_names: list[str]
    duration: float
    warmup: float
    stranded_after: float
    channels: list[ChannelOrders]
    stock: SkuStock
    counts: Counts
    logs: Logs
    gaps: VisibilityGaps
    hidden: HiddenStock
    sync: SyncRecord
    costs: CostRates | None = None
    """The scenario's ``[costs]`` as arrays (:mod:`.money`); None: no money figures."""
