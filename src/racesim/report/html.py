"""The report as one self-contained HTML page: answer first, figures inline, no scripts.

The page is ``templates/report.html.j2`` rendered by Jinja2 with autoescape on: this
module gathers plain values (numbers already formatted as text, names as the scenario
gives them) and the template escapes every one of them. Only two kinds of value are
marked safe: the figures' ``data:`` URIs (base64 PNG) and the method appendix, which
:mod:`racesim.report.method` renders from its own template the same way. Figures are
embedded and the CSS is inline, so the page needs no network and no JavaScript, and
prints to PDF as it shows (with page numbers).

The answer box speaks plainly: no "P99", "unit-hours", "Wilson" or "replications" in
it; the few terms that must stay are explained in a short glossary beneath it, the
technical ones in the appendix's glossary.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from racesim.report.advice import Advice, Change, Outcome
from racesim.report.answer import CAVEAT, GLOSSARY, HOURS_PER_MONTH, cards, verdict
from racesim.report.channel_frontier import MARGIN_LOST, channel_answer, channel_card
from racesim.report.compute import SYNC_TARGET_S, Episode, ReportData, per_channel
from racesim.report.figures import WIDTH_IN, Chart
from racesim.report.formats import interval, num, pct, plain_publishing, plain_value, signed
from racesim.report.method import appendix, plain_duration
from racesim.report.templating import environment, render_template
from racesim.report.timelines import Race1, Race2, Race3

__all__ = ["CSS", "clock", "readable_name", "render", "seconds_between", "signed_int"]


def _css() -> str:
    return environment().get_template("report.css").render(figure_width_in=WIDTH_IN)


CSS = _css()
"""The report's style sheet (the fit report shares it)."""


def readable_name(name: str) -> str:
    """A scenario's slug as a title: ``race1-double-buy`` → ``Race 1 double buy``."""
    words = re.sub(r"[-_]+", " ", re.sub(r"(?<=[A-Za-z])(?=\d)", " ", name)).strip()
    return (words[:1].upper() + words[1:]) if words else "Report"


