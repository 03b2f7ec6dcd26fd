"""The store contract: what every ledger store must do, as a test case you subclass.

Each test reads as a statement of behaviour a seller can rely on whatever database holds
the ledger. racesim runs it against its memory, SQLite and PostgreSQL stores; a store of
your own (a :class:`~racesim.ledger.store.Store` subclass, registered with
:func:`~racesim.ledger.register_store` or not) runs it by subclassing
:class:`StoreContract` in its own tests and saying how to make a fresh, empty store::

    from racesim.ledger.contract import StoreContract

    class TestMyStore(StoreContract):
        def create_store(self):
            return MyStore(...)          # a new, empty store for each test

Run it with pytest (``pip install 'racesim[testing]'``) or with the standard library's
``python -m unittest``: the suite is a :class:`unittest.TestCase` and needs nothing but
racesim, so this module imports without pytest. Each subclass is collected by pytest;
:class:`StoreContract` itself is not (``__test__ = False``), and under unittest it skips.
Release what the store holds with ``self.addCleanup`` in ``create_store``: the ledger over
it is closed after each test, before the cleanups registered earlier run.
"""

from __future__ import annotations

import unittest
from typing import Any

from racesim.ledger.engine import Ledger
from racesim.ledger.events import (
    CommandResult,
    CommandStatus,
    Event,
    EventKind,
    OrderLine,
    OrderStatus,
    Stock,
)
from racesim.ledger.store import Store

__all__ = ["StoreContract"]

RESERVED, REJECTED = CommandStatus.RESERVED, CommandStatus.REJECTED
DUPLICATE, MISMATCH = CommandStatus.DUPLICATE, CommandStatus.MISMATCH
APPLIED = CommandStatus.APPLIED


