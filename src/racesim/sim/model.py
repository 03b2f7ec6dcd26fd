"""The marketplace model: buyers, marketplaces, webhooks, the seller's engine, the warehouse.

One :class:`Simulation` is one replication of a scenario. It drives the *real* engine —
``racesim.ledger.Ledger`` on any store, or the naive counter for comparison — with the
commands a seller's systems would send, at simulated times (seconds):

- a buyer arrives (see :mod:`.demand`) and buys only if the marketplace's own listing
  shows enough; the marketplace decrements its listing at once; a buyer turned away is
  a lost sale, counted under its cause (no stock, the buffer, a stale listing);
- each sale's order webhook reaches the seller in one to three copies, each late by its
  own draw and delayed further by failed handler attempts (see :mod:`.plan`); every
  copy goes through ``reserve``; a ``rejected`` reservation is an oversell and the order
  is cancelled on its marketplace;
- the warehouse ships reserved orders after a handling time (FULFILL), unless the buyer
  cancelled first — then the cancellation webhook RELEASEs the units (or, if it is lost,
  leaves the reservation stranded); some shipments come back (RETURN, recorded early or
  on confirmation: race 2); unrecorded shrinkage and cycle counts (ADJUST) keep the
  ledger honest; restocks arrive after a lead time;
- after every change the seller publishes to each channel what its rule lists —
  ``max(available − buffer, 0)``, or that capped and cut to 0 below a threshold (see
  :mod:`racesim.policy.publishing` and :mod:`.rules`) — which reaches the listings by the
  scenario's sync mode (see :mod:`.sync`).

Physical stock is tracked beside the engine (the "truth"), so the model can measure what
the engine cannot see: visibility gaps, drift, shipments short of stock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import simpy

from racesim.errors import InvariantViolation, OrderStateError, StoreRefused, UnknownOrder
from racesim.ledger import CommandStatus, Ledger
from racesim.ledger.protocol import open_engine
from racesim.sim.claims import Claims
from racesim.sim.demand import day_multipliers, draw_arrivals
from racesim.sim.marketplace import Marketplace
from racesim.sim.money import scenario_costs
from racesim.sim.plan import draw_plan
from racesim.sim.results import SimulationResult, collect
from racesim.sim.rules import GroupState, rules_for
from racesim.sim.sampler import BlockSampler, Sampleable
from racesim.sim.scheduling import ModelEnvironment
from racesim.sim.state import (
    ChannelOrders,
    Counts,
    Logs,
    SimulationState,
    SkuStock,
    is_set,
)
from racesim.sim.streams import Streams
from racesim.sim.sync import SyncContext, make_sync
from racesim.sim.tracking import HiddenStock, VisibilityGaps
from racesim.util.collector import without_cyclic_gc

__all__ = ["Simulation"]

if TYPE_CHECKING:
    from racesim.policy.publishing import ChannelBuffers
    from racesim.scenario import OrderUpToRestockConfig, PeriodicRestockConfig, Scenario

_RESERVED, _REJECTED = CommandStatus.RESERVED, CommandStatus.REJECTED
_DUPLICATE, _MISMATCH = CommandStatus.DUPLICATE, CommandStatus.MISMATCH

P = TypeVar("P")




class Simulation:
    """One replication of a scenario, driving a real engine in a SimPy environment.

    Its state lives in the records of :mod:`.state`, which it owns and writes: ``stock``
    (per SKU), ``orders`` (per channel, per order), ``counts`` and ``logs``; the sync
    process keeps its own ``record``. :meth:`run` hands them to the results as one
    :class:`~racesim.sim.state.SimulationState`.

    ``buffer`` is one buffer policy for every channel, or a mapping from channel name to
    a policy or a :class:`~racesim.policy.publishing.PublishRule` (channels not named
    keep the scenario's rule); a policy replaces a channel's buffer and keeps its cap and
    threshold (see :mod:`.rules`). None: the scenario's rules.
    """

    def __init__(self, scenario: Scenario, seed: np.random.SeedSequence | int, *,
                 store: str | None = None, engine: str | None = None,
                 buffer: ChannelBuffers | None = None,
                 tables: bool = True, discard: bool = False) -> None:
        self.scenario = scenario
        self.discard = discard  # delete the ledger's storage when the run ends
        self.streams = Streams(seed)
        self.env = ModelEnvironment()
        self.skus = list(scenario.skus())
        self.sku_names = [entry.sku for entry in self.skus]
        engine_config = scenario.engine
        self.engine_kind = engine or engine_config.kind
        self.engine = open_engine(self.engine_kind, store or engine_config.store)
        used = self.engine.event_count()
        if used:
            url = self.engine.url
            self.engine.close()
            raise StoreRefused(f"{url}: the ledger already holds {used} events; a simulation "
                               "needs an empty one (a new file, database or schema)")
        self.rules = rules = rules_for(scenario, buffer)
        self.shares = rules.weights
        self.channel_names = [channel.name for channel in scenario.channels]
        self.duration = float(scenario.duration)
        self.warmup = float(scenario.warmup)
        self.tables = tables
        self.counts = Counts()
        self.logs = Logs(tables)
        self._setup_stock()
        self._setup_markets()
        with without_cyclic_gc():  # building per-order lists makes no cyclic garbage either
            self._setup_orders()
        self.claims = Claims(self.stock.claimed, [o.lost_buffer_units for o in self.orders])
        self.sync = make_sync(SyncContext(self.env, scenario, self.streams, self.markets,
                                          self.stock, self.logs, tables))

    # -- set-up --------------------------------------------------------------------------

    def _setup_stock(self) -> None:
        engine, names = self.engine, self.sku_names
        for name, entry in zip(names, self.skus, strict=True):
            if entry.initial_stock > 0:
                engine.restock(name, entry.initial_stock, ref="OPENING", at=0.0)
        rules = self.rules
        self.stock = stock = SkuStock(names, [entry.initial_stock for entry in self.skus],
                                      rules.group_of)
        self.groups = [GroupState(policy, rule.cap, rule.threshold, max(rule.threshold, 1),
                                  stock.group_buffer[g], stock.group_published[g],
                                  rules.channels[g])
                       for g, (rule, policy) in enumerate(zip(rules.rules, rules.policies,
                                                              strict=True))]
        self.hidden = HiddenStock(len(names))
        for k, name in enumerate(names):
            stock.available[k] = engine.available(name)
            self._publish(k, 0.0)

    def _setup_markets(self) -> None:
        self.markets = [Marketplace(name, c, self.stock.published[c], _ignore_listing_change,
                                    self.logs.listings)
                        for c, name in enumerate(self.channel_names)]
        group_of = self.rules.group_of
        self.gaps = VisibilityGaps(len(self.markets), len(self.skus),
                                   [m.listing for m in self.markets],
                                   [[self._sellable(k, group_of[c]) for k in range(len(self.skus))]
                                    for c in range(len(self.markets))])
        for market in self.markets:  # every listing change reaches the gaps directly
            market.on_change = self.gaps.listing

    def _setup_orders(self) -> None:
        scenario, streams = self.scenario, self.streams
        self.orders: list[ChannelOrders] = []
        # a channel's cancellation backoff, made at its first retry: most runs retry none,
        # and its stream is independent of every other, so making it late changes no draw
        self.backoff: list[BlockSampler | None] = [None] * len(scenario.channels)
        factors = day_multipliers(self.skus, self.duration, streams)  # None: all Poisson
        for channel in scenario.channels:
            arrivals = draw_arrivals(channel, self.skus, self.duration,
                                     streams(f"demand/{channel.name}"),
                                     streams(f"units/{channel.name}"), factors)
            plan = draw_plan(channel, scenario.warehouse, arrivals, streams)
            self.orders.append(ChannelOrders(channel.name, arrivals, plan, len(self.skus)))

    # -- plumbing ------------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[P], None], payload: P) -> None:
        """Run ``callback(payload)`` after ``delay`` seconds.

        A plain callback (see :mod:`.scheduling`): no process waits for a shipment, a
        cancellation or a return, so none needs a SimPy event.
        """
        self.env.plain_later(delay, callback, payload)

    def _sellable(self, k: int, g: int) -> bool:
        """Group ``g``'s rule would list units on the shelf and promised to no buyer.

        The truth: units beyond its buffer, and at least its threshold of them.
        """
        stock, group = self.stock, self.groups[g]
        return stock.physical[k] - stock.committed[k] - group.buffers[k] >= group.least

    def _stock_changed(self, k: int) -> None:
        """The engine's figures for SKU ``k`` may have changed: republish if needed."""
        now, stock = self.env.now, self.stock
        available = self.engine.available(self.sku_names[k])
        if available > stock.available[k]:  # a spell of buyers the buffer turned away ends
            self.claims.end_spell(k)
        elif stock.claimed[k] > available:  # a claimed unit is taken: the claim is given back
            self.claims.available_fell(k, available)
        stock.available[k] = available
        if self._publish(k, now, self.gaps):  # the gaps are refreshed in the same pass
            self.logs.published_changes.append((now, k))
            self.sync.notify(k)

    def _publish(self, k: int, now: float, gaps: VisibilityGaps | None = None) -> bool:
        """Apply every group's rule to SKU ``k``'s available units; True if a value changed.

        Updates the buffers, the published values and the hidden units (the shortfall of
        the listed quantity, weighted by demand share across groups). Given ``gaps``, also
        refreshes each group's visibility gaps with the new buffers (what
        :meth:`_physical_changed` does), in the same pass over the groups: every stock
        change needs both.
        """
        stock = self.stock
        name, available = self.sku_names[k], stock.available[k]
        on_hand = available if available > 0 else 0
        shelf = stock.physical[k] - stock.committed[k]
        changed, hidden = False, []
        for policy, cap, threshold, least, buffers, published, channels in self.groups:
            buffer = policy(name, available, now)
            buffers[k] = buffer
            if gaps is not None:
                gaps.stock(now, k, shelf - buffer >= least, channels)
            free = available - buffer
            listed = 0 if free <= 0 or free < threshold else \
                cap if cap is not None and free > cap else free
            hidden.append(on_hand - listed)
            if listed != published[k]:
                published[k] = listed
                changed = True
        if len(hidden) == 1 or min(hidden) == max(hidden):
            self.hidden.update(now, k, hidden[0])
        else:
            self.hidden.update(now, k, math.fsum(w * h for w, h in zip(self.shares, hidden,
                                                                          strict=True)))
        return changed

    def _physical_changed(self, k: int) -> None:
        """The shelf or the promises of SKU ``k`` changed: refresh each group's gaps."""
        stock, now = self.stock, self.env.now
        shelf = stock.physical[k] - stock.committed[k]
        for _, _, _, least, buffers, _, channels in self.groups:
            self.gaps.stock(now, k, shelf - buffers[k] >= least, channels)

    # -- buyers and order webhooks -------------------------------------------------------

    def _schedule_buyers(self) -> None:
        """Merge every channel's buyers into one time-ordered chain of sale events."""
        arrivals = [orders.arrivals for orders in self.orders]
        times = np.concatenate([a.times for a in arrivals])
        channel = np.concatenate([np.full(len(a), c, dtype=np.int64)
                                  for c, a in enumerate(arrivals)])
        index = np.concatenate([np.arange(len(a), dtype=np.int64) for a in arrivals])
        order = np.lexsort((index, channel, times))
        self._buyer_times: list[float] = times[order].tolist()
        self._buyer_channel: list[int] = channel[order].tolist()
        self._buyer_index: list[int] = index[order].tolist()
        self.env.chain(self._buyer_times, self._buyer_arrives)

    def _buyer_arrives(self, n: int) -> None:
        """The n-th buyer of the run arrives, on channel ``c`` as arrival ``j``, wanting
        ``units`` of SKU ``k``: a sale if the listing shows enough.

        Else a lost sale, counted (if placed after the warm-up, as the metrics count) under
        the one cause that holds at this instant. *No stock*: the shelf held fewer
        unpromised units than wanted (physical − committed: the truth, as in
        :meth:`_sellable`). Otherwise the units were there: *the buffer* if the engine
        knew of them (its available units, ``stock.available``) but the value channel c's
        rule lists (``stock.published[c]``, its buffer, cap and threshold applied; both
        refreshed by :meth:`_stock_changed` on every engine write) was below the quantity;
        else *a stale listing*: the listing had not
        caught up with the published value, or the engine with the shelf (returns waiting
        in receiving: race 2). Inline, not a method: this runs for every lost sale.

        A buyer lost to the buffer claims the units it could have bought had nothing been
        hidden (see :mod:`.claims`: given back if a later sale takes them) and only those
        count in ``lost_buffer_units``. Buyers before the warm-up claim too: they would
        have taken the units all the same.

        Buyers are a chain of plain calls (see :meth:`ModelEnvironment.chain`): no process
        waits for a buyer, and most buyers of a small scenario find the listing short, so
        a SimPy event each would be most of a replication's events.
        """
        c, j = self._buyer_channel[n], self._buyer_index[n]
        orders = self.orders[c]
        k, units = orders.sku[j], orders.units[j]
        market = self.markets[c]
        if market.listing[k] < units:
            stock, counted = self.stock, self._buyer_times[n] >= self.warmup
            if stock.physical[k] - stock.committed[k] < units:
                orders.lost_no_stock[k] += counted
            elif stock.available[k] >= units > stock.published[c][k]:
                self.claims.claim(k, c, units, stock.available[k], counted)
                orders.lost_buffer[k] += counted
            else:
                orders.lost_stale_listing[k] += counted
            return
        orders.accepted[j] = True
        self.stock.committed[k] += units  # promised to this buyer from now on
        self._physical_changed(k)
        env = self.env
        market.sell(env.now, k, units)
        self.counts.dead_letter_orders += orders.dropped[j]
        plain_later = env.plain_later  # a copy in flight: no process waits for it
        delays = orders.delays[j]
        for copy in orders.copies[j]:
            plain_later(delays[copy], self._deliver, (c, j, copy))
        if orders.cancels[j]:
            plain_later(float(orders.plan.cancel_after[j]), self._buyer_cancels, (c, j))

    def _deliver(self, copy_of: tuple[int, int, int]) -> None:
        """A copy of the order webhook of arrival ``j`` on channel ``c`` reaches the engine."""
        c, j, copy = copy_of
        now = self.env.now
        orders = self.orders[c]
        k, units = orders.sku[j], orders.units[j]
        result = self.engine.reserve(self.sku_names[k], units, orders.ids[j], orders.name, now)
        status = result.status
        deliveries = orders.deliveries[j] + 1
        orders.deliveries[j] = deliveries
        self.logs.deliveries.append((c, j, copy, now, orders.failed[j][copy], status._value_))
        first = deliveries == 1  # the first copy of this order to reach the engine
        if first:
            orders.first_seen[j] = now
            self.sync.own_order_seen(c, k, units)
        if status is _RESERVED:
            orders.reservations[j] += 1
            if first:
                orders.reserved[j] = now
                self.env.plain_later(orders.handling[j], self._ship, (c, j))
            self._stock_changed(k)
        elif status is _REJECTED:
            if first:
                orders.oversold[j] = now  # the order is cancelled on its marketplace
                self.stock.committed[k] -= units
                self._physical_changed(k)
        elif status is _DUPLICATE:
            self.counts.duplicate += 1
        elif status is _MISMATCH:
            self.counts.mismatch += 1

    # -- cancellations -------------------------------------------------------------------

    def _buyer_cancels(self, order: tuple[int, int]) -> None:
        c, j = order
        orders = self.orders[c]
        plan = orders.plan
        if is_set(orders.oversold[j]):  # already cancelled by the seller
            return
        orders.cancelled[j] = self.env.now
        k = orders.sku[j]
        self.stock.committed[k] -= orders.units[j]  # the unit stays on the shelf
        self._physical_changed(k)
        if not plan.cancel_lost[j]:
            self.call_later(float(plan.cancel_latency[j]), self._deliver_cancel, (c, j, 1))

    def _cancel_backoff(self, c: int) -> float:
        """Seconds before channel ``c``'s next retry of a cancellation webhook."""
        sampler = self.backoff[c]
        if sampler is None:
            channel = self.scenario.channels[c]
            sampler = self.backoff[c] = BlockSampler(
                channel.webhook.retry_backoff, self.streams(f"cancel-backoff/{channel.name}"))
        return sampler()

    def _deliver_cancel(self, cancel: tuple[int, int, int]) -> None:
        c, j, attempt = cancel
        orders = self.orders[c]
        k = orders.sku[j]
        try:
            result = self.engine.release(orders.ids[j], self.sku_names[k], self.env.now)
        except UnknownOrder:  # the order webhook has not arrived yet: the runner retries
            if attempt < self.scenario.channels[c].webhook.max_attempts:
                self.counts.redeliveries += 1
                self.call_later(self._cancel_backoff(c), self._deliver_cancel,
                                (c, j, attempt + 1))
            else:
                self.counts.dead_letter_cancels += 1
            return
        except OrderStateError:
            self.counts.cancel_too_late += 1
            return
        if result.written:
            orders.released[j] = self.env.now
            self._stock_changed(k)

    # -- running -------------------------------------------------------------------------

    def run(self) -> SimulationResult:
        """Simulate the scenario's duration and return its tables and metrics."""
        env, scenario = self.env, self.scenario
        self._schedule_buyers()
        self.sync.start()
        for k, entry in enumerate(self.skus):
            if entry.restock is not None:
                env.process(self._restocks(k, entry.restock))
        warehouse = scenario.warehouse
        if warehouse.shrinkage_per_day > 0:  # else its stream is not even made
            shrink_rng = self.streams("shrinkage")
            for k in range(len(self.skus)):
                for t in _shrinkage_times(warehouse.shrinkage_per_day, self.duration,
                                          shrink_rng):
                    self.call_later(t, self._shrink, k)
        engine = self.engine
        if warehouse.cycle_count_every and isinstance(engine, Ledger):  # engine kind "ledger"
            env.process(self._cycle_counts(engine, float(warehouse.cycle_count_every)))
        if self.warmup > 0:
            self.call_later(self.warmup, self._end_warmup, None)
        try:
            with without_cyclic_gc():
                env.run(until=self.duration)
                self.hidden.close(self.duration)
                self.gaps.close(self.duration)
                result = collect(self.state(), tables=self.tables)
        finally:
            self._close_engine()
        self._release()
        return result

    def state(self) -> SimulationState:
        """The simulation's records as the results read them (see :mod:`.state`)."""
        return SimulationState(
            engine=self.engine, sku_names=self.sku_names, channel_names=self.channel_names,
            duration=self.duration, warmup=self.warmup,
            stranded_after=float(self.scenario.metrics.stranded_after), channels=self.orders,
            stock=self.stock, counts=self.counts, logs=self.logs, gaps=self.gaps,
            hidden=self.hidden, sync=self.sync.record, costs=scenario_costs(self.scenario))

    def _close_engine(self) -> None:
        """Close the engine; with ``discard``, delete its storage (a throwaway ledger)."""
        destroy = getattr(self.engine, "destroy", None)
        if self.discard and callable(destroy):
            destroy()
        else:
            self.engine.close()

    def _release(self) -> None:
        """Break the simulation's reference cycles so that it is freed at once."""
        for market in self.markets:
            market.on_change = _ignore_listing_change
        self.env.drop_pending()

    def _end_warmup(self, _: None) -> None:
        """Metrics count from here: time integrals restart (orders are filtered later)."""
        self.hidden.restart(self.env.now)
        self.gaps.restart(self.env.now)

    def _shrink(self, k: int) -> None:
        physical = self.stock.physical
        if physical[k] > 0:  # a unit vanishes; nobody tells the ledger
            physical[k] -= 1
            self._physical_changed(k)

    def _cycle_counts(self, ledger: Ledger, every: float) -> Generator[simpy.Event, None, None]:
        """Count the shelves; post the difference to the ledger as an ADJUST with a reason."""
        env, number, stock = self.env, 0, self.stock
        while True:
            yield env.timeout(every)
            number += 1
            for k, name in enumerate(self.sku_names):
                recorded = ledger.stock(name).on_hand
                counted = stock.physical[k] - stock.receiving[k]  # returns not yet booked wait
                # in receiving, not on the shelves: counting them would book them twice
                self.logs.drift.append((env.now, k, recorded, counted))
                if recorded != counted:
                    ledger.adjust(name, counted - recorded,
                                       f"cycle count #{number}: {counted} counted, "
                                       f"{recorded} recorded", f"CC-{number}", env.now)
                    self._stock_changed(k)

    # -- warehouse -----------------------------------------------------------------------

    def _ship(self, order: tuple[int, int]) -> None:
        c, j = order
        orders = self.orders[c]
        if is_set(orders.cancelled[j]):
            return  # the buyer cancelled: the marketplace tells the warehouse not to ship
        k, units = orders.sku[j], orders.units[j]
        order_id, name, now = orders.ids[j], self.sku_names[k], self.env.now
        stock = self.stock
        shipped = stock.physical[k] >= units
        if shipped:
            try:
                self.engine.fulfill(order_id, name, now)
            except InvariantViolation:  # the ledger holds fewer units than it promised
                shipped = False
        if not shipped:
            # The ledger promised units that are not on the shelf (shrinkage, or a count
            # booked them out): the warehouse cancels the line — an oversell found late.
            self.counts.short_shipments += 1
            orders.short[j] = now
            self.engine.release(order_id, name, now)
            stock.committed[k] -= units
            self._stock_changed(k)
            return
        orders.fulfilled[j] = now
        # A shipment moves units from reserved to gone: available, the buffer and the
        # unpromised shelf stock are all unchanged, so nothing is republished.
        stock.physical[k] -= units
        stock.committed[k] -= units
        plan = orders.plan
        if plan.returns[j]:
            self.call_later(float(plan.return_delay[j]), self._return_arrives, (c, j))

    def _return_arrives(self, order: tuple[int, int]) -> None:
        c, j = order
        orders = self.orders[c]
        k, units = orders.sku[j], orders.units[j]
        self.stock.physical[k] += units
        orders.return_arrived[j] = self.env.now
        self._physical_changed(k)
        if self.scenario.warehouse.return_recording == "early":
            self._record_return(order)
        else:
            self.stock.receiving[k] += units
            plan = orders.plan
            self.call_later(float(plan.confirm_delay[j] + plan.return_webhook[j]),
                            self._record_return, (c, j))

    def _record_return(self, order: tuple[int, int]) -> None:
        c, j = order
        orders = self.orders[c]
        k, units, order_id = orders.sku[j], orders.units[j], orders.ids[j]
        self.engine.return_(order_id, self.sku_names[k], units, f"RMA-{order_id}", self.env.now)
        orders.return_recorded[j] = self.env.now
        if self.scenario.warehouse.return_recording != "early":
            self.stock.receiving[k] -= units
        self._stock_changed(k)

    def _restocks(self, k: int, config: PeriodicRestockConfig | OrderUpToRestockConfig
                  ) -> Generator[simpy.Event, None, None]:
        """Place purchase orders for SKU ``k``: periodic quantities or order-up-to a level."""
        env, name, stock = self.env, self.sku_names[k], self.stock
        lead = BlockSampler(_as_distribution(config.lead_time),
                            self.streams(f"lead-time/{name}"), 64)
        while True:
            if config.policy == "periodic":
                yield env.timeout(float(config.every))
                quantity = int(config.quantity)
            else:
                yield env.timeout(float(config.review))
                position = self.engine.available(name) + stock.on_order[k]
                if position - stock.claimed[k] <= config.reorder_point:
                    self.claims.end_spell(k)  # had the claimed units sold, this reorders
                if position > config.reorder_point:
                    continue
                quantity = int(config.level) - position
            if quantity > 0:
                stock.purchase_orders[k] += 1
                stock.on_order[k] += quantity
                self.call_later(lead(), self._receive, (k, quantity, stock.purchase_orders[k]))

    def _receive(self, purchase: tuple[int, int, int]) -> None:
        k, quantity, number = purchase
        name, stock = self.sku_names[k], self.stock
        stock.on_order[k] -= quantity
        stock.physical[k] += quantity
        self.engine.restock(name, quantity, f"PO-{name}-{number}", self.env.now)
        self._stock_changed(k)


def _ignore_listing_change(now: float, channel: int, sku: int, value: int) -> None:
    """A finished simulation no longer tracks its listings."""


def _as_distribution(value: float | Sampleable) -> Sampleable:
    """Lead times may be a plain duration (seconds) or a distribution."""
    if isinstance(value, int | float):
        return _FixedDelay(value)
    return value


class _FixedDelay:
    """Always the same delay (seconds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, float(self.seconds))


def _shrinkage_times(rate_per_day: float, duration: float, rng: np.random.Generator) -> list[float]:
    """Times (seconds) of unrecorded unit losses: a Poisson process of the given rate."""
    if rate_per_day <= 0:
        return []
    count = rng.poisson(rate_per_day / 86_400.0 * duration)
    return np.sort(rng.uniform(0.0, duration, count)).tolist()
