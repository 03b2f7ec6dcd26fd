"""Per-SKU demand: orders per day with a 95 % interval, units per order, line price.

Demand counts every placed SKU-order, cancelled ones included (they reserved stock),
over the SKU's time at risk: the window less its stock-outs, in demand-days. The interval
is Garwood's exact Poisson interval when the SKU's daily counts pass as Poisson; when the
dispersion test flags them, the count's variance is μ·φ with φ = 1 + d·Σμ_t²/Σμ_t (NB2
days summed, d at the upper end of its interval since it is itself estimated), and the
interval is the quasi-Poisson one — Garwood on count/φ, scaled back — so a bursty SKU's
interval is as wide as its demand is uncertain.

Units per order are the empirical distribution of the SKU-orders' quantities, in the
scenario's ``units_per_order = { dist = "empirical", values, weights }`` form (cancelled
lines with quantity 0 left out). The price is the median line price, with the
distribution-free interval for a median (order statistics at binomial ranks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from racesim.fit.estimate import Estimate, garwood_interval
from racesim.fit.sku_orders import Coded

__all__ = ["Demand", "Price", "UnitsPerOrder", "median_price", "median_prices", "median_ranks",
           "sku_demand", "units_per_order", "units_per_orders"]


@dataclass(frozen=True, slots=True)
class UnitsPerOrder:
    """The empirical units-per-order distribution (values ascending, weights sum to 1)."""

    values: tuple[int, ...]
    weights: tuple[float, ...]
    n: int

    def to_scenario(self) -> dict[str, object]:
        """The scenario's ``units_per_order`` table."""
        return {"dist": "empirical", "values": list(self.values),
                "weights": list(self.weights)}


@dataclass(frozen=True, slots=True)
class Price:
    """The median line price (an :class:`Estimate`) and its currency ('' if unknown)."""

    median: Estimate
    currency: str


@dataclass(frozen=True, slots=True)
class Demand:
    """One SKU's demand: ``rate`` in orders per day over ``exposure_days`` demand-days."""

    sku: str
    rate: Estimate
    exposure_days: float
    phi: float
    units_per_order: UnitsPerOrder
    price: Price | None


def units_per_order(quantities: np.ndarray) -> UnitsPerOrder:
    """The empirical distribution of whole quantities ≥ 1 (1 unit when none are)."""
    quantities = quantities[quantities >= 1].astype(np.int64)
    if len(quantities) == 0:
        return UnitsPerOrder((1,), (1.0,), 0)
    values, counts = np.unique(quantities, return_counts=True)
    weights = np.round(counts / counts.sum(), 6)
    return UnitsPerOrder(tuple(int(v) for v in values), tuple(float(w) for w in weights),
                         len(quantities))


def units_per_orders(quantities: np.ndarray, codes: np.ndarray, skus: int
                     ) -> list[UnitsPerOrder]:
    """:func:`units_per_order` of each SKU's rows at once (``codes`` index the SKUs)."""
    whole = quantities >= 1
    quantities, codes = quantities[whole].astype(np.int64), codes[whole]
    top = int(quantities.max()) + 1 if len(quantities) else 1
    if skus * top > 20_000_000:  # a few huge quantities: one SKU at a time
        return [units_per_order(quantities[codes == i]) for i in range(skus)]
    table = np.bincount(codes * top + quantities, minlength=skus * top).reshape(skus, top)
    totals = table.sum(1)
    rows, values = np.nonzero(table)
    weights = np.round(table[rows, values] / totals[rows], 6)
    at = np.searchsorted(rows, np.arange(skus + 1))
    out = []
    for i in range(skus):
        part = slice(at[i], at[i + 1])
        if totals[i] == 0:
            out.append(UnitsPerOrder((1,), (1.0,), 0))
        else:
            out.append(UnitsPerOrder(tuple(values[part].tolist()),
                                     tuple(weights[part].tolist()), int(totals[i])))
    return out


