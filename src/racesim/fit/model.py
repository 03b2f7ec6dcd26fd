"""The fit: a seller's order lines (and receipts, stock, returns) → one :class:`Fit` record.

:func:`fit_exports` ties the estimators together, in the order their inputs need:

1. the observation window (:mod:`~racesim.fit.exposure`) and the hour/weekday profiles
   per channel and pooled (:mod:`~racesim.fit.profile`), which define demand time;
2. daily counts per SKU and the velocity classes (:mod:`~racesim.fit.classes`);
3. a first dispersion pass over every day, whose ``d`` tells the censoring how long a
   gap a bursty SKU can have by chance; then stock-outs (:mod:`~racesim.fit.censoring`);
4. the final dispersion verdicts on in-stock days (:mod:`~racesim.fit.dispersion`) and
   the rates with their intervals (:mod:`~racesim.fit.demand`);
5. per channel: shares, cancels, returns (:mod:`~racesim.fit.channels`) and, with a
   receipt log, webhook latency and duplicates (:mod:`~racesim.fit.latency`);
   per SKU: stock (:mod:`~racesim.fit.inventory`).

Every value is an :class:`~racesim.fit.estimate.Estimate` (value, interval, n, source);
everything not in the data is listed in plain words in :attr:`Fit.assumptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from racesim.fit.censoring import Censoring, day_weights, from_sales_pattern, from_stock_list
from racesim.fit.channels import ChannelRates, channel_rates
from racesim.fit.checks import check_policy
from racesim.fit.classes import A_CUT, B_CUT, velocity_classes
from racesim.fit.demand import Demand, median_price, median_ranks, sku_demand, units_per_order
from racesim.fit.dispersion import FDR, Dispersion, fit_dispersion
from racesim.fit.exposure import DAY_S, DemandClock, Window, check_window, observation_window
from racesim.fit.inventory import Stock, estimated_stock, listed_stock
from racesim.fit.latency import Latency, fit_latency
from racesim.fit.orders import OrdersRead
from racesim.fit.profile import Profile, channel_profiles, pooled_profile
from racesim.fit.receipts import ReceiptsRead
from racesim.fit.returns import apply_returns
from racesim.fit.sku_orders import sku_orders

__all__ = ["DISPERSION_METHOD", "ChannelFit", "Fit", "SkuFit", "fit_exports"]

DISPERSION_METHOD = (f"Dean's score test of Poisson against NB2 per SKU (thin SKUs pooled "
                     f"by velocity class), on daily counts net of the weekday profile and "
                     f"of burst days, p-values from a three-moment gamma tail; "
                     f"Benjamini–Hochberg at {FDR:.0%} FDR across the tests, a pool of n "
                     f"SKUs weighted 1/n (BH keeps power with many SKUs, where Holm would "
                     f"miss most bursty ones); d by NB2 maximum likelihood with a "
                     f"likelihood-ratio interval")


@dataclass(frozen=True, slots=True)
class SkuFit:
    """One SKU's fit: velocity class, demand, dispersion, stock-outs left out, stock, and
    its orders per UTC day bin of the window (``daily``) beside the fitted expectation
    (``expected``: the rate × each day's demand-days at risk), for observed-vs-fitted."""

    sku: str
    velocity_class: str
    demand: Demand
    dispersion: Dispersion
    censoring: Censoring
    stock: Stock
    daily: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))
    expected: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


@dataclass(frozen=True, slots=True)
class ChannelFit:
    """One channel's fit: rates, profile, and webhook latency (None without a log)."""

    channel: str
    rates: ChannelRates
    profile: Profile
    latency: Latency | None
    dates_only: bool


@dataclass(frozen=True, slots=True)
class Fit:
    """Everything fitted from a seller's exports, and every assumption it made.

    ``class_cuts`` are the cumulative order shares that end classes A and B;
    ``skipped`` counts input rows left out (``malformed="skip"``), by reason.
    """

    window: Window
    skus: dict[str, SkuFit]
    channels: dict[str, ChannelFit]
    profile: Profile
    class_cuts: tuple[float, float]
    dispersion_method: str
    assumptions: tuple[str, ...]
    skipped: dict[str, int]

    def to_frame(self) -> pd.DataFrame:
        """One row per SKU: class, rate and interval, dispersion, time excluded, stock."""
        return pd.DataFrame([{
            "sku": s.sku, "class": s.velocity_class, "orders": s.demand.rate.n,
            "orders_per_day": s.demand.rate.value, "rate_low": s.demand.rate.low,
            "rate_high": s.demand.rate.high, "dispersion": s.dispersion.d.value,
            "dispersion_high": s.dispersion.d.high, "over_dispersed":
            s.dispersion.over_dispersed, "dispersion_p": s.dispersion.p,
            "burst_days": len(s.dispersion.burst_days),
            "excluded_days": s.censoring.excluded_days, "on_hand": s.stock.on_hand,
            "stock_estimated": s.stock.estimated} for s in self.skus.values()])


