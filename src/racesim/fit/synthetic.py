"""A simulated run's orders written as a seller's exports: the fit's test bench.

A replication's ``orders`` and ``deliveries`` tables (:class:`~racesim.sim.results.
SimulationResult`, kept with ``tables=True``) become the files :mod:`racesim.fit` reads,
in exactly the layouts of :mod:`~racesim.fit.layouts`:

- :func:`write_generic` — racesim's generic CSV (``created_at, channel, sku, quantity,
  order_id, status, cancelled_at, returned_at[, price, currency]``, ISO 8601 UTC);
- :func:`write_shopify` — the Shopify order export (times like ``2026-01-05 09:50:26
  +0100`` in the shop's zone, DST included; no channel column: read it with a
  ``CHANNEL=`` prefix);
- :func:`write_amazon` — the Amazon "All Orders" flat file (tab-delimited, ISO times with
  ``+00:00``, ``sales-channel`` holding the channel name, ``item-price`` the line total);
- :func:`write_receipts` — a webhook receipt log ``order_id, received_at, channel``: one
  row per copy the engine received (duplicates and redeliveries included).

What is exported: every buyer the marketplace accepted. Lost sales (buyers who saw 0
stock listed) place no order, so they appear nowhere — a scenario whose demand is to be
recovered must keep stock listed. A line is cancelled when the buyer cancelled, the
engine refused it (oversold) or the warehouse found the shelf short; the earliest of
those times is its cancel time. The model's buyers each order one SKU, so every order is
one line (``quantity`` = the buyer's units). Simulated time ``t`` seconds is the instant
``start + t`` (default :data:`EPOCH`, a Monday at 00:00 UTC, since the fitter reads the
simulation clock as starting at midnight UTC of the window's first day). Times in the
order exports are whole seconds (truncated, as the vendors write them); receipts keep
milliseconds. Nothing here draws a random number: the same run gives the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from racesim.scenario import Scenario
from racesim.scenario.catalog import PeriodicRestockConfig

__all__ = ["EPOCH", "export_lines", "receipt_log", "stock_list", "write_amazon",
           "write_exports", "write_generic", "write_receipts", "write_shopify",
           "write_stock"]

EPOCH = pd.Timestamp("2026-01-05T00:00:00", tz="UTC")
"""Where simulated time 0 lands by default: Monday 5 January 2026, midnight UTC."""

WRITERS = ("generic", "shopify", "amazon")
"""The order-export layouts :func:`write_exports` can write."""

_CANCEL_TIMES = ("cancelled_at", "oversold_at", "short_at")


def _instants(seconds: pd.Series, start: pd.Timestamp) -> pd.Series:
    """Simulated seconds as UTC instants (NaT where the time is unset)."""
    values = pd.to_numeric(seconds, errors="coerce").to_numpy(dtype=float)
    offsets = pd.to_timedelta(values, unit="s")
    return pd.Series(pd.DatetimeIndex(start + offsets), index=seconds.index)


def export_lines(orders: pd.DataFrame, *, start: pd.Timestamp = EPOCH,
                 prices: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The order lines an export shows, from a replication's ``orders`` table.

    One row per accepted buyer, sorted by placed time: ``order_id``, ``channel``,
    ``sku``, ``quantity``, ``placed_at``, ``cancelled_at`` and ``returned_at`` (UTC
    instants truncated to the second, NaT when it did not happen) and ``price`` (the
    SKU's unit price from ``prices``, NaN without one).
    """
    if start.tzinfo is None:
        raise ValueError("export_lines: start must be a zone-aware instant")
    kept = orders[orders["accepted"].astype(bool)]
    cancel = kept[list(_CANCEL_TIMES)].apply(pd.to_numeric, errors="coerce").min(axis=1)
    lines = pd.DataFrame({
        "order_id": kept["order_id"].astype(str), "channel": kept["channel"].astype(str),
        "sku": kept["sku"].astype(str),
        "quantity": kept["units"].astype(np.int64),
        "placed_at": _instants(kept["placed_at"], start).dt.floor("s"),
        "cancelled_at": _instants(cancel, start).dt.floor("s"),
        "returned_at": _instants(kept["return_arrived_at"], start).dt.floor("s"),
    })
    table = dict(prices or {})
    lines["price"] = lines["sku"].map(lambda sku: table.get(sku, np.nan)).astype(float)
    lines = lines.sort_values(["placed_at", "order_id"], kind="stable")
    return lines.reset_index(drop=True)


