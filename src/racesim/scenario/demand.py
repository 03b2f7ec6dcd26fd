"""How a SKU's daily demand varies around its rate: Poisson, or over-dispersed.

A catalog entry (or ``catalog_generator``, for every SKU or per velocity class) may say::

    demand = { kind = "poisson" }                          # the default
    demand = { kind = "gamma_poisson", dispersion = 0.3 }

``gamma_poisson`` gives every SKU one demand multiplier per simulated day, G ~ Gamma(shape
= 1/dispersion, scale = dispersion): mean 1, variance ``dispersion``. The multiplier
scales that SKU's buyers on *every* channel for the day (a promotion, a viral post or a
B2B bulk order raises demand everywhere at once — which is what feeds races), on top of
each channel's hourly profile and bursts. A day's count of orders of mean μ is then
negative binomial with variance μ + dispersion·μ²: the "NB2" parametrisation of the
count-data literature (Cameron & Trivedi, *Regression Analysis of Count Data*, 2013,
ch. 3), whose "size" (R's ``size``, scipy's ``n``) is 1/dispersion. ``dispersion`` → 0
gives back Poisson; at 1 the multiplier is exponential: one day in seven has more than
twice the SKU's mean rate, and more than one in five under a quarter of it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from racesim.scenario.fields import PositiveReal, Record, at_most
from racesim.scenario.limits import MAX_DISPERSION

__all__ = ["DemandConfig", "Dispersion", "GammaPoissonDemandConfig", "PoissonDemandConfig",
           "VelocityClass"]

Dispersion = Annotated[PositiveReal, at_most(MAX_DISPERSION)]
"""The variance of the daily multiplier, in (0, 10] (see :data:`MAX_DISPERSION`)."""

VelocityClass = Literal["A", "B", "C"]
"""The classes ``catalog_generator`` labels its SKUs with."""


class PoissonDemandConfig(Record):
    """Orders arrive as a Poisson process at the SKU's rate: a day's variance is its mean."""

    kind: Literal["poisson"] = "poisson"

    @property
    def dispersion(self) -> float:
        """0: no day-to-day variation beyond Poisson's own."""
        return 0.0

    def daily_variance(self, mean: float) -> float:
        """Variance of a day's order count of mean ``mean``: ``mean``."""
        return mean


class GammaPoissonDemandConfig(Record):
    """A Gamma(1/dispersion, dispersion) multiplier per SKU per day: negative binomial days.

    A day's order count of mean μ has variance μ + dispersion·μ² (NB2, size 1/dispersion).
    """

    kind: Literal["gamma_poisson"] = "gamma_poisson"
    dispersion: Dispersion

    def daily_variance(self, mean: float) -> float:
        """Variance of a day's order count of mean ``mean``: μ + dispersion·μ²."""
        return mean + self.dispersion * mean * mean


DemandConfig = Annotated[PoissonDemandConfig | GammaPoissonDemandConfig,
                         Field(discriminator="kind")]
"""How a SKU's demand varies from day to day, chosen by its ``kind`` key."""
