"""The pre-flight estimate: how many SimPy events and how much memory a job will take.

Every field of a scenario is bounded on its own (:mod:`racesim.scenario.limits`), but
fields multiply: a demand rate × a duration × channels × replications × grid points can
ask for a week of computing or more memory than the machine has. Before any work starts,
``racesim run``, ``sweep``, ``tune`` and ``report`` (and
:func:`~racesim.study.replications.run_scenario`, :func:`~racesim.study.sweep.sweep`,
:func:`~racesim.study.tune.tune` and
:func:`~racesim.report.build_report`) estimate the job from the scenario and refuse it
when it would exceed a :class:`Budget`, naming the fields that drive it::

    big.toml: would simulate ~3.1e9 events (budget 5e8): driven by
    catalog[0].orders_per_day × duration × replications; lower them or pass --max-events

The budget is fixed, never "whatever this machine has", so whether a job is valid does
not depend on where it is checked. The defaults fit a 2-core, 24 GiB machine:

- :data:`DEFAULT_MAX_EVENTS` = 5·10⁸ SimPy events. The model's event loop runs
  120,000–190,000 events/s on one core (``benchmarks/bench_sim.py``), so this is 45–70
  core-minutes, about half an hour on two cores: the longest job worth starting without
  deciding to (``--max-events`` raises it).
- :data:`DEFAULT_MAX_MEMORY` = 4 GiB: a sixth of 24 GiB, leaving room for the machine's
  other users and for several such jobs (``--max-memory``).

**What is counted** (per replication; see :func:`estimate_replication`): one event per
buyer; per accepted order (demand, capped by the stock that can be sold: opening stock
plus restocks), one per webhook copy, one shipment, the cancellations and returns; per
change of published stock, one push per channel (``event_driven``); per tick of a
periodic sync, cycle count or restock review, one event plus a push per channel; one per
unit of shrinkage. Memory: per buyer and per event, bytes measured on the shipped
scenarios (``tracemalloc``); the buyers drawn before thinning (bursts and profile peaks
raise them); the retry-backoff array; an interpreter per worker process; and the
results kept until the job ends.

**How close it is.** On the shipped scenarios one replication's estimate is 1.0–1.4×
the events SimPy scheduled (a test keeps it within 2×), and a run's peak memory within
5 % (``high_volume``, 4 replications, 2 jobs, tables: 965 MiB estimated, 1,002 MiB of
resident memory measured over all processes). A sweep is the sum of its points. The
tuner is counted at its longest search (:func:`tune_runs` runs of the replications its
target needs, :func:`tune_replications`): 1.5–9× what it took on the shipped scenarios,
since a search stops early when the answer is a small buffer; when it must add
replications it is checked again before those runs start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from racesim.errors import RacesimError
from racesim.scenario import Channel, Scenario, Sku
from racesim.study.classes import sku_classes

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_MAX_MEMORY",
    "Budget",
    "BudgetError",
    "Estimate",
    "Replication",
    "check_report",
    "check_run",
    "check_sweep",
    "check_tune",
    "estimate_replication",
    "parse_size",
]

DEFAULT_MAX_EVENTS = 5e8
"""SimPy events one job may simulate unless told otherwise (about 30 min on 2 cores)."""
DEFAULT_MAX_MEMORY = 4 * 2**30
"""Bytes one job may hold at its peak unless told otherwise (4 GiB of a 24 GiB machine)."""

DAY_S = 86_400.0
BYTES_PER_BUYER = 2_000
"""Model state per buyer drawn (plans, order lists, buyer queue), tables off; measured."""
BYTES_PER_BUYER_TABLES = 4_500
"""The same with per-event tables on (as ``racesim run --out`` builds them); measured."""
BYTES_PER_EVENT = 80
"""Logs and heap entries per scheduled event; measured."""
BYTES_PER_CANDIDATE = 32
"""Arrays per buyer candidate drawn before thinning (times, uniforms, multipliers)."""
BYTES_PER_SKU = 3_000
"""A SKU's record and its per-channel listings and counters."""
BYTES_PER_SKU_DAY = 16
"""A ``gamma_poisson`` run's day multipliers (days × SKUs floats) and the uniforms behind them."""
BYTES_KEPT_PER_BUYER = 1_200
"""A finished replication's tables, per buyer, kept until the job ends; measured."""
BYTES_KEPT_PER_SKU = 500
"""A finished replication's per-SKU and per-channel summaries (tables off); measured 400."""
BYTES_KEPT_PER_TASK = 4_000
"""A sweep task's result: one replication's summary metrics."""
BYTES_PER_PROCESS = 200 * 2**20
"""A Python interpreter with numpy, pandas and SimPy loaded (measured: 175 MB)."""


