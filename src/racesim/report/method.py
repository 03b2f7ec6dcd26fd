"""The report's appendix: what was simulated and how sure the numbers are, for a client.

Every value taken from the scenario (names, SKUs, channels, descriptions) is escaped
here, as everywhere in the report's HTML.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from racesim.policy.buffers import exposure_p99
from racesim.report.compute import DRIFT_TARGET, EPISODE_REPLICATIONS, SYNC_TARGET_S, ReportData
from racesim.util.units import format_duration

if TYPE_CHECKING:
    from racesim.scenario import CountDistribution, DurationDistribution, Sku

__all__ = ["appendix", "describe_distribution", "duration_text", "e"]

MAX_SKU_ROWS = 25
"""Catalogs longer than this are summarised after the first rows."""


def e(value: object) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped."""
    return escape(str(value), quote=True)


def duration_text(seconds: float) -> str:
    """Seconds as ``1m30s`` / ``2d``, rounded to whole seconds from 10 s up."""
    seconds = float(seconds)
    return format_duration(round(seconds)) if seconds >= 10 else f"{seconds:.3g}s"


def describe_distribution(distribution: DurationDistribution | CountDistribution) -> str:
    """A delay or count distribution in words: its parameters, then mean and P99."""
    fields = distribution.model_dump(by_alias=True, mode="json", context={"durations": "text"})
    kind = fields.pop("dist", "?")
    if kind == "fixed":
        return str(fields.get("value", "fixed"))
    if kind == "empirical":
        values = fields.get("samples", fields.get("values", ()))
        params = f"{len(values)} observed values"
    else:
        params = ", ".join(f"{key} {value}" for key, value in fields.items())
    text = f"{kind} ({params})" if params else kind
    try:
        mean, p99 = float(distribution.mean()), float(distribution.quantile(0.99))
    except (AttributeError, TypeError, ValueError):
        return text
    if "count" in type(distribution).__name__.lower():
        return f"{text}; mean {mean:.2g}"
    return f"{text}; mean {duration_text(mean)}, P99 {duration_text(p99)}"


def _restock(sku: Sku) -> str:
    restock = sku.restock
    if restock is None:
        return "none"
    if restock.policy == "periodic":
        return (f"{restock.quantity} every {duration_text(restock.every)}, "
                f"lead time {duration_text(restock.lead_time)}")
    return (f"up to {restock.level} when ≤ {restock.reorder_point}, reviewed every "
            f"{duration_text(restock.review)}, lead time {duration_text(restock.lead_time)}")


def _catalog(data: ReportData) -> str:
    skus = data.scenario.skus()
    dispersed = any(s.demand is not None and s.demand.dispersion > 0 for s in skus)
    rows = "".join(
        f"<tr><td>{e(s.sku)}</td><td>{e(s.class_ or '–')}</td><td class=n>{s.initial_stock:,}"
        f"</td><td class=n>{s.orders_per_day:,.4g}</td>"
        + (f"<td>{e(_day_to_day(s))}</td>" if dispersed else "")
        + f"<td>{e(describe_distribution(s.units_per_order))}</td><td>{e(_restock(s))}</td></tr>"
        for s in skus[:MAX_SKU_ROWS])
    more = (f"<p class=note>… and {len(skus) - MAX_SKU_ROWS:,} more SKUs "
            f"({data.scenario.orders_per_day():,.0f} orders a day in all).</p>"
            if len(skus) > MAX_SKU_ROWS else "")
    note = ("<p class=note>Day to day: “Poisson” demand varies only by chance; “bursty, d” "
            "multiplies a SKU's demand each day by a random factor of mean 1 and variance d "
            "(a Gamma multiplier, the same on every marketplace), so a day's orders of mean μ "
            "vary with variance μ + d·μ² — busy days are busy everywhere at once.</p>"
            if dispersed else "")
    return ("<table><thead><tr><th>SKU</th><th>class</th><th class=n>initial stock</th>"
            "<th class=n>orders / day</th>" + ("<th>day to day</th>" if dispersed else "")
            + "<th>units per order</th><th>restock</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{more}{note}")


def _day_to_day(sku: Sku) -> str:
    """How a SKU's daily demand varies: Poisson, or bursty with its dispersion d."""
    if sku.demand is None or sku.demand.dispersion <= 0:
        return "Poisson"
    return f"bursty, d = {sku.demand.dispersion:.3g}"