def clock(seconds: float) -> str:
    """Simulated time as ``day 2, 13:05:09`` (day 1 starts at 0 s)."""
    seconds = float(seconds)
    day, rest = divmod(seconds, 86_400.0)
    hours, rest = divmod(rest, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    return f"day {int(day) + 1}, {int(hours):02d}:{int(minutes):02d}:{int(secs):02d}"


def _comparison(data: ReportData, headline: dict[str, Any]) -> dict[str, Any]:
    """The buffers-compared table: today, recommended, the rule of thumb."""
    cur, rec, formula = headline["current"], headline["recommended"], headline["seed_formula"]
    rows = [("today: " + plain_publishing(data.scenario), cur, cur["meets_target"]),
            ("recommended: " + ", ".join(
                (f"{name}: " if name != "*" else "") + plain_value(data.family, value)
                for name, value in data.tuning.values.items()), rec, rec["meets_target"])]
    if formula:
        rows.append(("rule of thumb: max(5 units, 5 %, sales during 2× the slowest sync)",
                     formula, formula["meets_target"]))
    return {
        "note": f"Per month = 30 days of simulated trading. Oversell intervals: 95 %, all "
                "orders pooled, each simulated period a cluster; the recommended buffer and "
                f"the rule of thumb were simulated on {rec['replications']} simulated "
                f"periods, today's buffer on {data.replications}. Stock off sale: units the "
                "buffer keeps off the "
                "listings, on average over the month.",
        "rows": [{"label": label, "rate": pct(n["oversell_rate"]),
                  "rate_ci": interval(n["oversell_rate_ci"]),
                  "per_month": num(n["oversells_per_month"]),
                  "per_month_ci": interval(n["oversells_per_month_ci"], num),
                  "lost": num(n["lost_sales_per_month"]),
                  "hidden": num(n["hidden_unit_hours_per_month"] / HOURS_PER_MONTH), "ok": ok}
                 for label, n, ok in rows],
        "paired": _paired_note(headline)}


def _paired_note(headline: dict[str, Any]) -> str:
    change = headline["change"]
    hidden = [v / HOURS_PER_MONTH for v in change["hidden_unit_hours_per_month_ci"]]
    return (f"On the same buyers (the first {change['replications']} simulated periods, "
            "paired), "
            "the recommended buffer changes oversells by "
            f"{signed(change['oversold_per_month'])} a month (95 % interval "
            f"{interval(change['oversold_per_month_ci'], signed)}), lost sales by "
            f"{signed(change['lost_sales_per_month'])} "
            f"({interval(change['lost_sales_per_month_ci'], signed)}) and the stock kept off "
            f"sale by {signed(change['hidden_unit_hours_per_month'] / HOURS_PER_MONTH)} units "
            f"on average ({interval(hidden, signed)}).")


def _per_class(data: ReportData, headline: dict[str, Any]) -> list[dict[str, Any]]:
    classes = headline["recommended"]["per_class"] or {}
    return [{"name": name, "buffer": plain_value(data.family, c["value"]),
             "rate": pct(c["oversell_rate"]), "rate_ci": interval(c["oversell_rate_ci"]),
             "lost": num(c["lost_sales_per_month"]),
             "hidden": num(c["hidden_unit_hours_per_month"] / HOURS_PER_MONTH),
             "ok": c["meets_target"]} for name, c in classes.items()]


LOST_SALES_CAUSES = (
    ("lost_sales_buffer", "the buffer hid the last units"),
    ("lost_sales_no_stock", "nothing was on the shelf (sold out between restocks)"),
    ("lost_sales_stale_listing", "the listing had not caught up (e.g. still 0 after a restock)"),
)
"""Lost sales by cause: the run summary's field and what it means for a buyer."""


def _lost_sales(data: ReportData, headline: dict[str, Any]) -> dict[str, Any]:
    """Lost sales beside orders, and their split by cause where the run records one."""
    cur, run = headline["current"], headline["run"]
    lost, orders = cur["lost_sales_per_month"], cur["orders_per_month"]
    buyers = lost + orders
    share = lost / buyers if buyers else 0.0
    text = (f"With today's buffer about {num(buyers)} buyers a month come to the listings: "
            f"{num(orders)} buy, and {num(lost)} ({100 * share:.0f} %) find a listing at 0 and buy "
            "nothing. A lost sale is not an oversell: no order has to be cancelled, but the "
            "sale is gone.")
    total = sum(float(run.get(f"{field}_total") or 0) for field, _ in LOST_SALES_CAUSES)
    causes = [{"label": label, "per_month": num(float(run[f"{field}_per_month"])),
               "share": pct(float(run[f"{field}_total"]) / total)}
              for field, label in LOST_SALES_CAUSES if total > 0]
    change = headline["change"]["lost_sales_per_month"]
    effect = ("adds" if change > 0 else "saves") if abs(change) >= 0.05 else "changes"
    note = f"The recommended buffer {effect} {num(abs(change))} lost sales a month against " \
        "today's (on the same buyers)"
    if causes:
        note += "."
    elif abs(change) < 0.2 * lost:
        note += ("; most lost sales are not the buffer's doing: they happen while the shelf "
                 "is empty between restocks (or a listing has not yet shown a restock), which "
                 "more stock, faster restocks or a faster sync would reduce.")
    else:
        note += ": a good part of the lost sales is the buffer's doing."
    return {"text": text, "causes": causes, "note": note}


def seconds_between(start: float, end: float) -> float:
    """Seconds from ``start`` to ``end`` as their :func:`clock` times read (whole seconds),
    so that a story's "N s later" is the difference of the two times it prints (in
    seconds, like those times, whatever its length)."""
    return float(math.floor(float(end)) - math.floor(float(start)))


def _race_story(episode: Episode) -> str:
    """One paragraph telling what happened in a race episode."""
    found = episode.found
    if isinstance(found, Race1):
        w, lo = found.winner, found.loser
        story = (f"At {clock(lo['placed_at'])} a buyer on {lo['channel']} bought the last "
                 f"{found.sku} (order {lo['order_id']}), "
                 f"{seconds_between(w['placed_at'], lo['placed_at']):,.0f} s after a buyer on "
                 f"{w['channel']} had bought it (order {w['order_id']}): the first sale had "
                 f"not yet reached {lo['channel']}'s listing.")
        if found.push is not None:
            late = seconds_between(lo["placed_at"], found.push["visible_at"])
            story += (f" The ledger pushed it at {clock(found.push['sent_at'])}, but "
                      f"{lo['channel']} showed it only at {clock(found.push['visible_at'])}, "
                      f"{late:,.0f} s too late.")
        return story + (f" When the webhook of {lo['order_id']} arrived at "
                        f"{clock(lo['oversold_at'])} the ledger had nothing left to reserve: "
                        "an oversell.")
    if isinstance(found, Race2):
        order = found.order
        wait = order["return_recorded_at"] - order["return_arrived_at"]
        return (f"The return of order {order['order_id']} ({found.sku}) was back on the shelf "
                f"at {clock(order['return_arrived_at'])} but reached the ledger only "
                f"{plain_duration(wait)} later; meanwhile {len(found.lost)} buyer(s) found the "
                "listing at 0.")
    if isinstance(found, Race3):
        push = found.push
        return (f"The snapshot of {found.sku} read at {clock(push['computed_at'])} was pushed "
                f"to {push['channel']} at {clock(push['sent_at'])} showing "
                f"{int(push['value'])} while only {int(push['published_at_visible'])} could be "
                f"sold; {len(found.orders)} order(s) had come in between.")
    return ""


def _no_race(episode: Episode, data: ReportData) -> str:
    """Why a race did not occur, in one clause."""
    if episode.race == 2 and not data.scenario.warehouse.return_rate:
        return "the scenario has no returns"
    if episode.race == 3 and data.scenario.sync.mode != "periodic_snapshot":
        return "stock is not synchronised by periodic snapshots"
    return f"none occurred in the {episode.searched} simulated period(s) searched"


def _races(data: ReportData, charts: dict[str, Chart]) -> tuple[list[dict[str, Any]], str]:
    """The races that occurred (story and figure), and one sentence on those that did not."""
    shown, absent = [], []
    for episode in data.episodes:
        chart = charts.get(f"race{episode.race}")
        if episode.found is not None and chart is not None:
            shown.append({"heading": f"Race {episode.race}: {episode.title}",
                          "story": _race_story(episode), "chart": _chart(chart)})
        else:
            absent.append(f"race {episode.race} ({episode.title}: {_no_race(episode, data)})")
    if not absent:
        return shown, ""
    sentence = ("No race occurred in this run, so none is drawn: " if not shown else
                "Not shown, because it did not occur in this run: " if len(absent) == 1 else
                "Not shown, because they did not occur in this run: ")
    return shown, sentence + "; ".join(absent) + "."


def _channels(data: ReportData) -> list[dict[str, Any]]:
    table = per_channel(data.current, data.per_month)
    return [{"name": name, "orders": f"{int(row['orders_total']):,}",
             "oversold": f"{int(row['oversold_total']):,}", "rate": pct(row["oversell_rate"]),
             "rate_ci": interval((row["oversell_rate_low"], row["oversell_rate_high"])),
             "per_month": num(row["oversells_per_month"]),
             "lost": num(row["lost_sales_per_month"]),
             "duplicates": f"{int(row['duplicate_deliveries_total']):,}"}
            for name, row in table.iterrows()]


def _against_today(change: Change, outcome: Outcome, today: Outcome) -> dict[str, Any]:
    """One change's row: its differences from today's setup on the same periods."""
    faster = round(outcome.slowest_sync_s) - round(today.slowest_sync_s)
    mean = outcome.oversells_change[0]
    return {"name": change.name, "action": change.action,
            "whose": "yours" if change.sellers_own else "the marketplace's",
            "slowest": f"{signed_int(faster)} s", "meets": outcome.meets_sync_target,
            "oversells": (signed(mean) if outcome.clear_oversell_change else
                          f"{signed(mean)}: no clear change")}


def signed_int(value: float) -> str:
    """A whole change with its sign: ``+3``, ``−24``, ``0``."""
    return "0" if round(value) == 0 else ("+" if value > 0 else "−") + f"{abs(value):,.0f}"


def _advice(advice: Advice | None) -> dict[str, Any] | None:
    """The advice section: the missed targets, the cause, and each change's effect as a
    difference from today's setup on the same simulated periods (paired)."""
    if advice is None:
        return None
    return {"problems": advice.problems, "cause": advice.cause, "target": f"{SYNC_TARGET_S:g} s",
            "rows": [_against_today(o.change, o, advice.today) for o in advice.outcomes
                     if o.change is not None],
            "note": f"Each change was simulated with today's buffer on the first "
                    f"{advice.replications} of the report's simulated periods, facing the "
                    "same buyers and delays; each figure is the change against today's setup "
                    "on those same periods (not against the whole run's figures above), so "
                    "it shows the size of the effect, not its last digit. \u201cNo clear "
                    "change\u201d: "
                    "the 95 % interval of the difference includes 0, so the change is within "
                    "the simulation's noise."}


def _chart(chart: Chart) -> dict[str, Any]:
    source = "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
    return {"src": Markup(source), "title": chart.title, "caption": chart.caption}


def _meta_line(data: ReportData, headline: dict[str, Any], meta: dict[str, Any]) -> str:
    s = data.scenario
    return (f"{len(s.skus()):,} SKUs on {len(s.channels)} marketplaces "
            f"({', '.join(c.name for c in s.channels)}); {data.replications} simulated "
            f"periods of {headline['measured_days']:,.3g} days, seed {data.seed}; racesim "
            f"{meta['version']}; generated {meta['generated_at']} in "
            f"{meta['elapsed_s']:,.0f} s; scenario {s.name} (sha256 "
            f"{meta['scenario_sha256'][:12]}…)")


def render(data: ReportData, headline: dict[str, Any], charts: Sequence[Chart],
           meta: dict[str, Any], advice: Advice | None = None) -> str:
    """The whole page. ``meta``: ``title``, ``client`` (or None), ``generated_at``,
    ``version``, ``elapsed_s``, ``scenario_sha256``, ``files`` (relative paths listed at
    the end); ``advice`` from :func:`racesim.report.advice.advise`."""
    by_name = {chart.name.split("_", 1)[1]: chart for chart in charts}
    main = [c for c in charts if not c.name.split("_", 1)[1].startswith("race")]
    races, absent = _races(data, by_name)
    box, not_measured = cards(data, headline, advice is not None)
    channels = headline.get("per_channel")
    card = channel_card(channels) if channels else None
    if card is not None:
        box.insert(1, card)  # beside the stock to hide: what the per-channel rule costs
    drift = headline["ledger_drift"]["max"]
    context = {
        "title": meta.get("title") or f"Oversell risk: {readable_name(data.scenario.name)}",
        "client": meta.get("client"), "description": data.scenario.description,
        "meta_line": _meta_line(data, headline, meta), "verdict": verdict(data, headline),
        "channel_verdict": channel_answer(channels) if channels else None,
        "cards": box, "caveat": CAVEAT, "not_measured": not_measured,
        "glossary": GLOSSARY + ((MARGIN_LOST,) if card is not None else ()),
        "advice": _advice(advice),
        "comparison": _comparison(data, headline),
        "per_class": _per_class(data, headline), "lost_sales": _lost_sales(data, headline),
        "figures": [_chart(c) for c in main], "races": races, "races_absent": absent,
        "channels": _channels(data), "appendix": appendix(data, headline),
        "files": meta["files"], "version": meta["version"], "figure_width_in": WIDTH_IN,
        "drift_measured": drift is not None and math.isfinite(drift)}
    return render_template("report.html.j2", context)
