"""The per-channel answer for a client: the money frontier and the recommendation in words.

Both read the per-channel tuner's JSON (:func:`racesim.study.channel_report.tuning_json`,
what ``racesim tune --per-channel --json`` prints), so the page says what the tuner found
and nothing else. The figure puts the oversell rate (across) against the money lost a
month (up; buyers turned away by the buffer when the scenario has no ``[costs]``) for the
uniform buffers and the per-channel rules the search simulated that no other of their
kind beats on both; the recommendation is one sentence in money per month, measured on
fresh simulated periods against the uniform buffer on the same periods. The answer box's
sentence (:func:`channel_answer`) says the same in money a month, with no word of the
trade: what to hide from which marketplace, the oversell costs against the margin lost,
and what that saves against hiding the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from racesim.report.formats import interval, num, pct
from racesim.report.timelines import WIDTH_IN

__all__ = ["MARGIN_LOST", "channel_answer", "channel_card", "channel_frontier",
           "channel_recommendation", "hide_phrase", "money"]

MARGIN_LOST = ("Margin lost", "the margin of the sales a buffer cost: a buyer who found the "
               "listing at 0 while units were held back counts as a lost sale, but in each "
               "stock-out only as many units count as the buffer hid, since without it the "
               "buyers after those would have found the shelf empty anyway, and a held-back "
               "unit another buyer bought later counts as none: one sale either way.")
"""The glossary's entry for the money a buffer costs (shown with the money card)."""


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
    figure = Figure(figsize=(WIDTH_IN, 4.0), layout="constrained")
    axes = figure.add_subplot()
    styles = {"uniform": ("o--", "#888888", "the same buffer everywhere"),
              "per_channel": ("s-", "#1f6fb2", "a buffer per marketplace")}
    for kind, (marker, colour, name) in styles.items():
        points = report["frontier"][kind]
        if not points:
            continue
        x = [100 * point["oversell_rate"] for point in points]
        y = [point[key] for point in points]
        axes.plot(x, y, marker, color=colour, label=name)
        for number, (point, px, py) in enumerate(zip(points, x, y, strict=True)):
            rule = point["per_channel"]
            shown = f"{_rule(next(iter(rule.values())))} everywhere" if kind == "uniform" \
                else _rule(rule)
            lift = 5 + 13 * (number % 2)  # neighbours' labels on two heights, not on top
            axes.annotate(shown, (px, py), textcoords="offset points",
                          xytext=(6, lift), fontsize=9.5, color=colour)
    axes.plot([100 * report["oversell_rate"]], [report[key]], "*", color="#d62728",
              markersize=15, linestyle="none", label="recommended", zorder=3)
    if report["target"] is not None:
        axes.axvline(100 * report["target"], color="black", linestyle="--", linewidth=1,
                     label=f"target {pct(report['target'])}")
    axes.margins(x=0.12, y=0.12)  # room for the labels at the edges
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_xlabel("oversold orders, % of orders")
    axes.set_ylabel(label)
    axes.grid(alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    axes.set_title("Money lost against oversells" if report["currency"] is not None
                   else "Buyers turned away against oversells", loc="left")
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
    if _same_everywhere(report):
        return (f"No buffer per marketplace the search tried beat {_rule(uniform['value'])} "
                f"on every marketplace, checked on {periods}{goal}.")
    return (f"Hide {_rule(report['per_channel'])} instead of {_rule(uniform['value'])} on "
            f"every marketplace: {saved} on {periods}{goal}.")


def _same_everywhere(report: dict[str, Any]) -> bool:
    """Whether the per-channel answer is the uniform buffer on every channel."""
    return all(value == report["uniform"]["value"] for value in report["per_channel"].values())


def money(value: float, currency: str) -> str:
    """An amount a month as a client reads it: ``EUR 25,900`` (three significant digits
    from 100 up, whole below)."""
    if abs(value) >= 100:
        digits = 3 - len(f"{abs(value):.0f}")
        value = round(value, digits)
    return f"{currency} {value:,.0f}"


def _units_phrase(units: int, first: bool) -> str:
    """``1 unit`` / ``2 units`` (``none`` for 0); after the first, the noun is left out."""
    if units == 0:
        return "none"
    return f"{units} unit{'' if units == 1 else 's'}" if first else str(units)


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _amount(value: Any) -> str:
    """One buffer in words: ``1 unit``, ``none``; per class ``2 units of class A, 1 of
    class B and none of class C`` (``1 unit of every SKU`` when the classes agree)."""
    if not isinstance(value, dict):
        return _units_phrase(int(value), True)
    if len(set(value.values())) == 1:
        units = int(next(iter(value.values())))
        return _units_phrase(units, True) + (" of every SKU" if units else "")
    return _listed([f"{_units_phrase(int(v), k == 0)} of class {label}"
                    for k, (label, v) in enumerate(value.items())])


def hide_phrase(per_channel: dict[str, Any]) -> str:
    """What to hide where, in words, the marketplaces that hide most first: ``Hide 1 unit
    from marketplace and none from shop``; per SKU class ``Hide 2 units of class A and
    none of class B from marketplace; and none from shop``; one buffer for all: ``Hide 1
    unit everywhere``."""
    values = list(per_channel.values())
    if all(v == values[0] for v in values):
        return f"Hide {_amount(values[0])} everywhere"

    def most(item: tuple[str, Any]) -> float:
        value = item[1]
        return -float(sum(value.values()) if isinstance(value, dict) else value)

    ordered = sorted(per_channel.items(), key=most)  # stable: scenario order among equals
    if all(not isinstance(v, dict) for v in values):
        return "Hide " + _listed([f"{_units_phrase(int(v), k == 0)} from {name}"
                                  for k, (name, v) in enumerate(ordered)])
    parts = [f"{_amount(v)} from {name}" for name, v in ordered]
    return "Hide " + "; ".join(parts[:-1]) + "; and " + parts[-1]


def _saving(report: dict[str, Any]) -> tuple[str, float | None, list[float] | None,
                                             Callable[[float], str]]:
    """The rule's own cost in words, what it saves a month, its interval, and how an
    amount of it is written (money with ``[costs]``, else buyers turned away)."""
    fresh, paired, currency = report["confirmation"], report["paired"], report["currency"]
    if currency is None or paired["total_cost_saved_per_month"] is None:
        cost = (f"about {num(fresh['buffer_lost_sales_per_month'])} buyers a month turned "
                "away by the buffer")
        return (cost, paired["buffer_lost_sales_saved_per_month"],
                paired["buffer_lost_sales_saved_per_month_ci"], num)

    def show(value: float) -> str:
        return money(value, currency)

    cost = (f"about {show(fresh['oversell_cost_per_month'])} a month of oversell costs "
            f"against {show(fresh['lost_margin_per_month'])} of margin lost")
    holding = fresh["holding_cost_per_month"]
    if holding is not None and round(holding) >= 1:
        cost += f" and {show(holding)} for the stock held back"
    return (cost, paired["total_cost_saved_per_month"],
            paired["total_cost_saved_per_month_ci"], show)


def _bare(amount: str) -> str:
    """``EUR 32,700`` → ``32,700``: an interval names its currency once."""
    return amount.rsplit(" ", 1)[-1]


def channel_answer(report: dict[str, Any]) -> dict[str, str]:
    """The per-channel answer for the answer box: a bold ``headline`` (what to hide where)
    and its ``text`` in money a month with ``[costs]`` (else buyers turned away), on the
    fresh simulated periods the rule was checked on, against the same buffer everywhere
    on those periods."""
    cost, saved, ci, show = _saving(report)
    fewer = "a month less" if report["currency"] is not None and \
        report["paired"]["total_cost_saved_per_month"] is not None else \
        "fewer buyers a month turned away"
    everywhere = f"hiding {_amount(report['uniform']['value'])} everywhere"
    rule = report["per_channel"]
    if _same_everywhere(report):
        comparison = "nothing to gain from a buffer per marketplace"
    elif saved is not None and saved > 0 and (ci is None or ci[0] > 0):
        comparison = f"{show(saved)} {fewer} than {everywhere}" + (
            "" if ci is None else f" (95 % sure: {show(ci[0])} – {_bare(show(ci[1]))})")
    else:
        comparison = f"no clear saving against {everywhere}"
    target = report["target"]
    goal = "" if target is None else (
        f"; oversells stay under {pct(target)} of orders"
        if report["confirmation"]["meets_target"] else
        f"; but on new simulated periods it did not show oversells under {pct(target)}: "
        "treat it as the least to hide")
    return {"headline": f"{hide_phrase(rule)}:", "text": f"{cost}, {comparison}{goal}."}


def channel_card(report: dict[str, Any]) -> dict[str, str] | None:
    """The answer box's money card: what the per-channel rule loses a month in all (on
    the fresh periods), split, beside the same buffer everywhere; None without
    ``[costs]`` (the sentence then says it in buyers)."""
    currency, fresh = report["currency"], report["confirmation"]
    if currency is None or fresh["total_cost_per_month"] is None:
        return None
    uniform = report["uniform"]["confirmation"]["total_cost_per_month"]
    return {"kind": "ok" if fresh["meets_target"] else "bad",
            "label": "Money lost a month, a buffer per marketplace",
            "value": money(fresh["total_cost_per_month"], currency),
            "detail": f"oversells {money(fresh['oversell_cost_per_month'], currency)}, "
                      f"margin of sales turned away "
                      f"{money(fresh['lost_margin_per_month'], currency)}; with the same "
                      f"buffer everywhere {money(uniform, currency)}",
            "status": "", "after": ""}
