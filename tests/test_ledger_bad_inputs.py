"""Bad input is refused with an error that names the command and the argument, and the
ledger is left exactly as it was — on every store.

Each test starts from ``shop``: a ledger holding an order line in every state, and sends
one of the commands below with *one* argument changed from a valid call (``VALID``).
``test_the_valid_calls_are_accepted`` shows that, unchanged, every one of those calls is
accepted, so each refusal is caused by the argument the test changed and nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from racesim.errors import (
    InvalidCommand,
    InvariantViolation,
    LedgerError,
    OrderStateError,
    UnknownOrder,
)
from racesim.ledger import CommandResult, Ledger, OrderLine, Stock
from racesim.ledger.validation import MAX_UNITS

T0 = 100.0
"""Time of the last event in ``shop`` (seconds)."""

VALID: dict[str, dict[str, Any]] = {
    "restock": {"sku": "SKU-1", "qty": 3, "ref": "PO-2", "at": T0},
    "reserve": {"sku": "SKU-1", "qty": 1, "order_id": "NEW-1", "channel": "ebay", "at": T0},
    "release": {"order_id": "OPEN-1", "sku": "SKU-1", "at": T0},
    "fulfill": {"order_id": "OPEN-1", "sku": "SKU-1", "at": T0},
    "return": {"order_id": "SHIPPED-1", "sku": "SKU-1", "qty": 1, "ref": "RMA-1", "at": T0},
    "adjust": {"sku": "SKU-1", "delta": -1, "reason": "cycle count", "ref": "COUNT-1", "at": T0},
}
"""One accepted call of each command on ``shop``, by the name its error messages use."""

COMMANDS = sorted(VALID)
QUANTITY_COMMANDS = ["reserve", "restock", "return"]
ORDER_COMMANDS = ["fulfill", "release", "reserve", "return"]
LINE_COMMANDS = ["fulfill", "release", "return"]
REF_COMMANDS = ["adjust", "restock", "return"]


@pytest.fixture
def shop(ledger: Ledger) -> Ledger:
    """SKU-1 with 10 units received and an order line in every state; last event at T0.

    OPEN-1 reserved (2 units), SHIPPED-1 fulfilled (2), CANCELLED-1 released (1),
    REFUSED-1 rejected (50 asked, 6 available): 8 on hand, 2 reserved.
    """
    ledger.restock("SKU-1", 10, ref="PO-1", at=10.0)
    ledger.reserve("SKU-1", 2, order_id="OPEN-1", channel="amazon", at=20.0)
    ledger.reserve("SKU-1", 2, order_id="SHIPPED-1", channel="ebay", at=30.0)
    ledger.fulfill("SHIPPED-1", "SKU-1", at=40.0)
    ledger.reserve("SKU-1", 1, order_id="CANCELLED-1", channel="shopify", at=50.0)
    ledger.release("CANCELLED-1", "SKU-1", at=60.0)
    ledger.reserve("SKU-1", 50, order_id="REFUSED-1", channel="amazon", at=T0)
    return ledger


def send(ledger: Ledger, command: str, **changes: Any) -> CommandResult:
    """Send ``command``'s valid call with ``changes`` applied to its arguments."""
    method = ledger.return_ if command == "return" else getattr(ledger, command)
    return method(**{**VALID[command], **changes})


class State(NamedTuple):
    """Everything a refused command must leave unchanged."""

    event_count: int
    levels: dict[str, Stock]
    order_lines: dict[tuple[str, str], OrderLine]


def state_of(ledger: Ledger) -> State:
    """The ledger's log size, stock figures and order lines."""
    return State(ledger.event_count(), ledger.levels(), ledger.store.order_lines())


def assert_refused(ledger: Ledger, command: str, error: type[LedgerError], message: str,
                   **changes: Any) -> None:
    """``command`` with ``changes`` raises ``error`` starting with ``message``; no change."""
    before = state_of(ledger)
    with pytest.raises(error, match="^" + re.escape(message)):
        send(ledger, command, **changes)
    assert state_of(ledger) == before
    assert ledger.verify() == []


@pytest.mark.parametrize("command", COMMANDS)
def test_the_valid_calls_are_accepted(shop: Ledger, command: str) -> None:
    """Each test below changes one argument of these calls; unchanged, each succeeds."""
    assert send(shop, command).written
    assert shop.verify() == []


