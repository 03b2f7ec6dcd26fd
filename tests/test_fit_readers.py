"""The readers behind ``racesim fit``: a seller's exports in, one canonical table out.

The sample exports in ``tests/data/exports/`` follow the vendors' documented layouts
(see each layout's docstring in ``racesim.fit.layouts``). Every bad input is one line
naming the file, the line an editor shows, and the column.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from racesim.fit.checks import ExportError
from racesim.fit.orders import LINE_COLUMNS, parse_order_spec, read_order_file, read_orders
from racesim.fit.receipts import read_receipts
from racesim.fit.returns import apply_returns, read_returns
from racesim.fit.stock import read_stock
from racesim.webhooks.format import Webhook, write_log

EXPORTS = Path(__file__).parent / "data" / "exports"
SHOPIFY = EXPORTS / "shopify_orders.csv"
AMAZON = EXPORTS / "amazon_all_orders.txt"
EBAY = EXPORTS / "ebay_orders.csv"
GENERIC = EXPORTS / "generic_orders.csv"
DAILY = EXPORTS / "generic_daily.csv"
BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fit_read.py"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- each layout from its sample ------------------------------------------------------

def test_shopify_export_reads_line_items_in_one_utc_timeline_across_dst() -> None:
    lines, read = read_order_file(SHOPIFY)
    assert list(lines.columns) == list(LINE_COLUMNS)
    assert (read.layout, len(lines), lines["order_id"].nunique()) == ("shopify", 18, 12)
    assert read.channels == ("shopify",) and read.time_resolution == {"shopify": "second"}
    by_order = lines.set_index(["order_id", "line"])
    # +0100 before the change of 30 March 2025, +0200 after: both in UTC, in order.
    assert by_order.loc[("#1045", 1), "placed_at"] == utc("2025-03-29 22:47:31")
    assert by_order.loc[("#1046", 1), "placed_at"] == utc("2025-03-30 01:10:09")
    # The continuation row of #1044 has no Created at: it is the order's.
    assert by_order.loc[("#1044", 2), "placed_at"] == utc("2025-03-29 20:58:00")
    cancelled = lines[lines["status"] == "cancelled"]
    assert cancelled["order_id"].tolist() == ["#1044", "#1044"]
    assert (cancelled["cancelled_at"] == utc("2025-03-30 08:15:27")).all()
    assert lines.loc[lines["status"] == "placed", "cancelled_at"].isna().all()
    assert by_order.loc[("#1047", 3), ["sku", "quantity", "price", "currency"]].tolist() == \
        ["MUG-RED", 2, 14.9, "EUR"]
    # #1043's note spans two lines of the file, so #1044 starts on line 7.
    assert by_order.loc[("#1043", 1), "source_line"] == 5
    assert by_order.loc[("#1044", 1), "source_line"] == 7
    assert lines["placed_at"].dt.tz is not None and str(lines["placed_at"].dt.tz) == "UTC"


def test_amazon_report_takes_its_channel_from_sales_channel_and_marks_cancellations() -> None:
    lines, read = read_order_file(AMAZON)
    assert (read.layout, len(lines)) == ("amazon", 17)
    assert read.channels == ("Amazon.co.uk", "Amazon.de", "Amazon.fr", "Non-Amazon")
    cancelled = lines[lines["status"] == "cancelled"].set_index("order_id")
    assert sorted(cancelled.index) == ["302-5539021-8870413", "302-6650190-7723318"]
    assert cancelled.loc["302-5539021-8870413", "quantity"] == 0  # Amazon reports 0
    assert cancelled.loc["302-6650190-7723318", "cancelled_at"] == utc("2025-03-30 12:44:30")
    assert any("last-updated-date" in note for note in read.assumptions)
    three = lines[lines["order_id"] == "302-3301278-4410925"]
    assert three["line"].tolist() == [1, 2, 3]
    assert three["price"].round(2).tolist() == [15.90, 8.90, 10.50]  # item-price / quantity


def test_ebay_report_skips_its_framing_and_gives_daily_counts_only() -> None:
    lines, read = read_order_file(EBAY)
    assert (read.layout, len(lines), read.framing, read.rows_read) == ("ebay", 11, 5, 16)
    assert read.time_resolution == {"ebay": "day"}
    assert (lines["time_resolution"] == "day").all()
    assert any("daily counts only" in note for note in read.assumptions)
    multi = lines[lines["order_id"] == "03-12922-19876"]
    assert multi["sku"].tolist() == ["COASTER-SET4", "MUG-RED", "266104421009"]  # Item Number
    assert (multi["placed_at"] == utc("2025-03-31")).all()
    assert multi["price"].tolist() == [8.49, 15.50, 1433.66]
    assert multi["source_line"].tolist() == [11, 12, 13]
    assert read_orders([EBAY]).day_only_channels == ("ebay",)


def test_generic_file_reads_cancels_returns_and_offsets() -> None:
    lines, read = read_order_file(GENERIC)
    assert (read.layout, len(lines), read.channels) == ("generic", 12, ("allegro", "shop"))
    rows = lines.set_index(["order_id", "sku"])
    assert rows.loc[("W-2004", "TEA-SENCHA-100"), "status"] == "cancelled"
    assert rows.loc[("W-2009", "MUG-RED"), "status"] == "cancelled"  # "canceled"
    assert rows.loc[("W-2002", "TEAPOT-CAST"), "returned_at"] == utc("2025-04-03 07:30")
    assert rows.loc[("W-2008", "COASTER-SET4"), "returned_quantity"] == 4
    assert rows.loc[("W-2003", "MUG-BLUE"), "placed_at"] == utc("2025-03-28 22:59:10")
    assert lines["returned_quantity"].sum() == 5 and read.assumptions == ()


def test_dates_without_times_are_flagged_per_channel() -> None:
    read = read_orders([GENERIC, DAILY])
    assert read.day_only_channels == ("wholesale",)
    assert read.files[1].time_resolution == {"wholesale": "day"}
    assert read.files[0].time_resolution == {"allegro": "second", "shop": "second"}


# --- detection, order and extra columns ---------------------------------------------

@pytest.mark.parametrize(("path", "layout"), [(SHOPIFY, "shopify"), (AMAZON, "amazon"),
                                              (EBAY, "ebay"), (GENERIC, "generic")])
def test_auto_recognises_each_layout_from_its_header(path: Path, layout: str) -> None:
    auto, read = read_order_file(path)
    named, _ = read_order_file(path, format=layout)
    assert read.layout == layout
    pd.testing.assert_frame_equal(auto, named)


def _rewrite(path: Path, out: Path, *, extra: bool) -> Path:
    """The same export with its columns in reverse order (and an unknown one added)."""
    delimiter = "\t" if path.suffix == ".txt" else ","
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=delimiter))
    width = max(len(row) for row in rows)
    header_at = next(i for i, row in enumerate(rows) if len(row) == width)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        for i, row in enumerate(rows):
            if len(row) == width:
                cells = [*row[::-1], *(["Marketing Region"] if i == header_at else ["EU-1"])
                         ] if extra else row[::-1]
                writer.writerow(cells)
            else:
                writer.writerow(row)
    return out


def test_a_status_marks_a_cancellation_in_any_case_and_nothing_like_it_does(
        tmp_path: Path) -> None:
    statuses = ["CANCELLED", "Canceled", "cancelled", "Cancelled-ish", "placed", "Ｃancelled",
                "cancel", "Storniert", "K"]
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity,status\n" +
                 "".join(f"A-{k},2025-03-01T10:00:00Z,shop,MUG,1,{status}\n"
                         for k, status in enumerate(statuses * 10)))
    lines, _ = read_order_file(path)
    cancelled = lines.loc[lines["status"] == "cancelled", "order_id"].str[2:].astype(int) % 9
    assert sorted(set(cancelled)) == [0, 1, 2]


@pytest.mark.parametrize("path", [SHOPIFY, AMAZON, EBAY, GENERIC])
def test_columns_are_mapped_by_name_not_position(path: Path, tmp_path: Path) -> None:
    extra = path != GENERIC  # a generic file refuses unknown columns (tested below)
    moved = _rewrite(path, tmp_path / path.name, extra=extra)
    before, _ = read_order_file(path)
    after, _ = read_order_file(moved)
    pd.testing.assert_frame_equal(before.drop(columns="source_file"),
                                  after.drop(columns="source_file"))


def test_a_file_mixing_zones_comes_out_in_one_timeline(tmp_path: Path) -> None:
    path = write(tmp_path, "zones.csv", "order_id,created_at,channel,sku,quantity\n"
                 "A,2025-06-01T12:00:00+02:00,shop,X,1\n"
                 "B,2025-06-01T06:30:00-05:00,shop,X,1\n"
                 "C,2025-06-01T11:00:00Z,shop,X,1\n"
                 "D,2025-06-01 13:15:00 +0200,shop,X,1\n"
                 "E,2025-06-01T11:45:00,shop,X,1\n")
    lines, read = read_order_file(path)
    assert lines["placed_at"].tolist() == [utc("2025-06-01 10:00"), utc("2025-06-01 11:30"),
                                           utc("2025-06-01 11:00"), utc("2025-06-01 11:15"),
                                           utc("2025-06-01 11:45")]
    assert read.assumptions == ("1 times without a zone offset read as UTC",)


def test_a_parquet_file_reads_like_its_csv(tmp_path: Path) -> None:
    frame = pd.read_csv(GENERIC, dtype=str, keep_default_na=False)
    frame["quantity"] = frame["quantity"].astype(int)
    path = tmp_path / "orders.parquet"
    frame.to_parquet(path)
    from_csv, _ = read_order_file(GENERIC)
    from_parquet, read = read_order_file(path)
    assert read.layout == "generic"
    pd.testing.assert_frame_equal(from_csv.drop(columns=["source_file", "source_line"]),
                                  from_parquet.drop(columns=["source_file", "source_line"]))
    assert from_parquet["source_line"].tolist() == list(range(1, 13))  # Parquet: row numbers


# --- bad input: one line naming file, line and column -------------------------------

HEADER = "order_id,created_at,channel,sku,quantity,status,cancelled_at\n"
GOOD = "A-1,2025-03-01T10:00:00Z,shop,MUG,1,,\n"


@pytest.mark.parametrize(("row", "message"), [
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,-2,,", "column quantity: negative quantity (value '-2')"),
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,two,,", "column quantity: not a number (value 'two')"),
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,1.5,,",
     "column quantity: not a whole number of units (value '1.5')"),
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,0,,",
     "column quantity: quantity 0 on a line that is not cancelled (value '0')"),
    ("A-2,yesterday noon,shop,MUG,1,,", "column created_at: unparseable time (value "
     "'yesterday noon')"),
    ("A-2,1970-01-01T00:00:00Z,shop,MUG,1,,", "column created_at: time out of range "
     "(1990–2099) (value '1970-01-01T00:00:00Z')"),
    ("A-2,2025-03-01T11:00:00Z,shop,,1,,", "column sku: missing value (value '')"),
    ("A-2,2025-03-01T11:00:00Z,,MUG,1,,", "column channel: missing value (or give the file a "
     "CHANNEL= prefix) (value '')"),
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,1,cancelled,2025-02-01T00:00:00Z",
     "column cancelled_at: before the order was placed (value '2025-02-01T00:00:00Z')"),
    ("A-2,2025-03-01T11:00:00Z,shop,MUG,1,,,surplus",
     "column #8: a field beyond the header's 7 columns (the row has 8 fields)"),
])
def test_each_bad_row_is_one_line_naming_file_line_and_column(
        tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "orders.csv", HEADER + GOOD + "\n" + GOOD.replace("A-1", "A-0")
                 + row + "\n" + GOOD)
    with pytest.raises(ExportError) as caught:
        read_order_file(path)
    assert str(caught.value) == f"{path}:5: {message}"
    assert "\n" not in str(caught.value)


def test_the_first_bad_row_in_the_file_is_reported_whatever_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", HEADER + GOOD + "A-2,soon,shop,MUG,1,,\n"
                 "A-3,2025-03-01T11:00:00Z,shop,MUG,-1,,\n")
    with pytest.raises(ExportError, match=r"orders\.csv:3: column created_at: unparseable"):
        read_order_file(path)


def test_a_vendor_row_is_located_past_cells_spanning_lines(tmp_path: Path) -> None:
    text = SHOPIFY.read_text(encoding="utf-8").replace("2025-03-31 08:02:11 +0200",
                                                       "31/03/2025 8h02")
    path = write(tmp_path, "shopify.csv", text)
    with pytest.raises(ExportError) as caught:
        read_order_file(path)
    assert str(caught.value) == (f"{path}:14: column Created at: unparseable time "
                                 "(value '31/03/2025 8h02')")


def test_an_unknown_generic_column_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity,qty\n"
                 "A,2025-03-01,shop,MUG,1,1\n")
    with pytest.raises(ExportError, match=r"orders\.csv:1: column qty: unknown column"):
        read_order_file(path)


def test_a_missing_required_column_names_it_and_the_layout(tmp_path: Path) -> None:
    text = AMAZON.read_text(encoding="utf-8").replace("\tpurchase-date\t", "\tbought-on\t")
    path = write(tmp_path, "amazon.txt", text)
    with pytest.raises(ExportError) as caught:
        read_order_file(path, format="amazon")
    assert str(caught.value) == (f"{path}:1: column purchase-date: missing from the header "
                                 "(the amazon layout requires it)")
    with pytest.raises(ExportError, match="not a known order export"):
        read_order_file(path)


def test_a_file_with_no_usable_orders_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", HEADER + "\n\n")
    with pytest.raises(ExportError, match=r"orders\.csv:1: no usable order lines \(2 rows "
                                          r"below the header, 2 framing, 0 malformed\)"):
        read_order_file(path)
    bad = write(tmp_path, "bad.csv", HEADER + "A,2025-03-01,shop,MUG,-1,,\n")
    with pytest.raises(ExportError, match="no usable order lines"):
        read_order_file(bad, malformed="skip")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (b"order_id,created_at\n\x00\x01\x02binary", "2: binary data (a NUL byte at byte 20)"),
    (b"PK\x03\x04rest-of-a-zip", "is a zip archive, not a CSV or Parquet table"),
    (HEADER.encode() + "A,2025-03-01,shop,CAFÉ,1,,\n".encode("latin-1"),
     "2: not UTF-8 text (byte 0xc9)"),
    (b"PAR1 not really parquet", "not a readable Parquet file"),
])
def test_unreadable_files_are_one_clear_line(tmp_path: Path, content: bytes,
                                             message: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError) as caught:
        read_order_file(path)
    assert str(caught.value).startswith(f"{path}:") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_files_and_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        read_order_file(tmp_path / "nope.csv")
    with pytest.raises(ExportError, match="is a folder"):
        read_order_file(tmp_path)
    with pytest.raises(ExportError, match="format must be one of auto, shopify"):
        read_order_file(GENERIC, format="woocommerce")
    with pytest.raises(ExportError, match="malformed must be 'error' or 'skip'"):
        read_order_file(GENERIC, malformed="ignore")


def test_skip_leaves_malformed_rows_out_and_counts_them(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", HEADER + GOOD + "A-2,soon,shop,MUG,1,,\n"
                 "A-3,2025-03-01T11:00:00Z,shop,MUG,-1,,\n"
                 'A-4,2025-03-01,shop,MUG,1,"in\ntransit",\n'
                 "A-5,2025-03-01T11:00:00Z,shop,MUG,-3,,\n" "A-6,2025-03-01,shop,MUG,1,,,extra\n"
                 "A-7,2025-03-02,shop,MUG,2,,\n")
    lines, read = read_order_file(path, malformed="skip")
    assert lines["order_id"].tolist() == ["A-1", "A-4", "A-7"]
    assert lines["source_line"].tolist() == [2, 5, 9]
    assert read.skipped == {"a row with more fields than the header": 1,
                            "column created_at: unparseable time": 1,
                            "column quantity: negative quantity": 2}
    assert (read.rows_read, read.lines_kept, read.rows_skipped) == (7, 3, 4)


# --- channels ------------------------------------------------------------------------

def test_a_channel_prefix_names_a_file_without_a_channel_column(tmp_path: Path) -> None:
    read = read_orders([f"webshop={SHOPIFY}", f"{EBAY}"])
    assert read.channels == ("ebay", "webshop")
    assert read.lines.loc[read.lines["source_file"] == str(SHOPIFY), "channel"].eq(
        "webshop").all()
    path = write(tmp_path, "no_channel.csv", "order_id,created_at,sku,quantity\n"
                 "A,2025-03-01T10:00:00Z,MUG,1\n")
    assert read_orders([f"allegro={path}"]).channels == ("allegro",)
    with pytest.raises(ExportError, match=r"no_channel\.csv:1: column channel: missing from "
                                          r"the header \(the generic layout requires it\)"):
        read_orders([path])


def test_a_files_own_channel_column_wins_over_the_prefix(tmp_path: Path) -> None:
    read = read_orders([f"marketplace={AMAZON}"])
    assert "marketplace" not in read.channels and "Amazon.de" in read.channels
    notes = read.files[0].assumptions
    assert any("wins over the CHANNEL= prefix 'marketplace'" in note for note in notes)
    path = write(tmp_path, "orders.csv", HEADER + GOOD + "A-2,2025-03-01T11:00:00Z,,MUG,1,,\n")
    lines = read_orders([f"outlet={path}"]).lines
    assert lines["channel"].tolist() == ["shop", "outlet"]  # empty cells take the prefix


def test_channel_prefixes_are_checked(tmp_path: Path) -> None:
    assert parse_order_spec("amazon=exports/a.txt") == ("amazon", Path("exports/a.txt"))
    assert parse_order_spec(SHOPIFY) == (None, SHOPIFY)
    odd = write(tmp_path, "a=b.csv", HEADER + GOOD)
    assert parse_order_spec(str(odd)) == (None, odd)  # exists as written
    with pytest.raises(ExportError, match="a CHANNEL=PATH prefix must be"):
        parse_order_spec("my shop=orders.csv")


# --- returns, receipts, stock --------------------------------------------------------

def test_a_returns_file_joins_the_order_lines() -> None:
    orders = read_orders([SHOPIFY, AMAZON]).lines
    returns, skipped = read_returns(EXPORTS / "returns.csv")
    assert skipped == {} and len(returns) == 3
    lines, _ = apply_returns(orders, returns)
    returned = lines[lines["returned_quantity"] > 0].set_index("order_id")
    assert returned["returned_quantity"].to_dict() == {"#1042": 1, "#1049": 1,
                                                       "302-1209877-5530021": 2}
    assert returned.loc["#1042", "returned_at"] == utc("2025-04-04 08:00")


def test_returns_that_match_nothing_or_too_much_are_refused(tmp_path: Path) -> None:
    orders = read_orders([SHOPIFY]).lines
    path = write(tmp_path, "returns.csv", "order_id,sku,quantity,returned_at\n"
                 "#1042,MUG-BLUE,1,2025-04-04T10:00:00Z\n#9999,MUG-BLUE,1,2025-04-04T10:00:00Z\n")
    with pytest.raises(ExportError) as caught:
        apply_returns(orders, read_returns(path)[0])
    assert str(caught.value) == (f"{path}:3: column order_id: no order line with this order "
                                 "id and SKU in the order files (value '#9999')")
    _, skipped = apply_returns(orders, read_returns(path)[0], malformed="skip")
    assert sum(skipped.values()) == 1
    many = write(tmp_path, "many.csv", "order_id,sku,quantity,returned_at\n"
                 "#1042,MUG-BLUE,2,2025-04-04T10:00:00Z\n")
    with pytest.raises(ExportError, match=r"many\.csv:2: column quantity: more units returned "
                                          r"\(2\) than the line ordered \(1\)"):
        apply_returns(orders, read_returns(many)[0])


def test_a_csv_receipt_log_takes_iso_times_and_epoch_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "receipts.csv", "order_id,received_at,channel\n"
                 "#1041,2025-03-28T08:12:50Z,shopify\n#1041,1743149575,shopify\n"
                 "#1042,2025-03-28 18:40:09 +0100,\n")
    read = read_receipts(path)
    assert read.form == "csv"
    assert read.receipts["received_at"].tolist() == [
        utc("2025-03-28 08:12:50"), utc("2025-03-28 08:12:55"), utc("2025-03-28 17:40:09")]
    bad = write(tmp_path, "bad.csv", "order_id,received_at\n#1,2025-03-28T08:12:50Z\n#2,soon\n")
    with pytest.raises(ExportError, match=r"bad\.csv:3: column received_at: unparseable time"):
        read_receipts(bad)


def test_a_webhook_json_lines_log_gives_its_order_created_deliveries(tmp_path: Path) -> None:
    log = [Webhook("order.created", 1_743_149_570.0, "MUG", "A-1", 1, "amazon"),
           Webhook("order.created", 1_743_149_580.5, "MUG", "A-1", 1, "amazon"),
           Webhook("order.cancelled", 1_743_149_600.0, "MUG", "A-1")]
    path = write_log(tmp_path / "hooks.jsonl", log)
    read = read_receipts(path)
    assert (read.form, len(read.receipts), read.other_types) == ("jsonl", 2, 1)
    assert read.receipts["received_at"].iloc[1] == utc("2025-03-28 08:13:00.5")
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"type": "order.created", "at": 1}\n')
    with pytest.raises(ExportError, match=r"hooks\.jsonl:4: order\.created: missing field"):
        read_receipts(path)
    assert read_receipts(path, malformed="skip").skipped == {"malformed line": 1}


def test_a_stock_list_reads_on_hand_and_restocks(tmp_path: Path) -> None:
    path = write(tmp_path, "stock.csv", "sku,on_hand,restock_every,restock_qty\n"
                 "MUG-RED,40,7d,30\nMUG-BLUE,0,,\nTEAPOT-CAST,5,14,10\n")
    stock, skipped = read_stock(path)
    assert stock["on_hand"].tolist() == [40, 0, 5] and skipped == {}
    assert stock["restock_every_s"].tolist()[0] == 7 * 86400.0
    assert stock["restock_every_s"].tolist()[2] == 14 * 86400.0
    assert pd.isna(stock["restock_every_s"].iloc[1])
    twice = write(tmp_path, "twice.csv", "sku,on_hand\nMUG,1\nMUG,2\n")
    with pytest.raises(ExportError, match=r"twice\.csv:3: column sku: this SKU is listed twice"):
        read_stock(twice)
    half = write(tmp_path, "half.csv", "sku,on_hand,restock_every\nMUG,1,7d\n")
    with pytest.raises(ExportError) as caught:
        read_stock(half)
    assert str(caught.value) == (f"{half}:2: column restock_qty: missing value "
                                 "(restock_every is given) (value '')")
    spelt = write(tmp_path, "spelt.csv", "sku,onhand\nMUG,1\n")
    with pytest.raises(ExportError, match=r"spelt\.csv:1: column onhand: unknown column"):
        read_stock(spelt)


# --- the benchmark -------------------------------------------------------------------

def test_the_read_benchmark_runs_and_reports_every_layout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_fit_read", BENCHMARK)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "figures.json"
    assert bench.main(["--rows", "3000", "--rounds", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    printed = capsys.readouterr().out
    for layout in ("generic", "shopify", "amazon", "ebay"):
        assert figures[layout]["read_csv_s"] > 0 and figures[layout]["reader_s"] > 0
        assert layout in printed


# --- the fast paths read exactly what pandas reads ------------------------------------

TRICKY = ("order_id,created_at,channel,sku,quantity,status,returned_at,price\n"
          'A-1,2025-03-01T10:00:00Z,shop,"MUG, red",1,,,"1,234.50"\n'
          'A-1,2025-03-01 11:00:00 +0100,shop,"say ""hi""",2,,,3\n'
          ",,,,,,,\n"
          "A-2,2025-03-01,shop,007,3,cancelled,,-4.25\n"
          'A-3,2025-03-02T08:00:00+05:30,shop,"two\nlines",4,,2025-03-09T08:00:00-0800,\n'
          "A-4,2025-02-29T08:00:00Z,shop,TEA,1,,2025-13-01,7\n"
          "A-5,2025-03-02T08:00:00,shop,TEA,5\n"
          "\n"
          "A-6,2025-03-03T24:00:00Z,shop,CUP,6,,,8.5\n")