class StoreContract(unittest.TestCase):
    """The contract every store meets; subclass it and define :meth:`create_store`."""

    __test__ = False  # the abstract suite itself is not collected; each subclass is
    ledger: Ledger

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__test__ = True

    def create_store(self) -> Store:
        """A new, empty store for one test (override this)."""
        raise NotImplementedError(f"{type(self).__name__} must define create_store(), "
                                  "returning a new, empty store")

    def setUp(self) -> None:
        if type(self) is StoreContract:
            self.skipTest("StoreContract is abstract: subclass it with a create_store()")
        self.ledger = Ledger(self.create_store())
        self.addCleanup(self.ledger.close)

    # -- helpers ---------------------------------------------------------------------------

    def written(self, result: CommandResult) -> Event:
        """The event a command's result names (a test failure when it names none)."""
        if result.event is None:
            self.fail(f"expected the result to name an event, got {result!r}")
        return result.event

    def line(self, order_id: str, sku: str) -> OrderLine:
        """The order line the ledger holds (a test failure when it holds none)."""
        line = self.ledger.order_line(order_id, sku)
        if line is None:
            self.fail(f"expected an order line for ({order_id!r}, {sku!r})")
        return line

    # -- an empty ledger, restocks and reservations ----------------------------------------

    def test_an_empty_ledger_knows_nothing(self) -> None:
        ledger = self.ledger
        self.assertEqual(ledger.stock("SKU-1"), Stock.empty("SKU-1"))
        self.assertEqual(ledger.available("SKU-1"), 0)
        self.assertEqual(ledger.event_count(), 0)
        self.assertEqual(ledger.verify(), [])
        self.assertTrue(ledger.snapshot().empty)

    def test_restock_adds_on_hand_and_available(self) -> None:
        result = self.ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        self.assertIs(result.status, APPLIED)
        self.assertIs(self.written(result).kind, EventKind.RESTOCK)
        self.assertEqual(self.written(result).seq, 1)
        self.assertEqual(self.ledger.stock("SKU-1"), Stock("SKU-1", 5, 0, 0, 0, 1))

    def test_restock_is_idempotent_on_sku_and_ref(self) -> None:
        ledger = self.ledger
        first = ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        again = ledger.restock("SKU-1", 5, ref="PO-1", at=1)
        other = ledger.restock("SKU-1", 7, ref="PO-1", at=2)
        same_ref_other_sku = ledger.restock("SKU-2", 5, ref="PO-1", at=3)
        self.assertIs(again.status, DUPLICATE)
        self.assertEqual(again.event, first.event)
        self.assertIs(other.status, MISMATCH)
        self.assertIn("quantity", other.detail)
        self.assertIs(same_ref_other_sku.status, APPLIED)
        self.assertEqual(ledger.available("SKU-1"), 5)
        self.assertEqual(ledger.event_count(), 2)

    def test_reserve_takes_from_available(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 3, ref="PO-1", at=0)
        result = ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        self.assertIs(result.status, RESERVED)
        self.assertIs(result.decision, RESERVED)
        self.assertIs(self.written(result).kind, EventKind.RESERVE)
        stock = ledger.stock("SKU-1")
        self.assertEqual((stock.on_hand, stock.reserved, stock.available), (3, 2, 1))
        line = self.line("A-1", "SKU-1")
        self.assertEqual((line.channel, line.quantity, line.status),
                         ("amazon", 2, OrderStatus.RESERVED))

    def test_reserve_without_enough_stock_is_rejected_and_recorded(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        result = ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        self.assertIs(result.status, REJECTED)
        self.assertIs(self.written(result).kind, EventKind.REJECT)
        self.assertEqual(ledger.available("SKU-1"), 1)
        self.assertIs(self.line("A-1", "SKU-1").status, OrderStatus.REJECTED)

    def test_the_last_unit_goes_to_exactly_one_marketplace(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        first = ledger.reserve("SKU-1", 1, order_id="AMZ-1", channel="amazon", at=1)
        second = ledger.reserve("SKU-1", 1, order_id="EBAY-1", channel="ebay", at=1)
        self.assertEqual((first.status, second.status), (RESERVED, REJECTED))
        self.assertEqual(ledger.available("SKU-1"), 0)

    # -- repeats: duplicates and mismatches ------------------------------------------------

    def test_duplicate_reservation_is_absorbed(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 3, ref="PO-1", at=0)
        first = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
        for at in (2, 3):
            again = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=at)
            self.assertIs(again.status, DUPLICATE)
            self.assertIs(again.decision, RESERVED)
            self.assertEqual(again.event, first.event)
        self.assertEqual(ledger.stock("SKU-1").reserved, 1)
        self.assertEqual(ledger.event_count(), 2)

    def test_duplicate_of_a_rejected_reservation_stays_rejected_after_a_restock(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
        refused = ledger.reserve("SKU-1", 1, order_id="B-1", channel="ebay", at=2)
        self.assertIs(refused.status, REJECTED)
        ledger.restock("SKU-1", 10, ref="PO-2", at=3)
        late_copy = ledger.reserve("SKU-1", 1, order_id="B-1", channel="ebay", at=4)
        self.assertIs(late_copy.status, DUPLICATE)
        self.assertIs(late_copy.decision, REJECTED)
        self.assertEqual(ledger.stock("SKU-1").reserved, 1)
        self.assertIs(self.line("B-1", "SKU-1").status, OrderStatus.REJECTED)

    def _check_mismatch_is_never_applied(self, qty: int, channel: str) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
        result = ledger.reserve("SKU-1", qty, order_id="A-1", channel=channel, at=2)
        self.assertIs(result.status, MISMATCH)
        self.assertIs(result.decision, RESERVED)
        self.assertIn("first seen as 1 unit(s) on 'amazon'", result.detail)
        self.assertEqual(ledger.stock("SKU-1").reserved, 1)
        self.assertEqual(ledger.event_count(), 2)

    def test_same_order_with_more_units_is_a_mismatch_never_applied(self) -> None:
        self._check_mismatch_is_never_applied(2, "amazon")

    def test_same_order_on_another_channel_is_a_mismatch_never_applied(self) -> None:
        self._check_mismatch_is_never_applied(1, "ebay")

    def test_multi_line_orders_are_keyed_by_order_and_sku(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        ledger.restock("SKU-2", 1, ref="PO-1", at=0)
        a = ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
        b = ledger.reserve("SKU-2", 1, order_id="A-1", channel="shop", at=1)
        self.assertEqual((a.status, b.status), (RESERVED, RESERVED))
        self.assertIs(ledger.fulfill("A-1", "SKU-1", at=2).status, APPLIED)
        self.assertIs(ledger.release("A-1", "SKU-2", at=2).status, APPLIED)
        self.assertIs(self.line("A-1", "SKU-1").status, OrderStatus.FULFILLED)
        self.assertIs(self.line("A-1", "SKU-2").status, OrderStatus.RELEASED)

    # -- an order's life: release, fulfil, return; adjustments ----------------------------

    def test_release_returns_the_units_once(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        first = ledger.release("A-1", "SKU-1", at=2)
        again = ledger.release("A-1", "SKU-1", at=3)
        self.assertIs(first.status, APPLIED)
        self.assertIs(self.written(first).kind, EventKind.RELEASE)
        self.assertEqual(self.written(first).quantity, 2)
        self.assertIs(again.status, DUPLICATE)
        self.assertEqual(again.event, first.event)
        self.assertEqual(ledger.stock("SKU-1"), Stock("SKU-1", 2, 0, 0, 0, 3))

    def test_cancelling_a_refused_order_is_a_recorded_no_op(self) -> None:
        ledger = self.ledger
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=0)
        result = ledger.release("A-1", "SKU-1", at=1)
        self.assertIs(result.status, DUPLICATE)
        self.assertIs(result.decision, REJECTED)
        self.assertIs(self.written(result).kind, EventKind.REJECT)
        self.assertEqual(ledger.event_count(), 1)

    def test_fulfil_ships_the_reserved_units_once(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        first = ledger.fulfill("A-1", "SKU-1", at=2)
        again = ledger.fulfill("A-1", "SKU-1", at=3)
        self.assertIs(first.status, APPLIED)
        self.assertIs(again.status, DUPLICATE)
        stock = ledger.stock("SKU-1")
        self.assertEqual((stock.on_hand, stock.reserved, stock.available, stock.shipped),
                         (3, 0, 3, 2))

    def test_returns_add_back_at_most_what_was_shipped(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
        ledger.fulfill("A-1", "SKU-1", at=2)
        self.assertIs(ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=3).status, APPLIED)
        self.assertIs(ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=4).status, DUPLICATE)
        self.assertIs(ledger.return_("A-1", "SKU-1", 2, ref="RMA-1", at=5).status, MISMATCH)
        self.assertIs(ledger.return_("A-1", "SKU-1", 2, ref="RMA-2", at=6).status, APPLIED)
        stock = ledger.stock("SKU-1")
        self.assertEqual((stock.on_hand, stock.available, stock.shipped, stock.returned),
                         (5, 5, 3, 3))
        self.assertEqual(self.line("A-1", "SKU-1").returned, 3)

    def test_adjust_corrects_on_hand_with_a_reason(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        result = ledger.adjust("SKU-1", -2, reason="cycle count: 3 found", ref="CC-1", at=1)
        self.assertIs(result.status, APPLIED)
        self.assertEqual(self.written(result).reason, "cycle count: 3 found")
        again = ledger.adjust("SKU-1", -2, reason="cycle count: 3 found", ref="CC-1", at=2)
        self.assertIs(again.status, DUPLICATE)
        other = ledger.adjust("SKU-1", -1, reason="other", ref="CC-1", at=3)
        self.assertIs(other.status, MISMATCH)
        self.assertEqual(ledger.available("SKU-1"), 3)

    def test_a_count_below_the_reserved_units_makes_available_negative(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 2, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        ledger.adjust("SKU-1", -1, reason="damaged in storage", ref="DMG-1", at=2)
        self.assertEqual(ledger.available("SKU-1"), -1)
        refused = ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=3)
        self.assertIs(refused.status, REJECTED)
        self.assertEqual(ledger.available("SKU-1"), -1)

    # -- the log: replays, history, the audit trail ---------------------------------------

    def test_available_is_the_signed_sum_of_the_log(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 10, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
        ledger.reserve("SKU-1", 2, order_id="A-2", channel="ebay", at=2)
        ledger.release("A-2", "SKU-1", at=3)
        ledger.fulfill("A-1", "SKU-1", at=4)
        ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=5)
        ledger.adjust("SKU-1", -1, reason="damaged", ref="DMG-1", at=6)
        events = ledger.events(sku="SKU-1")
        signed = {"RESTOCK": 1, "RETURN": 1, "RELEASE": 1, "ADJUST": 1, "RESERVE": -1}
        total = sum(signed.get(kind, 0) * qty
                    for kind, qty in zip(events["kind"], events["quantity"], strict=True))
        self.assertEqual(total, 7)
        self.assertEqual(ledger.available("SKU-1"), total)

    def test_stock_as_of_replays_the_log_to_a_past_instant(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 4, ref="PO-1", at=10)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=20)
        ledger.fulfill("A-1", "SKU-1", at=30)
        self.assertEqual(ledger.stock("SKU-1", as_of=5), Stock.empty("SKU-1"))
        self.assertEqual(ledger.stock("SKU-1", as_of=10).available, 4)
        self.assertEqual(ledger.stock("SKU-1", as_of=25), Stock("SKU-1", 4, 1, 0, 0, 2))
        self.assertEqual(ledger.stock("SKU-1", as_of=30), ledger.stock("SKU-1"))
        snapshot = ledger.snapshot(as_of=25)
        self.assertEqual(snapshot.loc["SKU-1", "available"], 3)

    def test_explain_gives_the_audit_trail_behind_the_figures(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 4, ref="PO-1", at=0)
        ledger.restock("SKU-2", 9, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
        ledger.reserve("SKU-1", 2, order_id="A-2", channel="ebay", at=2)
        ledger.fulfill("A-1", "SKU-1", at=3)
        audit = ledger.explain("SKU-1")
        self.assertEqual(list(audit["kind"]), ["RESTOCK", "RESERVE", "REJECT", "FULFILL"])
        self.assertEqual(list(audit["available"]), [4, 1, 1, 1])
        last = audit.iloc[-1]
        stock = ledger.stock("SKU-1")
        self.assertEqual((last["on_hand"], last["reserved"], last["available"]),
                         (stock.on_hand, stock.reserved, stock.available))
        self.assertEqual(audit.iloc[2]["key"], "reserve:A-2:SKU-1")

    def test_events_can_be_filtered(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 4, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
        ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=2)
        self.assertEqual(list(ledger.events(order_id="A-2")["seq"]), [3])
        self.assertEqual(list(ledger.events(kinds=(EventKind.RESERVE,))["order_id"]),
                         ["A-1", "A-2"])
        self.assertEqual(list(ledger.events(until=1)["seq"]), [1, 2])
        self.assertEqual(list(ledger.events().columns[:5]),
                         ["seq", "at", "recorded_at", "kind", "sku"])

    def test_time_may_not_go_backwards_beyond_the_tolerance(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=100)
        with self.assertRaisesRegex(ValueError,
                                    "more than 5 s earlier than the ledger's last event"):
            ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=94.9)
        stamped = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon")
        self.assertGreaterEqual(self.written(stamped).recorded_at, 100)

    def test_a_late_duplicate_is_answered_whatever_its_time(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 1, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=10)
        ledger.restock("SKU-2", 1, ref="PO-1", at=20)
        late = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=5)
        self.assertIs(late.status, DUPLICATE)

    # -- transactions ----------------------------------------------------------------------

    def test_a_batch_commits_together(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        with ledger.batch():
            for i in range(3):
                ledger.reserve("SKU-1", 1, order_id=f"A-{i}", channel="amazon", at=1)
        self.assertEqual(ledger.stock("SKU-1").reserved, 3)
        self.assertEqual(ledger.verify(), [])

    def test_an_error_inside_a_batch_rolls_the_whole_batch_back(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        before = (ledger.event_count(), ledger.levels())

        def crash_midway() -> None:
            with ledger.batch():
                ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
                ledger.restock("SKU-2", 5, ref="PO-2", at=1)
                raise RuntimeError("crash")

        with self.assertRaisesRegex(RuntimeError, "crash"):
            crash_midway()
        self.assertEqual((ledger.event_count(), ledger.levels()), before)
        self.assertIsNone(ledger.order_line("A-1", "SKU-1"))
        self.assertEqual(ledger.verify(), [])
        again = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=2)
        self.assertIs(again.status, RESERVED)

    def test_a_refused_command_inside_a_batch_keeps_the_others(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        with ledger.batch():
            ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
            with self.assertRaises(LookupError):
                ledger.fulfill("NOPE", "SKU-1", at=1)
            ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=1)
        self.assertEqual(ledger.stock("SKU-1").reserved, 2)
        self.assertEqual(ledger.verify(), [])

    # -- integrity and frames ----------------------------------------------------------------

    def test_verify_reports_and_rebuild_repairs_a_damaged_projection(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        with ledger.store.transaction() as tx:  # simulate a projection bug or manual edit
            tx.put_stock(Stock("SKU-1", 99, 2, 0, 0, 2))
        diffs = ledger.verify()
        self.assertEqual([(d.table, d.key, d.field, d.stored, d.replayed) for d in diffs],
                         [("stock", "SKU-1", "on_hand", 99, 5)])
        self.assertIn("stock[SKU-1].on_hand: stored 99, replay gives 5", str(diffs[0]))
        self.assertEqual(ledger.rebuild(), diffs)
        self.assertEqual(ledger.verify(), [])
        self.assertEqual(ledger.available("SKU-1"), 3)

    def test_frames_are_tidy(self) -> None:
        ledger = self.ledger
        ledger.restock("SKU-1", 5, ref="PO-1", at=0)
        ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
        snapshot = ledger.snapshot()
        self.assertEqual(snapshot.index.name, "sku")
        self.assertEqual(list(snapshot.columns), ["on_hand", "reserved", "available",
                                                  "shipped", "returned", "seq"])
        self.assertEqual(ledger.order_lines().to_dict("records"), [
            {"order_id": "A-1", "sku": "SKU-1", "channel": "amazon", "quantity": 2,
             "status": "reserved", "returned": 0, "seq": 2}])

