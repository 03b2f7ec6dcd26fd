"""The bounds of every number, list and text in a scenario, and the reason for each.

A scenario file is input from anyone: a value without a bound reaches a traceback, a
multi-gigabyte allocation or a run that never ends (a sync interval of 1e-300 s, a burst
multiplier of 1e300, 10¹² retry attempts). Every field is therefore checked against the
limits below before anything is simulated, and a value outside them is one line naming
the file and the field, e.g.
``big.toml: channels[0].webhook.latency.p99: must be ≤ 7d (got 30d)``.

The limits are wide: each is far beyond what a real shop writes, and tight enough that
no single value can make a run misbehave. What the values do *together* (rate ×
duration × channels × replications) is the pre-flight budget's job
(:mod:`racesim.study.budget`), not these per-field bounds. :data:`LIMITS` lists them all with
their reasons; the README shows the same table (a test keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LIMITS",
    "MAX_ATTEMPTS",
    "MAX_BURSTS",
    "MAX_BURST_MULTIPLIER",
    "MAX_CAS_RETRIES",
    "MAX_CHANNELS",
    "MAX_DAYS_OF_DEMAND",
    "MAX_DESCRIPTION",
    "MAX_DISPERSION",
    "MAX_DURATION_TEXT",
    "MAX_EMPIRICAL",
    "MAX_FILE_BYTES",
    "MAX_HORIZON_S",
    "MAX_LATENCY_MULTIPLE",
    "MAX_LATENCY_S",
    "MAX_MESSAGE_LINE",
    "MAX_MONEY",
    "MAX_NESTING",
    "MAX_ORDERS_PER_DAY",
    "MAX_PERIOD_S",
    "MAX_PROBLEMS",
    "MAX_PROFILE_VALUE",
    "MAX_SEED",
    "MAX_SHRINKAGE_PER_DAY",
    "MAX_SKUS",
    "MAX_TEXT",
    "MAX_UNITS",
    "MAX_UNITS_PER_ORDER",
    "MAX_WEIGHT",
    "MAX_ZIPF_EXPONENT",
    "MIN_BURST_MULTIPLIER",
    "MIN_DELAY_S",
    "MIN_EPSILON",
    "MIN_PERIOD_S",
    "Limit",
    "limits_table",
]

DAY_S = 86_400.0

# -- the file itself ------------------------------------------------------------------
MAX_FILE_BYTES = 1 << 20
"""1 MiB: the shipped scenarios are 1–3 KB; 1 MiB holds about 10,000 listed SKUs."""
MAX_NESTING = 32
"""Tables and lists inside each other: a scenario needs 5; tomllib recurses per level."""
MAX_PROBLEMS = 20
"""Problems reported for one file; the rest are counted ("… and 7 more problems")."""
MAX_MESSAGE_LINE = 400
"""Characters of one problem line: a message never echoes a huge value or key whole."""

# -- text -----------------------------------------------------------------------------
MAX_TEXT = 200
"""Characters of a name, SKU, channel, class label, SKU prefix or store URL."""
MAX_DESCRIPTION = 2_000
"""Characters of ``description``: a paragraph."""
MAX_DURATION_TEXT = 64
"""Characters of a duration string such as ``"1d2h30m"``."""

# -- time (seconds) -------------------------------------------------------------------
MIN_DELAY_S = 0.001
"""The smallest positive duration, 1 ms: finer than any webhook or listing update."""
MAX_HORIZON_S = 366 * DAY_S
"""366 days: the longest ``duration``; no other time (warm-up, bursts, handling, returns,
lead times, any delay) needs to be longer than the longest run."""
MAX_LATENCY_S = 7 * DAY_S
"""7 days: webhook and listing latency, retry backoff, debounce, snapshot lag. A webhook
later than a week is a lost one; marketplaces stop retrying within days."""
MIN_PERIOD_S = 1.0
"""1 s: the shortest sync interval, cycle-count period or restock period. Each tick is
an event per channel; no marketplace API accepts sub-second polling."""
MAX_PERIOD_S = MAX_HORIZON_S
"""A period longer than the run simply never fires."""

# -- demand and stock -----------------------------------------------------------------
MAX_ORDERS_PER_DAY = 10_000_000
"""Orders a day, per SKU or in total: about a whole large marketplace's daily orders."""
MAX_UNITS = 1_000_000_000
"""Units of stock, restock quantities, levels, buffers: 10⁹ is beyond any warehouse and
keeps every sum of units far inside 64-bit integers."""
MAX_UNITS_PER_ORDER = 1_000
"""Units in one order line: a pallet; bigger is a B2B shipment, not a marketplace sale."""
MAX_DAYS_OF_DEMAND = 366
"""Generated stock and restock sizes, in days of demand: a year."""
MAX_SKUS = 100_000
"""SKUs, listed or generated: each holds per-SKU state in every replication."""
MAX_CHANNELS = 32
"""Marketplaces: sellers list on a handful; each adds per-SKU listings and pushes."""
MAX_BURSTS = 100
"""Flash-sale bursts per channel."""
MIN_BURST_MULTIPLIER = 0.001
"""A burst's demand multiplier, lower end: demand all but stopped."""
MAX_BURST_MULTIPLIER = 100.0
"""Upper end: a hundred times normal demand. Buyers are drawn by thinning at the peak
rate, so the multiplier sizes the arrays drawn."""
MAX_PROFILE_VALUE = 1e6
"""An hourly profile value (any scale; profiles are rescaled to mean 1)."""
MAX_WEIGHT = 1e9
"""An empirical count weight (any scale; weights are rescaled to sum 1)."""
MAX_EMPIRICAL = 10_000
"""Entries of an empirical distribution: a measured histogram, not a data set."""
MAX_ZIPF_EXPONENT = 10.0
"""Beyond 10 the first SKU takes all demand and the rest underflow to zero."""
MAX_DISPERSION = 10.0
"""The variance of a ``gamma_poisson`` SKU's daily demand multiplier. At 10 (Gamma shape
0.1) two days in three see under a tenth of the mean, one in forty over ten times it, and
a year's demand falls on a few days; beyond, a fitted value says "no daily rate", not "a
noisy one"."""
MAX_SHRINKAGE_PER_DAY = 1_000.0
"""Units lost unrecorded per SKU per day: each loss is an event."""

