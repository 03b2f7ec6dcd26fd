"""The fit report's figures: observed against fitted daily counts, latency, shares.

Each is a :class:`~racesim.report.figures.Chart` (PNG bytes), drawn without pyplot state
and with names shown as plain text, like the client report's figures.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from racesim.fit.model import Fit, SkuFit
from racesim.report.figures import Chart, plain_text, png

__all__ = ["TOP_SKUS", "fit_figures"]

TOP_SKUS = 4
"""How many of the busiest SKUs get their own observed-vs-fitted panel."""

_QUANTILES = (0.5, 0.9, 0.99)


def _days(fit: Fit) -> pd.DatetimeIndex:
    count = len(next(iter(fit.skus.values())).daily) if fit.skus else 0
    return pd.date_range(pd.Timestamp(fit.window.first_day, unit="s"), periods=count, freq="D")


def _panel(axes: Axes, days: pd.DatetimeIndex, observed: np.ndarray, expected: np.ndarray,
           title: str) -> None:
    axes.bar(days, observed, width=0.8, color="tab:blue", alpha=0.55, label="observed")
    axes.plot(days, expected, color="tab:red", marker="o", markersize=3, label="fitted")
    axes.set_title(title, fontsize=9)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.tick_params(axis="y", labelsize=7)


def daily_counts(fit: Fit) -> Figure:
    """Orders per day, observed (bars) against the fitted expectation (line)."""
    busiest: list[SkuFit] = sorted(fit.skus.values(),
                                   key=lambda s: (-s.demand.rate.n, s.sku))[:TOP_SKUS]
    classes = sorted({s.velocity_class for s in fit.skus.values()})
    columns = max(len(busiest), len(classes), 1)
    figure = Figure(figsize=(9, 5.2), layout="constrained")
    grid = figure.subplots(2, columns, squeeze=False)
    days = _days(fit)
    for i, sku in enumerate(busiest):
        kind = "gamma_poisson" if sku.dispersion.over_dispersed else "Poisson"
        _panel(grid[0][i], days, sku.daily, sku.expected, f"{sku.sku} ({kind})")
    for i, label in enumerate(classes):
        members = [s for s in fit.skus.values() if s.velocity_class == label]
        observed = np.sum([s.daily for s in members], axis=0)
        expected = np.sum([s.expected for s in members], axis=0)
        _panel(grid[1][i], days, observed, expected, f"class {label} ({len(members)} SKUs)")
    for row in grid:
        for axes in row:
            if not axes.has_data():
                axes.set_visible(False)
    grid[0][0].legend(fontsize=7)
    figure.supylabel("orders per day (UTC days)", fontsize=9)
    return figure


def latency_quantiles(fit: Fit) -> Figure | None:
    """Webhook latency p50/p90/p99 per channel: empirical against the lognormal fit."""
    timed = [c for c in fit.channels.values() if c.latency is not None]
    if not timed:
        return None
    figure = Figure(figsize=(8, 4.2), layout="constrained")
    axes = figure.subplots()
    x = np.arange(len(timed))
    for j, q in enumerate(_QUANTILES):
        z = NormalDist().inv_cdf(q)
        empirical = [c.latency.quantiles.get(q, math.nan) for c in timed if c.latency]
        fitted = [math.exp(c.latency.mu + z * c.latency.sigma) for c in timed if c.latency]
        offset = (j - 1) * 0.25
        axes.scatter(x + offset, empirical, marker="o", color=f"C{j}",
                     label=f"p{q * 100:g} empirical")
        axes.scatter(x + offset, fitted, marker="x", s=60, color=f"C{j}",
                     label=f"p{q * 100:g} lognormal")
    axes.set_xticks(x, [c.channel for c in timed])
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylabel("seconds from order to first webhook")
    figure.legend(loc="outside lower center", ncol=3, fontsize=7)
    return figure


def channel_shares(fit: Fit) -> Figure:
    """Each channel's share of SKU-orders with its 95 % interval."""
    channels = list(fit.channels.values())
    figure = Figure(figsize=(8, 0.5 + 0.45 * len(channels)), layout="constrained")
    axes = figure.subplots()
    shares = np.array([c.rates.share.value for c in channels]) * 100
    low = shares - np.array([c.rates.share.low for c in channels]) * 100
    high = np.array([c.rates.share.high for c in channels]) * 100 - shares
    y = np.arange(len(channels))
    axes.barh(y, shares, xerr=[low, high], color="tab:blue", alpha=0.7, capsize=3)
    axes.set_yticks(y, [c.channel for c in channels])
    axes.invert_yaxis()
    axes.set_xlabel("share of SKU-orders (%), 95 % interval")
    return figure


def fit_figures(fit: Fit) -> list[Chart]:
    """The report's figures, in the order the page shows them."""
    charts = []
    with plain_text():
        charts.append(Chart("fit_daily_counts", "Observed against fitted daily orders",
                            f"Bars: orders per UTC day for the {TOP_SKUS} busiest SKUs (top) "
                            "and per velocity class (bottom); line: the fitted rate × each "
                            "day's demand weight (0 on days left out as out of stock).",
                            png(daily_counts(fit))))
        latency = latency_quantiles(fit)
        if latency is not None:
            charts.append(Chart("fit_latency", "Webhook latency per channel",
                                "Empirical quantiles of the first copy's delay (dots) "
                                "against the fitted lognormal's (crosses), log scale.",
                                png(latency)))
        charts.append(Chart("fit_shares", "Channel shares",
                            "Each channel's share of SKU-orders with its Wilson interval.",
                            png(channel_shares(fit))))
    return charts
