"""A :class:`~racesim.fit.model.Fit` written as a commented scenario file.

The text loads through the scenario's own validation (it is checked here before it is
returned) and runs with ``racesim run``/``tune``/``report`` unchanged. The comments are
the point: every fitted value says where it came from (file, column), how many
observations it rests on and its 95 % interval; every value the exports cannot show —
the sync mode and interval, each channel's listing latency, the buffer in force, a
webhook latency without a receipt log, a return rate without returns, a dates-only
channel's hours, estimated stock — is marked ``# assumed:`` with where it came from (an
option or one of the defaults below). The scenario's clock is the fit's: the run starts
at midnight UTC of the window's first day, so profile hour ``h`` is hour ``h`` UTC.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from racesim.errors import RacesimError
from racesim.fit.channels import Delay
from racesim.fit.classes import A_CUT, B_CUT
from racesim.fit.estimate import Estimate
from racesim.fit.exposure import DAY_S
from racesim.fit.latency import Latency
from racesim.fit.model import ChannelFit, Fit, SkuFit
from racesim.fit.summary import bh_adjusted, demand_kind, verdict
from racesim.scenario import parse_scenario
from racesim.scenario.limits import MAX_DISPERSION, MAX_FILE_BYTES, MAX_LATENCY_S, MAX_MONEY
from racesim.util.units import format_duration

__all__ = ["DEFAULT_BUFFER_UNITS", "DEFAULT_DURATION_S", "DEFAULT_INTERVAL_S",
           "DEFAULT_LISTING_LATENCY_S", "DEFAULT_SYNC", "DEFAULT_WEBHOOK", "ScenarioOptions",
           "scenario_text"]

DEFAULT_DURATION_S = 7 * DAY_S
"""The run's length when not given: a week, or the window when that is shorter."""
DEFAULT_SYNC = "periodic_push_time"
DEFAULT_INTERVAL_S = 60.0
"""The sync mode and push interval assumed when ``--sync``/``--interval`` are not given."""
DEFAULT_LISTING_LATENCY_S = 60.0
"""A channel's listing-update latency (fixed) when ``--listing-latency`` does not name it."""
DEFAULT_BUFFER_UNITS = 0
"""The fixed buffer assumed in force when ``--buffer-units`` is not given."""
DEFAULT_WEBHOOK: dict[str, Any] = {"dist": "lognormal", "median": "5s", "p99": "1m"}
"""The webhook latency of a channel without a fitted one (no receipt log)."""


@dataclass(frozen=True)
class ScenarioOptions:
    """What the exports cannot show, from the command's options (None: the default)."""

    name: str = "fitted"
    duration_s: float | None = None
    seed: int = 0
    sync: str | None = None
    interval_s: float | None = None
    listing_latency_s: Mapping[str, float] = field(default_factory=dict)
    buffer_units: int | None = None
    sources: Sequence[str] = ()


