"""The report's answer box in plain words: the verdict, the cards and a short glossary.

A client reads this box first and may read nothing else, so it avoids the words of the
trade: no "P99" (it says "99 changes in 100"), no "unit-hours" (stock off sale is an
average number of units), no "Wilson" or "replications" (numbers come with "95 %
sure" ranges), no "seed formula" (the rule of thumb is spelled out). The few terms that
stay are explained in :data:`GLOSSARY`, shown beneath the box. Values are plain text:
the template escapes them.
"""

from __future__ import annotations

from typing import Any

from racesim.report.compute import DRIFT_TARGET, MONTH_S, SYNC_TARGET_S, ReportData
from racesim.report.formats import interval, num, pct, plain_publishing, plain_value
from racesim.report.method import plain_duration
from racesim.scenario import Scenario

__all__ = ["CAVEAT", "GLOSSARY", "HOURS_PER_MONTH", "MAX_NAMED_MARKETPLACES", "cards",
           "marketplaces", "plain_change", "trade", "verdict"]

HOURS_PER_MONTH = MONTH_S / 3600.0
"""Stock hidden "per month" in units × hours, divided by this, is the average units hidden."""

MAX_NAMED_MARKETPLACES = 4
"""Up to this many marketplaces are named in the answer; more are "every marketplace"."""
CAVEAT = ("The figures are as good as the scenario's assumptions: the marketplaces' delays "
          "and their buyers' demand are the scenario's, not measured from the shop's data. "
          "See Method and assumptions.")
"""Said under the answer: what the numbers rest on."""

GLOSSARY = (
    ("SKU", "a stock-keeping unit: one product as the shop stocks it (one mug in one "
            "colour), with its own stock count."),
    ("Oversell", "an order a marketplace accepted for a unit that was already sold "
                 "elsewhere: it has to be cancelled, with an apology."),
    ("Lost sale", "a buyer who found the listing at 0 and bought nothing."),
    ("Buffer", "units kept off the marketplace listings, so that a sale the other "
               "listings have not heard of yet does not sell the same unit twice."),
    ("95 % sure", "the range the true figure lies in with 95 % confidence, given the "
                  "simulated periods; the real month will vary around it."),
    ("Sync", "pushing each SKU's stock count to every marketplace; a change reaches a "
             "buyer only once the marketplace shows it."),
    ("Orders stuck in reserve", "units an order set aside that are neither shipped nor "
                                "released after a while (e.g. its cancellation never "
                                "arrived): off sale, though no buyer will get them."),
)
"""The terms the answer box keeps, each in one sentence (more in the method appendix)."""


def _recommended(data: ReportData, headline: dict[str, Any]) -> str:
    """The recommended buffer in words: one value, or one per SKU class."""
    rec = headline["recommended"]
    values = set(data.tuning.values.values())
    if rec["per_class"] and len(values) == 1:
        return f"{plain_value(data.family, values.pop())} in every class"
    if rec["per_class"]:
        return ", ".join(f"class {name}: {plain_value(data.family, value)}"
                         for name, value in data.tuning.values.items())
    return plain_value(data.family, data.tuning.values["*"])