# -- quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", QUANTITY_COMMANDS)
@pytest.mark.parametrize(("qty", "problem"), [
    pytest.param(-1, "quantity must be > 0 (got -1)", id="negative"),
    pytest.param(0, "quantity must be > 0 (got 0)", id="zero"),
    pytest.param(1.5, "quantity must be a whole number of units (got float 1.5)", id="float"),
    pytest.param(2.0, "quantity must be a whole number of units (got float 2.0)",
                 id="whole-float"),
    pytest.param(True, "quantity must be a whole number of units (got bool True)", id="bool"),
    pytest.param("2", "quantity must be a whole number of units (got str '2')", id="str"),
    pytest.param(None, "quantity must be a whole number of units (got NoneType None)",
                 id="none"),
    pytest.param(MAX_UNITS + 1, f"quantity must be at most {MAX_UNITS:,} units in magnitude "
                 f"(got {MAX_UNITS + 1})", id="over-the-limit"),
    pytest.param(2**63, f"quantity must be at most {MAX_UNITS:,} units in magnitude "
                 f"(got {2**63})", id="beyond-64-bits"),
])
def test_a_quantity_is_a_positive_whole_number_of_units(
        shop: Ledger, command: str, qty: object, problem: str) -> None:
    assert_refused(shop, command, InvalidCommand, f"{command}: {problem}", qty=qty)


@pytest.mark.parametrize(("delta", "problem"), [
    pytest.param(0, "delta must be non-zero (got 0)", id="zero"),
    pytest.param(-1.5, "delta must be a whole number of units (got float -1.5)", id="float"),
    pytest.param(1.0, "delta must be a whole number of units (got float 1.0)",
                 id="whole-float"),
    pytest.param(False, "delta must be a whole number of units (got bool False)", id="bool"),
    pytest.param("-1", "delta must be a whole number of units (got str '-1')", id="str"),
    pytest.param(-(MAX_UNITS + 1), f"delta must be at most {MAX_UNITS:,} units in magnitude "
                 f"(got {-(MAX_UNITS + 1)})", id="over-the-limit"),
])
def test_an_adjustment_is_a_non_zero_whole_number_of_units(
        shop: Ledger, delta: object, problem: str) -> None:
    assert_refused(shop, "adjust", InvalidCommand, f"adjust: {problem}", delta=delta)


# -- identifiers ---------------------------------------------------------------------------

BLANK_IDS = [
    pytest.param("", "must be a non-empty string (got '')", id="empty"),
    pytest.param("   ", "must be a non-empty string (got '   ')", id="spaces"),
    pytest.param("\t\n", "must be a non-empty string (got '\\t\\n')", id="whitespace"),
]
NOT_STRINGS = [
    pytest.param(None, "must be a string (got NoneType None)", id="none"),
    pytest.param(7, "must be a string (got int 7)", id="int"),
    pytest.param(b"SKU-1", "must be a string (got bytes b'SKU-1')", id="bytes"),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("sku", "problem"), BLANK_IDS + NOT_STRINGS)
def test_every_command_needs_a_sku(shop: Ledger, command: str, sku: object,
                                   problem: str) -> None:
    assert_refused(shop, command, InvalidCommand, f"{command}: sku {problem}", sku=sku)


@pytest.mark.parametrize("command", ORDER_COMMANDS)
@pytest.mark.parametrize(("order_id", "problem"), BLANK_IDS + NOT_STRINGS[:1])
def test_order_commands_need_an_order_id(shop: Ledger, command: str, order_id: object,
                                         problem: str) -> None:
    assert_refused(shop, command, InvalidCommand, f"{command}: order_id {problem}",
                   order_id=order_id)


@pytest.mark.parametrize(("channel", "problem"), BLANK_IDS + NOT_STRINGS[:1])
def test_a_reservation_needs_a_channel(shop: Ledger, channel: object, problem: str) -> None:
    assert_refused(shop, "reserve", InvalidCommand, f"reserve: channel {problem}",
                   channel=channel)


@pytest.mark.parametrize("command", REF_COMMANDS)
@pytest.mark.parametrize(("ref", "problem"), BLANK_IDS + NOT_STRINGS[:1])
def test_keyed_commands_need_a_reference(shop: Ledger, command: str, ref: object,
                                         problem: str) -> None:
    assert_refused(shop, command, InvalidCommand, f"{command}: ref {problem}", ref=ref)


@pytest.mark.parametrize("reason", [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("  ", id="blank"),
])
def test_an_adjustment_says_why(shop: Ledger, reason: object) -> None:
    assert_refused(shop, "adjust", InvalidCommand,
                   f"adjust: reason must be a non-empty string explaining the correction "
                   f"(got {reason!r})", reason=reason)