class BudgetError(RacesimError, ValueError):
    """A job would exceed its event or memory budget; nothing was run."""


@dataclass(frozen=True, slots=True)
class Budget:
    """The most a job may simulate (SimPy events) and hold (bytes at its peak)."""

    max_events: float = DEFAULT_MAX_EVENTS
    max_memory: float = DEFAULT_MAX_MEMORY

    def __post_init__(self) -> None:
        for name in ("max_events", "max_memory"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not 0 < value < math.inf:
                raise ValueError(f"Budget.{name} must be a positive number (got {value!r})")


@dataclass(frozen=True, slots=True)
class Replication:
    """The estimate for one replication of one scenario."""

    events: float
    """SimPy events scheduled."""
    buyers: float
    """Buyers drawn (every arrival, sold or not)."""
    orders: float
    """Orders accepted (demand capped by the stock that can be sold)."""
    peak_bytes: float
    """Model memory while it runs (the interpreter not included)."""
    kept_bytes: float
    """Memory its result holds once it is done."""
    drivers: tuple[str, ...]
    """The scenario fields that drive ``events``, most important first."""
    memory_drivers: tuple[str, ...] = ()
    """The scenario fields that drive ``peak_bytes``."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A whole job: events, peak memory, and what drives each."""

    events: float
    memory: float
    event_drivers: tuple[str, ...]
    memory_drivers: tuple[str, ...]
    parts: dict[str, float] = field(default_factory=dict)
    """Events by part of the job (e.g. ``{"tuner": …, "sweep": …}``), for messages."""


def parse_size(text: str) -> float:
    """Bytes from ``"4GiB"``, ``"512MiB"``, ``"8G"``, ``"1e9"`` (ValueError if not a size)."""
    units = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "kib": 2**10, "mib": 2**20,
             "gib": 2**30, "tib": 2**40, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
             "b": 1}
    body = text.strip().lower().replace(" ", "")
    number = body.rstrip("kmgtib")
    unit = body[len(number):]
    try:
        value = float(number) * units[unit]
    except (KeyError, ValueError):
        raise ValueError(f"expected a size such as 4GiB, 512MiB or 8e9 (got {text[:40]!r})") \
            from None
    if not 0 < value < math.inf:
        raise ValueError(f"a size must be positive (got {text[:40]!r})")
    return value


# -- one replication ----------------------------------------------------------------------


