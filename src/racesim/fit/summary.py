"""A :class:`~racesim.fit.model.Fit` as plain data: what ``racesim fit --json`` prints.

The same record feeds the fit report's tables, so the JSON and the page never disagree:
per SKU its rate and interval and dispersion verdict (with the Benjamini–Hochberg
adjusted p-value of its test unit), per channel its share, cancel rate, webhook latency
and duplicates, the window, every assumption and the rows left out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from racesim.fit.estimate import Estimate
from racesim.fit.model import Fit, SkuFit

__all__ = ["bh_adjusted", "demand_kind", "fit_summary", "verdict"]


def bh_adjusted(fit: Fit) -> dict[str, float]:
    """Each SKU's Benjamini–Hochberg adjusted p-value (NaN where its unit is untested).

    Units are SKUs with enough orders, or a class pool whose p-value enters the procedure
    weighted by its number of SKUs (``min(1, p·n)``), as the fit's test does.
    """
    units: dict[str, list[str]] = {}
    for sku in fit.skus.values():
        if not sku.dispersion.unit.startswith("untested"):
            units.setdefault(sku.dispersion.unit, []).append(sku.sku)
    names = sorted(units)
    p = np.array([min(1.0, fit.skus[units[n][0]].dispersion.p * len(units[n])) for n in names])
    out = dict.fromkeys(fit.skus, math.nan)
    if not names:
        return out
    order = np.argsort(p, kind="stable")
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    for rank, i in enumerate(order):
        for member in units[names[i]]:
            out[member] = float(adjusted[rank])
    return out


def demand_kind(sku: SkuFit) -> tuple[str, float]:
    """(``gamma_poisson`` and the fitted d, or ``poisson`` and 0) for a SKU's scenario."""
    d = sku.dispersion
    if d.over_dispersed and d.d.value > 0:
        return "gamma_poisson", d.d.value
    return "poisson", 0.0


def verdict(sku: SkuFit) -> str:
    """The dispersion verdict in a few words."""
    d = sku.dispersion
    if d.unit.startswith("untested"):
        return "untested (too few orders): Poisson assumed"
    if demand_kind(sku)[0] == "gamma_poisson":
        return f"over-dispersed ({d.unit}): gamma_poisson"
    return f"Poisson kept ({d.unit})"


def _estimate(value: Estimate) -> dict[str, Any]:
    return {"value": value.value, "interval": [value.low, value.high], "n": value.n,
            "source": value.source, "method": value.method}


def _clean(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _sku(sku: SkuFit, adjusted: float) -> dict[str, Any]:
    kind, d = demand_kind(sku)
    price = sku.demand.price
    return {
        "sku": sku.sku, "class": sku.velocity_class, "orders": sku.demand.rate.n,
        "orders_per_day": _estimate(sku.demand.rate),
        "exposure_days": sku.demand.exposure_days,
        "excluded_days": sku.censoring.excluded_days,
        "demand": {"kind": kind, "dispersion": d,
                   "d_interval": [sku.dispersion.d.low, sku.dispersion.d.high],
                   "p": _clean(sku.dispersion.p), "p_bh": _clean(adjusted),
                   "unit": sku.dispersion.unit, "verdict": verdict(sku)},
        "units_per_order": {"values": list(sku.demand.units_per_order.values),
                            "weights": list(sku.demand.units_per_order.weights)},
        "stock": {"on_hand": sku.stock.on_hand, "restock_every_s": sku.stock.restock_every_s,
                  "restock_qty": sku.stock.restock_qty, "estimated": sku.stock.estimated,
                  "source": sku.stock.source},
        "price": None if price is None else {"median": price.median.value,
                                             "currency": price.currency},
    }


def fit_summary(fit: Fit, skipped: dict[str, int] | None = None) -> dict[str, Any]:
    """The fit as JSON-ready data; ``skipped`` counts rows left out by the readers too."""
    adjusted = bh_adjusted(fit)
    channels = {}
    for name, channel in fit.channels.items():
        latency = channel.latency
        channels[name] = {
            "share": _estimate(channel.rates.share),
            "cancel_rate": _estimate(channel.rates.cancel_rate),
            "return_rate": _estimate(channel.rates.return_rate),
            "dates_only": channel.dates_only,
            "hour_profile": channel.profile.hour_source,
            "latency": None if latency is None else {
                "n": latency.n, "p50": _estimate(latency.p50), "p99": _estimate(latency.p99),
                "empirical": {f"{q:g}": v for q, v in latency.quantiles.items()},
                "p2": _estimate(latency.p2), "p3": _estimate(latency.p3)}}
    rows = dict(fit.skipped)
    for reason, count in (skipped or {}).items():
        rows[reason] = rows.get(reason, 0) + count
    return {
        "window": {"start": fit.window.start, "end": fit.window.end,
                   "days": fit.window.days, "source": fit.window.source},
        "skus": [_sku(sku, adjusted[name]) for name, sku in fit.skus.items()],
        "channels": channels,
        "dispersion_method": fit.dispersion_method,
        "assumptions": list(fit.assumptions),
        "rows_skipped": rows,
    }
