"""Per channel: its share of demand, its cancel rate and delay, its return rate and delay.

Shares are of SKU-orders (an order of two SKUs is an order of each, as the scenario's
demand is per SKU), with Wilson intervals. A cancelled line still counts as placed (it
reserved stock); the cancel rate is the share of orders with a cancelled line, and the
delay ``cancelled_at − placed_at`` is summarised where the export gives the time.
Returns come from the export's own return columns or a returns file; where neither has
any, the return rate is an assumption (0), and the fit says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from racesim.fit.estimate import Estimate
from racesim.fit.sku_orders import Coded, coded
from racesim.util.stats import wilson_interval

__all__ = ["ChannelRates", "Delay", "channel_rates"]


@dataclass(frozen=True, slots=True)
class Delay:
    """An empirical delay in seconds: its quantiles (0.5, 0.9) and sample size."""

    n: int
    p50: float
    p90: float
    source: str


@dataclass(frozen=True, slots=True)
class ChannelRates:
    """One channel's share, cancel rate and delay, return rate and delay.

    A delay is None where the data hold no time for it; ``return_rate.method`` is
    ``assumed`` when the data have no returns at all.
    """

    channel: str
    share: Estimate
    cancel_rate: Estimate
    cancel_delay: Delay | None
    return_rate: Estimate
    return_delay: Delay | None


def _proportion(successes: int, trials: int, source: str) -> Estimate:
    low, high = wilson_interval(successes, trials)
    return Estimate(successes / trials if trials else 0.0, low, high, trials, source, "wilson")


def _delay(seconds: np.ndarray, source: str) -> Delay | None:
    seconds = seconds[np.isfinite(seconds)]
    if len(seconds) == 0:
        return None
    return Delay(len(seconds), float(np.quantile(seconds, 0.5)),
                 float(np.quantile(seconds, 0.9)), source)


def _distinct_per_channel(channel: np.ndarray, order: np.ndarray, channels: int
                          ) -> np.ndarray:
    """How many distinct orders each channel's rows hold (``order`` codes ≥ 0). Rows
    sorted by order (as the SKU-orders are) with a few rows per order: a row counts when
    no earlier row of its order has its channel, found by looking a few rows back."""
    if len(order) == 0:
        return np.zeros(channels, dtype=np.int64)
    sizes = np.bincount(order)
    if (order[1:] >= order[:-1]).all() and int(sizes.max()) <= 8:
        new = np.ones(len(order), dtype=bool)
        for lag in range(1, int(sizes.max())):
            new[lag:] &= (order[lag:] != order[:-lag]) | (channel[lag:] != channel[:-lag])
        return np.bincount(channel[new], minlength=channels)
    key = order.astype(np.int64) * channels + channel
    seen = (np.flatnonzero(np.bincount(key)) if len(sizes) * channels <= 50_000_000
            else np.unique(key))
    return np.bincount(seen % channels, minlength=channels)


def channel_rates(sku_orders: pd.DataFrame, *, returns_known: bool,
                  codes: tuple[Coded, Coded, Coded] | None = None
                  ) -> dict[str, ChannelRates]:
    """Each channel's rates from the SKU-orders table (one row per order and SKU, with
    ``channel``, ``order_id``, ``cancelled``, ``cancel_delay_s``, ``quantity``,
    ``returned_quantity``, ``return_delay_s``, ``source_file``); ``codes`` are its
    channel, order and source columns coded, when already at hand."""
    total = len(sku_orders)
    channel, order, source = codes or (coded(sku_orders["channel"]),
                                       coded(sku_orders["order_id"], named=False),
                                       coded(sku_orders["source_file"].astype(str)))
    count, files = len(channel.names), len(source.names)
    ch = channel.codes
    cancelled = sku_orders["cancelled"].to_numpy(dtype=bool)
    sources = np.bincount(ch * files + source.codes, minlength=count * files) > 0
    rows = np.bincount(ch, minlength=count)
    orders = _distinct_per_channel(ch, order.codes, count)  # cancelled if any line is
    cancels = _distinct_per_channel(ch[cancelled], order.codes[cancelled], count)
    units = np.bincount(ch, weights=sku_orders["quantity"].to_numpy(), minlength=count)
    returned = np.bincount(ch, weights=sku_orders["returned_quantity"].to_numpy(),
                           minlength=count)
    delays = {}
    for name in ("cancel_delay_s", "return_delay_s"):
        seconds = sku_orders[name].to_numpy(dtype=float)
        timed = np.flatnonzero(np.isfinite(seconds))
        delays[name] = (ch[timed], seconds[timed])
    out: dict[str, ChannelRates] = {}
    for i, name in enumerate(channel.names):
        listed = ", ".join(sorted(source.names[k] for k in
                                  np.flatnonzero(sources.reshape(count, files)[i])))
        share = _proportion(int(rows[i]), total, f"{listed}: channel, order lines")
        cancel = _proportion(int(cancels[i]), int(orders[i]), f"{listed}: status")
        which, seconds = delays["cancel_delay_s"]
        cancel_delay = _delay(seconds[which == i], f"{listed}: cancelled_at − placed_at")
        if returns_known:
            back = _proportion(min(int(returned[i]), int(units[i])), int(units[i]),
                               f"{listed}: returned units")
        else:
            back = Estimate(0.0, 0.0, 0.0, 0, "none: no returns in the data", "assumed")
        which, seconds = delays["return_delay_s"]
        return_delay = _delay(seconds[which == i], f"{listed}: returned_at − placed_at")
        out[name] = ChannelRates(name, share, cancel, cancel_delay, back, return_delay)
    return out