def _toml(value: Any) -> str:
    """One TOML value: numbers, strings, lists and inline tables of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(float(f"{value:.6g}"))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return "[" + ", ".join(_toml(item) for item in value) + "]"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _set(key: str, value: Any, comment: str) -> str:
    return f"{key} = {_toml(value)}  # {_one_line(comment)}"


def _g(value: float) -> str:
    return f"{value:.4g}"


def _fitted(value: Estimate, what: str = "") -> str:
    return (f"fitted{what}: 95 % CI {_g(value.low)}–{_g(value.high)} ({value.method}), "
            f"n = {value.n}; source {value.source}")


def _time(seconds: float) -> str:
    """A delay for a comment: three digits under two minutes, whole seconds above."""
    return f"{seconds:.3g}s" if seconds < 120 else format_duration(round(seconds))


def _header(fit: Fit, options: ScenarioOptions, duration: float, duration_note: str
            ) -> list[str]:
    start = pd.Timestamp(fit.window.first_day, unit="s", tz="UTC")
    lines = [f"# {options.name} — fitted by `racesim fit` from a seller's exports.",
             "# Read from: " + (", ".join(_one_line(s) for s in options.sources) or "tables"),
             f"# Window: {_g(fit.window.days)} days ({_one_line(fit.window.source)}). The "
             f"run starts at midnight UTC of {start:%Y-%m-%d} (a {start:%A}): profile hour h "
             "is hour h UTC.",
             "# Each fitted value's comment gives its source, sample size and 95 % interval;",
             "# a value the exports cannot show is marked `assumed:` with where it came from.",
             "# What the fit had to assume:",
             *(f"#   - {_one_line(said)}" for said in fit.assumptions),
             f"name = {_toml(options.name)}",
             _set("description", f"Fitted from {len(fit.skus)} SKU(s) on {len(fit.channels)} "
                  f"channel(s) over {_g(fit.window.days)} days.", "from the fit"),
             _set("duration", format_duration(duration), duration_note),
             _set("seed", options.seed, "from --seed" if options.seed else
                  "assumed: the default seed 0 (--seed sets it)")]
    return lines


def _demand_line(sku: SkuFit, adjusted: float) -> str:
    kind, d = demand_kind(sku)
    test = sku.dispersion
    p = f"p = {_g(test.p)}, BH-adjusted {_g(adjusted)}" if math.isfinite(adjusted) else "p n/a"
    if kind == "gamma_poisson":
        capped = min(d, MAX_DISPERSION)
        note = f" (capped from {_g(d)} at the scenario's limit)" if capped < d else ""
        return _set("demand", {"kind": kind, "dispersion": capped},
                    f"fitted d{note}: 95 % CI {_g(test.d.low)}–{_g(test.d.high)}, NB2 maximum "
                    f"likelihood on {test.d.n} orders of {test.unit}; {p}; {verdict(sku)}")
    if test.unit.startswith("untested"):
        return _set("demand", {"kind": "poisson"}, f"assumed: {verdict(sku)}")
    return _set("demand", {"kind": "poisson"},
                f"dispersion test ({test.unit}) not significant at 5 % FDR: {p}; d ≤ "
                f"{_g(test.d.high)} (95 % upper bound)")


def _stock_lines(sku: SkuFit) -> list[str]:
    stock = sku.stock
    said = (f"assumed: {stock.source}: 14 days of its units"
            if stock.estimated else f"from {stock.source}")
    lines = [_set("initial_stock", stock.on_hand, said)]
    if stock.restock_every_s is not None and stock.restock_qty and stock.restock_qty > 0:
        every = format_duration(round(stock.restock_every_s))
        restock = {"policy": "periodic", "every": every, "quantity": stock.restock_qty}
        lines.append(_set("restock", restock, "assumed: estimated, one week's units weekly"
                          if stock.estimated else f"from {stock.source}"))
    else:
        lines.append(f"# restock: none ({stock.source} gives no restock)")
    return lines


def _sku_block(sku: SkuFit, adjusted: float) -> list[str]:
    demand = sku.demand
    out = ["", "[[catalog]]", _set("sku", sku.sku, f"{demand.rate.n} order(s)"),
           _set("class", sku.velocity_class, f"velocity class from the orders: A up to "
                f"{A_CUT:.0%} of orders, B to {B_CUT:.0%}, C the rest"),
           _set("orders_per_day", demand.rate.value,
                _fitted(demand.rate, " in-stock rate") + f"; {_g(demand.exposure_days)} "
                f"demand-days at risk, {_g(sku.censoring.excluded_days)} day(s) left out as "
                f"out of stock ({sku.censoring.method})"),
           _demand_line(sku, adjusted),
           _set("units_per_order", demand.units_per_order.to_scenario(),
                f"empirical, n = {demand.units_per_order.n} order lines"),
           *_stock_lines(sku)]
    if demand.price is not None:
        out.append(_price_line(demand.price.median, demand.price.currency))
    return out


def _price_line(price: Estimate, currency: str | None) -> str:
    """The SKU's ``price`` (the median line price, ten significant digits) with its
    source and interval; a comment instead when it is outside the scenario's bounds."""
    note = (f"{currency or '(no currency)'} — "
            f"{_one_line(_fitted(price, ' median line price'))}")
    value = float(price.value)
    if not (math.isfinite(value) and 0.0 <= value <= MAX_MONEY):
        return f"# price: {_g(value)} {note}; not written: outside 0–{MAX_MONEY:.0e}"
    return f"price = {float(f'{value:.10g}')!r}  # {note}"


