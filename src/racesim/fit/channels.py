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


def _present(codes: np.ndarray) -> np.ndarray:
    """The distinct non-negative codes (of a factorization) among ``codes``, sorted."""
    return np.flatnonzero(np.bincount(codes[codes >= 0]))


def channel_rates(sku_orders: pd.DataFrame, *, returns_known: bool
                  ) -> dict[str, ChannelRates]:
    """Each channel's rates from the SKU-orders table (one row per order and SKU, with
    ``channel``, ``order_id``, ``cancelled``, ``cancel_delay_s``, ``quantity``,
    ``returned_quantity``, ``return_delay_s``, ``source_file``)."""
    total = len(sku_orders)
    out: dict[str, ChannelRates] = {}
    codes, channels = pd.factorize(sku_orders["channel"], sort=True)
    order = pd.factorize(sku_orders["order_id"])[0]
    cancelled = sku_orders["cancelled"].to_numpy(dtype=bool)
    source, files = pd.factorize(sku_orders["source_file"])
    quantity = sku_orders["quantity"].to_numpy()
    returned_quantity = sku_orders["returned_quantity"].to_numpy()
    cancel_delay_s = sku_orders["cancel_delay_s"].to_numpy(dtype=float)
    return_delay_s = sku_orders["return_delay_s"].to_numpy(dtype=float)
    for i, channel in enumerate(channels):
        rows = codes == i
        sources = ", ".join(sorted(str(files[k]) for k in _present(source[rows])))
        orders = len(_present(order[rows]))  # an order is cancelled if any line is
        share = _proportion(int(rows.sum()), total, f"{sources}: channel, order lines")
        cancel = _proportion(len(_present(order[rows & cancelled])), orders,
                             f"{sources}: status")
        cancel_delay = _delay(cancel_delay_s[rows], f"{sources}: cancelled_at − placed_at")
        units = int(quantity[rows].sum())
        if returns_known:
            returned = int(returned_quantity[rows].sum())
            back = _proportion(min(returned, units), units, f"{sources}: returned units")
        else:
            back = Estimate(0.0, 0.0, 0.0, 0, "none: no returns in the data", "assumed")
        return_delay = _delay(return_delay_s[rows], f"{sources}: returned_at − placed_at")
        out[str(channel)] = ChannelRates(str(channel), share, cancel, cancel_delay, back,
                                         return_delay)
    return out
