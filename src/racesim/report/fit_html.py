"""The fit report: one self-contained HTML page of what ``racesim fit`` found and assumed.

In the client report's house style (its CSS, figures as base64 PNG ``data:`` URIs, no
scripts, no network): the window and sources, observed against fitted daily counts,
webhook latency quantiles per channel, channel shares, the dispersion verdict per SKU
(d, its interval, p and the Benjamini–Hochberg adjusted p), and every assumption the fit
had to make. Every name from the exports is HTML-escaped.
"""

from __future__ import annotations

import base64
import math

import pandas as pd

from racesim.fit.model import Fit
from racesim.fit.summary import bh_adjusted, verdict
from racesim.report.figures import Chart
from racesim.report.fit_figures import fit_figures
from racesim.report.html import CSS
from racesim.report.method import e

__all__ = ["fit_report"]

_CSS = "td:first-child { white-space: nowrap; }"


def _g(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.4g}"


def _figure(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(chart.title)}">'
            f"<figcaption><b>{e(chart.title)}.</b> {e(chart.caption)}</figcaption></figure>")


def _dispersion_table(fit: Fit) -> str:
    adjusted = bh_adjusted(fit)
    rows = []
    for name, sku in sorted(fit.skus.items(), key=lambda kv: (-kv[1].demand.rate.n, kv[0])):
        d, rate = sku.dispersion, sku.demand.rate
        rows.append(
            f"<tr><td>{e(name)}</td><td>{e(sku.velocity_class)}</td><td class=n>{rate.n}</td>"
            f"<td class=n>{_g(rate.value)} ({_g(rate.low)}–{_g(rate.high)})</td>"
            f"<td class=n>{_g(d.d.value)}</td><td class=n>{_g(d.d.low)}–{_g(d.d.high)}</td>"
            f"<td class=n>{_g(math.nan if d.unit.startswith('untested') else d.p)}</td>"
            f"<td class=n>{_g(adjusted[name])}</td>"
            f"<td class=n>{_g(sku.censoring.excluded_days)}</td><td>{e(verdict(sku))}</td></tr>")
    return ("<table><thead><tr><th>SKU</th><th>class</th><th class=n>orders</th>"
            "<th class=n>orders/day (95 % CI)</th><th class=n>d</th><th class=n>d 95 % CI</th>"
            "<th class=n>p</th><th class=n>BH-adjusted</th><th class=n>days out of stock</th>"
            f"<th>verdict</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _channels_table(fit: Fit) -> str:
    rows = []
    for name, channel in fit.channels.items():
        rates, latency = channel.rates, channel.latency
        share = rates.share
        if latency is None:
            timed = "<td colspan=4>not fitted (no receipts for it): defaults assumed</td>"
        else:
            timed = (f"<td class=n>{_g(latency.p50.value)} s</td>"
                     f"<td class=n>{_g(latency.p99.value)} s</td>"
                     f"<td class=n>{_g(latency.p2.value)}</td>"
                     f"<td class=n>{_g(latency.p3.value)}</td>")
        rows.append(f"<tr><td>{e(name)}</td><td class=n>{_g(100 * share.value)} % "
                    f"({_g(100 * share.low)}–{_g(100 * share.high)})</td>"
                    f"<td class=n>{_g(100 * rates.cancel_rate.value)} %</td>"
                    f"<td>{e(channel.profile.hour_source)}</td>{timed}</tr>")
    return ("<table><thead><tr><th>channel</th><th class=n>share (95 % CI)</th>"
            "<th class=n>cancel rate</th><th>hour profile</th><th class=n>latency p50</th>"
            "<th class=n>latency p99</th><th class=n>p2</th><th class=n>p3</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _skipped(fit: Fit, skipped: dict[str, int]) -> str:
    rows = {**skipped, **fit.skipped}
    if not rows:
        return "<p class=note>No input row was left out.</p>"
    items = "".join(f"<li>{e(reason)}: {count}</li>" for reason, count in sorted(rows.items()))
    return f"<ul>{items}</ul>"


def fit_report(fit: Fit, skipped: dict[str, int] | None = None, *, title: str = "fit") -> str:
    """The fit report page for ``fit`` (``skipped``: rows the readers left out, by reason)."""
    start = pd.Timestamp(fit.window.start, unit="s", tz="UTC")
    end = pd.Timestamp(fit.window.end, unit="s", tz="UTC")
    charts = fit_figures(fit)
    assumptions = "".join(f"<li>{e(said)}</li>" for said in fit.assumptions)
    bursty = sum(1 for s in fit.skus.values() if s.dispersion.over_dispersed)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fit report — {e(title)}</title><style>{CSS}{_CSS}</style></head><body>
<h1>Fit report — {e(title)}</h1>
<p class=lead>{len(fit.skus)} SKU(s) on {len(fit.channels)} channel(s), {bursty} found
over-dispersed; window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC
({_g(fit.window.days)} days: {e(fit.window.source)}).</p>
<p class=meta>The written scenario starts at midnight UTC of {start:%Y-%m-%d}; every value in
it carries its source, sample size and 95 % interval, and each assumption is marked.</p>
<h2>What the fit had to assume</h2><ul>{assumptions}</ul>
<h2>Figures</h2><div class=figures>{''.join(_figure(c) for c in charts)}</div>
<h2>Demand and dispersion per SKU</h2>
<p class=note>{e(fit.dispersion_method)}.</p>{_dispersion_table(fit)}
<h2>Channels</h2>{_channels_table(fit)}
<h2>Rows left out</h2>{_skipped(fit, skipped or {})}
<footer>Written by racesim fit.</footer>
</body></html>
"""