def _latency_lines(latency: Latency | None) -> list[str]:
    if latency is None:
        return [_set("webhook.latency", DEFAULT_WEBHOOK, "assumed: the default (no receipt "
                     "log timed this channel's orders; --webhooks gives one)"),
                _set("webhook.duplicates", {"p2": 0.0, "p3": 0.0},
                     "assumed: the default, no duplicates")]
    p50 = min(latency.p50.value, MAX_LATENCY_S)
    p99 = min(max(latency.p99.value, p50), MAX_LATENCY_S)
    empirical = ", ".join(f"p{q * 100:g} {_time(v)}" for q, v in latency.quantiles.items())
    if p50 < 0.001:
        dist: dict[str, Any] = {"dist": "fixed", "value": round(p50, 6)}
    else:
        dist = {"dist": "lognormal", "median": round(p50, 6), "p99": round(p99, 6)}
    return [_set("webhook.latency", dist,
                 f"fitted lognormal (seconds), n = {latency.n} first copies: median 95 % CI "
                 f"{_time(latency.p50.low)}–{_time(latency.p50.high)}, p99 95 % CI "
                 f"{_time(latency.p99.low)}–{_time(latency.p99.high)}; empirical {empirical};"
                 f" source {latency.p50.source}"),
            _set("webhook.duplicates", {"p2": latency.p2.value, "p3": latency.p3.value},
                 f"fitted: p2 95 % CI {_g(latency.p2.low)}–{_g(latency.p2.high)}, p3 95 % CI "
                 f"{_g(latency.p3.low)}–{_g(latency.p3.high)}, n = {latency.p2.n} orders; "
                 f"source {latency.p2.source}")]


def _profile_line(channel: ChannelFit) -> str:
    profile = channel.profile
    hours = [round(v, 4) for v in profile.hour]
    if channel.dates_only:
        note = (f"assumed: its export gives dates only, so its hours are "
                f"{profile.hour_source}")
    elif profile.hour_source == "fitted":
        note = (f"fitted hour-of-day profile (UTC, mean 1): chi-square against flat p = "
                f"{_g(profile.hour_p)}, n = {profile.n} orders")
    else:
        note = f"flat: the hours of its {profile.n} orders do not differ from flat at 5 %"
    return _set("profile", hours, note)


def _delay_note(what: str, delay: Delay | None) -> str:
    if delay is None:
        return f"# {what} delay: not in the data"
    return (f"# {what} delay: median {_time(delay.p50)}, p90 {_time(delay.p90)} (n = "
            f"{delay.n}; {_one_line(delay.source)}) — not written: the scenario has no field")


def _channel_block(channel: ChannelFit, share: float, options: ScenarioOptions) -> list[str]:
    rates, name = channel.rates, channel.channel
    listing = options.listing_latency_s.get(name)
    listing_note = ("assumed: from --listing-latency" if listing is not None else
                    "assumed: the default (exports cannot show it; --listing-latency "
                    f"{name}=DURATION sets it)")
    weekday = ", ".join(f"{v:.3g}" for v in channel.profile.weekday)
    return ["", "[[channels]]", _set("name", name, f"{channel.profile.n} order(s)"),
            _set("share", share, _fitted(rates.share, " share of SKU-orders")),
            _profile_line(channel),
            f"# weekday profile Mon–Sun ({channel.profile.weekday_source}): [{weekday}] — "
            "not written: the scenario's profile is hourly",
            *_latency_lines(channel.latency),
            _set("listing_latency", {"dist": "fixed", "value": format_duration(
                DEFAULT_LISTING_LATENCY_S if listing is None else listing)}, listing_note),
            _set("cancel_rate", rates.cancel_rate.value, _fitted(rates.cancel_rate)),
            _delay_note("cancel", rates.cancel_delay),
            f"# return rate: {_g(rates.return_rate.value)} ({rates.return_rate.method}, n = "
            f"{rates.return_rate.n}) — the scenario's return rate is the warehouse's, below"]


def _shares(fit: Fit) -> dict[str, float]:
    """Shares rounded for the file, the largest taking the rest so they sum to 1."""
    raw = {name: c.rates.share.value for name, c in fit.channels.items()}
    rounded = {name: float(f"{v:.6g}") for name, v in raw.items()}
    largest = max(raw, key=lambda name: (raw[name], name))
    rounded[largest] = 1.0 - math.fsum(v for n, v in rounded.items() if n != largest)
    return rounded


