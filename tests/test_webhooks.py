"""The JSON webhook format: what round-trips, what is refused (naming the field), how a
log is read line by line, and which ledger command each webhook type drives.

``VALID`` holds one accepted record of each type; each refusal test changes *one* field
of one of them, so the refusal is caused by that field and nothing else
(``test_the_valid_records_are_accepted`` shows the unchanged records pass).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from racesim.errors import RacesimError
from racesim.ledger import Ledger
from racesim.ledger.validation import MAX_UNITS
from racesim.webhooks.format import (
    CRASH_POINTS,
    WEBHOOK_TYPES,
    MalformedLine,
    Webhook,
    WebhookError,
    apply_webhook,
    parse_webhook,
    read_log,
    webhook_from_json,
    write_log,
)

VALID: dict[str, dict[str, Any]] = {
    "stock.received": {"type": "stock.received", "at": 1.0, "sku": "MUG-RED",
                       "quantity": 10, "ref": "PO-1"},
    "order.created": {"type": "order.created", "at": 12.5, "order_id": "AMZ-1001",
                      "sku": "MUG-RED", "quantity": 2, "channel": "amazon"},
    "order.cancelled": {"type": "order.cancelled", "at": 30.0, "order_id": "AMZ-1001",
                        "sku": "MUG-RED"},
    "order.shipped": {"type": "order.shipped", "at": 40.0, "order_id": "AMZ-1002",
                      "sku": "MUG-RED"},
    "return.received": {"type": "return.received", "at": 50.0, "order_id": "AMZ-1002",
                        "sku": "MUG-RED", "quantity": 1, "ref": "RMA-7"},
    "stock.adjusted": {"type": "stock.adjusted", "at": 99.0, "sku": "MUG-RED", "delta": -2,
                       "reason": "cycle count", "ref": "COUNT-7"},
}
"""One accepted record of each webhook type, as a sender would post it."""

WEBHOOKS = [
    Webhook("stock.received", 1.0, "MUG-RED", quantity=10, ref="PO-1"),
    Webhook("order.created", 12.5, "MUG-RED", order_id="AMZ-1001", quantity=2,
            channel="amazon", id="dlv-1"),
    Webhook("order.cancelled", 30.0, "MUG-RED", order_id="AMZ-1001", crash="before"),
    Webhook("order.shipped", 40.0, "TASSE-ÉTÉ", order_id="ETSY-9", crash="during"),
    Webhook("return.received", 50.0, "TASSE-ÉTÉ", order_id="ETSY-9", quantity=1,
            ref="RMA-7", id="dlv-2", crash="after"),
    Webhook("stock.adjusted", 99.0, "MUG-RED", quantity=-2, reason="cycle count",
            ref="COUNT-7"),
    Webhook("stock.adjusted", 100.0, "MUG-RED", quantity=MAX_UNITS, reason="found a pallet",
            ref="COUNT-8"),
]
"""A webhook of every type, with and without the optional ``id`` and ``crash``."""

DELETE = object()
"""In ``changed``: remove the field instead of setting it."""


def changed(kind: str, **fields: object) -> dict[str, Any]:
    """``VALID[kind]`` with ``fields`` set (or removed, for ``DELETE``)."""
    record = dict(VALID[kind])
    for name, value in fields.items():
        if value is DELETE:
            del record[name]
        else:
            record[name] = value
    return record


# -- round trips -------------------------------------------------------------------------


def test_the_table_of_types_covers_every_webhook() -> None:
    assert set(VALID) == set(WEBHOOK_TYPES) == {w.type for w in WEBHOOKS}
    assert CRASH_POINTS == ("before", "during", "after")


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_valid_records_are_accepted(kind: str) -> None:
    webhook = parse_webhook(VALID[kind])
    assert webhook.type == kind
    assert webhook.to_json() == VALID[kind]


@pytest.mark.parametrize("webhook", WEBHOOKS, ids=lambda w: f"{w.type}-{w.crash or 'plain'}")
def test_every_webhook_round_trips_through_json_text(webhook: Webhook) -> None:
    line = webhook.to_line()
    assert "\n" not in line
    assert parse_webhook(json.loads(line)) == webhook
    assert parse_webhook(webhook.to_json()) == webhook


def test_to_json_writes_the_types_fields_and_only_the_options_that_are_set() -> None:
    adjusted, created = WEBHOOKS[5], WEBHOOKS[1]
    assert adjusted.to_json() == VALID["stock.adjusted"]  # quantity is written as delta
    assert set(created.to_json()) == {"type", "at", "order_id", "sku", "quantity", "channel",
                                      "id"}
    assert "TASSE-ÉTÉ" in WEBHOOKS[3].to_line()  # not \u-escaped


def test_a_whole_number_time_is_read_as_seconds() -> None:
    webhook = parse_webhook(changed("order.shipped", at=40))
    assert webhook.at == 40.0 and isinstance(webhook.at, float)


def test_write_log_then_read_log_keeps_order_and_line_numbers(tmp_path: Path) -> None:
    path = write_log(tmp_path / "trace.jsonl", WEBHOOKS)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == len(WEBHOOKS)
    good, bad = read_log(path)
    assert bad == []
    assert good == list(enumerate(WEBHOOKS, start=1))


def test_write_log_of_nothing_is_an_empty_log(tmp_path: Path) -> None:
    path = write_log(tmp_path / "empty.jsonl", [])
    assert path.read_bytes() == b""
    assert read_log(path) == ([], [])


# -- refusals ----------------------------------------------------------------------------

REFUSED: list[tuple[str, object, str]] = [
    # the record as a whole
    ("a JSON array", [VALID["order.shipped"]], r"must be a JSON object \(got list"),
    ("a JSON string", "order.created", r"must be a JSON object \(got string"),
    ("null", None, r"must be a JSON object \(got NoneType null"),
    ("no type", changed("order.shipped", type=DELETE), r"field 'type' is missing"),
    ("an unknown type", changed("order.shipped", type="order.updated"),
     r"field 'type': unknown webhook type string \"order.updated\""),
    ("a type that is a list", changed("order.shipped", type=["order.shipped"]),
     r"field 'type': unknown webhook type list"),
    ("a misspelt field", changed("order.created", qty=2), r"unknown field\(s\) 'qty'"),
    ("two unknown fields", changed("order.shipped", colour="red", size="L"),
     r"unknown field\(s\) 'colour', 'size'"),
    ("a field of another type", changed("order.cancelled", quantity=1),
     r"order.cancelled: unknown field\(s\) 'quantity'"),
    ("no quantity", changed("order.created", quantity=DELETE),
     r"order.created: missing field\(s\) 'quantity'"),
    ("no at", changed("stock.received", at=DELETE), r"missing field\(s\) 'at'"),
    ("no reason", changed("stock.adjusted", reason=DELETE), r"missing field\(s\) 'reason'"),
    # units
    ("a string quantity", changed("order.created", quantity="2"),
     r"field 'quantity' must be a whole number of units \(got string \"2\"\)"),
    ("a fractional quantity", changed("order.created", quantity=1.5),
     r"field 'quantity' must be a whole number of units \(got float 1.5\)"),
    ("a whole float quantity", changed("stock.received", quantity=2.0),
     r"field 'quantity' must be a whole number"),
    ("a bool quantity", changed("order.created", quantity=True),
     r"field 'quantity' must be a whole number of units \(got bool"),
    ("a null quantity", changed("return.received", quantity=None),
     r"field 'quantity' must be a whole number"),
    ("quantity 0", changed("order.created", quantity=0), r"field 'quantity' must be ≥ 1"),
    ("a negative quantity", changed("stock.received", quantity=-3),
     r"field 'quantity' must be ≥ 1 \(got -3\)"),
    ("a quantity above MAX_UNITS", changed("stock.received", quantity=MAX_UNITS + 1),
     r"field 'quantity' must be at most 1,000,000,000 units"),
    ("delta 0", changed("stock.adjusted", delta=0), r"field 'delta' must be non-zero"),
    ("a fractional delta", changed("stock.adjusted", delta=-0.5),
     r"field 'delta' must be a whole number"),
    ("a delta below -MAX_UNITS", changed("stock.adjusted", delta=-MAX_UNITS - 1),
     r"field 'delta' must be at most 1,000,000,000 units in magnitude"),
    # identifiers
    ("an empty sku", changed("order.created", sku=""),
     r"field 'sku' must be a non-empty string"),
    ("a blank order id", changed("order.cancelled", order_id="   "),
     r"field 'order_id' must be a non-empty string"),
    ("a channel with a newline", changed("order.created", channel="amazon\n"),
     r"field 'channel' must not contain control characters"),
    ("a ref with a NUL", changed("stock.received", ref="PO\x001"),
     r"field 'ref' must not contain control characters"),
    ("a numeric order id", changed("order.shipped", order_id=1001),
     r"field 'order_id' must be a string \(got int 1001\)"),
    ("a 257-character sku", changed("stock.received", sku="S" * 257),
     r"field 'sku' is 257 characters long; at most 256"),
    ("an empty delivery id", changed("order.shipped", id=""),
     r"field 'id' must be a non-empty string"),
    ("a numeric delivery id", changed("order.shipped", id=7), r"field 'id' must be a string"),
    # time
    ("a NaN time", changed("order.created", at=float("nan")),
     r"field 'at' must be a finite number of seconds ≥ 0 \(got nan\)"),
    ("an infinite time", changed("order.created", at=float("inf")),
     r"field 'at' must be a finite number"),
    ("a time too large for a float", changed("order.created", at=10**400),
     r"field 'at' must be a finite number"),
    ("a negative time", changed("order.created", at=-0.5),
     r"field 'at' must be a finite number of seconds ≥ 0 \(got -0.5\)"),
    ("a string time", changed("order.created", at="12.5"),
     r"field 'at' must be a number of seconds \(got string \"12.5\"\)"),
    ("a bool time", changed("order.created", at=False), r"field 'at' must be a number"),
    # options
    ("an unknown crash point", changed("order.shipped", crash="maybe"),
     r"field 'crash' must be one of before, during, after \(got string \"maybe\"\)"),
    ("an empty crash point", changed("order.shipped", crash=""), r"field 'crash' must be"),
    ("a list crash point", changed("order.shipped", crash=["before"]),
     r"field 'crash' must be one of"),
    ("an empty reason", changed("stock.adjusted", reason=""),
     r"field 'reason' must be a non-empty string"),
    ("a blank reason", changed("stock.adjusted", reason=" \t "),
     r"field 'reason' must be a non-empty string"),
    ("a reason with a NUL", changed("stock.adjusted", reason="count\x00ed"),
     r"field 'reason' must not contain NUL characters"),
    ("a numeric reason", changed("stock.adjusted", reason=3),
     r"field 'reason' must be a non-empty string \(got int 3\)"),
]


@pytest.mark.parametrize(("record", "message"), [(r, m) for _, r, m in REFUSED],
                         ids=[name for name, _, _ in REFUSED])
def test_parse_webhook_refuses_naming_the_field(record: object, message: str) -> None:
    with pytest.raises(WebhookError, match=message):
        parse_webhook(record)


def test_a_webhook_error_is_a_racesim_error_and_a_value_error() -> None:
    with pytest.raises(RacesimError):
        parse_webhook({})
    with pytest.raises(ValueError, match="field 'type' is missing"):
        parse_webhook({})


@pytest.mark.parametrize("record", [
    changed("stock.received", quantity=MAX_UNITS),
    changed("stock.adjusted", delta=-MAX_UNITS),
    changed("stock.adjusted", delta=1),
    changed("order.created", quantity=1, at=0),
    changed("order.created", order_id="O" * 256, sku="S" * 256, channel="ÉTÉ shop"),
], ids=["max quantity", "min delta", "delta 1", "quantity 1 at 0", "longest ids"])
def test_the_edges_of_the_rules_are_accepted(record: dict[str, Any]) -> None:
    assert parse_webhook(record).to_json() == {**record, "at": float(record["at"])}


# -- reading a log -----------------------------------------------------------------------


def test_read_log_reports_malformed_lines_by_number_and_skips_blank_ones(
        tmp_path: Path) -> None:
    lines = [
        json.dumps(VALID["stock.received"]).encode(),                # 1 good
        b"",                                                         # 2 blank
        b'{"type": "order.created", "at": 2',                        # 3 truncated JSON
        b'{"type": "order.shipped", "sku": "MUG-\xff"}',             # 4 not UTF-8
        b"[1, 2]",                                                   # 5 a JSON array
        json.dumps(changed("order.created", qty=1)).encode(),        # 6 a bad field
        json.dumps(VALID["order.created"]).encode(),                 # 7 good
        b"   \t ",                                                   # 8 blank
        json.dumps(VALID["order.cancelled"]).encode() + b"\r",       # 9 good (CRLF)
        b'{"type": "order.shipped", "at": ' + b"9" * 5000 + b"}",    # 10 too many digits
        b"[" * 100_000 + b"]" * 100_000,                             # 11 too deep
    ]
    path = tmp_path / "trace.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    good, bad = read_log(path)
    assert good == [(1, parse_webhook(VALID["stock.received"])),
                    (7, parse_webhook(VALID["order.created"])),
                    (9, parse_webhook(VALID["order.cancelled"]))]
    assert [m.line for m in bad] == [3, 4, 5, 6, 10, 11]
    messages = {m.line: m.message for m in bad}
    assert messages[3].startswith("not JSON (")
    bad_byte = lines[3].index(0xFF)
    assert messages[4] == f"not UTF-8 text (invalid start byte at byte {bad_byte})"
    assert messages[5].startswith("a webhook must be a JSON object (got list")
    assert "unknown field(s) 'qty'" in messages[6]
    assert messages[10].startswith("not JSON that can be read")
    assert messages[11].startswith("not JSON that can be read")
    assert str(bad[0]) == f"line 3: {messages[3]}"
    assert bad[0].text == '{"type": "order.created", "at": 2'
    assert all(len(m.text) <= 200 and len(m.message) <= 200 for m in bad)


def test_a_malformed_line_is_a_named_tuple_of_line_message_and_text() -> None:
    line = MalformedLine(4, "not JSON (Expecting value at column 1)", "oops")
    assert line == (4, "not JSON (Expecting value at column 1)", "oops")
    assert str(line) == "line 4: not JSON (Expecting value at column 1)"


def test_read_log_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_log(tmp_path / "nope.jsonl")


# -- driving a ledger --------------------------------------------------------------------


def test_apply_webhook_sends_each_type_as_its_ledger_command() -> None:
    def send(kind: str, at: float, **fields: object) -> str:
        webhook = parse_webhook({"type": kind, "at": 0, **fields})
        return apply_webhook(ledger, webhook, at).status.value

    with Ledger.open("memory://") as ledger:
        assert send("stock.received", 1.0, sku="MUG", quantity=10, ref="PO-1") == "applied"
        assert (ledger.stock("MUG").on_hand, ledger.stock("MUG").reserved) == (10, 0)
        assert send("order.created", 2.0, order_id="O-1", sku="MUG", quantity=3,
                    channel="amazon") == "reserved"
        assert (ledger.stock("MUG").reserved, ledger.available("MUG")) == (3, 7)
        assert send("order.cancelled", 3.0, order_id="O-1", sku="MUG") == "applied"
        assert ledger.order_line("O-1", "MUG").status.value == "released"
        assert ledger.available("MUG") == 10
        assert send("order.created", 4.0, order_id="O-2", sku="MUG", quantity=2,
                    channel="ebay") == "reserved"
        assert send("order.shipped", 5.0, order_id="O-2", sku="MUG") == "applied"
        stock = ledger.stock("MUG")
        assert (stock.on_hand, stock.reserved, stock.shipped) == (8, 0, 2)
        assert send("return.received", 6.0, order_id="O-2", sku="MUG", quantity=1,
                    ref="RMA-1") == "applied"
        assert (ledger.stock("MUG").on_hand, ledger.stock("MUG").returned) == (9, 1)
        assert send("stock.adjusted", 7.0, sku="MUG", delta=-4, reason="damaged",
                    ref="COUNT-1") == "applied"
        assert ledger.stock("MUG").on_hand == 5
        assert send("order.created", 8.0, order_id="O-3", sku="MUG", quantity=6,
                    channel="ebay") == "rejected"

        events = ledger.events()
        assert list(events["kind"]) == ["RESTOCK", "RESERVE", "RELEASE", "RESERVE",
                                        "FULFILL", "RETURN", "ADJUST", "REJECT"]
        assert list(events["at"]) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # the `at` given
        assert events["reason"].iloc[6] == "damaged" and events["quantity"].iloc[6] == -4
        assert events["channel"].iloc[1] == "amazon" and events["ref"].iloc[5] == "RMA-1"
        assert ledger.verify() == []


def test_apply_webhook_repeats_are_absorbed_by_the_ledger() -> None:
    order = parse_webhook(VALID["order.created"])
    with Ledger.open("memory://") as ledger:
        apply_webhook(ledger, parse_webhook(VALID["stock.received"]), 1.0)
        assert apply_webhook(ledger, order, 2.0).status.value == "reserved"
        again = apply_webhook(ledger, order, 3.0)
        assert (again.status.value, again.decision.value) == ("duplicate", "reserved")
        assert ledger.available("MUG-RED") == 8 and ledger.event_count() == 2


def test_apply_webhook_lets_the_ledgers_refusal_propagate() -> None:
    with Ledger.open("memory://") as ledger, pytest.raises(
            RacesimError, match=r"release: order 'AMZ-1001' has no line for SKU 'MUG-RED'"):
        apply_webhook(ledger, parse_webhook(VALID["order.cancelled"]), 1.0)


def test_apply_webhook_refuses_a_type_it_does_not_know() -> None:
    odd = Webhook("order.updated", 1.0, "MUG")
    with Ledger.open("memory://") as ledger, pytest.raises(
            WebhookError, match=r"unknown webhook type 'order.updated'"):
        apply_webhook(ledger, odd, 1.0)


def test_a_byte_order_mark_on_the_first_line_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    line = '{"type": "order.shipped", "at": 1, "order_id": "A", "sku": "S"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\xef\xbb\xbf" + line.encode())
    good, bad = read_log(path)
    assert [number for number, _ in good] == [1]
    assert [m.line for m in bad] == [2]  # only a file's first line may carry one


def test_a_key_given_twice_is_ambiguous_not_last_wins(tmp_path: Path) -> None:
    text = '{"type": "order.shipped", "at": 1, "order_id": "A", "sku": "S", "sku": "T"}'
    (tmp_path / "twice.jsonl").write_text(text + "\n")
    good, bad = read_log(tmp_path / "twice.jsonl")
    assert good == [] and bad[0].message == "field 'sku' appears more than once"
    with pytest.raises(WebhookError, match="field 'sku' appears more than once"):
        webhook_from_json(text)
    with pytest.raises(WebhookError, match="not JSON"):
        webhook_from_json(b"{")
    assert webhook_from_json(text.replace(', "sku": "T"', "")).sku == "S"


def test_the_ledger_refuses_a_reason_no_store_can_keep() -> None:
    with Ledger.open() as ledger, pytest.raises(RacesimError, match="NUL characters"):
        ledger.adjust("MUG", 1, "count\x00ed", "C-1", at=0)
