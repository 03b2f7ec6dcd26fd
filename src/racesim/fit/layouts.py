"""The order-export layouts racesim reads: one declarative record per vendor layout.

Each :class:`Layout` says which of the file's columns (by name — vendors add and move
columns between years and accounts, so never by position) hold each canonical field, which
are required, how its times are written, which values mean a cancelled line, and where the
channel comes from. Header names are compared case-insensitively, spaces squeezed.

The canonical fields (see :mod:`racesim.fit.orders` for the table they make):
``order_id``, ``sku``, ``quantity``, ``placed_at``, ``channel``, ``status``,
``cancelled_at``, ``returned_at``, ``returned_quantity``, ``price``, ``currency``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AMAZON", "EBAY", "GENERIC", "LAYOUTS", "SHOPIFY", "Layout", "normalise"]


def normalise(name: str) -> str:
    """A header name as compared: stripped of a BOM and spaces, lower case, spaces squeezed."""
    return " ".join(name.replace("\ufeff", "").split()).lower()


@dataclass(frozen=True, slots=True)
class Layout:
    """How one vendor's export spells the canonical fields (see the module doc).

    ``columns`` maps each canonical field to the header names that may hold it, tried in
    order (the first present in the header is used); ``fallbacks`` names a second column
    whose value is taken where the first is empty (eBay's Item Number when a listing has no
    Custom Label). ``order_level`` fields are filled down from an order's first row to its
    other rows (Shopify and eBay print order-level cells only once per order).
    ``cancel_status`` lists the values meaning "cancelled" in any of the ``status``
    columns present (Amazon: item-status or order-status);
    ``cancel_is_time`` says a non-empty ``cancelled_at`` alone marks a cancelled line.
    ``cancel_time_from`` names a field whose time stands in for a cancel time the export
    does not give. ``footer`` holds prefixes of a first cell that mark a summary line
    below the table. ``date_only`` says the layout writes dates without times.
    ``default_channel`` names the channel of a file without channel column or prefix;
    ``strict`` makes any unknown column an error (the generic layout). ``time_formats``
    are tried in order (pandas formats; ``ISO8601`` honours offsets). ``summary_rows``
    says a row without SKU (nor its fallback) is an order's summary row, left out.
    ``price_per_line`` says the price column holds the line's total, not a unit price.
    ``zone_rule`` says in words how the layout writes times and how they are read, and
    ``assumptions`` what every file of the layout makes the reader assume (both for the
    fit's report).
    """

    name: str
    title: str
    delimiter: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    signature: tuple[str, ...]
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order_level: tuple[str, ...] = ()
    cancel_status: tuple[str, ...] = ()
    cancel_is_time: bool = False
    cancel_time_from: str = ""
    footer: tuple[str, ...] = ()
    date_only: bool = False
    time_formats: tuple[str, ...] = ("ISO8601",)
    summary_rows: bool = False
    price_per_line: bool = False
    default_channel: str = ""
    strict: bool = False
    zone_rule: str = ""
    assumptions: tuple[str, ...] = ()

    def matches(self, header: list[str]) -> bool:
        """Whether a header line carries every column of this layout's signature."""
        names = {normalise(name) for name in header}
        return all(normalise(name) in names for name in self.signature)


SHOPIFY = Layout(
    name="shopify",
    title="Shopify order export",
    delimiter=",",
    columns={
        "order_id": ("Name",),
        "sku": ("Lineitem sku",),
        "quantity": ("Lineitem quantity",),
        "placed_at": ("Created at",),
        "cancelled_at": ("Cancelled at",),
        "price": ("Lineitem price",),
        "currency": ("Currency",),
    },
    required=("order_id", "sku", "quantity", "placed_at"),
    signature=("Name", "Created at", "Lineitem quantity", "Lineitem sku"),
    order_level=("placed_at", "cancelled_at", "currency"),
    cancel_is_time=True,
    default_channel="shopify",
    zone_rule="times carry the shop's UTC offset (+0100, +0200 across DST); converted to UTC",
)
"""Shopify admin → Orders → Export (CSV, one row per line item).

Sources: Shopify Help Center, "Exporting orders" and "Order CSV column descriptions"
(https://help.shopify.com/en/manual/migrating-to-shopify/transporter-app/csv-orders, which
describes Name, Email, Financial Status, Fulfillment Status, Currency, Cancel Reason, …),
and the header of real exports: ``Name, Email, Financial Status, Paid at, Fulfillment
Status, Fulfilled at, Accepts Marketing, Currency, Subtotal, Shipping, Taxes, Total,
Discount Code, Discount Amount, Shipping Method, Created at, Lineitem quantity, Lineitem
name, Lineitem price, Lineitem compare at price, Lineitem sku, Lineitem requires shipping,
Lineitem taxable, Lineitem fulfillment status, Billing …, Shipping …, Notes, Note
Attributes, Cancelled at, Payment Method, Payment Reference, Refunded Amount, Vendor, …,
Id, Tags, Risk Level, Source, Lineitem discount, Tax 1 Name, …``. Times are
``2025-10-07 09:50:26 +0200``. An order with several line items takes several rows with
the same Name; order-level cells (Created at, Currency, Cancelled at, totals) may be blank
on all but the first. Relied on: Name, Created at, Lineitem quantity, Lineitem sku, and
optionally Lineitem price, Currency, Cancelled at. Returns are not in the export (Refunded
Amount is money, not units): they come from a returns file.
"""

AMAZON = Layout(
    name="amazon",
    title="Amazon Seller Central All Orders report (flat file)",
    delimiter="\t",
    columns={
        "order_id": ("amazon-order-id",),
        "sku": ("sku",),
        "quantity": ("quantity",),
        "placed_at": ("purchase-date",),
        "channel": ("sales-channel",),
        "status": ("item-status", "order-status"),
        "updated_at": ("last-updated-date",),
        "price": ("item-price",),
        "currency": ("currency",),
    },
    required=("order_id", "sku", "quantity", "placed_at"),
    signature=("amazon-order-id", "purchase-date", "sku", "quantity"),
    cancel_status=("cancelled",),
    cancel_time_from="updated_at",
    price_per_line=True,
    default_channel="amazon",
    zone_rule="ISO 8601 times with an offset (+00:00 or Z); converted to UTC",
    assumptions=("Amazon reports no cancel time: a cancelled line's last-updated-date is "
                 "taken as its cancel time (an upper bound)",),
)
"""Seller Central → Reports → Fulfillment → All Orders (tab-delimited flat file;
``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` in the Selling Partner API).

Source: Amazon SP-API documentation, "Order Tracking reports attributes"
(https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes):
``amazon-order-id, merchant-order-id, purchase-date, last-updated-date, order-status,
fulfillment-channel, sales-channel, order-channel, ship-service-level, product-name, sku,
asin, item-status, quantity, currency, item-price, item-tax, shipping-price, shipping-tax,
gift-wrap-price, gift-wrap-tax, item-promotion-discount, ship-promotion-discount,
ship-city, ship-state, ship-postal-code, ship-country, promotion-ids, cpf,
is-business-order, purchase-order-number, price-designation`` (later versions add
number-of-items, tax-collection-model, address-type, …). One row per order item; times
like ``2017-06-17T08:04:21+00:00``; order-status Pending, Shipped, Shipping, Cancelled;
item-status Unshipped, Shipped, Cancelled; sales-channel the marketplace (Amazon.com,
Amazon.de, Non-Amazon); item-price is the line's total (units × unit price).
Relied on: amazon-order-id, purchase-date, sku, quantity, and optionally
sales-channel, item-status/order-status, last-updated-date, item-price, currency. A
cancelled item may carry quantity 0. The report carries no returns.
"""

EBAY = Layout(
    name="ebay",
    title="eBay Seller Hub orders report (CSV)",
    delimiter=",",
    columns={
        "order_id": ("Order Number", "Sales Record Number"),
        "sku": ("Custom Label",),
        "quantity": ("Quantity",),
        "placed_at": ("Sale Date",),
        "price": ("Sold For",),
    },
    required=("order_id", "sku", "quantity", "placed_at"),
    signature=("Order Number", "Quantity", "Sale Date"),
    fallbacks={"sku": ("Item Number",), "order_id": ("Sales Record Number",)},
    order_level=("placed_at",),
    footer=("record(s) downloaded", "seller id"),
    date_only=True,
    time_formats=("%b-%d-%y", "%b-%d-%Y", "%d-%b-%y", "%d-%b-%Y", "%b %d, %Y", "ISO8601"),
    summary_rows=True,
    default_channel="ebay",
    zone_rule="dates without times or zone (eBay writes the marketplace's local date); "
              "each is read as that calendar day in UTC",
    assumptions=("eBay's orders report gives sale dates without times: daily counts only",),
)
"""Seller Hub → Orders → Download report (CSV, "Orders report").

Sources: eBay Seller Hub report downloads (Seller Hub → Reports → Downloads) and the header
of real reports: ``Sales Record Number, Order Number, Buyer Username, Buyer Name, Buyer
Email, Buyer Note, Buyer Address 1, …, Ship To Country, Item Number, Item Title, Custom
Label, Sold Via Promoted Listings, Quantity, Sold For, Shipping And Handling, Seller
Collected Tax, eBay Collected Tax, Total Price, eBay Collected Tax Included in Total,
Payment Method, Sale Date, Paid On Date, Ship By Date, …, Shipped On Date, …, Tracking
Number, Transaction ID, Variation Details, Global Shipping Program, …``. The file starts
with a blank line above the header and ends with framing lines: a blank one,
``N record(s) downloaded,from … to …`` and ``Seller ID: …``. Dates read ``Jul-21-25``
(also accepted: ``21-Jul-25``, ``Jul 21, 2025``, ISO 8601);
prices ``$45.99``. A multi-item order has one row per item with the same Order Number
(order-level cells may be on its first row only); a row with neither Custom Label nor
Item Number is the order's summary row and is left out as framing. Relied on: Order
Number (else Sales Record Number), Custom Label (else Item Number), Quantity, Sale Date,
and optionally Sold For. Cancelled orders drop out of the report, so it gives no cancel
rate; returns come from a returns file.
"""

GENERIC = Layout(
    name="generic",
    title="generic order lines (CSV or Parquet)",
    delimiter=",",
    columns={
        "order_id": ("order_id",),
        "sku": ("sku",),
        "quantity": ("quantity",),
        "placed_at": ("created_at",),
        "channel": ("channel",),
        "status": ("status",),
        "cancelled_at": ("cancelled_at",),
        "returned_at": ("returned_at",),
        "returned_quantity": ("returned_quantity",),
        "price": ("price",),
        "currency": ("currency",),
    },
    required=("order_id", "sku", "quantity", "placed_at", "channel"),
    signature=("created_at", "sku", "quantity", "order_id"),
    cancel_status=("cancelled", "canceled"),
    cancel_is_time=True,
    strict=True,
    zone_rule="ISO 8601 times; an offset is honoured, a time without one is read as UTC; "
              "a date alone (2025-03-01) means daily resolution",
)
"""racesim's own layout: ``created_at, channel, sku, quantity, order_id`` and optionally
``status`` (``cancelled``/``canceled`` mark a cancelled line), ``cancelled_at``,
``returned_at``, ``returned_quantity`` (default: the whole line when ``returned_at`` is
set), ``price`` and ``currency``. Comma-, tab- or semicolon-separated, or a Parquet file
with those columns; any other column is an error, so a misspelt one is caught.
``channel`` may be left out when the file is given with a ``CHANNEL=`` prefix.
"""

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (SHOPIFY, AMAZON, EBAY, GENERIC)}
"""Every layout by name, in the order ``auto`` tries them."""