def verdict(data: ReportData, headline: dict[str, Any]) -> dict[str, str]:
    """The answer in one bold line and a few plain sentences."""
    rec, cur = headline["recommended"], headline["current"]
    buffer, today = _recommended(data, headline), plain_publishing(data.scenario)
    target = pct(data.target)
    scope = "of every SKU" if data.family.name in ("fixed", "percent") and \
        not rec["per_class"] else "per SKU"
    hides_nothing = 1.0 if data.family.name == "allocation" else 0.0  # the whole share listed
    nothing = data.family.name != "poisson_quantile" and \
        all(value == hides_nothing for value in data.tuning.values.values())
    at_most = pct(rec["oversell_rate_ci"][1])
    if rec["meets_target"] and nothing:
        return {"headline": "No buffer is needed.",
                "text": f"With no stock hidden, {rec['oversold_total']:,} of "
                        f"{rec['orders_total']:,} simulated orders were oversold: 95 % sure "
                        f"at most {at_most} of orders, under the target of {target}. "
                        f"Today's buffer ({today}) keeps {_avg_units(cur)} off sale that "
                        "could be sold."}
    if rec["meets_target"]:
        periods = f"new simulated periods of {plain_duration(data.scenario.duration)}"
        checked = (f" It held when checked again on {periods}." if rec["confirmed"] else
                   f" On {periods} it fell short: treat it as the least to hide."
                   if rec["confirmed"] is False else "")
        return {"headline": f"Hide {buffer} {scope} from {marketplaces(data.scenario)}.",
                "text": f"Then {_cancelled(rec['oversells_per_month'])}: 95 % sure at most "
                        f"{at_most} of orders would be oversold, under the "
                        f"target of {target}.{checked} Today ({today}), "
                        f"{pct(cur['oversell_rate'])} of orders are oversold: about "
                        f"{num(cur['oversells_per_month'])} orders a month to cancel and "
                        f"apologise for. {trade(headline['change'])}"}
    if rec["oversell_rate"] < data.target:
        return {"headline": f"No buffer of this kind could be shown to meet the target of "
                            f"{target}.",
                "text": f"With {buffer}, {rec['oversold_total']:,} of "
                        f"{rec['orders_total']:,} simulated orders were oversold: too few "
                        "orders to be 95 % sure the rate stays under the target, because the "
                        "buffer hides most of the stock buyers would buy or the simulated "
                        "period is short. Simulate a longer period, or more of them."}
    return {"headline": "A buffer alone does not fix this.",
            "text": f"The largest buffer tried, {buffer}, still oversold "
                    f"{pct(rec['oversell_rate'])} of orders (95 % sure: "
                    f"{interval(rec['oversell_rate_ci'])}), above the target of {target}. "
                    "What would fix it is below."}


def marketplaces(scenario: Scenario) -> str:
    """The scenario's marketplaces by name ("amazon and ebay"), or "every marketplace"."""
    names = [c.name for c in scenario.channels]
    if len(names) > MAX_NAMED_MARKETPLACES:
        return "every marketplace"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _about(value: float) -> str:
    """A per-month count after "about": ``3.5``, ``23`` (whole above 10)."""
    return f"{value:,.0f}" if abs(value) >= 10 else num(value)


def trade(change: dict[str, Any]) -> str:
    """What the recommended buffer swaps, in one sentence: cancelled orders saved a month
    against buyers a month who find it sold out.

    ``change`` is the headline's paired change (recommended minus today's buffer on the
    same buyers), the figures the "What hiding costs" card shows: a difference of the two
    whole-run figures would mix in the noise of different simulated periods.
    """
    saved = -float(change["oversold_per_month"])
    lost = float(change["lost_sales_per_month"])
    small_saved, small_lost = abs(saved) < 0.05, abs(lost) < 0.05
    buyers = "buyers a month who find it sold out"
    if small_saved and small_lost:
        return "It changes neither the cancelled orders nor the buyers who find it sold out."
    if small_saved:
        return (f"It cancels no fewer orders and means about {_about(lost)} more {buyers}."
                if lost > 0 else f"It cancels no fewer orders and means about "
                f"{_about(-lost)} fewer {buyers}.")
    gain = (f"about {_about(saved)} cancelled orders a month" if saved > 0 else
            f"about {_about(-saved)} more cancelled orders a month")
    if small_lost:
        return f"This saves {gain} at no cost in sales." if saved > 0 else \
            f"This means {gain}, with no change in sales."
    if lost > 0:
        return f"This swaps {gain} for about {_about(lost)} more {buyers}."
    fewer = f"about {_about(-lost)} fewer buyers a month find it sold out"
    return f"This saves {gain}, and {fewer}." if saved > 0 else f"This means {gain}, and {fewer}."