# -- money ----------------------------------------------------------------------------
MAX_MONEY = 1e9
"""A price, a margin, a cost per oversold order or per hidden unit-day, in the scenario's
currency: 10⁹ covers a car priced in Indonesian rupiah, and a year of a large shop's
orders times it stays far inside a float's exact range."""

# -- the seller's systems -------------------------------------------------------------
MAX_ATTEMPTS = 100
"""Handler attempts per webhook copy: a retry delay is drawn for each possible attempt."""
MAX_CAS_RETRIES = 100
"""Retries of a refused compare-and-set push, per interval."""
MAX_LATENCY_MULTIPLE = 100.0
"""Buffer exposure windows in P99 sync latencies."""
MIN_EPSILON = 1e-9
"""The smallest tail probability of the Poisson-quantile buffer (below, float noise)."""
MAX_SEED = 2**64 - 1
"""A scenario's ``seed``: 64 bits."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One row of :data:`LIMITS`: which fields, their range, and why."""

    fields: str
    low: str
    high: str
    why: str


LIMITS: tuple[Limit, ...] = (
    Limit("file size", "–", "1 MiB", "shipped files are 1–3 KB; 1 MiB holds ~10,000 SKUs"),
    Limit("nesting of tables and lists", "–", "32",
          "a scenario needs 5; the TOML parser recurses per level"),
    Limit("names, SKUs, class labels, prefix, engine.store, costs.currency", "1 char",
          "200 chars",
          "identifiers, not documents"),
    Limit("description", "–", "2,000 chars", "a paragraph"),
    Limit("duration", "1 ms", "366d", "a year; longer runs are several scenarios"),
    Limit("warmup, bursts' start and length, metrics.stranded_after", "0 (length 1 ms)",
          "366d", "no time needs to exceed the longest run"),
    Limit("handling, return and lead times (any delay distribution)", "0 (1 ms if > 0)",
          "366d", "same"),
    Limit("webhook and listing latency, retry_backoff, debounce, snapshot_lag", "0",
          "7d", "a webhook a week late is lost; marketplaces stop retrying within days"),
    Limit("sync.interval, cycle_count_every, restock every and review", "1s", "366d",
          "each tick is an event per channel; no API allows sub-second polling"),
    Limit("orders_per_day, total_orders_per_day", "0", "10,000,000",
          "a whole large marketplace's daily orders"),
    Limit("stock, restock quantity/level/reorder point, buffer units, publish threshold",
          "0", "10⁹",
          "beyond any warehouse; sums stay far inside 64-bit integers"),
    Limit("publish cap", "1", "10⁹", "as stock: never list more than this"),
    Limit("units per order (fixed, empirical values, geometric mean)", "1", "1,000",
          "a pallet"),
    Limit("days of demand (initial stock, levels, restock sizes)", "0", "366", "a year"),
    Limit("SKUs (listed or catalog_generator.count)", "1", "100,000",
          "per-SKU state in every replication"),
    Limit("channels", "1", "32", "sellers list on a handful of marketplaces"),
    Limit("bursts per channel", "0", "100",
          "buyers are drawn at the product of every burst's multiplier"),
    Limit("burst multiplier", "0.001", "100",
          "buyers are drawn at the peak rate: the multiplier sizes the arrays"),
    Limit("profile values", "0", "10⁶", "any scale (rescaled to mean 1)"),
    Limit("empirical entries", "1", "10,000", "a histogram, not a data set"),
    Limit("empirical weights", "0", "10⁹", "any scale (rescaled to sum 1)"),
    Limit("zipf_exponent", "> 0", "10", "beyond, all demand is on the first SKU"),
    Limit("demand dispersion (gamma_poisson)", "> 0", "10",
          "a Gamma(0.1) day multiplier: a year's demand on a few days"),
    Limit("shrinkage_per_day", "0", "1,000", "each loss is an event"),
    Limit("probabilities, shares, rates of cancels/returns", "0", "1", "probabilities"),
    Limit("webhook.max_attempts", "1", "100", "a backoff is drawn per possible attempt"),
    Limit("sync.cas_max_retries", "0", "100", "retries per interval"),
    Limit("buffer percent, costs.margin_percent", "0", "100", "a percentage"),
    Limit("buffer latency_multiple", "0", "100", "exposure windows"),
    Limit("buffer epsilon", "10⁻⁹", "< 1", "below, float noise"),
    Limit("prices, margins, costs per oversell, penalties, holding per unit-day", "0", "10⁹",
          "any currency: a car in rupiah; sums stay exact in a float"),
    Limit("buffer share (allocation)", "> 0", "1", "the share of available stock listed"),
    Limit("seed", "0", "2⁶⁴ − 1", "64 bits"),
)
"""Every bound, in the order the README lists them."""


def limits_table() -> str:
    """:data:`LIMITS` as the Markdown table the README shows."""
    rows = ["| field | lowest | highest | why |", "|---|---|---|---|"]
    rows += [f"| {limit.fields} | {limit.low} | {limit.high} | {limit.why} |"
             for limit in LIMITS]
    return "\n".join(rows)
