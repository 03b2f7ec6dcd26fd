"""The duplicate-webhook demo: one burst of orders, delivered 1–3 times each, out of order.

The same deliveries go to the ledger and to a naive counter. The ledger reserves each
order line once and refuses what it does not have; the counter decrements on every copy,
so it under-counts stock and "reserves" more than the warehouse holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from racesim.ledger import CommandStatus, Ledger
from racesim.ledger.naive import NaiveCounter

__all__ = ["Delivery", "DemoSetup", "duplicate_storm", "plan_deliveries"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One copy of an order webhook as the seller receives it."""

    order_id: str
    sku: str
    quantity: int
    channel: str
    copy: int  # 1 for the first copy of the order, 2 and 3 for duplicates


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """The burst: stock per SKU, how many orders, which channels, how often copies come."""

    stock: tuple[tuple[str, int], ...] = (("MUG-RED", 9), ("MUG-BLUE", 5), ("LAMP", 1))
    channels: tuple[str, ...] = ("amazon", "allegro", "ebay")
    orders: int = 20
    p2: float = 0.35  # probability an order's webhook arrives twice
    p3: float = 0.15  # … three times
    reorder_window: int = 6  # a delivery may overtake up to this many others


def plan_deliveries(setup: DemoSetup, seed: int) -> list[Delivery]:
    """The burst's deliveries in arrival order (reproducible from ``seed``)."""
    demand, copies_rng, order_rng = (np.random.default_rng(s)
                                     for s in np.random.SeedSequence(seed).spawn(3))
    skus = [sku for sku, _ in setup.stock]
    deliveries: list[Delivery] = []
    for n in range(setup.orders):
        sku = skus[demand.integers(len(skus))]
        channel = setup.channels[demand.integers(len(setup.channels))]
        copies = int(copies_rng.choice([1, 2, 3], p=[1 - setup.p2 - setup.p3, setup.p2,
                                                     setup.p3]))
        deliveries += [Delivery(f"{channel[:3].upper()}-{1000 + n}", sku, 1, channel, c)
                       for c in range(1, copies + 1)]
    # Each delivery is late by a random number of slots: copies overtake one another.
    lateness = np.arange(len(deliveries)) + order_rng.uniform(0, setup.reorder_window,
                                                              len(deliveries))
    return [deliveries[i] for i in np.argsort(lateness, kind="stable")]


def duplicate_storm(ledger: Ledger, seed: int = 1,
                    setup: DemoSetup = DemoSetup()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deliver the burst to ``ledger`` and to a naive counter; return (summary, deliveries).

    ``summary`` has one row per SKU: the stock, orders and deliveries; what the ledger
    reserved, refused (oversold) and absorbed as duplicates; where each engine's available
    count ends; how many duplicate copies the naive counter sold as if they were orders
    (phantom reservations) and how many orders it refused although the ledger could
    sell them (lost sales caused by the phantoms).
    ``deliveries`` has one row per delivery with both engines' answers.
    """
    naive = NaiveCounter()
    for sku, units in setup.stock:
        ledger.restock(sku, units, ref="PO-OPENING", at=0.0)
        naive.restock(sku, units, ref="PO-OPENING")
    rows = []
    for at, d in enumerate(plan_deliveries(setup, seed), start=1):
        ours = ledger.reserve(d.sku, d.quantity, order_id=d.order_id, channel=d.channel,
                              at=float(at))
        theirs = naive.reserve(d.sku, d.quantity, order_id=d.order_id, channel=d.channel)
        decision = ours.decision or ours.status
        rows.append({"arrival": at, "order_id": d.order_id, "sku": d.sku,
                     "channel": d.channel, "copy": d.copy, "ledger": ours.status.value,
                     "ledger_decision": decision.value, "naive_counter": theirs.status.value})
    deliveries = pd.DataFrame(rows)
    summary = []
    for sku, units in setup.stock:
        mine = deliveries[deliveries["sku"] == sku]
        first = mine.drop_duplicates("order_id")
        naive_sold = mine.groupby("order_id")["naive_counter"].apply(
            lambda answers: (answers == CommandStatus.RESERVED.value).sum())
        reserved = int((first["ledger_decision"] == CommandStatus.RESERVED.value).sum())
        ledger_sold = set(first.loc[first["ledger_decision"] == CommandStatus.RESERVED.value,
                                    "order_id"])
        summary.append({
            "sku": sku, "stock": units, "orders": len(first), "deliveries": len(mine),
            "reserved": reserved,
            "oversold": int((first["ledger_decision"] == CommandStatus.REJECTED.value).sum()),
            "duplicates_absorbed": int((mine["ledger"] == CommandStatus.DUPLICATE.value).sum()),
            "ledger_available": ledger.available(sku),
            "naive_available": naive.available(sku),
            "naive_phantom_reservations": int((naive_sold - 1).clip(lower=0).sum()),
            "naive_refused_sellable": sum(1 for order in ledger_sold if naive_sold[order] == 0),
        })
    return pd.DataFrame(summary).set_index("sku"), deliveries
