"""The report's figures, each a :class:`matplotlib.figure.Figure` (no pyplot state).

Rates are drawn in % of orders; "per month" means per 30 days of simulated time.
Names from the scenario are drawn as plain text (no mathtext), whatever they contain.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from racesim.report.answer import HOURS_PER_MONTH
from racesim.report.channel_frontier import channel_frontier, channel_recommendation
from racesim.report.compute import SYNC_TARGET_S, Episode, ReportData, per_channel
from racesim.report.timelines import WIDTH_IN, draw_race1, draw_race2, draw_race3

__all__ = [
    "DPI",
    "MIN_FONT_PT",
    "STYLE",
    "WIDTH_IN",
    "Chart",
    "buffer_cost",
    "build_figures",
    "channel_oversells",
    "frontier",
    "oversell_vs_buffer",
    "plain_text",
    "png",
    "race_timeline",
    "report_style",
    "smallest_font",
    "sync_latency",
]

DPI = 150
"""Resolution of the PNG files (dots per inch); every figure is :data:`WIDTH_IN` wide."""
MIN_FONT_PT = 9.5
"""The smallest text in a figure (points). The PDF prints each figure at its own width
(:data:`WIDTH_IN`), so this is the size its text has on paper."""
STYLE: Any = {"font.size": 10.5, "axes.titlesize": 12, "axes.labelsize": 10.5,
         "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
         "legend.fontsize": MIN_FONT_PT, "text.parse_math": False}
"""Matplotlib settings every report figure is drawn with (no mathtext: names as written)."""

CURRENT, CHOSEN, FORMULA, CURVE = "tab:red", "tab:green", "tab:purple", "tab:blue"


@dataclass(frozen=True)
class Chart:
    """One figure of the report: a file name, a title, a caption and the PNG bytes."""

    name: str
    """File stem, e.g. ``01_oversell_vs_buffer``."""
    title: str
    caption: str
    png: bytes
    width_in: float = WIDTH_IN
    """The figure's width (inches): the PDF prints it at this width."""
    min_font_pt: float = MIN_FONT_PT
    """Its smallest text, measured once drawn (points)."""


@contextmanager
def plain_text() -> Iterator[None]:
    """Text created inside is shown as written: ``$`` in a SKU does not start math."""
    with mpl.rc_context({"text.parse_math": False}):
        yield


@contextmanager
def report_style() -> Iterator[None]:
    """Figures created inside use :data:`STYLE`: text legible in print, shown as written."""
    with mpl.rc_context(STYLE):
        yield


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes at :data:`DPI`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def smallest_font(figure: Figure) -> float:
    """The size of the smallest visible text of a drawn figure (points)."""
    sizes = [float(text.get_fontsize()) for text in figure.findobj(Text)
             if text.get_visible() and text.get_text().strip()]
    return min(sizes, default=MIN_FONT_PT)


def _positions(data: ReportData) -> tuple[np.ndarray, list[str], bool]:
    """x positions of the sweep values, their labels, and whether the axis is by rung."""
    values = data.sweep["value"].to_numpy(dtype=float)
    labels = [f"{v:g}" for v in values]
    if data.family.name in ("poisson_quantile", "allocation"):  # ε, share fall as it grows
        return np.arange(len(values), dtype=float), labels, True
    return values, labels, False


def _x_of(data: ReportData, value: float) -> float | None:
    """Where a family value sits on the sweep's x axis (None when it is not on it)."""
    x, _, by_rung = _positions(data)
    values = data.sweep["value"].to_numpy(dtype=float)
    if not by_rung:
        return value
    hits = np.flatnonzero(np.isclose(values, value))
    return float(x[hits[0]]) if len(hits) else None


def _axis_label(data: ReportData) -> str:
    family = data.family
    unit = {"fixed": "units hidden per SKU", "percent": "% of available stock hidden",
            "seed_formula": "× P99 sync latency of expected sales hidden",
            "poisson_quantile": "ε (smaller hides more)",
            "allocation": "share of available stock listed (smaller hides more)",
            }.get(family.name, family.parameter)
    return f"buffer: {unit}"


def _chosen_values(data: ReportData) -> dict[str, float]:
    return dict(data.tuning.values)


