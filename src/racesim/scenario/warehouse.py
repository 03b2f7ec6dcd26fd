"""The warehouse: handling, returns, shrinkage and cycle counts.

::

    [warehouse]
    handling_time = { dist = "lognormal", median = "4h", p99 = "1d" }
    return_rate = 0.08
    return_delay = { dist = "uniform", low = "3d", high = "10d" }
    return_recording = "on_confirm"
    return_confirm_delay = { dist = "fixed", value = "1d" }
    return_webhook_delay = { dist = "fixed", value = "10m" }
    shrinkage_per_day = 0.01
    cycle_count_every = "7d"
"""

from __future__ import annotations

from typing import Annotated, Literal

from racesim.scenario.distributions import DurationDistribution, FixedDuration
from racesim.scenario.fields import NonNegative, Period, Probability, Record, at_most
from racesim.scenario.limits import MAX_SHRINKAGE_PER_DAY

__all__ = ["Warehouse"]


class Warehouse(Record):
    """How orders are shipped and how returns come back into stock."""

    handling_time: DurationDistribution = FixedDuration(value=4 * 3600.0)
    """From reservation to shipment (seconds)."""
    return_rate: Probability = 0.0
    """Fraction of shipped orders that come back."""
    return_delay: DurationDistribution = FixedDuration(value=7 * 86400.0)
    """From shipment to the return being announced or arriving (seconds)."""
    return_recording: Literal["early", "on_confirm"] = "on_confirm"
    """``early``: restock when the return is announced; ``on_confirm``: once confirmed."""
    return_confirm_delay: DurationDistribution = FixedDuration(value=86400.0)
    """From announcement/arrival to the warehouse confirming the return (seconds)."""
    return_webhook_delay: DurationDistribution = FixedDuration(value=600.0)
    """From the confirmation to the return webhook reaching the ledger (seconds)."""
    shrinkage_per_day: Annotated[NonNegative, at_most(MAX_SHRINKAGE_PER_DAY)] = 0.0
    """Units lost per day per SKU (theft, damage), not recorded until a cycle count."""
    cycle_count_every: Period | None = None
    """Period of cycle counts that post an ADJUST with a reason; none if omitted."""
