"""How long do racesim's export readers take against ``pandas.read_csv`` on the same file?

Writes the same N order lines (1,000,000 by default) in each layout — a generic CSV, a
Shopify export, an Amazon All Orders flat file and an eBay orders report — to a temporary
folder, then times, in the same run and alternating which goes
first, ``pandas.read_csv(path)`` with its defaults (the bare cost of reading the file)
and :func:`racesim.fit.orders.read_order_file` (find the header, read, validate every
column, build the canonical table). Prints each time (best of ``--rounds``) and the
ratio reader / read_csv; the target is ≤ 2× on the generic file (issue 12's 5× covers
the reader and the fit together).

Usage::

    python benchmarks/bench_fit_read.py [--rows N] [--rounds R] [--layouts generic,shopify]
                                        [--json PATH]

``--rows 20000 --rounds 1`` is a smoke run of a second or two. Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from racesim.fit.orders import read_order_file

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing City,Billing Zip,Billing Country,Shipping Name,Shipping City,"
    "Shipping Zip,Shipping Country,Notes,Cancelled at,Payment Method,Refunded Amount,Vendor,"
    "Id,Tags,Risk Level,Source")
SHOPIFY_COLUMNS = SHOPIFY_HEADER.split(",")
AMAZON_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity",
    "currency", "item-price", "item-tax", "shipping-price", "shipping-tax", "ship-city",
    "ship-postal-code", "ship-country", "is-business-order")
EBAY_COLUMNS = (
    "Sales Record Number", "Order Number", "Buyer Username", "Buyer Name", "Buyer City",
    "Buyer Zip", "Buyer Country", "Item Number", "Item Title", "Custom Label", "Quantity",
    "Sold For", "Shipping And Handling", "Total Price", "Payment Method", "Sale Date",
    "Paid On Date", "Shipping Service", "Transaction ID")
LAYOUTS = ("generic", "shopify", "amazon", "ebay")


def _orders(rows: int, seed: int = 7) -> pd.DataFrame:
    """Synthetic order lines: 1–3 lines per order, 500 SKUs, 4 channels, 3 % cancelled."""
    rng = np.random.default_rng(seed)
    per_order = rng.integers(1, 4, size=rows)
    order = np.repeat(np.arange(rows), per_order)[:rows]
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    seconds = np.sort(rng.integers(0, 180 * 86400, size=order.max() + 1))
    placed = pd.to_datetime(start + seconds[order] * 1_000_000, unit="us", utc=True)
    cancelled = rng.random(order.max() + 1)[order] < 0.03
    return pd.DataFrame({
        "order_id": pd.Series(order).map("W-{:07d}".format),
        "placed": placed,
        "channel": np.array(["shop", "amazon", "ebay", "allegro"])[rng.integers(0, 4, rows)],
        "sku": pd.Series(rng.integers(0, 500, rows)).map("SKU-{:04d}".format),
        "quantity": rng.integers(1, 5, rows),
        "cancelled": cancelled,
        "price": np.round(rng.uniform(3, 90, rows), 2),
    })


def write_generic(frame: pd.DataFrame, path: Path) -> Path:
    out = pd.DataFrame({
        "order_id": frame["order_id"],
        "created_at": frame["placed"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "channel": frame["channel"], "sku": frame["sku"], "quantity": frame["quantity"],
        "status": np.where(frame["cancelled"], "cancelled", "delivered"),
        "price": frame["price"]})
    out.to_csv(path, index=False)
    return path


def write_shopify(frame: pd.DataFrame, path: Path) -> Path:
    local = frame["placed"].dt.tz_convert("Europe/Berlin")
    created = local.dt.strftime("%Y-%m-%d %H:%M:%S %z")
    cancel = (local + pd.Timedelta(hours=2)).dt.strftime("%Y-%m-%d %H:%M:%S %z")
    out = pd.DataFrame({name: "" for name in SHOPIFY_COLUMNS}, index=frame.index)
    out["Name"] = "#" + frame["order_id"].str[2:]
    out["Email"] = "buyer@example.com"
    out["Financial Status"] = np.where(frame["cancelled"], "voided", "paid")
    out["Currency"] = "EUR"
    out["Created at"] = created
    out["Lineitem quantity"] = frame["quantity"].astype(str)
    out["Lineitem name"] = "Product " + frame["sku"]
    out["Lineitem price"] = frame["price"].map("{:.2f}".format)
    out["Lineitem sku"] = frame["sku"]
    out["Cancelled at"] = np.where(frame["cancelled"], cancel, "")
    out["Billing City"] = "Berlin"
    out["Source"] = "web"
    out.to_csv(path, index=False)
    return path


def write_amazon(frame: pd.DataFrame, path: Path) -> Path:
    """Seller Central's All Orders flat file: tabs, ISO 8601 times with ``+00:00``, the
    line's total as item-price, a cancelled item's quantity 0 in one case of three."""
    placed = frame["placed"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    updated = (frame["placed"] + pd.Timedelta(hours=9)).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    cancelled = frame["cancelled"].to_numpy()
    zero = cancelled & (np.arange(len(frame)) % 3 == 0)
    status = np.where(cancelled, "Cancelled", "Shipped")
    out = pd.DataFrame({name: "" for name in AMAZON_COLUMNS}, index=frame.index)
    out["amazon-order-id"] = "302-" + frame["order_id"].str[2:] + "-5521930"
    out["purchase-date"] = placed
    out["last-updated-date"] = updated
    out["order-status"] = status
    out["fulfillment-channel"] = "Amazon"
    out["sales-channel"] = np.array(["Amazon.de", "Amazon.fr", "Amazon.co.uk"])[
        np.arange(len(frame)) % 3]
    out["ship-service-level"] = "Standard"
    out["product-name"] = "Product " + frame["sku"]
    out["sku"] = frame["sku"]
    out["item-status"] = status
    out["quantity"] = np.where(zero, 0, frame["quantity"]).astype(str)
    total = (frame["price"] * frame["quantity"]).map("{:.2f}".format)
    out["currency"] = np.where(zero, "", "EUR")
    out["item-price"] = np.where(zero, "", total)
    out["ship-city"] = "Hamburg"
    out["ship-postal-code"] = "20095"
    out["ship-country"] = "DE"
    out["is-business-order"] = "false"
    out.to_csv(path, index=False, sep="\t")
    return path


def write_ebay(frame: pd.DataFrame, path: Path) -> Path:
    """Seller Hub's orders report: a blank line above the header, ``Mar-28-25`` dates,
    ``$15.50`` prices, one row per item (no summary rows, so that the file has the other
    layouts' N lines), the framing lines below."""
    out = pd.DataFrame({name: "" for name in EBAY_COLUMNS}, index=frame.index)
    out["Sales Record Number"] = np.arange(5101, 5101 + len(frame)).astype(str)
    out["Order Number"] = "04-" + frame["order_id"].str[2:] + "-33109"
    out["Buyer Username"] = "tea_lover_77"
    out["Buyer City"] = "Leeds"
    out["Buyer Country"] = "United Kingdom"
    out["Item Number"] = "2661" + frame["sku"].str[4:]
    out["Item Title"] = "Product " + frame["sku"]
    out["Custom Label"] = frame["sku"]
    out["Quantity"] = frame["quantity"].astype(str)
    out["Sold For"] = frame["price"].map("${:,.2f}".format)
    out["Sale Date"] = frame["placed"].dt.strftime("%b-%d-%y")
    out["Payment Method"] = "Managed payments"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\n")
        out.to_csv(handle, index=False, lineterminator="\n")
        handle.write(f'\n,"{len(frame)} record(s) downloaded,from Jan-01-25 to Jun-30-25",,\n'
                     "Seller ID: kettle-and-clay\n")
    return path


WRITERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "generic": write_generic, "shopify": write_shopify, "amazon": write_amazon,
    "ebay": write_ebay}


