"""The report's appendix: what was simulated and how sure the numbers are, for a client.

The values are gathered here as plain text and rendered by ``templates/appendix.html.j2``
(Jinja2, autoescape on), so every value taken from the scenario (names, SKUs, channels,
descriptions) is escaped, as everywhere in the report's HTML. :func:`e` escapes one value
for the pages still written in Python (the fit report's).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from racesim.policy.buffers import exposure_p99
from racesim.report.compute import DRIFT_TARGET, EPISODE_REPLICATIONS, SYNC_TARGET_S, ReportData
from racesim.report.templating import render_macro, render_template
from racesim.util.units import format_duration

if TYPE_CHECKING:
    from racesim.scenario import CountDistribution, DurationDistribution, Sku

__all__ = ["appendix", "describe_distribution", "duration_text", "e", "plain_duration"]

MAX_SKU_ROWS = 25
"""Catalogs longer than this are summarised after the first rows."""


def e(value: object) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped."""
    return escape(str(value), quote=True)


def duration_text(seconds: float) -> str:
    """Seconds as ``1m30s`` / ``2d``, rounded to whole seconds from 10 s up."""
    seconds = float(seconds)
    return format_duration(round(seconds)) if seconds >= 10 else f"{seconds:.3g}s"


def plain_duration(seconds: float) -> str:
    """Seconds in words a client reads: ``45 s``, ``3 min``, ``1.5 h``, ``2 days``."""
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86_400:.3g} days"


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


def _catalog_table(data: ReportData) -> dict[str, Any]:
    """The catalog's rows (the first :data:`MAX_SKU_ROWS`), and whether any SKU is bursty."""
    skus = data.scenario.skus()
    more = (f"… and {len(skus) - MAX_SKU_ROWS:,} more SKUs "
            f"({data.scenario.orders_per_day():,.0f} orders a day in all)."
            if len(skus) > MAX_SKU_ROWS else "")
    return {"dispersed": any(s.demand is not None and s.demand.dispersion > 0 for s in skus),
            "classes": any(s.class_ for s in skus[:MAX_SKU_ROWS]), "more": more,
            "rows": [{"sku": s.sku, "class_": s.class_ or "–", "stock": f"{s.initial_stock:,}",
                      "orders_per_day": f"{s.orders_per_day:,.4g}", "day_to_day": _day_to_day(s),
                      "units": describe_distribution(s.units_per_order),
                      "restock": _restock(s)} for s in skus[:MAX_SKU_ROWS]]}


def _catalog(data: ReportData) -> str:
    """The catalog table as HTML (a column "day to day" when any SKU is bursty)."""
    return str(render_macro(_TABLES, "catalog", _catalog_table(data)))


def _day_to_day(sku: Sku) -> str:
    """How a SKU's daily demand varies: Poisson, or bursty with its dispersion d."""
    if sku.demand is None or sku.demand.dispersion <= 0:
        return "Poisson"
    return f"bursty, d = {sku.demand.dispersion:.3g}"


def _channel_extras(c: Any) -> str:
    """A marketplace's failures, cancellations, bursts and profile, in words."""
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
    return "; ".join(extras) or "–"


def _channel_table(data: ReportData) -> dict[str, Any]:
    """The marketplaces' rows, and whether any has something for the "other" column."""
    rows = _channel_rows(data)
    return {"rows": rows, "other": any(row["other"] != "–" for row in rows)}


def _channel_rows(data: ReportData) -> list[dict[str, str]]:
    rows = []
    for c in data.scenario.channels:
        copies = c.webhook.duplicates
        rows.append({"name": c.name, "share": f"{100 * c.share:g} %",
                     "latency": describe_distribution(c.webhook.latency),
                     "duplicates": (f"2 copies {100 * copies.p2:g} %, 3 copies "
                                    f"{100 * copies.p3:g} %" if copies.p2 or copies.p3
                                    else "none"),
                     "listing": describe_distribution(c.listing_latency),
                     "other": _channel_extras(c)})
    return rows


def _channels(data: ReportData) -> str:
    """The marketplaces table as HTML."""
    return str(render_macro(_TABLES, "channels", _channel_table(data)))


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
    return text + (f" ({', '.join(details)})" if details else "")


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
    return "; ".join(parts) + "."


_TABLES = "appendix_tables.html.j2"


def appendix(data: ReportData, headline: dict[str, Any]) -> Markup:
    """The method-and-assumptions appendix as an HTML fragment (rendered, values escaped)."""
    return Markup(render_template("appendix.html.j2", {
        "s": _what_was_simulated(data, headline), "h": _how_sure(data, headline)}))


def _what_was_simulated(data: ReportData, headline: dict[str, Any]) -> dict[str, Any]:
    """The scenario as simulated: period, catalog, marketplaces, sync, warehouse, engine."""
    s = data.scenario
    return {"name": s.name, "description": (s.description or "").rstrip(". "),
            "duration": duration_text(s.duration),
            "warmup": duration_text(s.warmup) if s.warmup else "",
            "days": f"{headline['measured_days']:,.3g}", "catalog": _catalog_table(data),
            "channels": _channel_table(data), "sync": _sync(data),
            "exposure": f"{exposure_p99(s):,.0f}", "warehouse": _warehouse(data),
            "engine": ("the seller's stock ledger (append-only, idempotent commands)"
                       if s.engine.kind == "ledger" else
                       "a naive read-modify-write stock counter (for comparison)")}


def _how_sure(data: ReportData, headline: dict[str, Any]) -> dict[str, Any]:
    """How sure the numbers are: replications, common random numbers, intervals, targets."""
    tuning = headline["tuning"]
    return {"replications": data.replications, "seed": data.seed, "family": data.family.name,
            "target": f"{100 * data.target:g}", "evaluations": tuning["evaluations"],
            "tuner_replications": tuning["replications"],
            "episodes": min(data.replications, EPISODE_REPLICATIONS),
            "sync_target": f"{SYNC_TARGET_S:g}", "drift_target": f"{100 * DRIFT_TARGET:g}",
            "stranded": duration_text(data.scenario.metrics.stranded_after)}
