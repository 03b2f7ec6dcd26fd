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


def channel_rates(sku_orders: pd.DataFrame, *, returns_known: bool
                  ) -> dict[str, ChannelRates]:
    """Each channel's rates from the SKU-orders table (one row per order and SKU, with
    ``channel``, ``order_id``, ``cancelled``, ``cancel_delay_s``, ``quantity``,
    ``returned_quantity``, ``return_delay_s``, ``source_file``)."""
    total = len(sku_orders)
    out: dict[str, ChannelRates] = {}
    for channel, group in sku_orders.groupby("channel", sort=True):
        sources = ", ".join(sorted(group["source_file"].unique()))
        orders = group.groupby("order_id", sort=False)["cancelled"].any()
        share = _proportion(len(group), total, f"{sources}: channel, order lines")
        cancel = _proportion(int(orders.sum()), len(orders), f"{sources}: status")
        cancel_delay = _delay(group["cancel_delay_s"].to_numpy(dtype=float),
                              f"{sources}: cancelled_at − placed_at")
        units = int(group["quantity"].sum())
        if returns_known:
            returned = int(group["returned_quantity"].sum())
            back = _proportion(min(returned, units), units, f"{sources}: returned units")
        else:
            back = Estimate(0.0, 0.0, 0.0, 0, "none: no returns in the data", "assumed")
        return_delay = _delay(group["return_delay_s"].to_numpy(dtype=float),
                              f"{sources}: returned_at − placed_at")
        out[str(channel)] = ChannelRates(str(channel), share, cancel, cancel_delay, back,
                                         return_delay)
    return out
