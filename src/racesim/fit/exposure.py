"""Time as demand sees it: the observation window, day bins, and profile-weighted time.

A rate is orders per unit of time at risk. The window runs from the first order to the
last (or is given); a channel exported with dates only stretches it to whole days. Gaps
between orders are judged in *demand time* (:class:`DemandClock`): calendar time
weighted by the fitted hour-of-day × day-of-week profile (mean 1 over a week), so a quiet
night is not mistaken for a stock-out and one demand-day is one average day of orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DAY_S", "DemandClock", "Window", "check_window", "epoch_seconds",
           "observation_window"]

DAY_S = 86400.0
_MONDAY = pd.Timestamp("1970-01-05", tz="UTC").timestamp()  # a Monday, 00:00 UTC
_WEEK_H = 168


@dataclass(frozen=True, slots=True)
class Window:
    """The observation window in epoch seconds (UTC), and how it was chosen."""

    start: float
    end: float
    source: str

    @property
    def days(self) -> float:
        """Its length in days."""
        return (self.end - self.start) / DAY_S

    @property
    def first_day(self) -> float:
        """Midnight UTC of the window's first day, the origin of the day bins."""
        return float(np.floor(self.start / DAY_S) * DAY_S)

    @property
    def day_count(self) -> int:
        """How many calendar days (UTC) the window touches."""
        return max(1, int(np.ceil((self.end - self.first_day) / DAY_S - 1e-9)))

    def day_fraction(self) -> np.ndarray:
        """The share of each day bin inside the window (1 but for the partial ends)."""
        edges = self.first_day + DAY_S * np.arange(self.day_count + 1)
        inside = np.minimum(edges[1:], self.end) - np.maximum(edges[:-1], self.start)
        return np.clip(inside / DAY_S, 0.0, 1.0)


def check_window(given: tuple[pd.Timestamp, pd.Timestamp]
                 ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A given window as two zone-aware times, start before end (else ValueError)."""
    try:
        start, end = (pd.Timestamp(t) for t in given)
    except (TypeError, ValueError) as error:
        raise ValueError(f"window: need (start, end) times (got {given!r})") from error
    if start.tzinfo is None or end.tzinfo is None or not end > start:
        raise ValueError(f"window: need two zone-aware times, start < end (got {given!r})")
    return start, end


def observation_window(placed_s: np.ndarray, day_only: bool,
                       given: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> Window:
    """The window: ``given`` as (start, end), else first to last order — stretched to
    whole days when some orders carry dates only (their times read as midnight)."""
    if given is not None:
        start, end = check_window(given)
        return Window(start.timestamp(), end.timestamp(), "given")
    first, last = float(placed_s.min()), float(placed_s.max())
    if day_only:
        return Window(np.floor(first / DAY_S) * DAY_S, (np.floor(last / DAY_S) + 1) * DAY_S,
                      "whole days from the first order's to the last's (dates-only export)")
    if last <= first:
        last = first + DAY_S
    return Window(first, last, "first to last order")


_NS_PER_TICK = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def epoch_seconds(times: pd.Series) -> np.ndarray:
    """Zone-aware times as epoch seconds (float; NaN for NaT): the stored integer ticks
    in nanoseconds over 10⁹, as ``(times - epoch) / 1 s`` computes them, without
    building the timedeltas."""
    dtype = times.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit in _NS_PER_TICK:
        ticks = np.asarray(times.array.asi8)
        seconds = (ticks * _NS_PER_TICK[dtype.unit]).astype(float) / 1e9
        seconds[ticks == np.iinfo(np.int64).min] = np.nan  # NaT
        return seconds
    return np.asarray((times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1),
                      dtype=float)


class DemandClock:
    """Calendar seconds → demand-days under an hour-of-week weight (mean 1 per week)."""

    def __init__(self, hour: np.ndarray, weekday: np.ndarray) -> None:
        weights = np.outer(np.asarray(weekday, float), np.asarray(hour, float)).ravel()
        self.weights = weights / weights.mean()
        self._cumulative = np.concatenate([[0.0], np.cumsum(self.weights)]) / 24.0

    def __call__(self, seconds: np.ndarray | float) -> np.ndarray:
        """Demand-days elapsed since the reference Monday at ``seconds`` (epoch, UTC)."""
        hours = (np.asarray(seconds, dtype=float) - _MONDAY) / 3600.0
        weeks, within = np.divmod(hours, _WEEK_H)
        slot = np.minimum(within.astype(np.int64), _WEEK_H - 1)
        partial = (within - slot) * self.weights[slot] / 24.0
        return np.asarray(weeks * 7.0 + self._cumulative[slot] + partial)

    def day_weights(self, window: Window) -> np.ndarray:
        """Each day bin's demand-days inside the window (its expected share of a week)."""
        edges = window.first_day + DAY_S * np.arange(window.day_count + 1)
        clipped = np.clip(edges, window.start, window.end)
        return np.diff(self(clipped))