def estimate_replication(scenario: Scenario, tables: bool = False) -> Replication:
    """Events and memory of one replication of ``scenario`` (``tables``: as ``--out`` runs)."""
    duration, channels = float(scenario.duration), scenario.channels
    skus = scenario.skus()
    rate_per_s = math.fsum(sku.orders_per_day for sku in skus) / DAY_S
    mass = [_multiplier_mass(channel, duration) for channel in channels]
    buyers_by_channel = [rate_per_s * c.share * m for c, m in zip(channels, mass, strict=True)]
    buyers = math.fsum(buyers_by_channel)
    candidates = math.fsum(rate_per_s * c.share * _peak(c) * duration for c in channels)
    orders = _accepted_orders(scenario, buyers / max(rate_per_s * duration, 1e-300))
    copies = math.fsum(b * c.webhook.duplicates.mean_copies()
                       for b, c in zip(buyers_by_channel, channels, strict=True))
    per_order = copies / buyers if buyers else 1.0
    warehouse = scenario.warehouse
    cancel = _weighted(buyers_by_channel, [c.cancel_rate for c in channels])
    loss = _weighted(buyers_by_channel, [c.cancel_webhook_loss for c in channels])
    handled = _within(warehouse.handling_time.mean(), duration)
    returns = orders * handled * warehouse.return_rate
    returns *= 1.0 + (warehouse.return_recording != "early") * \
        _within(warehouse.return_delay.mean(), duration)
    restock_ticks = _restock_ticks(scenario)
    count_ticks = duration / warehouse.cycle_count_every if warehouse.cycle_count_every else 0
    shrinkage = len(skus) * warehouse.shrinkage_per_day * duration / DAY_S
    changes = orders * (1 + cancel) + returns + restock_ticks + count_ticks * len(skus) * 0.5
    sync_events, sync_field = _sync_events(scenario, changes)
    parts = {
        "demand": buyers + orders * (per_order + 1 + cancel * (2 - loss)) + returns,
        "sync": sync_events,
        "restock": 2 * restock_ticks,
        "cycle counts": count_ticks,
        "shrinkage": shrinkage,
    }
    events = math.fsum(parts.values()) + 10 + len(skus)
    backoffs = math.fsum(2 * b * 3 * c.webhook.max_attempts * 8
                         for b, c in zip(buyers_by_channel, channels, strict=True)
                         if c.webhook.failure_rate > 0)
    per_buyer = BYTES_PER_BUYER_TABLES if tables else BYTES_PER_BUYER
    peak = (per_buyer * buyers + BYTES_PER_EVENT * events + BYTES_PER_CANDIDATE * candidates
            + backoffs + BYTES_PER_SKU * len(skus) * (1 + len(channels) / 4))
    if any(sku.demand is not None and sku.demand.dispersion > 0 for sku in skus):
        peak += BYTES_PER_SKU_DAY * len(skus) * math.ceil(duration / DAY_S)
    kept = BYTES_KEPT_PER_BUYER * buyers if tables else \
        BYTES_KEPT_PER_SKU * (len(skus) + len(channels)) + 10_000
    drivers = _drivers(scenario, parts, sync_field, buyers, candidates)
    burst = _largest_burst(scenario)
    drawn = (burst,) if burst and BYTES_PER_CANDIDATE * candidates > 0.25 * peak else ()
    memory_drivers = (_rate_field(scenario), *drawn, "duration")
    return Replication(events=events, buyers=buyers, orders=orders, peak_bytes=peak,
                       kept_bytes=kept, drivers=drivers, memory_drivers=memory_drivers)


def _multiplier_mass(channel: Channel, duration: float) -> float:
    """∫₀^duration of the channel's profile × bursts multiplier (seconds)."""
    from racesim.sim.demand import channel_rate_multiplier

    edges = [0.0, duration, *np.arange(3600.0, duration, 3600.0).tolist()]
    for burst in channel.bursts:
        edges += [min(burst.start, duration), min(burst.end, duration)]
    points = np.unique(np.asarray(edges, dtype=float))
    middles = (points[:-1] + points[1:]) / 2
    return float(np.sum(channel_rate_multiplier(channel, middles) * np.diff(points)))


def _peak(channel: Channel) -> float:
    """The thinning bound the demand model draws at: profile peak × every burst above 1."""
    profile = channel.hourly_profile()
    bound = max(profile)
    for burst in channel.bursts:
        bound *= max(1.0, burst.multiplier)
    return bound


def _weighted(weights: Sequence[float], values: Sequence[float]) -> float:
    total = math.fsum(weights)
    return math.fsum(w * v for w, v in zip(weights, values, strict=True)) / total if total \
        else 0.0


