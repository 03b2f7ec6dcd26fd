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
from scipy import special

from racesim.fit.exposure import DAY_S, Window
from racesim.fit.sku_orders import Coded, coded

__all__ = ["MIN_EXPECTED_PER_CELL", "PROFILE_ALPHA", "Profile", "channel_profiles",
           "pooled_profile", "profiles"]

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
    # Pearson's chi-square test as scipy.stats.chisquare computes it, without the cost
    # of its argument handling (most of a call's time for 7 or 24 cells)
    p = float(special.chdtrc(len(counts) - 1, ((counts - expected) ** 2 / expected).sum()))
    if p >= PROFILE_ALPHA:
        return flat, p, "flat"
    ratio = counts / expected
    return ratio / ratio.mean(), p, "fitted"


def weekday_days(window: Window) -> np.ndarray:
    """Days of each weekday (Monday first) the window covers, partial ends counted."""
    first = window.first_day / DAY_S
    weekday = ((first - _MONDAY_DAY) + np.arange(window.day_count)).astype(np.int64) % 7
    return np.bincount(weekday, weights=window.day_fraction(), minlength=7)


def _cells(placed_s: np.ndarray, timed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each order's weekday (Monday 0) and, for a timed one, its hour (-1 if untimed)."""
    whole = placed_s.astype(np.int64)
    if np.array_equal(whole, placed_s):  # whole seconds: the same numbers in integers
        days = whole // int(DAY_S)
        hour = np.where(timed, (whole - days * int(DAY_S)) // 3600, -1)
        return (days - int(_MONDAY_DAY)) % 7, hour
    floored = np.floor(placed_s / DAY_S)
    hour = np.full(len(placed_s), -1, dtype=np.int64)
    hour[timed] = ((placed_s[timed] - floored[timed] * DAY_S) // 3600).astype(np.int64)
    return (floored.astype(np.int64) - int(_MONDAY_DAY)) % 7, hour


def _profile(channel: str, weekday_counts: np.ndarray, hour_counts: np.ndarray,
             timed: bool, window: Window, pooled_hour: tuple[np.ndarray, float] | None
             ) -> Profile:
    """A profile from its orders per weekday and per hour (``timed``: any order has a
    time of day)."""
    weekday, weekday_p, weekday_source = _flat_test(weekday_counts.astype(float),
                                                    weekday_days(window))
    hour_counts = hour_counts.astype(float)
    if timed:
        hour, hour_p, hour_source = _flat_test(hour_counts, np.ones(24))
    elif pooled_hour is not None:
        hour, hour_p, hour_source = pooled_hour[0], pooled_hour[1], "pooled from other channels"
    else:
        hour, hour_p, hour_source = np.ones(24), float("nan"), "flat"
    return Profile(channel, tuple(np.round(hour, 4).tolist()),
                   tuple(np.round(weekday, 4).tolist()), hour_source, weekday_source,
                   hour_p, weekday_p, int(weekday_counts.sum()),
                   tuple(int(c) for c in hour_counts), tuple(int(c) for c in weekday_counts))


def pooled_profile(placed_s: np.ndarray, timed: np.ndarray, window: Window) -> Profile:
    """The profile of all orders together (channels pooled): the shape of SKU demand."""
    return _pooled(*_cells(placed_s, timed), timed, window)


def _pooled(weekday: np.ndarray, hour: np.ndarray, timed: np.ndarray, window: Window
            ) -> Profile:
    return _profile("*", np.bincount(weekday, minlength=7),
                    np.bincount(hour[timed], minlength=24), bool(timed.any()), window, None)


def profiles(orders: pd.DataFrame, window: Window, channels: Coded | None = None
             ) -> tuple[Profile, dict[str, Profile], list[str]]:
    """(:func:`pooled_profile`, and :func:`channel_profiles`' profiles and assumptions)
    of the orders, each order's weekday and hour found once; ``channels`` is the
    ``channel`` column coded, when already at hand."""
    placed_s, timed = orders["placed_s"].to_numpy(), orders["timed"].to_numpy(dtype=bool)
    weekday, hour = _cells(placed_s, timed)
    pooled = _pooled(weekday, hour, timed, window)
    if channels is None:
        channels = coded(orders["channel"])
    pooled_hour = (np.asarray(pooled.hour), pooled.hour_p)
    count = len(channels.names)
    code = channels.codes
    weekdays = np.bincount(code * 7 + weekday, minlength=7 * count).reshape(count, 7)
    hours = np.bincount(code[timed] * 24 + hour[timed], minlength=24 * count).reshape(count, 24)
    any_timed = np.bincount(code[timed], minlength=count) > 0
    found: dict[str, Profile] = {}
    assumptions: list[str] = []
    for i, channel in enumerate(channels.names):
        profile = _profile(channel, weekdays[i], hours[i], bool(any_timed[i]), window,
                           pooled_hour if pooled.hour_source == "fitted" else None)
        if not any_timed[i]:
            how = ("the pooled hour profile of the channels with times"
                   if profile.hour_source != "flat" else "a flat hour profile")
            assumptions.append(f"channel {channel}: its export gives dates without times, so "
                               f"its hour-of-day profile is assumed to be {how}")
        found[channel] = profile
    return pooled, found, assumptions


def channel_profiles(orders: pd.DataFrame, window: Window
                     ) -> tuple[dict[str, Profile], list[str]]:
    """Each channel's profile, and the assumptions made (dates-only channels' hours).

    ``orders`` needs ``channel``, ``placed_s`` (epoch seconds) and ``timed`` (False for a
    dates-only line). A channel mixing timed and dates-only lines uses its timed ones.
    """
    _, found, assumptions = profiles(orders, window)
    return found, assumptions