# -- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("at", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_time_is_a_finite_number_of_seconds(shop: Ledger, command: str, at: float) -> None:
    assert_refused(shop, command, InvalidCommand,
                   f"{command}: at must be a finite number of seconds (got {at!r})", at=at)


@pytest.mark.parametrize("command", COMMANDS)
def test_time_never_goes_back_beyond_the_tolerance(shop: Ledger, command: str) -> None:
    assert_refused(shop, command, InvalidCommand,
                   f"{command}: at=94.5 is more than 5 s earlier than the ledger's last event "
                   "(recorded at 100.0)", at=T0 - 5.5)


@pytest.mark.parametrize("command", COMMANDS)
def test_interleaved_clocks_within_the_tolerance_are_accepted(shop: Ledger,
                                                              command: str) -> None:
    """A writer whose clock trails by less than the tolerance: business time kept, the
    record time is the log's last (so record times never decrease)."""
    result = send(shop, command, at=T0 - 4.5)
    assert result.written
    assert (result.event.at, result.event.recorded_at) == (T0 - 4.5, T0)
    assert shop.verify() == []


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("at", [1e308, 2e9 * 1000, 1e10], ids=["1e308", "ms-epoch", "1e10"])
def test_a_far_future_time_is_refused_and_changes_nothing(shop: Ledger, command: str,
                                                          at: float) -> None:
    assert_refused(shop, command, InvalidCommand,
                   f"{command}: at={at!r} lies more than 86400 s ahead of both the ledger's "
                   "last event (recorded at 100.0) and the clock", at=at)
    assert send(shop, command, at=T0 + 1).written  # the ledger still takes real times


def test_the_future_window_counts_from_the_clock_and_from_the_last_event() -> None:
    now = [1_000.0]
    ledger = Ledger.open("memory://", future_window=60, clock=lambda: now[0])
    ledger.restock("SKU-1", 1, ref="PO-1", at=1_050)  # within 60 s of the clock
    ledger.restock("SKU-1", 1, ref="PO-2", at=1_100)  # within 60 s of the last event
    with pytest.raises(InvalidCommand, match="lies more than 60 s ahead"):
        ledger.restock("SKU-1", 1, ref="PO-3", at=1_161)
    now[0] = 1_150.0  # the clock moved on: so does the horizon
    assert ledger.restock("SKU-1", 1, ref="PO-3", at=1_161).written
    assert [e.recorded_at for e in ledger.iter_events()] == [1_050, 1_100, 1_161]


def test_a_time_left_out_is_stamped_with_the_clock_and_recorded_in_order() -> None:
    ledger = Ledger.open("memory://", clock=lambda: 50.0)
    ledger.restock("SKU-1", 1, ref="PO-1", at=52.0)
    event = ledger.restock("SKU-1", 1, ref="PO-2").event
    assert (event.at, event.recorded_at) == (50.0, 52.0)


def test_as_of_replays_what_was_recorded_by_then() -> None:
    ledger = Ledger.open("memory://")
    ledger.restock("SKU-1", 5, ref="PO-1", at=10.0)
    ledger.reserve("SKU-1", 2, order_id="A-1", channel="ebay", at=20.0)
    ledger.reserve("SKU-1", 1, order_id="A-2", channel="amazon", at=18.0)  # its clock trails
    assert ledger.stock("SKU-1", as_of=19.0).reserved == 0  # A-2 was recorded at 20
    assert ledger.stock("SKU-1", as_of=20.0).reserved == 3
    assert list(ledger.events(until=19.0)["seq"]) == [1]


@pytest.mark.parametrize(("option", "value"), [
    ("clock_tolerance", -1), ("clock_tolerance", math.nan), ("future_window", math.inf),
    ("future_window", 1e12), ("clock_tolerance", "5")])
def test_clock_settings_are_bounded(option: str, value: object) -> None:
    with pytest.raises(InvalidCommand, match=f"^Ledger: {option} must be seconds between 0"):
        Ledger.open("memory://", **{option: value})


# -- order lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", LINE_COMMANDS)
def test_an_unknown_order_is_refused(shop: Ledger, command: str) -> None:
    assert_refused(shop, command, UnknownOrder,
                   f"{command}: order 'GHOST-1' has no line for SKU 'SKU-1'",
                   order_id="GHOST-1")


