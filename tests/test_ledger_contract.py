"""The ledger's contract: what every store must do, run once per backend.

Each test reads as a statement of behaviour a seller can rely on, whatever database
holds the ledger (the ``ledger`` fixture is parametrized over every store).
"""

from __future__ import annotations

import pytest

from racesim.errors import StoreRefused
from racesim.ledger import CommandStatus, EventKind, Ledger, OrderStatus, Stock

RESERVED, REJECTED = CommandStatus.RESERVED, CommandStatus.REJECTED
DUPLICATE, MISMATCH = CommandStatus.DUPLICATE, CommandStatus.MISMATCH
APPLIED = CommandStatus.APPLIED


def test_an_empty_ledger_knows_nothing(ledger: Ledger) -> None:
    assert ledger.stock("SKU-1") == Stock.empty("SKU-1")
    assert ledger.available("SKU-1") == 0
    assert ledger.event_count() == 0
    assert ledger.verify() == []
    assert ledger.snapshot().empty


def test_restock_adds_on_hand_and_available(ledger: Ledger) -> None:
    result = ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    assert result.status is APPLIED
    assert result.event.kind is EventKind.RESTOCK
    assert result.event.seq == 1
    assert ledger.stock("SKU-1") == Stock("SKU-1", 5, 0, 0, 0, 1)


def test_restock_is_idempotent_on_sku_and_ref(ledger: Ledger) -> None:
    first = ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    again = ledger.restock("SKU-1", 5, ref="PO-1", at=1)
    other = ledger.restock("SKU-1", 7, ref="PO-1", at=2)
    same_ref_other_sku = ledger.restock("SKU-2", 5, ref="PO-1", at=3)
    assert again.status is DUPLICATE and again.event == first.event
    assert other.status is MISMATCH and "quantity" in other.detail
    assert same_ref_other_sku.status is APPLIED
    assert ledger.available("SKU-1") == 5
    assert ledger.event_count() == 2


def test_reserve_takes_from_available(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 3, ref="PO-1", at=0)
    result = ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    assert result.status is RESERVED and result.decision is RESERVED
    assert result.event.kind is EventKind.RESERVE
    stock = ledger.stock("SKU-1")
    assert (stock.on_hand, stock.reserved, stock.available) == (3, 2, 1)
    line = ledger.order_line("A-1", "SKU-1")
    assert line is not None
    assert (line.channel, line.quantity, line.status) == ("amazon", 2, OrderStatus.RESERVED)


def test_reserve_without_enough_stock_is_rejected_and_recorded(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=0)
    result = ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    assert result.status is REJECTED
    assert result.event.kind is EventKind.REJECT
    assert ledger.available("SKU-1") == 1
    assert ledger.order_line("A-1", "SKU-1").status is OrderStatus.REJECTED


def test_the_last_unit_goes_to_exactly_one_marketplace(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=0)
    first = ledger.reserve("SKU-1", 1, order_id="AMZ-1", channel="amazon", at=1)
    second = ledger.reserve("SKU-1", 1, order_id="EBAY-1", channel="ebay", at=1)
    assert (first.status, second.status) == (RESERVED, REJECTED)
    assert ledger.available("SKU-1") == 0


def test_duplicate_reservation_is_absorbed(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 3, ref="PO-1", at=0)
    first = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    for at in (2, 3):
        again = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=at)
        assert again.status is DUPLICATE and again.decision is RESERVED
        assert again.event == first.event
    assert ledger.stock("SKU-1").reserved == 1
    assert ledger.event_count() == 2