def _channels(data: ReportData) -> str:
    rows = []
    for c in data.scenario.channels:
        copies = c.webhook.duplicates
        duplicates = (f"2 copies {100 * copies.p2:g} %, 3 copies {100 * copies.p3:g} %"
                      if copies.p2 or copies.p3 else "none")
        extras = []
        if c.webhook.failure_rate:
            extras.append(f"handler fails {100 * c.webhook.failure_rate:g} % of attempts, "
                          f"up to {c.webhook.max_attempts} attempts")
        if c.cancel_rate:
            extras.append(f"{100 * c.cancel_rate:g} % of orders cancelled, "
                          f"{100 * c.cancel_webhook_loss:g} % of cancellation webhooks lost")
        if c.bursts:
            extras.append("; ".join(f"×{b.multiplier:g} demand from {duration_text(b.start)} for "
                                    f"{duration_text(b.length)}" for b in c.bursts))
        if c.profile:
            extras.append("hourly demand profile")
        rows.append(
            f"<tr><td>{e(c.name)}</td><td class=n>{100 * c.share:g} %</td>"
            f"<td>{e(describe_distribution(c.webhook.latency))}</td><td>{e(duplicates)}</td>"
            f"<td>{e(describe_distribution(c.listing_latency))}</td>"
            f"<td>{e('; '.join(extras) or '–')}</td></tr>")
    return ("<table><thead><tr><th>marketplace</th><th class=n>share of demand</th>"
            "<th>order webhook delay</th><th>webhook duplicates</th>"
            "<th>listing update delay</th><th>other</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _sync(data: ReportData) -> str:
    sync = data.scenario.sync
    text = {"event_driven": "event-driven: every change is pushed to every marketplace as "
                            "it happens",
            "periodic_push_time": "periodic: every interval, the current count is pushed",
            "periodic_snapshot": "periodic snapshot: counts are read at the start of each "
                                 "interval and pushed a little later (the snapshot lag)",
            "periodic_delta": "periodic delta: every interval, changes since the last push "
                              "are sent",
            "compare_and_set": "compare-and-set: every interval, a push that would overwrite "
                               "a newer marketplace count is refused and retried"
            }.get(sync.mode, sync.mode)
    details = [f"{key.replace('_', ' ')} {duration_text(getattr(sync, key))}"
               for key in ("interval", "snapshot_lag", "debounce")
               if getattr(sync, key, None)]
    return e(text + (f" ({', '.join(details)})" if details else ""))


def _warehouse(data: ReportData) -> str:
    w = data.scenario.warehouse
    parts = [f"orders are shipped after {describe_distribution(w.handling_time)}"]
    if w.return_rate:
        booked = ("when the parcel arrives" if w.return_recording == "early" else
                  "only when the marketplace confirms it "
                  f"({describe_distribution(w.return_confirm_delay)} after arrival)")
        parts.append(f"{100 * w.return_rate:g} % of orders come back after "
                     f"{describe_distribution(w.return_delay)}, booked {booked}")
    else:
        parts.append("no returns")
    if w.shrinkage_per_day:
        parts.append(f"{w.shrinkage_per_day:g} units a day vanish unrecorded")
    parts.append(f"cycle counts every {duration_text(w.cycle_count_every)}"
                 if w.cycle_count_every else "no cycle counts (ledger drift not measured)")
    return e("; ".join(parts) + ".")


def appendix(data: ReportData, headline: dict[str, Any]) -> str:
    """The method-and-assumptions appendix as an HTML fragment."""
    sections = (_what_was_simulated(data, headline), _HOW_THE_MODEL_WORKS,
                _how_sure(data, headline), _WHAT_IT_LEAVES_OUT)
    return "\n" + "\n".join(sections)


def _what_was_simulated(data: ReportData, headline: dict[str, Any]) -> str:
    """The scenario as simulated: period, catalog, marketplaces, sync, warehouse, engine."""
    s = data.scenario
    days = headline["measured_days"]
    warmup = (f", of which the first {duration_text(s.warmup)} are a warm-up left out of every "
              "number" if s.warmup else "")
    engine = ("the seller's stock ledger (append-only, idempotent commands)"
              if s.engine.kind == "ledger" else
              "a naive read-modify-write stock counter (for comparison)")
    return f"""<h3>What was simulated</h3>
<p>Scenario <b>{e(s.name)}</b>{': ' + e(s.description.rstrip('. ')) if s.description else ''}.
Each replication simulates {e(duration_text(s.duration))} of trading{warmup}
({days:,.3g} days counted). Figures “per month” are per-replication means scaled to
30 days.</p>
<p><b>Catalog.</b></p>{_catalog(data)}
<p><b>Marketplaces.</b> Delays and duplicate rates are the scenario's own assumptions
(they are not fitted to data in this report):</p>{_channels(data)}
<p><b>Stock sync.</b> {_sync(data)}. The buffer policies use a P99 exposure window of
{exposure_p99(s):,.0f} s (slowest webhook P99 + slowest listing P99 + sync delays).</p>
<p><b>Warehouse.</b> {_warehouse(data)}</p>
<p><b>Stock engine.</b> Orders are recorded in {e(engine)}.</p>
"""


_HOW_THE_MODEL_WORKS = """<h3>How the model works</h3>
<p>Buyers arrive on each marketplace at random (a Poisson process following the daily
profile and any sales bursts) and buy only if that marketplace's <i>own</i> listing shows
enough stock. The seller hears of a sale only when the order webhook arrives, late,
sometimes two or three times and out of order; every copy goes through the ledger, which
reserves each order once. A reservation the ledger refuses because the unit is gone is an
<b>oversell</b>: an order to cancel and apologise for. After every change the seller
publishes <code>max(available − buffer, 0)</code> to every marketplace, which shows it
only after a listing delay. A buyer who finds a listing at 0 is a <b>lost sale</b>;
the buffer's <b>hidden stock</b> is the units it keeps off the listings times the hours
it keeps them (unit-hours).</p>
"""


def _how_sure(data: ReportData, headline: dict[str, Any]) -> str:
    """How sure the numbers are: replications, common random numbers, intervals, targets."""
    tuning = headline["tuning"]
    stranded = e(duration_text(data.scenario.metrics.stranded_after))
    return f"""<h3>How sure the numbers are</h3>
<ul>
<li><b>Replications.</b> {data.replications} independent replications at the current
buffer and at each swept buffer value; replication <i>r</i> uses
<code>SeedSequence({data.seed}).spawn(R)[r]</code>, so the whole report is reproduced by
running it again with seed {data.seed}.</li>
<li><b>Common random numbers.</b> Every random source (demand, delays, duplicates,
returns) has its own stream, so replication <i>r</i> faces the same buyers and the same
webhook delays at every buffer: differences between buffers come from the buffer, not
from luck.</li>
<li><b>Pooled rates, replications as clusters.</b> An oversell rate pools every order of
every replication; oversells cluster within a replication (around stock-outs), so its
95 % interval treats each replication as one cluster of orders and is never narrower
than the binomial (Wilson) one. Oversells per month carry the same interval times the
orders per month.</li>
<li><b>Between replications: Student-t 95 % intervals.</b> Lost sales and hidden stock
per month use the t interval of the replication means.</li>
<li><b>The recommendation.</b> The tuner looks for the smallest buffer of the
<i>{e(data.family.name)}</i> family whose upper bound is at or below the target
({100 * data.target:g} % of orders): met with 95 % confidence, not just on average. It
simulated {tuning['evaluations']} candidate buffers on {tuning['replications']}
replications each (enough orders to show the target can be met), then confirmed its
answer on {tuning['replications']} fresh replications (seed {data.seed + 1}).</li>
<li><b>Race timelines</b> are episodes found in the first
{min(data.replications, EPISODE_REPLICATIONS)} replications, simulated again with every
record kept; they show what happened, not how often.</li>
<li><b>Targets.</b> Oversell rate ≤ {100 * data.target:g} %; P99 sync latency
&lt; {SYNC_TARGET_S:g} s; ledger drift at cycle counts &lt; {100 * DRIFT_TARGET:g} %;
a reservation open longer than {stranded} is stranded.</li>
</ul>
"""


_WHAT_IT_LEAVES_OUT = """<h3>What the model leaves out</h3>
<p>Buyers do not change their behaviour after an oversell, marketplaces do not penalise
the seller, and every delay follows the distributions above. The numbers are as good as
those assumptions: where a marketplace's real webhook delays are known, put them in the
scenario and run the report again.</p>
"""