def _within(mean_delay: float, duration: float) -> float:
    """Roughly the share of orders whose next step (after ``mean_delay``) falls in the run."""
    return max(0.0, 1.0 - mean_delay / duration)


def _accepted_orders(scenario: Scenario, demand_factor: float) -> float:
    """Orders sold: each SKU's demand, capped by the units it can sell over the run."""
    duration, total = float(scenario.duration), 0.0
    for sku in scenario.skus():
        demand = sku.orders_per_day * duration / DAY_S * demand_factor
        units = sku.initial_stock + _restocked_units(sku, duration)
        total += min(demand, units / sku.units_per_order.mean() * 1.1 + 2)
    return total


def _restocked_units(sku: Sku, duration: float) -> float:
    """At most how many units the SKU's restock policy brings in over ``duration``.

    Orders go out at every period k·T (k ≥ 1) and arrive a lead time L later, inside the
    run while k·T + L < duration; each brings ``quantity`` (or at most ``level``) units.
    """
    restock = sku.restock
    if restock is None:
        return 0.0
    if restock.policy == "periodic":
        period, units = restock.every, restock.quantity
    else:
        period, units = restock.review, restock.level
    lead = restock.lead_time
    received = max(0, math.ceil((duration - lead) / period) - 1)
    return units * received


def _restock_ticks(scenario: Scenario) -> float:
    duration, ticks = float(scenario.duration), 0.0
    for sku in scenario.skus():
        if sku.restock is not None:
            period = sku.restock.every if sku.restock.policy == "periodic" else \
                sku.restock.review
            ticks += duration / period
    return ticks


def _sync_events(scenario: Scenario, changes: float) -> tuple[float, str]:
    """Events of the sync process, and the field that sets how many."""
    sync, channels = scenario.sync, len(scenario.channels)
    if sync.mode == "event_driven":
        latencies = {c.listing_latency for c in scenario.channels}
        fixed = len(latencies) == 1 and next(iter(latencies)).dist == "fixed"
        per_change = (1 if fixed else channels) + (sync.debounce > 0)
        return changes * per_change, "the stock changes (orders)"
    ticks = float(scenario.duration) / sync.interval
    if sync.mode == "compare_and_set":
        per_tick = min(len(scenario.skus()), changes / ticks) * channels * 1.2
        return ticks * (1 + per_tick), "sync.interval"
    extra = 1 if sync.mode == "periodic_snapshot" else 0
    return ticks * (1 + extra + channels), "sync.interval"


def _drivers(scenario: Scenario, parts: dict[str, float], sync_field: str, buyers: float,
             candidates: float) -> tuple[str, ...]:
    """The fields behind the largest parts of the estimate, spelled as in the file."""
    rate = _rate_field(scenario)
    names: list[str] = []
    ordered = sorted(parts.items(), key=lambda item: -item[1])
    for part, events in ordered:
        if events < 0.25 * ordered[0][1]:
            break
        if part == "demand" or (part == "sync" and sync_field.startswith("the stock")):
            names += [rate]
            burst = _largest_burst(scenario)
            if burst and candidates > 2 * buyers:
                names += [burst]
        elif part == "sync":
            names += [sync_field, "channels"]
        elif part == "restock":
            names += ["catalog[…].restock"]
        elif part == "cycle counts":
            names += ["warehouse.cycle_count_every"]
        elif part == "shrinkage":
            names += ["warehouse.shrinkage_per_day"]
    return tuple(dict.fromkeys([*names, "duration"]))


def _rate_field(scenario: Scenario) -> str:
    if scenario.catalog_generator is not None:
        return "catalog_generator.total_orders_per_day"
    catalog = scenario.catalog or ()
    if len(catalog) == 1:
        return "catalog[0].orders_per_day"
    top = max(range(len(catalog)), key=lambda i: catalog[i].orders_per_day)
    share = catalog[top].orders_per_day / max(scenario.orders_per_day(), 1e-300)
    return f"catalog[{top}].orders_per_day" if share > 0.5 else "catalog[…].orders_per_day"