def _text(instants: pd.Series, form: str, zone: str = "UTC") -> pd.Series:
    """Instants written with strftime ``form`` in ``zone``; '' where unset."""
    written = instants.dt.tz_convert(zone).dt.strftime(form)
    return written.where(instants.notna(), "")


def _money(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if np.isnan(v) else f"{v:.2f}")


def write_generic(lines: pd.DataFrame, path: str | Path, *, currency: str = "EUR") -> Path:
    """The lines in racesim's generic layout (prices and currency only if known)."""
    iso = "%Y-%m-%dT%H:%M:%SZ"
    cancelled = lines["cancelled_at"].notna()
    out = pd.DataFrame({
        "created_at": _text(lines["placed_at"], iso), "channel": lines["channel"],
        "sku": lines["sku"], "quantity": lines["quantity"], "order_id": lines["order_id"],
        "status": np.where(cancelled, "cancelled", "placed"),
        "cancelled_at": _text(lines["cancelled_at"], iso),
        "returned_at": _text(lines["returned_at"], iso)})
    if lines["price"].notna().any():
        out["price"] = _money(lines["price"])
        out["currency"] = currency
    return _save(out, path, ",")


SHOPIFY_COLUMNS = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Currency",
    "Subtotal", "Total", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem sku", "Lineitem fulfillment status", "Cancelled at",
    "Vendor", "Id", "Source")
"""The Shopify export's columns written (a subset of a real export's, in its order)."""


def write_shopify(lines: pd.DataFrame, path: str | Path, *, zone: str = "Europe/Berlin",
                  currency: str = "EUR") -> Path:
    """The lines as a Shopify order export, times in the shop's ``zone`` with offsets."""
    form = "%Y-%m-%d %H:%M:%S %z"
    cancelled = lines["cancelled_at"].notna()
    price = lines["price"].fillna(0.0)
    out = pd.DataFrame({name: "" for name in SHOPIFY_COLUMNS}, index=lines.index)
    out["Name"] = lines["order_id"]
    out["Email"] = "buyer@example.com"
    out["Financial Status"] = np.where(cancelled, "voided", "paid")
    out["Paid at"] = np.where(cancelled, "", _text(lines["placed_at"], form, zone))
    out["Fulfillment Status"] = np.where(cancelled, "unfulfilled", "fulfilled")
    out["Currency"] = currency
    out["Subtotal"] = out["Total"] = _money(price * lines["quantity"])
    out["Created at"] = _text(lines["placed_at"], form, zone)
    out["Lineitem quantity"] = lines["quantity"].astype(str)
    out["Lineitem name"] = "Product " + lines["sku"]
    out["Lineitem price"] = _money(lines["price"])
    out["Lineitem sku"] = lines["sku"]
    out["Cancelled at"] = _text(lines["cancelled_at"], form, zone)
    out["Vendor"] = "racesim"
    out["Id"] = np.arange(1, len(lines) + 1)
    out["Source"] = "web"
    return _save(out, path, ",")


AMAZON_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity",
    "currency", "item-price", "item-tax", "shipping-price", "ship-country")
"""The All Orders report's columns written (a subset of the documented ones, in order)."""


def write_amazon(lines: pd.DataFrame, path: str | Path, *, currency: str = "EUR") -> Path:
    """The lines as Amazon's All Orders flat file (tab-delimited).

    A cancelled line's ``last-updated-date`` is its cancel time (Amazon gives no other);
    any other line's is its placed time plus a day (when it shipped, roughly).
    """
    form = "%Y-%m-%dT%H:%M:%S+00:00"
    cancelled = lines["cancelled_at"].notna()
    updated = lines["cancelled_at"].where(cancelled, lines["placed_at"] + pd.Timedelta("1D"))
    out = pd.DataFrame({name: "" for name in AMAZON_COLUMNS}, index=lines.index)
    out["amazon-order-id"] = lines["order_id"]
    out["purchase-date"] = _text(lines["placed_at"], form)
    out["last-updated-date"] = _text(updated, form)
    status = np.where(cancelled, "Cancelled", "Shipped")
    out["order-status"] = out["item-status"] = status
    out["fulfillment-channel"] = "Merchant"
    out["sales-channel"] = lines["channel"]
    out["ship-service-level"] = "Standard"
    out["product-name"] = "Product " + lines["sku"]
    out["sku"] = lines["sku"]
    out["quantity"] = lines["quantity"].astype(str)
    out["currency"] = currency
    out["item-price"] = _money(lines["price"] * lines["quantity"])
    out["ship-country"] = "DE"
    return _save(out, path, "\t")