def test_duplicate_of_a_rejected_reservation_stays_rejected_after_a_restock(
        ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    assert ledger.reserve("SKU-1", 1, order_id="B-1", channel="ebay", at=2).status is REJECTED
    ledger.restock("SKU-1", 10, ref="PO-2", at=3)
    late_copy = ledger.reserve("SKU-1", 1, order_id="B-1", channel="ebay", at=4)
    assert late_copy.status is DUPLICATE
    assert late_copy.decision is REJECTED
    assert ledger.stock("SKU-1").reserved == 1
    assert ledger.order_line("B-1", "SKU-1").status is OrderStatus.REJECTED


@pytest.mark.parametrize(("qty", "channel"), [(2, "amazon"), (1, "ebay")])
def test_same_order_with_other_content_is_a_mismatch_never_applied(
        ledger: Ledger, qty: int, channel: str) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    result = ledger.reserve("SKU-1", qty, order_id="A-1", channel=channel, at=2)
    assert result.status is MISMATCH
    assert result.decision is RESERVED
    assert "first seen as 1 unit(s) on 'amazon'" in result.detail
    assert ledger.stock("SKU-1").reserved == 1
    assert ledger.event_count() == 2


def test_multi_line_orders_are_keyed_by_order_and_sku(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=0)
    ledger.restock("SKU-2", 1, ref="PO-1", at=0)
    a = ledger.reserve("SKU-1", 1, order_id="A-1", channel="shop", at=1)
    b = ledger.reserve("SKU-2", 1, order_id="A-1", channel="shop", at=1)
    assert (a.status, b.status) == (RESERVED, RESERVED)
    assert ledger.fulfill("A-1", "SKU-1", at=2).status is APPLIED
    assert ledger.release("A-1", "SKU-2", at=2).status is APPLIED
    assert ledger.order_line("A-1", "SKU-1").status is OrderStatus.FULFILLED
    assert ledger.order_line("A-1", "SKU-2").status is OrderStatus.RELEASED


def test_release_returns_the_units_once(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    first = ledger.release("A-1", "SKU-1", at=2)
    again = ledger.release("A-1", "SKU-1", at=3)
    assert first.status is APPLIED and first.event.kind is EventKind.RELEASE
    assert first.event.quantity == 2
    assert again.status is DUPLICATE and again.event == first.event
    assert ledger.stock("SKU-1") == Stock("SKU-1", 2, 0, 0, 0, 3)


def test_cancelling_a_refused_order_is_a_recorded_no_op(ledger: Ledger) -> None:
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=0)
    result = ledger.release("A-1", "SKU-1", at=1)
    assert result.status is DUPLICATE and result.decision is REJECTED
    assert result.event.kind is EventKind.REJECT
    assert ledger.event_count() == 1


def test_fulfil_ships_the_reserved_units_once(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    first = ledger.fulfill("A-1", "SKU-1", at=2)
    again = ledger.fulfill("A-1", "SKU-1", at=3)
    assert first.status is APPLIED and again.status is DUPLICATE
    stock = ledger.stock("SKU-1")
    assert (stock.on_hand, stock.reserved, stock.available, stock.shipped) == (3, 0, 3, 2)


def test_returns_add_back_at_most_what_was_shipped(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
    ledger.fulfill("A-1", "SKU-1", at=2)
    assert ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=3).status is APPLIED
    assert ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=4).status is DUPLICATE
    assert ledger.return_("A-1", "SKU-1", 2, ref="RMA-1", at=5).status is MISMATCH
    assert ledger.return_("A-1", "SKU-1", 2, ref="RMA-2", at=6).status is APPLIED
    stock = ledger.stock("SKU-1")
    assert (stock.on_hand, stock.available, stock.shipped, stock.returned) == (5, 5, 3, 3)
    assert ledger.order_line("A-1", "SKU-1").returned == 3


def test_adjust_corrects_on_hand_with_a_reason(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    result = ledger.adjust("SKU-1", -2, reason="cycle count: 3 found", ref="CC-1", at=1)
    assert result.status is APPLIED
    assert result.event.reason == "cycle count: 3 found"
    assert ledger.adjust("SKU-1", -2, reason="cycle count: 3 found", ref="CC-1",
                         at=2).status is DUPLICATE
    assert ledger.adjust("SKU-1", -1, reason="other", ref="CC-1", at=3).status is MISMATCH
    assert ledger.available("SKU-1") == 3


def test_a_count_below_the_reserved_units_makes_available_negative(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 2, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    ledger.adjust("SKU-1", -1, reason="damaged in storage", ref="DMG-1", at=2)
    assert ledger.available("SKU-1") == -1
    refused = ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=3)
    assert refused.status is REJECTED
    assert ledger.available("SKU-1") == -1


def test_available_is_the_signed_sum_of_the_log(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 10, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
    ledger.reserve("SKU-1", 2, order_id="A-2", channel="ebay", at=2)
    ledger.release("A-2", "SKU-1", at=3)
    ledger.fulfill("A-1", "SKU-1", at=4)
    ledger.return_("A-1", "SKU-1", 1, ref="RMA-1", at=5)
    ledger.adjust("SKU-1", -1, reason="damaged", ref="DMG-1", at=6)
    events = ledger.events(sku="SKU-1")
    signed = {"RESTOCK": 1, "RETURN": 1, "RELEASE": 1, "ADJUST": 1, "RESERVE": -1}
    total = sum(signed.get(kind, 0) * qty for kind, qty in zip(events["kind"],
                                                                events["quantity"], strict=True))
    assert ledger.available("SKU-1") == total == 7


def test_stock_as_of_replays_the_log_to_a_past_instant(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 4, ref="PO-1", at=10)
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=20)
    ledger.fulfill("A-1", "SKU-1", at=30)
    assert ledger.stock("SKU-1", as_of=5) == Stock.empty("SKU-1")
    assert ledger.stock("SKU-1", as_of=10).available == 4
    assert ledger.stock("SKU-1", as_of=25) == Stock("SKU-1", 4, 1, 0, 0, 2)
    assert ledger.stock("SKU-1", as_of=30) == ledger.stock("SKU-1")
    snapshot = ledger.snapshot(as_of=25)
    assert snapshot.loc["SKU-1", "available"] == 3


def test_explain_gives_the_audit_trail_behind_the_figures(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 4, ref="PO-1", at=0)
    ledger.restock("SKU-2", 9, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 3, order_id="A-1", channel="amazon", at=1)
    ledger.reserve("SKU-1", 2, order_id="A-2", channel="ebay", at=2)
    ledger.fulfill("A-1", "SKU-1", at=3)
    audit = ledger.explain("SKU-1")
    assert list(audit["kind"]) == ["RESTOCK", "RESERVE", "REJECT", "FULFILL"]
    assert list(audit["available"]) == [4, 1, 1, 1]
    last = audit.iloc[-1]
    stock = ledger.stock("SKU-1")
    assert (last["on_hand"], last["reserved"], last["available"]) == (
        stock.on_hand, stock.reserved, stock.available)
    assert audit.iloc[2]["key"] == "reserve:A-2:SKU-1"


def test_events_can_be_filtered(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 4, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
    ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=2)
    assert list(ledger.events(order_id="A-2")["seq"]) == [3]
    assert list(ledger.events(kinds=(EventKind.RESERVE,))["order_id"]) == ["A-1", "A-2"]
    assert list(ledger.events(until=1)["seq"]) == [1, 2]
    assert list(ledger.events().columns[:5]) == ["seq", "at", "recorded_at", "kind", "sku"]


def test_time_may_not_go_backwards_beyond_the_tolerance(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=100)
    with pytest.raises(ValueError, match="more than 5 s earlier than the ledger's last event"):
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=94.9)
    stamped = ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon")
    assert stamped.event.recorded_at >= 100


def test_a_late_duplicate_is_answered_whatever_its_time(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 1, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=10)
    ledger.restock("SKU-2", 1, ref="PO-1", at=20)
    assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon",
                          at=5).status is DUPLICATE