def _legend_below(figure: Figure, axes: Axes, columns: int = 2) -> None:
    """The legend under the plot, so it never hides a point."""
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=columns,
                      frameon=False)


def oversell_vs_buffer(data: ReportData) -> Figure:
    """Oversell rate against the buffer: pooled rate and interval band, spread, target."""
    sweep = data.sweep
    x, labels, by_rung = _positions(data)
    figure = Figure(figsize=(WIDTH_IN, 4.0), layout="constrained")
    axes = figure.add_subplot()
    rate = 100 * sweep["oversell_rate"].to_numpy(dtype=float)
    axes.fill_between(x, 100 * sweep["oversell_rate_low"], 100 * sweep["oversell_rate_high"],
                      color=CURVE, alpha=0.18,
                      label="95 % interval (replications as clusters)")
    axes.plot(x, rate, "o-", color=CURVE, label="oversell rate")
    axes.axhline(100 * data.target, color="black", linestyle="--", linewidth=1,
                 label=f"target {100 * data.target:g} %")
    for name, value in _chosen_values(data).items():
        where = _x_of(data, value)
        if where is not None:
            label = "recommended" if name == "*" else f"recommended, class {name}"
            axes.axvline(where, color=CHOSEN, linewidth=1.5, alpha=0.8, label=label)
    if data.current_value is not None and (where := _x_of(data, data.current_value)) is not None:
        axes.axvline(where, color=CURRENT, linestyle=":", linewidth=1.5, label="today")
    if by_rung:
        axes.set_xticks(x, labels)
    axes.set_xlabel(_axis_label(data))
    axes.set_ylabel("oversold orders, % of orders")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    _legend_below(figure, axes, 3)
    axes.set_title("Oversell rate against the buffer", loc="left")
    return figure


def frontier(data: ReportData, headline: dict) -> Figure:
    """Oversells per month against lost sales per month, one point per buffer value."""
    sweep = data.sweep
    figure = Figure(figsize=(WIDTH_IN, 4.0), layout="constrained")
    axes = figure.add_subplot()
    per_orders = sweep["orders_per_month"]
    y = sweep["oversells_per_month"].to_numpy(dtype=float)
    y_low = (sweep["oversell_rate_low"] * per_orders).to_numpy(dtype=float)
    y_high = (sweep["oversell_rate_high"] * per_orders).to_numpy(dtype=float)
    x = sweep["lost_sales_per_month"].to_numpy(dtype=float)
    axes.errorbar(x, y, yerr=[y - y_low, y_high - y], fmt="o-", color=CURVE, capsize=3,
                  label="buffer values swept (95 % interval)")
    for xi, yi, value in zip(x, y, sweep["value"], strict=True):
        axes.annotate(f"{value:g}", (xi, yi), xytext=(7, 4), textcoords="offset points",
                      color=CURVE)
    points = [("today", headline["current"], CURRENT, "s"),
              ("recommended", headline["recommended"], CHOSEN, "*")]
    if headline.get("seed_formula"):
        points.append(("rule of thumb", headline["seed_formula"], FORMULA, "D"))
    for label, numbers, color, marker in points:
        axes.plot([numbers["lost_sales_per_month"]], [numbers["oversells_per_month"]],
                  marker=marker, color=color, markersize=14 if marker == "*" else 9,
                  linestyle="none", label=label, zorder=4)
    axes.set_xlabel("lost sales per month (buyers who found the listing at 0)")
    axes.set_ylabel("oversells per month")
    axes.set_ylim(bottom=0)
    axes.margins(x=0.08)
    axes.grid(alpha=0.3)
    _legend_below(figure, axes, 4)
    axes.set_title(f"Oversells against lost sales (labels: {data.family.parameter})",
                   loc="left")
    return figure