@pytest.mark.parametrize("path", [SHOPIFY, AMAZON, EBAY, GENERIC, DAILY, "tricky"])
def test_the_fast_reader_gives_what_pandas_parser_gives(
        path: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow's reading (with numbers typed as pandas types them) against pandas' own."""
    import racesim.fit.table as table

    if path == "tricky":
        path = tmp_path / "tricky.csv"
        path.write_bytes(("\ufeff" + TRICKY).replace("\n", "\r\n").encode("utf-8"))
    source = table.load(path)
    header_at = next(i for i, _, fields in table.header_candidates(source) if len(fields) > 3)
    delimiter, names = next((d, f) for i, d, f in table.header_candidates(source)
                            if i == header_at)
    wanted = list(range(len(names)))
    numeric = frozenset(k for k, name in enumerate(names)  # as the order reader asks
                        if any(word in name.lower() for word in ("quantity", "price", "sold")))
    assert table._arrow_rows(source.data, header_at, delimiter, wanted, numeric,
                             len(names)) is not None  # pyarrow reads this file
    fast = table.read_rows(source, header_at, delimiter, wanted, "skip", numeric, len(names))
    monkeypatch.setattr(table, "_arrow_rows", lambda *args: None)
    slow = table.read_rows(source, header_at, delimiter, wanted, "skip", numeric, len(names))
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
    assert fast.lines.tolist() == slow.lines.tolist()


def test_the_fast_time_parser_gives_what_pandas_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    import racesim.fit.times as times_module

    values = pd.Series(["2025-03-01T10:00:00Z", "2025-03-01 10:00:00 +0100", "2024-02-29",
                        "2025-02-29", "2025-03-30T02:30:00+02:00", "2025-03-01T10:00:00-0530",
                        "2025-03-01T23:59:60Z", "2025-03-01T24:00:00Z", "1970-01-01T00:00:00Z",
                        "2100-01-01", "2025-03-01T10:00:00", "2025-03-01 10:00:00Z",
                        "2025-03-01T10:00:00+24:00", "2025-3-01T10:00:00Z", "", "soon",
                        "2025-03-01T10:00:00.5Z", "1899-12-31T23:00:00-0100"], dtype="str")
    fast = times_module.parse_times(values)
    assert fast.zoned is not None and fast.zoned[:2].all()
    monkeypatch.setattr(times_module, "_iso_fast", lambda text, rows: (rows[:0],) * 3)
    slow = times_module.parse_times(values)
    pd.testing.assert_series_equal(fast.utc, slow.utc, check_exact=True)
    for name in ("date_only", "bad", "out_of_range"):
        assert getattr(fast, name).tolist() == getattr(slow, name).tolist(), name


@pytest.mark.parametrize("values", [
    ["2025-03-01T10:00:00Z", "1900-01-01T00:00:00Z", "2199-12-31T23:59:59Z",
     "2025-03-01 10:00:00Z"],
    ["2025-03-29 23:10:00 +0100", "2025-03-30 03:10:00 +0200", "1900-01-01 00:30:00 +0100"],
    ["2025-03-01T10:00:00+01:00", "2199-12-31T23:00:00-05:00", "2025-03-01 10:00:00-23:59"],
    ["2025-03-01T10:00:00+0100", "2025-03-01T10:00:00-0530", "1900-01-01T00:00:00+0000"],
    ["2025-03-01T10:00:00", "2025-03-01 23:59:59", "1900-01-01T00:00:00"],
    ["2025-03-01", "2024-02-29", "1900-01-01", "2199-12-31"],
    ["2025-03-01t10:00:00Z", "2025-03-01T10:00:00z"],  # spellings Arrow may read, pandas decides
])
def test_times_arrow_casts_read_as_numpy_and_pandas_read_them(
        values: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import racesim.fit.times as times_module

    column = pd.Series(values * 30, dtype="str")  # all valid: Arrow's cast takes the group
    arrow = times_module.parse_times(column)
    monkeypatch.setattr(times_module, "_arrow_cells", lambda text, picked, *args: (
        np.zeros(len(picked), dtype=bool), np.zeros(len(picked), dtype=np.int64)))
    numpy_read = times_module.parse_times(column)
    monkeypatch.setattr(times_module, "_iso_fast", lambda text, rows: (rows[:0],) * 3)
    pandas_read = times_module.parse_times(column)
    for other in (numpy_read, pandas_read):
        pd.testing.assert_series_equal(arrow.utc, other.utc, check_exact=True)
        for name in ("date_only", "bad", "out_of_range"):
            assert getattr(arrow, name).tolist() == getattr(other, name).tolist(), name
    assert arrow.zoned is not None and numpy_read.zoned is not None
    assert arrow.zoned.tolist() == numpy_read.zoned.tolist()


# --- framing, line endings and text ids ---------------------------------------------

def test_title_lines_excel_separator_and_crlf_are_framing(tmp_path: Path) -> None:
    text = ("Orders report generated 2 April 2025\nsep=,\n\n" + HEADER + GOOD
            + "A-2,2025-03-01T11:00:00Z,shop,MUG,-2,,\n").replace("\n", "\r\n")
    path = tmp_path / "orders.csv"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    with pytest.raises(ExportError, match=r"orders\.csv:6: column quantity: negative"):
        read_order_file(path)
    lines, read = read_order_file(path, malformed="skip")
    assert lines["source_line"].tolist() == [5] and lines["channel"].tolist() == ["shop"]
    assert read.rows_skipped == 1


def test_ids_that_look_like_numbers_keep_their_text(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity\n"
                 "0012,2025-03-01T10:00:00Z,shop,007,1\n0013,2025-03-01T11:00:00Z,shop,010,2\n")
    lines, _ = read_order_file(path)
    assert lines["order_id"].tolist() == ["0012", "0013"]
    assert lines["sku"].tolist() == ["007", "010"]
    assert lines["quantity"].tolist() == [1, 2]


def test_header_names_match_whatever_their_case(tmp_path: Path) -> None:
    text = EBAY.read_text(encoding="utf-8").replace("Order Number", "Order number").replace(
        "Custom Label", "Custom label").replace("Sale Date", "Sale date")
    lines, read = read_order_file(write(tmp_path, "ebay.csv", text))
    assert read.layout == "ebay" and len(lines) == 11


def test_a_repeated_or_unclosed_column_is_refused(tmp_path: Path) -> None:
    twice = write(tmp_path, "twice.csv", "order_id,created_at,channel,sku,quantity,sku\n"
                  "A,2025-03-01,shop,MUG,1,MUG\n")
    with pytest.raises(ExportError, match=r"twice\.csv:1: column sku: appears twice"):
        read_order_file(twice)
    unclosed = write(tmp_path, "unclosed.csv", HEADER + GOOD + 'A-2,2025-03-01,"shop,MUG,1,,\n')
    with pytest.raises(ExportError, match=r"unclosed\.csv:3: a quoted cell that is never closed"):
        read_order_file(unclosed)


def test_a_channel_with_both_times_and_dates_is_mixed(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity\n"
                 "A,2025-03-01T10:00:00Z,shop,MUG,1\nB,2025-03-02,shop,MUG,1\n")
    _, read = read_order_file(path)
    assert read.time_resolution == {"shop": "mixed"}


def test_old_mac_line_endings_count_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + GOOD + "A-2,2025-03-01,shop,MUG,x,,\n").replace("\n", "\r")
                     .encode())
    with pytest.raises(ExportError, match=r"orders\.csv:3: column quantity: not a number"):
        read_order_file(path)


def test_lines_are_numbered_within_orders_even_when_an_order_comes_back(
        tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity\n"
                 "B,2025-03-01,shop,MUG,1\nA,2025-03-01,shop,MUG,1\nA,2025-03-01,shop,CUP,1\n"
                 "B,2025-03-01,shop,CUP,1\nC,2025-03-01,shop,CUP,1\n")
    lines, _ = read_order_file(path)
    assert list(zip(lines["order_id"], lines["line"], strict=True)) == [
        ("B", 1), ("A", 1), ("A", 2), ("B", 2), ("C", 1)]


def test_returned_quantity_says_how_much_of_a_line_came_back(tmp_path: Path) -> None:
    header = "order_id,created_at,channel,sku,quantity,returned_at,returned_quantity\n"
    path = write(tmp_path, "orders.csv", header
                 + "A,2025-03-01T10:00:00Z,shop,MUG,3,2025-03-05T10:00:00Z,2\n"
                 + "B,2025-03-01T10:00:00Z,shop,MUG,3,2025-03-05T10:00:00Z,\n"
                 + "C,2025-03-01T10:00:00Z,shop,MUG,3,,\n")
    lines, _ = read_order_file(path)
    assert lines["returned_quantity"].tolist() == [2, 3, 0]
    too_many = write(tmp_path, "many.csv", header
                     + "A,2025-03-01T10:00:00Z,shop,MUG,3,2025-03-05T10:00:00Z,4\n")
    with pytest.raises(ExportError, match=r"many\.csv:2: column returned_quantity: more units "
                                          r"returned than ordered \(value '4'\)"):
        read_order_file(too_many)
    no_time = write(tmp_path, "no_time.csv", header + "A,2025-03-01T10:00:00Z,shop,MUG,3,,1\n")
    with pytest.raises(ExportError, match=r"no_time\.csv:2: column returned_quantity: "
                                          r"returned units without a returned_at time"):
        read_order_file(no_time)


def test_ids_may_be_any_printable_text_but_not_control_characters(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "order_id,created_at,channel,sku,quantity\n"
                 "A,2025-03-01,shop,TASSE-ÉTÉ-☕,1\n")
    assert read_order_file(path)[0]["sku"].tolist() == ["TASSE-ÉTÉ-☕"]
    bad = write(tmp_path, "bad.csv", "order_id,created_at,channel,sku,quantity\n"
                "A,2025-03-01,shop,TASSE-ÉTÉ,1\nB,2025-03-01,shop,\"MUG\x07\",1\n")
    with pytest.raises(ExportError, match=r"bad\.csv:3: column sku: contains control "
                                          r"characters \(value 'MUG\\x07'\)"):
        read_order_file(bad)


def test_a_bad_amazon_row_is_located_by_its_line(tmp_path: Path) -> None:
    rows = AMAZON.read_text(encoding="utf-8").splitlines()
    cells = rows[9].split("\t")
    cells[13] = "-1"  # quantity
    rows[9] = "\t".join(cells)
    path = write(tmp_path, "amazon.txt", "\n".join(rows) + "\n")
    with pytest.raises(ExportError) as caught:
        read_order_file(path)
    assert str(caught.value) == f"{path}:10: column quantity: negative quantity (value '-1')"
    with pytest.raises(ExportError, match="format must be one of"):
        read_orders([tmp_path / "never-read.csv"], format="csv")


@pytest.mark.parametrize("date", ["Mar-31-25", "31-Mar-25", "Mar 31, 2025", "2025-03-31"])
def test_ebay_sale_dates_read_in_each_spelling(tmp_path: Path, date: str) -> None:
    text = EBAY.read_text(encoding="utf-8").replace("Mar-31-25", f'"{date}"')
    lines, _ = read_order_file(write(tmp_path, "ebay.csv", text))
    order = lines[lines["order_id"] == "03-12922-19876"]
    assert (order["placed_at"] == utc("2025-03-31")).all()
    assert (order["time_resolution"] == "day").all()


TYPED_TEXT = ("order_id,created_at,channel,sku,quantity,status,cancelled_at,returned_at,price\n"
              "B-1,2025-03-01T10:00:00Z,shop,TEA,2,placed,,,4.50\n"
              "B-1,2025-03-01T10:00:00Z,shop,CUP,1,placed,,2025-03-05T09:00:00+01:00,12\n"
              "B-2,2025-03-01T11:00:00+0130,ebay,TEA,3,cancelled,2025-03-01T12:00:00-05:00,,4.5\n"
              "B-3,2025-03-01 12:00Z,ebay,CUP,1e1,placed,,,1.25E1\n"
              "B-4,2025-03-01T13:00:00+01,shop,TEA, 4 ,placed,,,+3\n")


@pytest.mark.parametrize("case", ["as_typed", "blank line", "empty price", "naive time",
                                  "bad time", "hex quantity", "late return"])
def test_columns_pyarrow_types_itself_read_as_the_text_reading_reads_them(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbers and zoned ISO times that pyarrow converts while parsing give the table, the
    notes and the error that reading them as text gives; a row that is refused, and any
    cell pyarrow reads but might read otherwise, is read again as text."""
    import racesim.fit.orders as orders
    import racesim.fit.table as table

    text = {"as_typed": TYPED_TEXT,
            "blank line": TYPED_TEXT.replace("\nB-3", "\n,,,,,,,,\nB-3"),
            "empty price": TYPED_TEXT.replace(",4.5\n", ",\n"),
            "naive time": TYPED_TEXT.replace("12:00Z", "12:00:00"),
            "bad time": TYPED_TEXT.replace("13:00:00+01", "13:00:00+25"),
            "hex quantity": TYPED_TEXT.replace(",2,placed", ",0x2,placed"),
            "late return": TYPED_TEXT.replace("03-05T09", "02-05T09")}[case]
    path = write(tmp_path, "orders.csv", text)
    read_rows = table.read_rows
    typed: list[frozenset[int]] = []

    def spy(*args: object) -> table.Table:
        found = read_rows(*args)  # type: ignore[arg-type]
        typed.append(found.typed)
        return found

    monkeypatch.setattr(orders, "read_rows", spy)

    def both() -> tuple[object, object]:
        outcome = []
        for types in (orders._types, lambda header: {}):
            monkeypatch.setattr(orders, "_types", types)
            try:
                outcome.append(read_order_file(path))
            except ExportError as exc:
                outcome.append(str(exc))
        return outcome[0], outcome[1]

    fast, slow = both()
    if case in ("bad time", "hex quantity", "late return"):
        assert isinstance(fast, str) and fast == slow and "orders.csv:" in fast
    else:
        assert isinstance(fast, tuple) and isinstance(slow, tuple)
        pd.testing.assert_frame_equal(fast[0], slow[0], check_exact=True)
        assert fast[1] == slow[1]
    if case == "as_typed":  # quantity, price and the three times came typed
        assert len(typed[0]) == 5 and not typed[-1]
        assert fast[1].assumptions == ()  # type: ignore[index]
        assert fast[0]["quantity"].tolist() == [2, 1, 3, 10, 4]  # type: ignore[index]
    if case == "naive time":
        assert "1 times without a zone offset read as UTC" in fast[1].assumptions  # type: ignore[index]