def _daily_counts(table: pd.DataFrame, codes: np.ndarray, skus: list[str], window: Window
                  ) -> dict[str, np.ndarray]:
    """Orders per UTC day bin of the window, per SKU (sorted by name; ``codes`` index
    ``skus``, one per row of the table)."""
    day = np.floor((table["placed_s"].to_numpy() - window.first_day) / DAY_S).astype(np.int64)
    days = window.day_count
    flat = np.bincount(codes * days + np.clip(day, 0, days - 1), minlength=len(skus) * days)
    return {sku: flat[i * days:(i + 1) * days] for i, sku in enumerate(skus)}


def _stock_rows(stock: pd.DataFrame | None) -> dict[str, tuple[int, float, float, int]]:
    """SKU → (on_hand, restock_every_s, restock_qty, source_line) from the stock list."""
    if stock is None:
        return {}
    columns = zip(stock["sku"].astype(str), stock["on_hand"].to_numpy(dtype=np.int64),
                  stock["restock_every_s"].to_numpy(dtype=float),
                  stock["restock_qty"].to_numpy(dtype=float),
                  stock["source_line"].to_numpy(dtype=np.int64), strict=True)
    return {sku: (int(on), float(every), float(qty), int(line))
            for sku, on, every, qty, line in columns}


def _sku_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's SKU as a code into the SKU names, sorted (one factorization reused)."""
    codes, names = pd.factorize(frame["sku"], sort=True)
    return codes, [str(sku) for sku in names]