def receipt_log(deliveries: pd.DataFrame, *, start: pd.Timestamp = EPOCH) -> pd.DataFrame:
    """A replication's ``deliveries`` table as a receipt log: ``order_id, received_at,
    channel``, one row per delivered copy, in arrival order (received_at in ISO 8601 UTC
    with milliseconds)."""
    at = _instants(deliveries["delivered_at"], start).dt.floor("ms")
    log = pd.DataFrame({"order_id": deliveries["order_id"].astype(str),
                        "received_at": at, "channel": deliveries["channel"].astype(str)})
    log = log.sort_values(["received_at", "order_id"], kind="stable").reset_index(drop=True)
    written = log["received_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str.slice(0, 23)
    log["received_at"] = written + "Z"
    return log


def write_receipts(deliveries: pd.DataFrame, path: str | Path, *,
                   start: pd.Timestamp = EPOCH) -> Path:
    """:func:`receipt_log` written as CSV."""
    return _save(receipt_log(deliveries, start=start), path, ",")


def stock_list(scenario: Scenario) -> pd.DataFrame:
    """The scenario's opening stock as a stock list ``sku, on_hand, restock_every,
    restock_qty``: a periodic restock without lead time as its interval (in days) and
    quantity — its deliveries come every ``every`` from the start, as the stock list
    means — and empty cells for any other SKU (no restock, or one a stock list cannot
    express: a lead time, order-up-to)."""
    rows = []
    for sku in scenario.skus():
        restock = sku.restock
        every = quantity = ""
        if isinstance(restock, PeriodicRestockConfig) and not restock.lead_time:
            every, quantity = f"{restock.every / 86400:g}", str(restock.quantity)
        rows.append({"sku": sku.sku, "on_hand": sku.initial_stock,
                     "restock_every": every, "restock_qty": quantity})
    return pd.DataFrame(rows, columns=["sku", "on_hand", "restock_every", "restock_qty"])


def write_stock(scenario: Scenario, path: str | Path) -> Path:
    """:func:`stock_list` written as CSV."""
    return _save(stock_list(scenario), path, ",")


def write_exports(orders: pd.DataFrame, folder: str | Path, layouts: Mapping[str, str], *,
                  start: pd.Timestamp = EPOCH, prices: Mapping[str, float] | None = None,
                  zone: str = "Europe/Berlin", currency: str = "EUR") -> list[str]:
    """Each channel's lines in its own layout (``layouts``: channel → generic, shopify or
    amazon; a channel not named goes to the generic file), one file per layout, in
    ``folder``. Returns the order specs to give :func:`~racesim.fit.orders.read_orders`
    (``CHANNEL=PATH`` for the Shopify file, which has no channel column)."""
    unknown = sorted(set(layouts.values()) - set(WRITERS))
    if unknown:
        raise ValueError(f"write_exports: unknown layout(s) {unknown}; known: {WRITERS}")
    shop = [channel for channel, layout in layouts.items() if layout == "shopify"]
    if len(shop) > 1:
        raise ValueError(f"write_exports: one Shopify channel at most (got {shop})")
    lines = export_lines(orders, start=start, prices=prices)
    which = lines["channel"].map(lambda channel: layouts.get(channel, "generic"))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs: list[str] = []
    for layout in WRITERS:
        part = lines[which == layout].reset_index(drop=True)
        if part.empty:
            continue
        if layout == "generic":
            path = write_generic(part, folder / "orders_generic.csv", currency=currency)
        elif layout == "shopify":
            path = write_shopify(part, folder / "orders_shopify.csv", zone=zone,
                                 currency=currency)
            specs.append(f"{shop[0]}={path}")
            continue
        else:
            path = write_amazon(part, folder / "orders_amazon.txt", currency=currency)
        specs.append(str(path))
    return specs


def _save(frame: pd.DataFrame, path: str | Path, delimiter: str) -> Path:
    path = Path(path)
    frame.to_csv(path, index=False, sep=delimiter, lineterminator="\n")
    return path
