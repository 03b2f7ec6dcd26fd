"""Webhook latency and duplicate deliveries per channel, from a receipt log.

Receipts are joined to the orders on ``order_id``. The first copy's delay —
``received_at − placed_at`` — is the webhook latency: its empirical quantiles and a
lognormal fit (maximum likelihood on log-delays; p50 = e^μ, p99 = e^(μ + 2.326σ), with
normal-theory intervals). A negative delay, or one beyond :data:`MAX_DELAY_S`, is an
input error naming the receipt log's line and column (``malformed="skip"`` leaves such
receipts out and counts them). The copies per order give the scenario's duplicate
probabilities: ``p2`` the share of orders delivered exactly twice, ``p3`` three or more
times (Wilson intervals). Orders of dates-only channels have no time to measure from
and are left out; receipts naming no known order are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from racesim.fit.checks import ExportError, located
from racesim.fit.estimate import Estimate
from racesim.fit.exposure import epoch_seconds
from racesim.util.stats import wilson_interval

__all__ = ["MAX_DELAY_S", "Latency", "fit_latency"]

MAX_DELAY_S = 7 * 86400.0
"""A first copy later than a week after the order is an input error, not a latency."""

_Z99 = NormalDist().inv_cdf(0.99)


@dataclass(frozen=True, slots=True)
class Latency:
    """One channel's webhook latency (seconds) and duplicates.

    ``quantiles`` maps 0.5/0.9/0.99 to the empirical first-copy delays; ``mu``/``sigma``
    the lognormal's parameters (of log-seconds); ``zero_delays`` the first copies with
    no measurable delay (left out of the lognormal fit).
    """

    channel: str
    n: int
    quantiles: dict[float, float]
    mu: float
    sigma: float
    p50: Estimate
    p99: Estimate
    p2: Estimate
    p3: Estimate
    zero_delays: int


def _first_copies(orders: pd.DataFrame, receipts: pd.DataFrame, path: str, malformed: str
                  ) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per order heard of: channel, copies, the first copy's delay in seconds."""
    placed = orders.groupby("order_id", sort=False).agg(
        placed_s=("placed_s", "min"), channel=("channel", "first"), timed=("timed", "all"))
    joined = receipts[["order_id", "received_at", "source_line"]].join(
        placed, on="order_id", how="inner")  # the order's channel wins over the log's
    skipped = {"receipt naming no order in the order files":
               int(len(receipts) - len(joined))}
    skipped["receipt of a dates-only order (no time to measure from)"] = int(
        (~joined["timed"]).sum())
    joined = joined[joined["timed"]]
    delay = epoch_seconds(joined["received_at"]) - joined["placed_s"].to_numpy()
    bad = (delay < 0) | (delay > MAX_DELAY_S)
    if bad.any() and malformed == "error":
        i = int(np.argmax(bad))
        what = "before the order was placed" if delay[i] < 0 else "more than 7 days after"
        raise ExportError(located(path, int(joined["source_line"].iloc[i]),
                                  f"received {what} (order {joined['order_id'].iloc[i]}, "
                                  f"delay {delay[i]:.0f} s)", "received_at"))
    if bad.any():
        skipped["receipt with a negative or absurd delay"] = int(bad.sum())
    good = joined.assign(delay=delay)[~bad]
    per_order = good.groupby("order_id", sort=True).agg(
        channel=("channel", "first"), copies=("delay", "size"), delay=("delay", "min"))
    return per_order, {k: v for k, v in skipped.items() if v}


def _wilson(successes: int, trials: int, source: str) -> Estimate:
    low, high = wilson_interval(successes, trials)
    return Estimate(successes / trials if trials else 0.0, low, high, trials, source,
                    "wilson")


def _channel(channel: str, group: pd.DataFrame, source: str) -> Latency:
    delay = group["delay"].to_numpy(dtype=float)
    logs = np.log(delay[delay > 0])
    n = len(logs)
    if n < 2:  # nothing to fit a lognormal to: NaN, visible as such
        mu = sigma = float("nan")
    else:
        mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
    se50 = sigma / np.sqrt(max(n, 1))
    se99 = np.sqrt(sigma**2 / max(n, 1) + _Z99**2 * sigma**2 / (2 * max(n - 1, 1)))
    p50 = Estimate(float(np.exp(mu)), float(np.exp(mu - 1.96 * se50)),
                   float(np.exp(mu + 1.96 * se50)), n, source, "lognormal ML")
    top = mu + _Z99 * sigma
    p99 = Estimate(float(np.exp(top)), float(np.exp(top - 1.96 * se99)),
                   float(np.exp(top + 1.96 * se99)), n, source, "lognormal ML")
    copies = group["copies"].to_numpy()
    quantiles = {q: float(np.quantile(delay, q)) for q in (0.5, 0.9, 0.99)}
    return Latency(channel, len(delay), quantiles, mu, sigma, p50, p99,
                   _wilson(int((copies == 2).sum()), len(copies), source + " (copies)"),
                   _wilson(int((copies >= 3).sum()), len(copies), source + " (copies)"),
                   int((delay <= 0).sum()))


def fit_latency(orders: pd.DataFrame, receipts: pd.DataFrame, *, path: str = "receipts",
                malformed: str = "error") -> tuple[dict[str, Latency], dict[str, int]]:
    """Each channel's latency and duplicates, and receipts left out by reason.

    ``orders`` needs ``order_id``, ``channel``, ``placed_s`` and ``timed``; ``receipts``
    is :func:`~racesim.fit.receipts.read_receipts`' table, read from ``path``.
    """
    per_order, skipped = _first_copies(orders, receipts, path, malformed)
    source = f"{path}: received_at − the order's placed time, joined on order_id"
    return ({str(channel): _channel(str(channel), group, source)
             for channel, group in per_order.groupby("channel", sort=True)}, skipped)