def _by_sku(codes: np.ndarray, count: int, placed_s: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(Each SKU's row bounds, the row order that puts each SKU's rows together): index
    a column's array by the order and slice it by the bounds, instead of a DataFrame per
    SKU. Rows keep their order within a SKU (by ``placed_s`` first when given)."""
    if placed_s is not None:
        order = np.lexsort((placed_s, codes))
    else:
        order = np.argsort(codes, kind="stable")
    return np.searchsorted(codes[order], np.arange(count + 1)), order


def _censor(table: pd.DataFrame, sku_codes: tuple[np.ndarray, list[str]],
            stock: pd.DataFrame | None, window: Window, clock: DemandClock,
            prelim: dict[str, Dispersion]) -> dict[str, Censoring]:
    """Each SKU's stock-outs: from its stock list row if any, else its sales pattern."""
    rows = _stock_rows(stock)
    out: dict[str, Censoring] = {}
    codes, skus = sku_codes
    bounds, order = _by_sku(codes, len(skus), table["placed_s"].to_numpy())
    placed_s, quantity = table["placed_s"].to_numpy()[order], table["quantity"].to_numpy()[order]
    for i, sku in enumerate(skus):
        part = slice(bounds[i], bounds[i + 1])
        placed = placed_s[part]
        row = rows.get(sku)
        if row is not None:
            out[sku] = from_stock_list(placed, quantity[part], row[0], row[1],
                                       row[2], window, clock)
        else:
            out[sku] = from_sales_pattern(placed, window, clock, prelim[sku].d.value)
    return out


def _phi(dispersion: Dispersion, weights: np.ndarray, orders: int) -> float:
    """The count's variance-to-mean ratio under NB2 days, 1 + d·Σμ²/Σμ (1 if Poisson),
    at the upper end of d's interval: d is itself estimated, and an interval built on
    its point value alone falls short of 95 % for the burstiest SKUs."""
    if not dispersion.over_dispersed or weights.sum() <= 0:
        return 1.0
    mu = orders / weights.sum() * weights
    return 1.0 + dispersion.d.high * float((mu * mu).sum() / mu.sum())


def _stock(sku: str, rows: dict[str, Stock], units_per_day: float) -> Stock:
    return rows.get(sku) or estimated_stock(units_per_day)


def _sku_fits(table: pd.DataFrame, lines: pd.DataFrame, window: Window, clock: DemandClock,
              stock: pd.DataFrame | None) -> dict[str, SkuFit]:
    codes, names = _sku_codes(table)
    counts = _daily_counts(table, codes, names, window)
    classes = velocity_classes({sku: float(c.sum()) for sku, c in counts.items()})
    base = clock.day_weights(window)
    prelim = fit_dispersion(counts, dict.fromkeys(counts, base), classes, likelihood=False)
    censoring = _censor(table, (codes, names), stock, window, clock, prelim)
    weights = {sku: day_weights(window, clock, censoring[sku]) for sku in counts}
    final = fit_dispersion(counts, weights, classes)
    listed = {sku: listed_stock(on, every, qty, f"stock list line {line}")
              for sku, (on, every, qty, line) in _stock_rows(stock).items()}
    at_risk = float(np.diff(clock(np.array([window.start, window.end])))[0])
    rows, order = _by_sku(codes, len(names))
    source_codes, files = pd.factorize(table["source_file"])
    source_code = source_codes[order]
    quantities = table["quantity"].to_numpy()[order]
    line_codes, line_names = _sku_codes(lines)
    line_rows, order = _by_sku(line_codes, len(line_names))
    prices = lines["price"].to_numpy(dtype=float)[order]
    currencies = lines["currency"].to_numpy(dtype=object)[order]
    known = np.add.reduceat(np.isfinite(prices).astype(np.int64), line_rows[:-1])
    low_ranks, high_ranks = median_ranks(np.maximum(np.asarray(known), 1))
    at = {sku: i for i, sku in enumerate(names)}
    line_at = {sku: i for i, sku in enumerate(line_names)}
    out: dict[str, SkuFit] = {}
    for sku, x in counts.items():
        part = slice(rows[at[sku]], rows[at[sku] + 1])
        j = line_at[sku]
        priced = slice(line_rows[j], line_rows[j + 1])
        sources = ", ".join(sorted(str(files[int(k)])
                                   for k in np.flatnonzero(np.bincount(source_code[part]))))
        quantity = quantities[part]
        orders = int(x.sum())
        exposure = at_risk - censoring[sku].excluded_demand_days
        price = median_price(prices[priced], currencies[priced], f"{sources}: price",
                             (float(low_ranks[j]), float(high_ranks[j])))
        demand = sku_demand(sku, orders, exposure, _phi(final[sku], weights[sku], orders),
                            units_per_order(quantity), price,
                            f"{sources}: order lines (sku, placed time)")
        units_per_day = float(quantity.sum()) / max(exposure, 1e-9)
        out[sku] = SkuFit(sku, classes[sku], demand, final[sku], censoring[sku],
                          _stock(sku, listed, units_per_day), x,
                          demand.rate.value * weights[sku])
    return out


def _assumptions(fit_skus: dict[str, SkuFit], returns_known: bool, has_receipts: bool,
                 stock: pd.DataFrame | None) -> list[str]:
    said = ["hours and weekdays are read in UTC (the scenario's clock starts at midnight "
            "UTC of the window's first day)"]
    if not returns_known:
        said.append("return rate and delay: the data have no returns; the return rate is "
                    "assumed to be 0")
    if not has_receipts:
        said.append("webhook latency and duplicates: no receipt log was given, so they are "
                    "not fitted and the scenario's defaults stay")
    estimated = sorted(s.sku for s in fit_skus.values() if s.stock.estimated)
    if estimated:
        where = "no stock list was given" if stock is None else "the stock list omits them"
        said.append(f"initial stock and restocks of {len(estimated)} SKU(s) are estimated "
                    f"from sales ({where}): 14 days of units on hand, 7 days' units weekly")
    untested = sorted(s.sku for s in fit_skus.values() if s.dispersion.unit.startswith("un"))
    if untested:
        said.append(f"{len(untested)} SKU(s) had too few orders, even pooled by class, to "
                    f"test for over-dispersion: their demand is assumed Poisson")
    return said


def fit_exports(orders: OrdersRead | pd.DataFrame,
                receipts: ReceiptsRead | pd.DataFrame | None = None,
                stock: pd.DataFrame | None = None, returns: pd.DataFrame | None = None, *,
                window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
                malformed: str = "error",
                receipts_file: str = "receipts") -> Fit:
    """Fit demand, channels, dispersion, stock-outs, latency and stock from exports.

    ``orders`` is :func:`~racesim.fit.orders.read_orders`' result (or its ``lines``
    table); ``receipts``, ``stock`` and ``returns`` the other readers' tables (optional);
    ``window`` (start, end), zone-aware, overrides the first-to-last-order window;
    ``receipts_file`` names the receipt log in error messages. The fit draws no random
    numbers: the same files give the same fit.
    """
    policy = check_policy(malformed)
    if window is not None:
        window = check_window(window)
    lines = orders.lines if isinstance(orders, OrdersRead) else orders
    skipped: dict[str, int] = {}
    if returns is not None:
        lines, skipped = apply_returns(lines, returns, malformed=policy)
    returns_known = returns is not None or bool(lines["returned_at"].notna().any())
    table, lines = sku_orders(lines, window)
    timed = table["timed"].to_numpy()
    frame = observation_window(table["placed_s"].to_numpy(), not timed.all(), window)
    profiles, said = channel_profiles(table, frame)
    pooled = pooled_profile(table["placed_s"].to_numpy(), timed, frame)
    clock = DemandClock(np.asarray(pooled.hour), np.asarray(pooled.weekday))
    fit_skus = _sku_fits(table, lines, frame, clock, stock)
    latency: dict[str, Latency] = {}
    if receipts is not None:
        log = receipts.receipts if isinstance(receipts, ReceiptsRead) else receipts
        latency, dropped = fit_latency(table, log, path=receipts_file, malformed=policy)
        skipped.update(dropped)
    rates = channel_rates(table, returns_known=returns_known)
    channels = {name: ChannelFit(name, rates[name], profiles[name], latency.get(name),
                                 not table.loc[table["channel"] == name, "timed"].any())
                for name in rates}
    said += _assumptions(fit_skus, returns_known, receipts is not None, stock)
    if receipts is not None:
        said += [f"channel {name}: no receipt could be timed against its orders ("
                 + ("its export gives dates only" if fit.dates_only else "none matched")
                 + "), so its webhook latency and duplicates are not fitted"
                 for name, fit in channels.items() if fit.latency is None]
    return Fit(frame, fit_skus, channels, pooled, (A_CUT, B_CUT), DISPERSION_METHOD,
               tuple(said), skipped)