def _largest_burst(scenario: Scenario) -> str | None:
    found = [(burst.multiplier, f"channels[{i}].bursts[{j}].multiplier")
             for i, channel in enumerate(scenario.channels)
             for j, burst in enumerate(channel.bursts)]
    return max(found)[1] if found else None


# -- jobs ---------------------------------------------------------------------------------


def check_run(scenario: Scenario, replications: int, jobs: int = 1, *, tables: bool = False,
              budget: Budget | None = None, source: str | None = None) -> Estimate:
    """Refuse (:class:`BudgetError`) a run of ``replications`` that would exceed ``budget``."""
    one = estimate_replication(scenario, tables)
    workers = min(jobs, replications)
    estimate = Estimate(
        events=one.events * replications,
        memory=_memory(one.peak_bytes, workers) + one.kept_bytes * replications,
        event_drivers=(*one.drivers, "replications"),
        memory_drivers=_memory_drivers(one, workers, replications, tables))
    return _enforce(estimate, budget, source or scenario.name)


def check_sweep(points: Sequence[Scenario], replications: int, workers: int = 1, *,
                budget: Budget | None = None, source: str | None = None) -> Estimate:
    """Refuse a sweep (every point × ``replications``) that would exceed ``budget``."""
    estimates = [estimate_replication(point) for point in points]
    worst = max(range(len(points)), key=lambda i: estimates[i].events)
    one = estimates[worst]
    estimate = Estimate(
        events=math.fsum(e.events for e in estimates) * replications,
        memory=_memory(max(e.peak_bytes for e in estimates), min(workers, replications *
                                                                  len(points)))
        + BYTES_KEPT_PER_TASK * len(points) * replications,
        event_drivers=(*one.drivers, "replications", f"the grid's {len(points)} points"),
        memory_drivers=(*one.memory_drivers, "the workers"))
    return _enforce(estimate, budget, source or points[worst].name)


TUNE_CONFIRM_RUNS = 10
"""Runs the tuner makes besides its search: the pilot, up to four confirmations on fresh
replications with a re-run of the search's choice each, and the seed formula's run."""


def tune_runs(ladder: int) -> int:
    """At most how many runs a tuner search makes on a ladder of ``ladder`` rungs.

    Doubling up to the top (⌈log₂⌉ + 1 probes), bisection back (⌈log₂⌉), and the rest.
    """
    steps = math.ceil(math.log2(max(ladder, 2)))
    return 2 * steps + 1 + TUNE_CONFIRM_RUNS


