"""Hour-of-day and day-of-week demand profiles per channel, each tested against flat.

A profile is kept only where the data support it: the counts per hour (per weekday) are
tested against a flat profile with Pearson's chi-square at 5 %, and a profile that is not
significant — or a channel with too few orders for the test (fewer than 5 expected per
cell) — is flat. A channel exported with dates only (``time_resolution == "day"``) has
no hours: its hour profile is the pooled profile of the channels that do have times, or
flat, and that is recorded as an assumption. Profiles are scaled to mean 1, the form the
scenario's ``profile`` field takes (24 hourly multipliers, hour ``h`` covering
``[h, h+1)`` UTC); weekdays run Monday to Sunday.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from racesim.fit.exposure import DAY_S, Window

__all__ = ["MIN_EXPECTED_PER_CELL", "PROFILE_ALPHA", "Profile", "channel_profiles",
           "pooled_profile"]

PROFILE_ALPHA = 0.05
"""A profile must differ from flat at this level to be kept."""

MIN_EXPECTED_PER_CELL = 5.0
"""The chi-square test needs this many expected orders per hour (weekday) at least."""

_MONDAY_DAY = pd.Timestamp("1970-01-05", tz="UTC").timestamp() / DAY_S


@dataclass(frozen=True, slots=True)
class Profile:
    """A channel's hour-of-day (24) and day-of-week (7, Monday first) multipliers, mean 1.

    ``hour_source``/``weekday_source`` say where each came from: ``fitted`` (significant
    against flat, p-value in ``hour_p``/``weekday_p``), ``flat`` (not significant or too
    few orders), or ``pooled from other channels`` (a dates-only channel's hours).
    ``hour_counts``/``weekday_counts`` are the orders observed per cell (hours of timed
    orders only), for showing observed against fitted.
    """

    channel: str
    hour: tuple[float, ...]
    weekday: tuple[float, ...]
    hour_source: str
    weekday_source: str
    hour_p: float
    weekday_p: float
    n: int
    hour_counts: tuple[int, ...] = ()
    weekday_counts: tuple[int, ...] = ()


def _flat_test(counts: np.ndarray, expected_share: np.ndarray) -> tuple[np.ndarray, float, str]:
    """(profile mean 1, p-value, source) of counts against shares ∝ ``expected_share``."""
    flat = np.ones(len(counts))
    total = counts.sum()
    expected = total * expected_share / expected_share.sum()
    if total == 0 or expected.min() < MIN_EXPECTED_PER_CELL:
        return flat, float("nan"), "flat"
    p = float(stats.chisquare(counts, expected).pvalue)
    if p >= PROFILE_ALPHA:
        return flat, p, "flat"
    ratio = counts / expected
    return ratio / ratio.mean(), p, "fitted"


def weekday_days(window: Window) -> np.ndarray:
    """Days of each weekday (Monday first) the window covers, partial ends counted."""
    first = window.first_day / DAY_S
    weekday = ((first - _MONDAY_DAY) + np.arange(window.day_count)).astype(np.int64) % 7
    return np.bincount(weekday, weights=window.day_fraction(), minlength=7)


def _profile(channel: str, placed_s: np.ndarray, timed: np.ndarray, window: Window,
             pooled_hour: tuple[np.ndarray, float] | None) -> Profile:
    days = np.floor(placed_s / DAY_S)
    weekday_counts = np.bincount(((days - _MONDAY_DAY) % 7).astype(np.int64), minlength=7)
    weekday, weekday_p, weekday_source = _flat_test(weekday_counts.astype(float),
                                                    weekday_days(window))
    hours = ((placed_s[timed] - days[timed] * DAY_S) // 3600).astype(np.int64)
    hour_counts = np.bincount(hours, minlength=24).astype(float)
    if timed.any():
        hour, hour_p, hour_source = _flat_test(hour_counts, np.ones(24))
    elif pooled_hour is not None:
        hour, hour_p, hour_source = pooled_hour[0], pooled_hour[1], "pooled from other channels"
    else:
        hour, hour_p, hour_source = np.ones(24), float("nan"), "flat"
    return Profile(channel, tuple(np.round(hour, 4).tolist()),
                   tuple(np.round(weekday, 4).tolist()), hour_source, weekday_source,
                   hour_p, weekday_p, len(placed_s), tuple(int(c) for c in hour_counts),
                   tuple(int(c) for c in weekday_counts))


def pooled_profile(placed_s: np.ndarray, timed: np.ndarray, window: Window) -> Profile:
    """The profile of all orders together (channels pooled): the shape of SKU demand."""
    return _profile("*", placed_s, timed, window, None)


def channel_profiles(orders: pd.DataFrame, window: Window
                     ) -> tuple[dict[str, Profile], list[str]]:
    """Each channel's profile, and the assumptions made (dates-only channels' hours).

    ``orders`` needs ``channel``, ``placed_s`` (epoch seconds) and ``timed`` (False for a
    dates-only line). A channel mixing timed and dates-only lines uses its timed ones.
    """
    pooled = pooled_profile(orders["placed_s"].to_numpy(), orders["timed"].to_numpy(), window)
    pooled_hour = (np.asarray(pooled.hour), pooled.hour_p)
    profiles: dict[str, Profile] = {}
    assumptions: list[str] = []
    for channel, group in orders.groupby("channel", sort=True):
        profile = _profile(str(channel), group["placed_s"].to_numpy(),
                           group["timed"].to_numpy(), window,
                           pooled_hour if pooled.hour_source == "fitted" else None)
        if not group["timed"].any():
            how = ("the pooled hour profile of the channels with times"
                   if profile.hour_source != "flat" else "a flat hour profile")
            assumptions.append(f"channel {channel}: its export gives dates without times, so "
                               f"its hour-of-day profile is assumed to be {how}")
        profiles[str(channel)] = profile
    return profiles, assumptions