def test_a_batch_commits_together(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    with ledger.batch():
        for i in range(3):
            ledger.reserve("SKU-1", 1, order_id=f"A-{i}", channel="amazon", at=1)
    assert ledger.stock("SKU-1").reserved == 3
    assert ledger.verify() == []


def test_an_error_inside_a_batch_rolls_the_whole_batch_back(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    before = (ledger.event_count(), ledger.levels())

    def crash_midway() -> None:
        with ledger.batch():
            ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
            ledger.restock("SKU-2", 5, ref="PO-2", at=1)
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        crash_midway()
    assert (ledger.event_count(), ledger.levels()) == before
    assert ledger.order_line("A-1", "SKU-1") is None
    assert ledger.verify() == []
    assert ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=2).status is RESERVED


def test_a_refused_command_inside_a_batch_keeps_the_others(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    with ledger.batch():
        ledger.reserve("SKU-1", 1, order_id="A-1", channel="amazon", at=1)
        with pytest.raises(LookupError):
            ledger.fulfill("NOPE", "SKU-1", at=1)
        ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=1)
    assert ledger.stock("SKU-1").reserved == 2
    assert ledger.verify() == []


def test_verify_reports_and_rebuild_repairs_a_damaged_projection(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    with ledger.store.transaction() as tx:  # simulate a projection bug or manual edit
        tx.put_stock(Stock("SKU-1", 99, 2, 0, 0, 2))
    diffs = ledger.verify()
    assert [(d.table, d.key, d.field, d.stored, d.replayed) for d in diffs] == [
        ("stock", "SKU-1", "on_hand", 99, 5)]
    assert "stock[SKU-1].on_hand: stored 99, replay gives 5" in str(diffs[0])
    assert ledger.rebuild() == diffs
    assert ledger.verify() == []
    assert ledger.available("SKU-1") == 3


def test_frames_are_tidy(ledger: Ledger) -> None:
    ledger.restock("SKU-1", 5, ref="PO-1", at=0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="amazon", at=1)
    snapshot = ledger.snapshot()
    assert snapshot.index.name == "sku"
    assert list(snapshot.columns) == ["on_hand", "reserved", "available", "shipped",
                                      "returned", "seq"]
    lines = ledger.order_lines()
    assert lines.to_dict("records") == [
        {"order_id": "A-1", "sku": "SKU-1", "channel": "amazon", "quantity": 2,
         "status": "reserved", "returned": 0, "seq": 2}]


def test_unknown_store_urls_are_refused_clearly() -> None:
    with pytest.raises(StoreRefused, match="unknown scheme 'mysql'"):
        Ledger.open("mysql://localhost/db")
    with pytest.raises(StoreRefused, match="must look like"):
        Ledger.open("ledger.db")
    with pytest.raises(StoreRefused, match="unknown option"):
        Ledger.open("sqlite:///x.db?journal=off")
    with pytest.raises(StoreRefused, match="takes no path"):
        Ledger.open("memory://somewhere")