def _sync_lines(options: ScenarioOptions) -> list[str]:
    mode = options.sync or DEFAULT_SYNC
    said = ("assumed: from --sync" if options.sync else
            "assumed: the default (exports cannot show it; --sync sets it)")
    lines = ["", "[sync]", _set("mode", mode, said)]
    if mode != "event_driven":
        interval = options.interval_s or DEFAULT_INTERVAL_S
        lines.append(_set("interval", format_duration(interval), "assumed: from --interval"
                          if options.interval_s else "assumed: the default push interval"))
    if mode == "periodic_snapshot":
        lines.append(_set("snapshot_lag", "0s", "assumed: the count is read at push time"))
    return lines


def _buffer_lines(options: ScenarioOptions) -> list[str]:
    units = DEFAULT_BUFFER_UNITS if options.buffer_units is None else options.buffer_units
    said = ("assumed: from --buffer-units" if options.buffer_units is not None else
            "assumed: the default (the buffer in force is not in the exports; "
            "--buffer-units sets it)")
    return ["", "[buffer]", _set("policy", "fixed", said), _set("units", units, said)]


def _warehouse_lines(fit: Fit) -> list[str]:
    rates = [c.rates for c in fit.channels.values()]
    orders = sum(r.return_rate.n for r in rates)
    assumed = all(r.return_rate.method == "assumed" for r in rates) or orders == 0
    lines = ["", "[warehouse]", "# handling_time: the scenario's default (not in the data)"]
    if assumed:
        lines.append(_set("return_rate", 0.0, "assumed: the data have no returns"))
        return lines
    rate = sum(r.return_rate.value * r.return_rate.n for r in rates) / orders
    sources = "; ".join(sorted({r.return_rate.source for r in rates}))
    lines.append(_set("return_rate", rate, f"fitted: returned lines over {orders} lines "
                      f"of every channel; source {sources}"))
    delays = [r.return_delay for r in rates if r.return_delay is not None]
    if delays:
        delay = max(delays, key=lambda d: d.n)
        lines.append(_set("return_delay", {"dist": "fixed", "value": _time(delay.p50)},
                          f"fitted: median return delay, n = {delay.n}; {delay.source}"))
    return lines


def _duration(fit: Fit, options: ScenarioOptions) -> tuple[float, str]:
    if options.duration_s is not None:
        return options.duration_s, "from --duration"
    window = max(3600.0, math.ceil(fit.window.days * 24) * 3600.0)
    if window < DEFAULT_DURATION_S:
        return window, "the observation window (shorter than the default week)"
    return DEFAULT_DURATION_S, "assumed: the default week (--duration sets it)"


def scenario_text(fit: Fit, options: ScenarioOptions | None = None) -> str:
    """The scenario file for ``fit`` (see the module doc), checked by the scenario loader.

    Raises :class:`~racesim.errors.RacesimError` when the text would not load (a value
    beyond a scenario bound, a file over the scenario size limit), naming the problem.
    """
    options = options or ScenarioOptions()
    duration, note = _duration(fit, options)
    adjusted = bh_adjusted(fit)
    lines = _header(fit, options, duration, note)
    for name, sku in fit.skus.items():
        lines += _sku_block(sku, adjusted[name])
    shares = _shares(fit)
    for name, channel in fit.channels.items():
        lines += _channel_block(channel, shares[name], options)
    lines += _sync_lines(options) + _buffer_lines(options) + _warehouse_lines(fit)
    text = "\n".join(lines) + "\n"
    size = len(text.encode())
    if size > MAX_FILE_BYTES:
        raise RacesimError(f"the fitted scenario would be {size:,} bytes, over the "
                           f"{MAX_FILE_BYTES:,} a scenario file may hold ({len(fit.skus)} SKUs)")
    try:
        parse_scenario(text, source=options.name)
    except RacesimError as exc:
        problems = "; ".join(line.strip() for line in str(exc).splitlines())
        raise RacesimError(f"the fitted scenario does not validate: {problems}") from exc
    return text