def buffer_cost(data: ReportData) -> Figure:
    """What each buffer value costs: stock kept off sale and buyers turned away."""
    sweep = data.sweep
    x, labels, by_rung = _positions(data)
    figure = Figure(figsize=(WIDTH_IN, 5.0), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    hours = 1.0 / HOURS_PER_MONTH  # unit-hours per month → units off sale on average
    for axes, metric, title, color, scale in (
            (top, "hidden_unit_hours", "stock kept off the listings (units, on average)",
             "tab:orange", hours),
            (bottom, "lost_sales", "lost sales per month", "tab:brown", 1.0)):
        mean = sweep[f"{metric}_per_month"].to_numpy(dtype=float) * scale
        low = sweep[f"{metric}_per_month_low"].to_numpy(dtype=float) * scale
        high = sweep[f"{metric}_per_month_high"].to_numpy(dtype=float) * scale
        axes.errorbar(x, mean, yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)],
                      fmt="o-", color=color, capsize=3)
        for name, value in _chosen_values(data).items():
            where = _x_of(data, value)
            if where is not None:
                axes.axvline(where, color=CHOSEN, linewidth=1.5, alpha=0.8,
                             label="recommended" if name == "*" else f"class {name}")
        axes.set_title(title, loc="left")
        axes.margins(y=0.15)  # lost sales: the axis follows the data, not 0
        axes.grid(alpha=0.3)
    top.set_ylim(bottom=0)  # no buffer hides nothing: 0 is on this axis's data
    if by_rung:
        bottom.set_xticks(x, labels)
    bottom.set_xlabel(_axis_label(data))
    top.legend(loc="upper left")
    return figure


def _latency_axis_end(latencies: np.ndarray, p99: float) -> float:
    """Where the latency axis ends: just past the data's bulk (all but the slowest 1 in
    200), the P99 and the target; a far outlier does not stretch it."""
    return 1.15 * max(float(np.percentile(latencies, 99.5)), p99, SYNC_TARGET_S)


def sync_latency(data: ReportData, headline: dict) -> Figure:
    """Distribution of sync latency (change in the ledger → every listing shows it)."""
    latencies = np.concatenate([r.sync_latency for r in data.current.replications])
    figure = Figure(figsize=(WIDTH_IN, 3.7), layout="constrained")
    axes = figure.add_subplot()
    p99 = float(headline["sync_latency"]["p99_s"])
    title = f"Sync latency ({latencies.size:,} stock changes)"
    if latencies.size:
        positive = latencies[latencies > 0]
        end = _latency_axis_end(latencies, p99)
        wide = positive.size and end / max(np.percentile(positive, 1), 1e-3) > 50
        bins: Any = (np.geomspace(max(positive.min(), 1e-2), end, 50) if wide else
                     np.linspace(0.0, end, 50))
        axes.hist(latencies[latencies <= end], bins=bins, color=CURVE, alpha=0.75)
        if wide:
            axes.set_xscale("log")
        axes.set_xlim(right=end)
        axes.axvline(p99, color=CURRENT, linewidth=2,
                     label=f"99 in 100 within {p99:,.0f} s")
        axes.axvline(SYNC_TARGET_S, color="black", linestyle="--", linewidth=1,
                     label=f"target {SYNC_TARGET_S:g} s")
        beyond = int(np.sum(latencies > end))
        if beyond:
            title += (f"; {beyond:,} slower, up to {float(latencies.max()):,.0f} s, "
                      "off the axis")
        axes.legend(loc="upper right")
    else:
        axes.text(0.5, 0.5, "no stock changes were synchronised in this run",
                  transform=axes.transAxes, ha="center")
    axes.set_xlabel("seconds from a change in the ledger until every listing shows it")
    axes.set_ylabel("stock changes")
    axes.grid(alpha=0.3)
    axes.set_title(title, loc="left")
    return figure