def _cancelled(per_month: float) -> str:
    """Orders to cancel a month, in words."""
    if num(per_month) == "0.0":
        return "no simulated order had to be cancelled"
    return f"about {num(per_month)} orders a month have to be cancelled"


def _avg_units(numbers: dict[str, Any]) -> str:
    """Stock hidden per month (units × hours) as the average number of units hidden."""
    average = float(numbers["hidden_unit_hours_per_month"]) / HOURS_PER_MONTH
    return f"{num(average)} unit{'' if num(average) == '1.0' else 's'} on average"


def plain_change(change: float, what: str = "buyers a month find it sold out") -> str:
    """A paired change in words: a rise is a cost, a fall a gain (never "−61 lost sales")."""
    if abs(change) < 0.05:
        return "no change in lost sales against today"
    if change > 0:
        return f"{num(change)} more {what} than today"
    return f"{num(-change)} fewer {what} than today: a gain"


def _card(kind: str, label: str, value: str, detail: str, status: str = "",
          after: str = "") -> dict[str, str]:
    return {"kind": kind, "label": label, "value": value, "detail": detail,
            "status": status, "after": after}


def cards(data: ReportData, headline: dict[str, Any], advised: bool) -> tuple[
        list[dict[str, str]], str]:
    """The answer's cards, and a sentence naming what this scenario could not measure."""
    rec, cur, change = headline["recommended"], headline["current"], headline["change"]
    sync, stranded, drift = (headline["sync_latency"], headline["stranded_reservations"],
                             headline["ledger_drift"])
    sync_ok = bool(sync["meets_target"])
    box = [
        _card("ok" if rec["meets_target"] else "bad", "Stock to hide",
              _recommended(data, headline),
              f"95 % sure: at most {pct(rec['oversell_rate_ci'][1])} of orders oversold "
              f"(target {pct(data.target)})"),
        _card("ok" if cur["oversell_rate_ci"][1] <= data.target else "bad",
              "Orders to cancel a month, today", num(cur["oversells_per_month"]),
              f"95 % sure: {interval(cur['oversells_per_month_ci'], num)}, with today's "
              f"buffer ({plain_publishing(data.scenario)})"),
        _card("ok" if rec["meets_target"] else "bad",
              "Orders to cancel a month, recommended", num(rec["oversells_per_month"]),
              f"95 % sure: {interval(rec['oversells_per_month_ci'], num)}"),
        _card("info", "What hiding costs", _avg_units(rec).replace(" on average", ""),
              f"kept off the listings on average; "
              f"{plain_change(change['lost_sales_per_month'])} (on the same buyers)"),
        _card("ok" if sync_ok else "bad", "Time for a sale to show everywhere",
              f"{sync['p99_s']:,.0f} s", f"99 stock changes in 100 reach every listing "
              f"within this (half within {sync['p50_s']:,.0f} s); target "
              f"{SYNC_TARGET_S:g} s:", "meets the target" if sync_ok else "misses the target",
              "" if sync_ok or not advised else "(what would fix it is below)."),
        _card("ok" if not stranded["total"] else "warn", "Orders stuck in reserve",
              f"{num(stranded['per_month'])} a month",
              "units reserved for longer than "
              f"{plain_duration(data.scenario.metrics.stranded_after)} without being shipped "
              "or released"),
    ]
    if drift["max"] is None:
        return box, ("Not measured in this scenario: how far the stock records drift from "
                     "the shelf (it has no stock counts).")
    box.append(_card("ok" if drift["meets_target"] else "bad", "Records against the shelf",
                     pct(drift["max"]), f"largest gap found at a stock count; target under "
                     f"{pct(DRIFT_TARGET)}:",
                     "meets the target" if drift["meets_target"] else "misses the target"))
    return box, ""