def _best(function: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(rows: int, rounds: int, layouts: tuple[str, ...] = LAYOUTS) -> dict[str, Any]:
    frame = _orders(rows)
    figures: dict[str, Any] = {"rows": rows, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="racesim-bench-fit-") as folder:
        files = {name: WRITERS[name](frame, Path(folder) / f"{name}.csv") for name in layouts}
        for name, path in files.items():
            read_csv = reader = float("inf")
            for turn in range(rounds):  # alternate which goes first
                first, second = ("csv", "reader") if turn % 2 == 0 else ("reader", "csv")
                for which in (first, second):
                    if which == "csv":
                        read_csv = min(read_csv, _best(lambda p=path: pd.read_csv(p), 1))
                    else:
                        reader = min(reader, _best(lambda p=path: read_order_file(p), 1))
            lines, read = read_order_file(path)
            assert len(lines) == rows and read.layout == name, (len(lines), read.layout)
            figures[name] = {"bytes": path.stat().st_size, "read_csv_s": read_csv,
                             "reader_s": reader, "ratio": reader / read_csv}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help=f"comma-separated, of {', '.join(LAYOUTS)} (default: all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= 50_000_000 or not 1 <= args.rounds <= 20:
        parser.error("--rows must be 1…50,000,000 and --rounds 1…20")
    layouts = tuple(name for name in args.layouts.split(",") if name)
    if not layouts or any(name not in LAYOUTS for name in layouts):
        parser.error(f"--layouts must name some of {', '.join(LAYOUTS)}")
    figures = measure(args.rows, args.rounds, layouts)
    print(f"{'layout':<8} {'rows':>10} {'MB':>7} {'read_csv s':>11} {'reader s':>9} "
          f"{'ratio':>6}  target ≤ 2× (generic)")
    for name in layouts:
        row = figures[name]
        verdict = "" if name != "generic" else "met" if row["ratio"] <= 2 else "MISSED"
        print(f"{name:<8} {args.rows:>10,} {row['bytes'] / 1e6:>7.1f} {row['read_csv_s']:>11.2f} "
              f"{row['reader_s']:>9.2f} {row['ratio']:>5.2f}×  {verdict}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
