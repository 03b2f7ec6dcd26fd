"""The report as one self-contained HTML page: answer first, figures inline, no scripts.

Figures are embedded as base64 PNG ``data:`` URIs and the CSS is inline, so the page
needs no network and no JavaScript, and prints to PDF as it shows. Every value taken
from the scenario (its name, description, SKUs, marketplaces, order ids) passes through
:func:`racesim.report.method.e` (HTML escaping) before it reaches the page.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from racesim.report.compute import DRIFT_TARGET, SYNC_TARGET_S, Episode, ReportData, per_channel
from racesim.report.figures import Chart
from racesim.report.method import appendix, duration_text, e
from racesim.report.summary import describe_value
from racesim.report.timelines import Race1, Race2, Race3

__all__ = ["clock", "render"]

CSS = """
:root { --ink:#1d2733; --muted:#5b6776; --line:#d8dee6; --ok:#1e7b43; --bad:#b3261e;
        --warn:#9a6700; --accent:#0b5cad; --card:#f5f8fb; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1240px; padding: 20px 28px 40px; line-height: 1.45;
       font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 28px 0 10px; border-bottom: 2px solid var(--line);
     padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.lead { color: var(--muted); margin: 0 0 6px; }
.meta { color: var(--muted); font-size: 12.5px; margin: 0; }
.answer { border: 2px solid var(--accent); border-radius: 10px; padding: 14px 18px 16px;
          margin-top: 14px; background: #fbfdff; }
.answer h2 { border: none; margin: 0 0 6px; padding: 0; color: var(--accent); }
.verdict { font-size: 17px; margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr));
         gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
        padding: 9px 12px; border-left: 5px solid var(--line); }
.card.ok { border-left-color: var(--ok); } .card.bad { border-left-color: var(--bad); }
.card.warn { border-left-color: var(--warn); } .card.info { border-left-color: var(--accent); }
.card .label { font-size: 12.5px; color: var(--muted); text-transform: uppercase;
               letter-spacing: .03em; }
.card .value { font-size: 22px; font-weight: bold; margin: 2px 0; }
.card .detail { font-size: 13px; color: var(--muted); }
.tag { font-weight: bold; } .tag.ok { color: var(--ok); } .tag.bad { color: var(--bad); }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13.5px; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: top; }
th { background: var(--card); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(540px, 1fr));
           gap: 18px 22px; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