def median_ranks(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The binomial(n, ½) 2.5 % and 97.5 % quantiles for each sample size in ``n``: the
    order-statistic ranks of the median's 95 % interval (one vectorised call for every
    SKU, the per-call overhead of scipy's ppf being most of its cost)."""
    n = np.asarray(n, dtype=np.int64)
    return (np.asarray(stats.binom.ppf(0.025, n, 0.5)),
            np.asarray(stats.binom.ppf(0.975, n, 0.5)))


def median_price(prices: np.ndarray, currencies: np.ndarray, source: str,
                 ranks: tuple[float, float] | None = None) -> Price | None:
    """The median of the known line prices with its 95 % interval; None if none known.
    ``ranks`` are :func:`median_ranks` for the count of known prices, when computed."""
    known = np.sort(prices[np.isfinite(prices)])
    n = len(known)
    if n == 0:
        return None
    if ranks is None:
        low, high = median_ranks(np.array([n]))
        ranks = (float(low[0]), float(high[0]))
    low_rank = int(ranks[0])
    high_rank = min(n - 1, int(ranks[1]))
    found = [c for c in currencies[np.isfinite(prices)] if c]
    currency = max(sorted(set(found)), key=found.count) if found else ""
    median = Estimate(float(np.median(known)), float(known[max(0, low_rank - 1)]),
                      float(known[high_rank]), n, source, "median, order-statistic interval")
    return Price(median, currency)


def median_prices(prices: np.ndarray, codes: np.ndarray, currency: Coded,
                  sources: list[str]) -> list[Price | None]:
    """:func:`median_price` of each SKU's lines at once: ``codes`` index the SKUs (-1: a
    line of none), ``currency`` is the lines' currency column coded, ``sources[i]`` SKU
    i's source. Each SKU's known prices are one slice of a table grouped by SKU, and
    each slice is partitioned in place around the four ranks read from it (the interval's
    ends and the one or two middle values): the values at those ranks are the sorted
    slice's, at a fraction of a sort's cost on the best sellers' long slices."""
    skus = len(sources)
    known = np.isfinite(prices) & (codes >= 0)
    money = currency.codes
    if not known.all():
        codes, prices, money = codes[known], prices[known], money[known]
    order = np.argsort(codes.astype(np.int16 if skus < 2**15 else np.int64), kind="stable")
    ranked = prices[order]
    n = np.bincount(codes, minlength=skus).tolist()
    at = np.concatenate([[0], np.cumsum(n)]).tolist()
    sizes = np.array(n, dtype=np.int64)
    low_ranks, high_ranks = median_ranks(np.maximum(sizes, 1))
    for i, (size, low_rank, high_rank) in enumerate(zip(n, low_ranks.astype(np.int64).tolist(),
                                                        high_ranks.astype(np.int64).tolist(),
                                                        strict=True)):
        if size > 1:
            ranked[at[i]:at[i + 1]].partition(sorted({
                min(size - 1, max(0, low_rank - 1)), size // 2 - 1, size // 2,
                min(size - 1, high_rank)}))
    start, priced = np.array(at[:-1], dtype=np.int64), np.flatnonzero(sizes > 0)
    mid = start + sizes // 2
    middle = np.zeros(skus)
    odd = priced[sizes[priced] % 2 == 1]
    even = priced[sizes[priced] % 2 == 0]
    middle[odd] = ranked[mid[odd]]
    middle[even] = (ranked[mid[even] - 1] + ranked[mid[even]]) / 2  # np.median's mean
    low = ranked[np.minimum(start + np.maximum(0, low_ranks.astype(np.int64) - 1),
                            len(ranked) - 1)] if len(ranked) else middle
    high = ranked[np.minimum(start + np.minimum(sizes - 1, high_ranks.astype(np.int64)),
                             len(ranked) - 1)] if len(ranked) else middle
    names = len(currency.names)
    named = np.array([bool(name) for name in currency.names] + [False], dtype=float)
    chosen = [""] * skus
    if names == 1 and (money == 0).all():  # one currency: every priced SKU's
        chosen = [currency.names[0] if size else "" for size in n]
    elif names:
        seen = np.bincount(codes * names + np.maximum(money, 0), weights=named[money],
                           minlength=skus * names).reshape(skus, names)
        for row in np.flatnonzero(seen.any(1)).tolist():
            chosen[row] = currency.names[int(np.argmax(seen[row]))]
    out: list[Price | None] = [None] * skus
    for i in priced.tolist():
        out[i] = Price(Estimate(float(middle[i]), float(low[i]), float(high[i]), n[i],
                                sources[i], "median, order-statistic interval"), chosen[i])
    return out


def sku_demand(sku: str, orders: int, exposure_days: float, phi: float,
               units: UnitsPerOrder, price: Price | None, source: str,
               interval: tuple[float, float] | None = None) -> Demand:
    """The SKU's demand record; ``phi`` > 1 widens the interval (see the module doc).
    ``interval`` is the rate's Garwood interval when already computed (for many SKUs at
    once by :func:`~racesim.fit.estimate.garwood_intervals`)."""
    exposure = max(exposure_days, 1e-9)
    low, high = interval or garwood_interval(orders, exposure, phi=max(phi, 1.0))
    method = "garwood (Poisson)" if phi <= 1.0 else f"quasi-Poisson (phi = {phi:.3g})"
    rate = Estimate(orders / exposure, low, high, orders, source, method)
    return Demand(sku, rate, exposure_days, max(phi, 1.0), units, price)
