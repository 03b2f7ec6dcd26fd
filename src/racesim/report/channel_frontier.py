"""The per-channel answer for a client: the money frontier and the recommendation in words.

Both read the per-channel tuner's JSON (:func:`racesim.study.channel_report.tuning_json`,
what ``racesim tune --per-channel --json`` prints), so the page says what the tuner found
and nothing else. The figure puts the oversell rate (across) against the money lost a
month (up; buyers turned away by the buffer when the scenario has no ``[costs]``) for the
uniform buffers and the per-channel rules the search simulated that no other of their
kind beats on both; the recommendation is one sentence in money per month, measured on
fresh simulated periods against the uniform buffer on the same periods.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from racesim.report.formats import interval, num, pct
from racesim.report.timelines import WIDTH_IN

__all__ = ["channel_frontier", "channel_recommendation"]


def _rule(value: Any) -> str:
    """``marketplace 1, shop 0`` (per class: ``marketplace A 2 B 0; …``)."""
    if not isinstance(value, dict):
        return str(value)
    return ", ".join(
        f"{channel} " + (" ".join(f"{k} {v}" for k, v in units.items())
                         if isinstance(units, dict) else str(units))
        for channel, units in value.items())


def _span(pair: list[float] | None) -> str:
    """`` (95 % interval a – b)``, or nothing with too few periods to tell."""
    return "" if not pair else f" (95 % interval {interval(pair, num)})"


def _money_axis(report: dict[str, Any]) -> tuple[str, str]:
    """The figure's money key and its axis label."""
    if report["currency"] is None:
        return "buffer_lost_sales_per_month", "buyers turned away by the buffer, per month"
    return "total_cost_per_month", f"money lost per month ({report['currency']})"


def channel_frontier(report: dict[str, Any]) -> Figure:
    """Oversell rate against money lost a month: uniform buffers and per-channel rules."""
    key, label = _money_axis(report)
    figure = Figure(figsize=(WIDTH_IN, 3.6), layout="constrained")
    axes = figure.add_subplot()
    styles = {"uniform": ("o-", "#888888", "the same buffer everywhere"),
              "per_channel": ("s-", "#1f6fb2", "a buffer per marketplace")}
    for kind, (marker, colour, name) in styles.items():
        points = report["frontier"][kind]
        if not points:
            continue
        x = [100 * point["oversell_rate"] for point in points]
        y = [point[key] for point in points]
        axes.plot(x, y, marker, color=colour, label=name)
        for point, px, py in zip(points, x, y, strict=True):
            rule = point["per_channel"]
            shown = _rule(next(iter(rule.values()))) if kind == "uniform" else _rule(rule)
            axes.annotate(shown, (px, py), textcoords="offset points",
                          xytext=(4, 4), fontsize=9.5, color=colour)
    axes.plot([100 * report["oversell_rate"]], [report[key]], "*", color="#d62728",
              markersize=14, label="recommended", zorder=3)
    if report["target"] is not None:
        axes.axvline(100 * report["target"], color="#d62728", linestyle="--", linewidth=1,
                     label=f"target {pct(report['target'])}")
    axes.margins(x=0.08, y=0.12)  # room for the labels at the edges
    axes.set_xlabel("oversold orders, % of orders")
    axes.set_ylabel(label)
    axes.legend(loc="best", fontsize=9.5)
    return figure


def channel_recommendation(report: dict[str, Any]) -> str:
    """The per-channel rule, and what it saves a month against the uniform buffer, in
    words (money when the scenario has ``[costs]``, else buyers turned away)."""
    paired, uniform = report["paired"], report["uniform"]
    periods = f"{paired['replications']} fresh simulated periods"
    if report["currency"] is not None and paired["total_cost_saved_per_month"] is not None:
        saved = f"{report['currency']} {num(paired['total_cost_saved_per_month'])} a month " \
                f"less lost{_span(paired['total_cost_saved_per_month_ci'])}"
    else:
        saved = f"{num(paired['buffer_lost_sales_saved_per_month'])} fewer buyers a month " \
                f"turned away{_span(paired['buffer_lost_sales_saved_per_month_ci'])}"
    goal = "" if report["target"] is None else \
        (f", with oversells still under {pct(report['target'])} of orders"
         if report["confirmation"]["meets_target"]
         else f"; it did not show oversells under {pct(report['target'])} on fresh periods")
    return (f"Hide {_rule(report['per_channel'])} instead of {_rule(uniform['value'])} on "
            f"every marketplace: {saved} on {periods}{goal}.")