figcaption b { color: var(--ink); }
.race { margin: 10px 0 18px; break-inside: avoid; page-break-inside: avoid; }
.race img { max-width: 980px; }
.note { color: var(--muted); font-size: 13.5px; }
code { font-size: 13px; background: var(--card); padding: 0 3px; border-radius: 3px; }
.appendix { font-size: 14px; }
footer { margin-top: 30px; font-size: 12px; color: var(--muted); }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 12px; }
  .figures { grid-template-columns: 1fr; }
  figure img { max-width: 640px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .cards { grid-template-columns: repeat(3, 1fr); }
}
"""


def clock(seconds: float) -> str:
    """Simulated time as ``day 2, 13:05:09`` (day 1 starts at 0 s)."""
    seconds = float(seconds)
    day, rest = divmod(seconds, 86_400.0)
    hours, rest = divmod(rest, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    return f"day {int(day) + 1}, {int(hours):02d}:{int(minutes):02d}:{int(secs):02d}"


def _gap(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _pct(rate: float | None) -> str:
    if rate is None or not math.isfinite(rate):
        return "–"
    value = 100 * rate
    return f"{value:.3f} %" if 0 < value < 0.1 else f"{value:.2f} %"


def _interval(pair: Sequence[float | None] | None, show: Any = _pct) -> str:
    """``low – high``; rates both with the precision the larger one needs."""
    if not pair or pair[0] is None or pair[1] is None:
        return "–"
    low, high = float(pair[0]), float(pair[1])
    if show is _pct and 0 < 100 * max(low, high) < 0.1:
        return f"{100 * low:.3f} % – {100 * high:.3f} %"
    return f"{show(pair[0])} – {show(pair[1])}"


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def _signed(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return ("+" if value >= 0 else "−") + _num(abs(value))


def _status(ok: bool | None) -> tuple[str, str]:
    """CSS class and a word for a target check."""
    if ok is None:
        return "info", "not measured"
    return ("ok", "meets the target") if ok else ("bad", "misses the target")


def _card(kind: str, label: str, value: str, detail: str) -> str:
    return (f'<div class="card {kind}"><div class="label">{label}</div>'
            f'<div class="value">{value}</div><div class="detail">{detail}</div></div>')


def _recommended_text(data: ReportData, headline: dict[str, Any]) -> str:
    rec = headline["recommended"]
    values = set(data.tuning.values.values())
    if rec["per_class"] and len(values) == 1:
        return f"{e(describe_value(data.family, values.pop()))} in every class"
    if rec["per_class"]:
        return ", ".join(f"class {e(name)}: {e(describe_value(data.family, value))}"
                         for name, value in data.tuning.values.items())
    return e(describe_value(data.family, data.tuning.values["*"]))


def _verdict(data: ReportData, headline: dict[str, Any]) -> str:
    rec, cur = headline["recommended"], headline["current"]
    buffer = _recommended_text(data, headline)
    scope = "of every SKU" if data.family.name in ("fixed", "percent") and \
        not rec["per_class"] else "per SKU"
    nothing = data.family.name != "poisson_quantile" and \
        all(value == 0 for value in data.tuning.values.values())
    if rec["meets_target"] and nothing:
        return (f"<p class=verdict><b>No buffer is needed</b> to keep oversells under "
                f"{_pct(data.target)} of orders: with none, {rec['oversold_total']:,} of "
                f"{rec['orders_total']:,} simulated orders oversold, 95 % interval "
                f"{_interval(rec['oversell_rate_ci'])}. Today's buffer ({e(cur['buffer'])}) "
                f"hides {_num(cur['hidden_unit_hours_per_month'])} unit-hours of stock a month "
                "that could be on sale.</p>")
    if rec["meets_target"]:
        confirmed = (" and confirmed on fresh replications" if rec["confirmed"] else
                     "; on fresh replications it fell short, so treat it as a lower bound"
                     if rec["confirmed"] is False else "")
        return (f"<p class=verdict><b>Hide {buffer} {scope}</b> ({e(data.family.name)} buffer) "
                f"to keep oversells under {_pct(data.target)} of orders: "
                f"{rec['oversold_total']:,} of {rec['orders_total']:,} simulated orders "
                "oversold, 95 % "
                f"interval {_interval(rec['oversell_rate_ci'])}{confirmed}. Today's buffer "
                f"({e(cur['buffer'])}) oversells {_pct(cur['oversell_rate'])} of orders, "
                f"about <b>{_num(cur['oversells_per_month'])} orders a month</b> to cancel.</p>")
    if rec["oversell_rate"] < data.target:
        return (f"<p class=verdict><b>No {e(data.family.name)} buffer could be shown to meet "
                f"the target of {_pct(data.target)}.</b> At {buffer}, "
                f"{rec['oversold_total']:,} of {rec['orders_total']:,} simulated orders "
                "oversold: too few orders to bring the 95 % "
                f"interval ({_interval(rec['oversell_rate_ci'])}) under the target, because "
                "the buffer hides most of the stock buyers would buy or the run is short. "
                "Simulate more replications or a longer period.</p>")
    return (f"<p class=verdict><b>No {e(data.family.name)} buffer could be shown to meet the "
            f"target of {_pct(data.target)}.</b> The largest tried, {buffer}, oversold "
            f"{_pct(rec['oversell_rate'])} of orders (95 % interval "
            f"{_interval(rec['oversell_rate_ci'])}). A buffer alone does not fix this "
            "scenario: look at the sync latency and the race timelines below.</p>")


def _cards(data: ReportData, headline: dict[str, Any]) -> str:
    rec, cur = headline["recommended"], headline["current"]
    sync, stranded, drift = (headline["sync_latency"], headline["stranded_reservations"],
                             headline["ledger_drift"])
    change = headline["change"]
    cards = [
        _card("ok" if rec["meets_target"] else "bad", "Recommended buffer",
              _recommended_text(data, headline),
              f"oversell rate {_pct(rec['oversell_rate'])} (95 %: "
              f"{_interval(rec['oversell_rate_ci'])}), target ≤ {_pct(data.target)}; "
              f"{rec['replications']} replications"),
        _card("ok" if cur["oversell_rate_ci"][1] <= data.target else "bad",
              "Oversells per month today", _num(cur["oversells_per_month"]),
              f"95 % interval {_interval(cur['oversells_per_month_ci'], _num)}, with today's "
              f"buffer ({e(cur['buffer'])})"),
        _card("ok" if rec["meets_target"] else "bad",
              "Oversells per month, recommended", _num(rec["oversells_per_month"]),
              f"95 % interval {_interval(rec['oversells_per_month_ci'], _num)}: orders to "
              "cancel and apologise for"),
        _card("info", "Cost of the buffer", f"{_num(rec['hidden_unit_hours_per_month'])} "
              "unit-h", "stock hidden per month; "
              f"{_signed(change['lost_sales_per_month'])} lost sales a month against today "
              f"(95 % interval {_interval(change['lost_sales_per_month_ci'], _signed)}, on "
              "the same buyers)"),
        _card(_status(sync["meets_target"])[0], "P99 sync latency", f"{sync['p99_s']:,.0f} s",
              f"target &lt; {SYNC_TARGET_S:g} s: <span class='tag "
              f"{_status(sync['meets_target'])[0]}'>{_status(sync['meets_target'])[1]}</span>;"
              f" median {sync['p50_s']:,.0f} s"),
        _card("ok" if not stranded["total"] else "warn", "Stranded reservations",
              _num(stranded["per_month"]) + " / month",
              f"{stranded['total']:,} in {data.replications} replications: units reserved "
              f"for longer than {duration_text(data.scenario.metrics.stranded_after)}"),
        _card(_status(drift["meets_target"])[0], "Ledger drift at cycle counts",
              "n/a" if drift["max"] is None else _pct(drift["max"]),
              "no cycle counts in this scenario" if drift["max"] is None else
              f"worst count; target &lt; {_pct(DRIFT_TARGET)}: "
              f"{_status(drift['meets_target'])[1]}"),
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def _comparison(data: ReportData, headline: dict[str, Any]) -> str:
    rows = [("today: " + headline["current"]["buffer"], headline["current"],
             headline["current"]["oversell_rate_ci"][1] <= data.target),
            ("recommended: " + ", ".join(
                (f"{name}: " if name != "*" else "") + describe_value(data.family, value)
                for name, value in data.tuning.values.items()),
             headline["recommended"], headline["recommended"]["meets_target"])]
    if headline["seed_formula"]:
        rows.append(("seed formula: max(5 units, 5 %, expected sales in 2 × P99)",
                     headline["seed_formula"], headline["seed_formula"]["meets_target"]))
    body = "".join(
        f"<tr><td>{e(label)}</td><td class=n>{_pct(n['oversell_rate'])}</td>"
        f"<td class=n>{_interval(n['oversell_rate_ci'])}</td>"
        f"<td class=n>{_num(n['oversells_per_month'])}</td>"
        f"<td class=n>{_interval(n['oversells_per_month_ci'], _num)}</td>"
        f"<td class=n>{_num(n['lost_sales_per_month'])}</td>"
        f"<td class=n>{_num(n['hidden_unit_hours_per_month'])}</td>"
        f"<td><span class='tag {'ok' if ok else 'bad'}'>{'yes' if ok else 'no'}</span></td></tr>"
        for label, n, ok in rows)
    return ("<table><thead><tr><th>buffer</th><th class=n>oversell rate</th>"
            "<th class=n>95 % interval</th><th class=n>oversells / month</th>"
            "<th class=n>95 % interval</th><th class=n>lost sales / month</th>"
            "<th class=n>hidden unit-h / month</th><th>meets target</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _paired_note(headline: dict[str, Any]) -> str:
    change = headline["change"]
    return (f"<p class=note>On the same buyers (the first {change['replications']} "
            "replications, paired), the recommended buffer changes oversells by "
            f"{_signed(change['oversold_per_month'])} a month (95 % interval "
            f"{_interval(change['oversold_per_month_ci'], _signed)}), lost sales by "
            f"{_signed(change['lost_sales_per_month'])} "
            f"({_interval(change['lost_sales_per_month_ci'], _signed)}) and hidden stock by "
            f"{_signed(change['hidden_unit_hours_per_month'])} unit-hours "
            f"({_interval(change['hidden_unit_hours_per_month_ci'], _signed)}).</p>")


def _per_class(data: ReportData, headline: dict[str, Any]) -> str:
    classes = headline["recommended"]["per_class"]
    if not classes:
        return ""
    body = "".join(
        f"<tr><td>{e(name)}</td><td>{e(describe_value(data.family, c['value']))}</td>"
        f"<td class=n>{_pct(c['oversell_rate'])}</td>"
        f"<td class=n>{_interval(c['oversell_rate_ci'])}</td>"
        f"<td class=n>{_num(c['lost_sales_per_month'])}</td>"
        f"<td class=n>{_num(c['hidden_unit_hours_per_month'])}</td>"
        f"<td><span class='tag {'ok' if c['meets_target'] else 'bad'}'>"
        f"{'yes' if c['meets_target'] else 'no'}</span></td></tr>"
        for name, c in classes.items())
    return ("<h3>Recommended buffer per SKU class</h3><table><thead><tr><th>class</th>"
            "<th>buffer</th><th class=n>oversell rate</th><th class=n>95 % interval</th>"
            "<th class=n>lost sales / month</th><th class=n>hidden unit-h / month</th>"
            f"<th>meets target</th></tr></thead><tbody>{body}</tbody></table>")


def _img(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{e(chart.title)}" '
            f'loading="eager">')


def _figure(chart: Chart) -> str:
    return (f"<figure>{_img(chart)}<figcaption><b>{e(chart.title)}.</b> "
            f"{e(chart.caption)}</figcaption></figure>")


def _race_story(episode: Episode) -> str:
    """One paragraph telling what happened in a race episode (escaped)."""
    found = episode.found
    if isinstance(found, Race1):
        w, lo = found.winner, found.loser
        return (f"At {clock(lo['placed_at'])} a buyer on {lo['channel']} bought the last "
                f"{found.sku} (order {lo['order_id']}), {_gap(lo['placed_at'] - w['placed_at'])}"
                f" after a buyer on {w['channel']} had bought it (order {w['order_id']}): the "
                f"first sale had not yet reached {lo['channel']}'s listing. When the webhook of "
                f"{lo['order_id']} arrived at {clock(lo['oversold_at'])} the ledger had nothing "
                "left to reserve: an oversell.")
    if isinstance(found, Race2):
        order = found.order
        wait = order["return_recorded_at"] - order["return_arrived_at"]
        return (f"The return of order {order['order_id']} ({found.sku}) was back on the shelf "
                f"at {clock(order['return_arrived_at'])} but reached the ledger only "
                f"{_gap(wait)} later; meanwhile {len(found.lost)} buyer(s) found the listing "
                "at 0.")
    if isinstance(found, Race3):
        push = found.push
        return (f"The snapshot of {found.sku} read at {clock(push['computed_at'])} was pushed "
                f"to {push['channel']} at {clock(push['sent_at'])} showing "
                f"{int(push['value'])} while only {int(push['published_at_visible'])} could be "
                f"sold; {len(found.orders)} order(s) had come in between.")
    return ""


def _no_race(episode: Episode, data: ReportData) -> str:
    where = f"the first {episode.searched} replication(s) at the current buffer"
    if episode.race == 1:
        return f"No last unit was sold on two marketplaces in {where}."
    if episode.race == 2:
        if not data.scenario.warehouse.return_rate:
            return "This scenario has no returns, so no returned unit waited to be booked."
        return (f"No return waited to be booked while buyers found the listing at 0 in "
                f"{where}.")
    if data.scenario.sync.mode != "periodic_snapshot":
        return ("Stock is not synchronised by periodic snapshots in this scenario, so no "
                "stale snapshot can be pushed.")
    return f"No snapshot pushed more stock than was left in {where}."


def _races(data: ReportData, charts: dict[str, Chart]) -> str:
    parts = []
    for episode in data.episodes:
        heading = f"<h3>Race {episode.race}: {e(episode.title)}</h3>"
        chart = charts.get(f"race{episode.race}")
        if episode.found is not None and chart is not None:
            parts.append(f'<div class="race">{heading}<p>{e(_race_story(episode))}</p>'
                         f"{_figure(chart)}</div>")
        else:
            parts.append(f'<div class="race">{heading}<p class=note>'
                         f"{e(_no_race(episode, data))}</p></div>")
    return "".join(parts)


def _channels_table(data: ReportData) -> str:
    table: pd.DataFrame = per_channel(data.current, data.per_month)
    body = "".join(
        f"<tr><td>{e(name)}</td><td class=n>{int(row['orders_total']):,}</td>"
        f"<td class=n>{int(row['oversold_total']):,}</td><td class=n>{_pct(row['oversell_rate'])}"
        f"</td><td class=n>{_interval((row['oversell_rate_low'], row['oversell_rate_high']))}"
        f"</td><td class=n>{_num(row['oversells_per_month'])}</td>"
        f"<td class=n>{_num(row['lost_sales_per_month'])}</td>"
        f"<td class=n>{int(row['duplicate_deliveries_total']):,}</td></tr>"
        for name, row in table.iterrows())
    return ("<table><thead><tr><th>marketplace</th><th class=n>orders</th>"
            "<th class=n>oversold</th><th class=n>oversell rate</th><th class=n>95 % interval"
            "</th><th class=n>oversells / month</th><th class=n>lost sales / month</th>"
            "<th class=n>duplicate webhooks absorbed</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


def render(data: ReportData, headline: dict[str, Any], charts: Sequence[Chart],
           meta: dict[str, Any]) -> str:
    """The whole page. ``meta``: ``generated_at``, ``version``, ``elapsed_s``,
    ``scenario_sha256``, ``files`` (relative paths listed at the end)."""
    s = data.scenario
    by_name = {chart.name.split("_", 1)[1]: chart for chart in charts}
    main = [c for c in charts if not c.name.split("_", 1)[1].startswith("race")]
    files = "".join(f'<li><a href="{e(name)}">{e(name)}</a></li>' for name in meta["files"])
    description = f'<p class="lead">{e(s.description)}</p>' if s.description else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Oversell risk: {e(s.name)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>Oversell risk: {e(s.name)}</h1>
{description}
<p class="meta">{len(s.skus()):,} SKUs on {len(s.channels)} marketplaces
({e(", ".join(c.name for c in s.channels))}); {data.replications} replications of
{headline['measured_days']:,.3g} days, seed {data.seed}; racesim {e(meta['version'])};
generated {e(meta['generated_at'])} in {meta['elapsed_s']:,.0f} s; scenario sha256
{e(meta['scenario_sha256'][:12])}…</p>
</header>

<section class="answer">
<h2>The answer</h2>
{_verdict(data, headline)}
{_cards(data, headline)}
</section>

<h2>Buffers compared</h2>
<p class=note>Per month = 30 days of simulated trading. Oversell intervals: Wilson 95 %
(orders pooled); the recommended buffer and the seed formula were simulated on
{headline['recommended']['replications']} replications, today's buffer on
{data.replications}.</p>
{_comparison(data, headline)}
{_paired_note(headline)}
{_per_class(data, headline)}

<h2>Figures</h2>
<div class="figures">
{"".join(_figure(c) for c in main)}
</div>

<h2>Races found in the run</h2>
{_races(data, by_name)}

<h2>Per marketplace, at today's buffer</h2>
{_channels_table(data)}

<h2>Method and assumptions</h2>
<div class="appendix">{appendix(data, headline)}</div>

<h2>Files</h2>
<p class=note>Next to this page (all numbers above come from them):</p>
<ul class=note>{files}</ul>
<footer>racesim {e(meta['version'])} — oversell-risk simulation of a real stock ledger
behind several marketplaces.</footer>
</body>
</html>
"""