def tune_replications(scenario: Scenario, replications: int, max_replications: int,
                      target: float, confidence: float = 0.95, per_class: bool = True) -> int:
    """The replications the tuner's pilot will settle on, by its own rule, from the orders
    this estimate expects (see :func:`racesim.study.tune.tune`)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    needed = z * z * (1 - target) / target
    rates = {sku.sku: sku.orders_per_day for sku in scenario.skus()}
    measured = 1.0 - float(scenario.warmup) / float(scenario.duration)
    one = estimate_replication(scenario)
    scale = one.orders / max(scenario.orders_per_day(), 1e-300)
    classes: dict[str, float] = {}
    for label, names in sku_classes(scenario, per_class).items():
        classes[label] = 0.0
        for name in names:
            classes[label] += rates[name] * scale
    fewest = min(classes.values()) * measured
    count = math.ceil(1.3 * needed / fewest) if fewest > 0 else max_replications
    return min(max(count, replications), max(max_replications, replications))


def check_tune(scenario: Scenario, *, replications: int, max_replications: int, jobs: int = 1,
               ladder: int = 513, target: float = 0.003, confidence: float = 0.95,
               per_class: bool = True, budget: Budget | None = None,
               source: str | None = None) -> Estimate:
    """Refuse a tuner search that would exceed ``budget``.

    Counted: :func:`tune_runs` runs of the replications the pilot will choose
    (:func:`tune_replications`, at most ``max_replications``).
    """
    one = estimate_replication(scenario)
    count = tune_replications(scenario, replications, max_replications, target, confidence,
                              per_class)
    runs = tune_runs(ladder)
    estimate = Estimate(
        events=one.events * count * runs,
        memory=_memory(one.peak_bytes, min(jobs, count)) + one.kept_bytes * count * runs,
        event_drivers=(*one.drivers, "max_replications"
                       if count >= max_replications > replications else "replications"),
        memory_drivers=_memory_drivers(one, min(jobs, count), count, False),
        parts={"tuner": one.events * count * runs})
    return _enforce(estimate, budget, source or scenario.name)


def check_report(scenario: Scenario, *, replications: int, jobs: int = 1, ladder: int = 513,
                 target: float = 0.003, sweep_points: int = 12, episodes: int = 4,
                 channel_runs: int = 0, budget: Budget | None = None,
                 source: str | None = None) -> Estimate:
    """Refuse a report (current run, tuner, buffer sweep, race episodes and the
    ``channel_runs`` replications of a per-channel search) beyond ``budget``."""
    one = estimate_replication(scenario)
    tabled = estimate_replication(scenario, tables=True)
    count = tune_replications(scenario, replications, 256, target)
    searched = min(replications, episodes)
    parts = {"runs": one.events * replications * (2 + sweep_points),
             "tuner": one.events * count * tune_runs(ladder),
             "episodes": tabled.events * searched, "per-channel search": one.events * channel_runs}
    kept = one.kept_bytes * (count * tune_runs(ladder) + replications * (2 + sweep_points)
                             + channel_runs)
    memory = _memory(max(one.peak_bytes, tabled.peak_bytes), min(jobs, count)) + kept + \
        tabled.kept_bytes * searched  # every run's results stay until the page is written
    estimate = Estimate(events=math.fsum(parts.values()), memory=memory,
                        event_drivers=(*one.drivers, "replications"),
                        memory_drivers=_memory_drivers(tabled, min(jobs, searched), searched,
                                                       True), parts=parts)
    return _enforce(estimate, budget, source or scenario.name)


def _memory(peak: float, workers: int) -> float:
    """The parent interpreter, plus each worker's (when there are workers) and its model."""
    workers = max(workers, 1)
    processes = 1 + (workers if workers > 1 else 0)
    return BYTES_PER_PROCESS * processes + peak * workers


def _memory_drivers(one: Replication, workers: int, replications: int,
                    tables: bool) -> tuple[str, ...]:
    names = list(one.memory_drivers)
    if tables and one.kept_bytes * replications > one.peak_bytes * workers:
        names.append("replications (each one's tables are kept)")
    elif workers > 1:
        names.append("jobs")
    return tuple(names)


def _enforce(estimate: Estimate, budget: Budget | None, source: str) -> Estimate:
    budget = budget or Budget()
    if estimate.events > budget.max_events:
        drivers = " × ".join(estimate.event_drivers)
        raise BudgetError(f"{source}: would simulate ~{_count(estimate.events)} events (budget "
                          f"{_count(budget.max_events)}): driven by {drivers}; lower them or "
                          f"pass --max-events")
    if estimate.memory > budget.max_memory:
        drivers = " × ".join(estimate.memory_drivers)
        raise BudgetError(f"{source}: would need ~{_size(estimate.memory)} of memory (budget "
                          f"{_size(budget.max_memory)}): driven by {drivers}; lower them or "
                          f"pass --max-memory")
    return estimate


def _count(amount: float) -> str:
    """``3.1e9``, ``5e8``, ``4.2e3``: two significant digits, exponent without its ``+0``."""
    mantissa, _, exponent = f"{amount:.1e}".partition("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def _size(amount: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if amount >= scale:
            return f"{amount / scale:.3g} {unit}"
    return f"{amount / 2**10:.3g} KiB"