def channel_oversells(data: ReportData) -> Figure:
    """Oversells per month on each marketplace, at the current and recommended buffer."""
    tables = [("today's buffer", per_channel(data.current, data.per_month), CURRENT),
              ("recommended buffer", per_channel(data.recommended, data.per_month), CHOSEN)]
    channels = list(tables[0][1].index)
    figure = Figure(figsize=(WIDTH_IN, 3.8 + 0.1 * len(channels)), layout="constrained")
    axes = figure.add_subplot()
    width = 0.38
    for k, (label, table, color) in enumerate(tables):
        table = table.reindex(channels)
        per_orders = table["orders_per_month"]
        mean = table["oversells_per_month"].to_numpy(dtype=float)
        low = (table["oversell_rate_low"] * per_orders).to_numpy(dtype=float)
        high = (table["oversell_rate_high"] * per_orders).to_numpy(dtype=float)
        x = np.arange(len(channels)) + (k - 0.5) * width
        if np.all(np.round(mean, 1) == 0):
            label = f"{label}: 0 on every marketplace"  # its bars are flat: say so
        axes.bar(x, mean, width, color=color, alpha=0.8, label=label,
                 yerr=[mean - low, high - mean], capsize=4, ecolor="0.3")
        for xi, value, top in zip(x, mean, high, strict=True):
            # Beside the interval's top, clear of its cap (which spans ±4 points).
            axes.annotate(f"{value:,.1f}", (xi, top), xytext=(7, 0),
                          textcoords="offset points", ha="left", va="center")
    axes.set_xticks(np.arange(len(channels)), channels)
    axes.margins(y=0.12)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("oversells per month")
    axes.grid(axis="y", alpha=0.3)
    _legend_below(figure, axes)
    axes.set_title("Oversells per marketplace (95 % interval)", loc="left")
    return figure


def _replications(data: ReportData, which: int) -> int:
    run = data.current if which == 0 else data.recommended
    return len(run.replications)


def race_timeline(episode: Episode) -> Figure | None:
    """The annotated timeline of a race episode (None when none was found)."""
    found = episode.found
    if found is None:
        return None
    draw: Any = {1: draw_race1, 2: draw_race2, 3: draw_race3}[episode.race]
    return draw(found)


def _caption_sweep(data: ReportData) -> str:
    return (f"Each point: {data.replications} replications at one buffer value, the same "
            "buyers at every value (common random numbers). The shaded band is the 95 % "
            "interval of the rate over all orders pooled, each simulated period counted as "
            "one cluster, since oversells bunch within a period.")


def build_figures(data: ReportData, headline: dict) -> list[Chart]:
    """Every figure of the report, rendered to PNG, in the order the report shows them."""
    charts: list[Chart] = []

    def add(name: str, title: str, caption: str, figure: Figure) -> None:
        image = png(figure)  # drawn: every tick label now exists
        charts.append(Chart(f"{len(charts) + 1:02d}_{name}", title, caption, image,
                            float(figure.get_figwidth()), smallest_font(figure)))

    chosen = headline["recommended"]
    with report_style():
        add("oversell_vs_buffer", "Oversell rate against the buffer", _caption_sweep(data),
            oversell_vs_buffer(data))
        add("frontier", "Oversells against lost sales",
            "Per month, one point per buffer value (labelled with its "
            f"{data.family.parameter}); the star is the recommended buffer "
            f"({chosen['replications']} replications), the square today's, the diamond the "
            "rule of thumb's. Down and to the left is better; the curve shows how many "
            "buyers each avoided oversell costs.", frontier(data, headline))
        add("buffer_cost", "What the buffer costs",
            "Top: stock the buffer keeps off the listings, in units on average over the "
            "month. Bottom: buyers who found a listing at 0, per month (the axis follows the "
            "data; it does not start at 0). Bars: 95 % intervals between replications.",
            buffer_cost(data))
        add("sync_latency", "Sync latency",
            "Seconds from each change of a SKU's published quantity until every "
            "marketplace listing shows it, at today's buffer; the red line is where 99 "
            f"changes in 100 have arrived, the dashed line the {SYNC_TARGET_S:g} s target.",
            sync_latency(data, headline))
        add("channel_oversells", "Oversells per marketplace",
            "Oversells per month on each marketplace with today's buffer and with the "
            "recommended one; bars show the 95 % interval scaled to a month.",
            channel_oversells(data))
        if headline.get("per_channel"):
            add("channel_frontier", "A buffer per marketplace against the same everywhere",
                channel_recommendation(headline["per_channel"]),
                channel_frontier(headline["per_channel"]))
        for episode in data.episodes:
            figure = race_timeline(episode)
            if figure is not None:
                add(f"race{episode.race}", f"Race {episode.race}: {episode.title}",
                    f"Replication {episode.replication} of the run at today's buffer, "
                    f"SKU {episode.found.sku}: drawn from the run's own records.",  # type: ignore[union-attr]
                    figure)
    return charts