@pytest.mark.parametrize("command", LINE_COMMANDS)
def test_a_known_order_without_that_sku_is_refused(shop: Ledger, command: str) -> None:
    order_id = "SHIPPED-1" if command == "return" else "OPEN-1"
    assert_refused(shop, command, UnknownOrder,
                   f"{command}: order {order_id!r} has no line for SKU 'SKU-2'", sku="SKU-2")


def test_a_shipped_line_cannot_be_released(shop: Ledger) -> None:
    assert_refused(shop, "release", OrderStateError,
                   "release: order 'SHIPPED-1' SKU 'SKU-1' is fulfilled: already shipped; "
                   "record a return_ instead", order_id="SHIPPED-1")


@pytest.mark.parametrize(("order_id", "state"), [
    ("CANCELLED-1", "released"),
    ("REFUSED-1", "rejected"),
])
def test_only_a_reserved_line_can_be_shipped(shop: Ledger, order_id: str, state: str) -> None:
    assert_refused(shop, "fulfill", OrderStateError,
                   f"fulfill: order {order_id!r} SKU 'SKU-1' is {state}: only a reserved "
                   "line can be shipped", order_id=order_id)


@pytest.mark.parametrize(("order_id", "state"), [
    ("OPEN-1", "reserved"),
    ("CANCELLED-1", "released"),
    ("REFUSED-1", "rejected"),
])
def test_only_a_shipped_line_can_be_returned(shop: Ledger, order_id: str, state: str) -> None:
    assert_refused(shop, "return", OrderStateError,
                   f"return: order {order_id!r} SKU 'SKU-1' is {state}: only a shipped line "
                   "can be returned", order_id=order_id)


def test_no_more_units_come_back_than_shipped(shop: Ledger) -> None:
    assert_refused(shop, "return", OrderStateError,
                   "return: order 'SHIPPED-1' SKU 'SKU-1' is fulfilled: 3 unit(s) returned "
                   "but only 2 of 2 shipped are not yet back", qty=3)


def test_units_already_back_count_against_a_later_return(shop: Ledger) -> None:
    send(shop, "return", qty=1, ref="RMA-1", at=T0 + 1)
    assert_refused(shop, "return", OrderStateError,
                   "return: order 'SHIPPED-1' SKU 'SKU-1' is fulfilled: 2 unit(s) returned "
                   "but only 1 of 2 shipped are not yet back", qty=2, ref="RMA-2", at=T0 + 2)


# -- stock ---------------------------------------------------------------------------------


def test_an_adjustment_cannot_take_on_hand_stock_below_zero(shop: Ledger) -> None:
    assert_refused(shop, "adjust", InvariantViolation,
                   "adjust: SKU 'SKU-1' has 8 unit(s) on hand; delta -9 would make it "
                   "negative", delta=-9)


def test_a_line_cannot_ship_more_units_than_are_on_hand(shop: Ledger) -> None:
    """A recount may promise more than is on hand; shipping those promises may not."""
    send(shop, "adjust", delta=-7, ref="COUNT-1", at=T0 + 1)  # 1 on hand, 2 reserved
    assert_refused(shop, "fulfill", InvariantViolation,
                   "fulfill: order 'OPEN-1' SKU 'SKU-1': 2 unit(s) to ship but only 1 on hand",
                   at=T0 + 2)


def test_an_adjustment_cannot_remove_stock_never_received(shop: Ledger) -> None:
    assert_refused(shop, "adjust", InvariantViolation,
                   "adjust: SKU 'SKU-2' has 0 unit(s) on hand; delta -1 would make it "
                   "negative", sku="SKU-2")


# -- reads -------------------------------------------------------------------------------


@pytest.mark.parametrize(("read", "message"), [
    pytest.param(lambda ledger, t: ledger.stock("SKU-1", as_of=t), "stock: as_of", id="stock"),
    pytest.param(lambda ledger, t: ledger.levels(as_of=t), "levels: as_of", id="levels"),
    pytest.param(lambda ledger, t: ledger.iter_events(until=t), "events: until",
                 id="iter_events"),
    pytest.param(lambda ledger, t: ledger.explain("SKU-1", as_of=t), "explain: as_of",
                 id="explain"),
])
@pytest.mark.parametrize("at", [math.nan, math.inf], ids=["nan", "inf"])
def test_a_read_refuses_a_time_that_is_not_finite(
        shop: Ledger, read: Callable[[Ledger, float], object], message: str,
        at: float) -> None:
    before = state_of(shop)
    expected = f"{message} must be a finite number of seconds (got {at!r})"
    with pytest.raises(InvalidCommand, match="^" + re.escape(expected)):
        read(shop, at)
    assert state_of(shop) == before
