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

Steps 1–4 need demand time; what needs only the sales — each SKU's sources, units per
order, units sold and median price, and the channel rates of step 5 — runs beside them
on a second core (:func:`~racesim.util.parallel.in_parallel`), and the records are put
together once both are in. The result is the same on one thread.

Every value is an :class:`~racesim.fit.estimate.Estimate` (value, interval, n, source);
everything not in the data is listed in plain words in :attr:`Fit.assumptions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from racesim.fit.censoring import (
    Censoring,
    day_weights,
    from_stock_list,
    may_run_out,
    sales_pattern_censorings,
)
from racesim.fit.channels import ChannelRates, channel_rates
from racesim.fit.checks import check_policy
from racesim.fit.classes import A_CUT, B_CUT, velocity_classes
from racesim.fit.demand import (
    Demand,
    Price,
    UnitsPerOrder,
    median_prices,
    sku_demand,
    units_per_orders,
)
from racesim.fit.dispersion import FDR, Dispersion, fit_dispersion_rows
from racesim.fit.estimate import garwood_intervals
from racesim.fit.exposure import DAY_S, DemandClock, Window, check_window, observation_window
from racesim.fit.inventory import Stock, estimated_stock, listed_stock
from racesim.fit.latency import Latency, fit_latency
from racesim.fit.orders import OrdersRead
from racesim.fit.profile import Profile, profiles
from racesim.fit.receipts import ReceiptsRead
from racesim.fit.returns import apply_returns
from racesim.fit.sku_orders import SkuOrders, sku_orders_coded
from racesim.util.parallel import in_parallel

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


def _daily_counts(placed_s: np.ndarray, codes: np.ndarray, skus: int, window: Window
                  ) -> np.ndarray:
    """Orders per UTC day bin of the window: one row per SKU (``codes`` index the SKUs,
    one per row of the table), one column per day."""
    day = np.floor((placed_s - window.first_day) / DAY_S).astype(np.int64)
    days = window.day_count
    flat = np.bincount(codes * days + np.clip(day, 0, days - 1), minlength=skus * days)
    return flat.reshape(skus, days)


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


def _table_skus(coded: SkuOrders) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(Each table row's SKU code, the SKUs in the table, sorted, each line's code into
    them: -1 for a line whose SKU has no SKU-order, e.g. a line without an order id)."""
    present = np.bincount(coded.sku.codes, minlength=len(coded.sku.names)) > 0
    if present.all():
        return coded.sku.codes, coded.sku.names, coded.line_sku
    remap = np.where(present, np.cumsum(present) - 1, -1)
    names = [name for name, kept in zip(coded.sku.names, present, strict=True) if kept]
    lines = np.where(coded.line_sku >= 0, remap[np.maximum(coded.line_sku, 0)], -1)
    return remap[coded.sku.codes], names, lines


def _grouped(codes: np.ndarray, skus: int, placed_s: np.ndarray) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """(Each SKU's row bounds, the row order that puts each SKU's rows together, by time
    within a SKU, ties in row order): ``np.lexsort((placed_s, codes))``, in two stable
    sorts (the second on small integers, which numpy sorts by radix)."""
    small = codes.astype(np.int16 if skus < 2**15 else np.int64)
    if len(placed_s) > 1 and (placed_s[1:] < placed_s[:-1]).any():
        by_time = np.argsort(placed_s, kind="stable")
        order = by_time[np.argsort(small[by_time], kind="stable")]
    else:  # in time order already (orders numbered as they come)
        order = np.argsort(small, kind="stable")
    return np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=skus))]), order


def _censor(table: pd.DataFrame, codes: np.ndarray, skus: list[str],
            stock: pd.DataFrame | None, window: Window, clock: DemandClock,
            prelim: Callable[[], list[Dispersion]]) -> list[Censoring]:
    """Each SKU's stock-outs: from its stock list row if any, else its sales pattern
    (which needs the first dispersion pass, ``prelim``, only if some SKU's gaps could
    be a stock-out at all)."""
    rows = _stock_rows(stock)
    bounds, order = _grouped(codes, len(skus), table["placed_s"].to_numpy())
    placed_s = table["placed_s"].to_numpy()[order]
    listed = np.array([sku in rows for sku in skus], dtype=bool)
    out: list[Censoring] = [Censoring("sales pattern", (), 0.0, 0.0)] * len(skus)
    if listed.any():
        quantity = table["quantity"].to_numpy()[order]
    for i in np.flatnonzero(listed):
        part = slice(bounds[i], bounds[i + 1])
        on, every, qty, _ = rows[skus[i]]
        out[i] = from_stock_list(placed_s[part], quantity[part], on, every, qty, window, clock)
    pattern = np.flatnonzero(~listed)
    if len(pattern):
        mine = placed_s[np.repeat(~listed, np.diff(bounds))] if listed.any() else placed_s
        counts = np.diff(bounds)[pattern]
        if not may_run_out(mine, counts, window, clock).any():
            return out
        verdicts = prelim()
        found = sales_pattern_censorings(mine, counts, window, clock,
                                         np.array([verdicts[i].d.value for i in pattern]))
        for i, censoring in zip(pattern, found, strict=True):
            out[i] = censoring
    return out


def _weights(base: np.ndarray, window: Window, clock: DemandClock,
             censoring: list[Censoring]) -> np.ndarray:
    """Each SKU's day weights (rows): the base weights less its stock-outs."""
    weights = np.tile(np.maximum(base, 0.0), (len(censoring), 1))
    for i, found in enumerate(censoring):
        if found.intervals:
            weights[i] = day_weights(window, clock, found)
    return weights


def _phis(dispersion: list[Dispersion], weights: np.ndarray, orders: np.ndarray
          ) -> np.ndarray:
    """Each count's variance-to-mean ratio under NB2 days, 1 + d·Σμ²/Σμ (1 if Poisson),
    at the upper end of d's interval: d is itself estimated, and an interval built on
    its point value alone falls short of 95 % for the burstiest SKUs."""
    total = weights.sum(1)
    high = np.array([d.d.high for d in dispersion])
    over = np.array([d.over_dispersed for d in dispersion], dtype=bool) & (total > 0)
    mu = (orders / np.where(total > 0, total, 1.0))[:, None] * weights
    ratio = (mu * mu).sum(1) / np.where(over, mu.sum(1), 1.0)
    return np.where(over, 1.0 + high * ratio, 1.0)


def _stock(sku: str, rows: dict[str, Stock], units_per_day: float) -> Stock:
    return rows.get(sku) or estimated_stock(units_per_day)


def _sources(codes: np.ndarray, skus: int, coded: SkuOrders) -> list[str]:
    """Each SKU's source files, sorted and joined."""
    files = len(coded.source.names)
    seen = np.bincount(codes * files + coded.source.codes, minlength=skus * files)
    joined: dict[bytes, str] = {}
    out = []
    for row in seen.reshape(skus, files) > 0:
        key = row.tobytes()
        if key not in joined:
            joined[key] = ", ".join(sorted(coded.source.names[k] for k in np.flatnonzero(row)))
        out.append(joined[key])
    return out


@dataclass(frozen=True, slots=True)
class _SkuCodes:
    """Each table row's SKU code, the SKUs fitted (sorted), each line's code into them
    (see :func:`_table_skus`) and each SKU's orders per day of the window."""

    codes: np.ndarray
    names: list[str]
    line_codes: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True, slots=True)
class _SkuSales:
    """What each SKU's fit takes from its sales alone, not from demand time: its sources,
    units per order, units sold and median price (found beside the dispersion)."""

    sources: list[str]
    units: list[UnitsPerOrder]
    units_sold: np.ndarray
    prices: list[Price | None]


def _sku_codes(coded: SkuOrders, window: Window) -> _SkuCodes:
    codes, names, line_codes = _table_skus(coded)
    counts = _daily_counts(coded.table["placed_s"].to_numpy(), codes, len(names), window)
    return _SkuCodes(codes, names, line_codes, counts)


def _sku_sales(coded: SkuOrders, skus: _SkuCodes) -> _SkuSales:
    count = len(skus.names)
    sources = _sources(skus.codes, count, coded)
    quantity = coded.table["quantity"].to_numpy()
    prices = median_prices(coded.lines["price"].to_numpy(dtype=float), skus.line_codes,
                           coded.currency, [f"{s}: price" for s in sources])
    return _SkuSales(sources, units_per_orders(quantity, skus.codes, count),
                     np.bincount(skus.codes, weights=quantity, minlength=count), prices)


@dataclass(frozen=True, slots=True)
class _SkuDemand:
    """What each SKU's fit takes from demand time: class, stock-outs, dispersion, day
    weights, exposure (demand-days at risk) and the rate's φ and interval."""

    classes: dict[str, str]
    censoring: list[Censoring]
    dispersion: list[Dispersion]
    weights: np.ndarray
    exposure: np.ndarray
    phis: np.ndarray
    intervals: tuple[np.ndarray, np.ndarray]


def _sku_demand(coded: SkuOrders, skus: _SkuCodes, window: Window, clock: DemandClock,
                stock: pd.DataFrame | None) -> _SkuDemand:
    codes, names, counts = skus.codes, skus.names, skus.counts
    orders = counts.sum(1)
    classes = velocity_classes({sku: float(c) for sku, c in zip(names, orders, strict=True)})
    base = clock.day_weights(window)
    censoring = _censor(coded.table, codes, names, stock, window, clock,
                        lambda: fit_dispersion_rows(names, counts,
                                                    np.tile(base, (len(names), 1)), classes,
                                                    likelihood=False))
    weights = _weights(base, window, clock, censoring)
    final = fit_dispersion_rows(names, counts, weights, classes)
    at_risk = float(np.diff(clock(np.array([window.start, window.end])))[0])
    exposure = at_risk - np.array([c.excluded_demand_days for c in censoring])
    phis = np.maximum(_phis(final, weights, orders), 1.0)
    intervals = garwood_intervals(orders, np.maximum(exposure, 1e-9), phis)
    return _SkuDemand(classes, censoring, final, weights, exposure, phis, intervals)


def _sku_fits(skus: _SkuCodes, demand: _SkuDemand, sales: _SkuSales,
              stock: pd.DataFrame | None) -> dict[str, SkuFit]:
    """Each SKU's fit, from its demand-time and its sales-only parts."""
    orders = skus.counts.sum(1)
    listed = {sku: listed_stock(on, every, qty, f"stock list line {line}")
              for sku, (on, every, qty, line) in _stock_rows(stock).items()}
    units_per_day = sales.units_sold / np.maximum(demand.exposure, 1e-9)
    out: dict[str, SkuFit] = {}
    for i, sku in enumerate(skus.names):
        rate = sku_demand(sku, int(orders[i]), float(demand.exposure[i]),
                          float(demand.phis[i]), sales.units[i], sales.prices[i],
                          f"{sales.sources[i]}: order lines (sku, placed time)",
                          (float(demand.intervals[0][i]), float(demand.intervals[1][i])))
        out[sku] = SkuFit(sku, demand.classes[sku], rate, demand.dispersion[i],
                          demand.censoring[i], _stock(sku, listed, float(units_per_day[i])),
                          skus.counts[i], rate.rate.value * demand.weights[i])
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
    coded = sku_orders_coded(lines, window)
    table = coded.table
    timed = table["timed"].to_numpy()
    frame = observation_window(table["placed_s"].to_numpy(), not timed.all(), window)
    skus = _sku_codes(coded, frame)

    def demand() -> tuple[Profile, dict[str, Profile], list[str], _SkuDemand]:
        pooled, channel_profiles, said = profiles(table, frame, coded.channel)
        clock = DemandClock(np.asarray(pooled.hour), np.asarray(pooled.weekday))
        return pooled, channel_profiles, said, _sku_demand(coded, skus, frame, clock, stock)

    (pooled, channel_profiles, said, per_sku), sales, rates = in_parallel(
        demand, lambda: _sku_sales(coded, skus),
        lambda: channel_rates(table, returns_known=returns_known,
                              codes=(coded.channel, coded.order, coded.source)))
    fit_skus = _sku_fits(skus, per_sku, sales, stock)
    latency: dict[str, Latency] = {}
    if receipts is not None:
        log = receipts.receipts if isinstance(receipts, ReceiptsRead) else receipts
        latency, dropped = fit_latency(coded.labelled(), log, path=receipts_file, malformed=policy)
        skipped.update(dropped)
    timed_at = np.bincount(coded.channel.codes[timed], minlength=len(coded.channel.names))
    channels = {name: ChannelFit(name, rates[name], channel_profiles[name], latency.get(name),
                                 not timed_at[i]) for i, name in enumerate(rates)}
    said += _assumptions(fit_skus, returns_known, receipts is not None, stock)
    if receipts is not None:
        said += [f"channel {name}: no receipt could be timed against its orders ("
                 + ("its export gives dates only" if fit.dates_only else "none matched")
                 + "), so its webhook latency and duplicates are not fitted"
                 for name, fit in channels.items() if fit.latency is None]
    return Fit(frame, fit_skus, channels, pooled, (A_CUT, B_CUT), DISPERSION_METHOD,
               tuple(said), skipped)
