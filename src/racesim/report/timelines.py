"""Annotated timelines of the three races, found in a run's own records.

Each ``find_*`` function looks through one replication's tables (orders, deliveries,
pushes, listings) for an episode of its race and returns it as plain data, or None
when the run holds none; each ``draw_*`` function turns an episode into a matplotlib
Figure with one lane per actor (buyers, the ledger, each listing), times in minutes
from the start of the episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from racesim.sim.results import SimulationResult

__all__ = ["Race1", "Race2", "Race3", "draw_race1", "draw_race2", "draw_race3",
           "find_race1", "find_race2", "find_race3"]


@dataclass(frozen=True)
class Race1:
    """The last unit sold twice: the winner's and the loser's sale, webhooks and the push."""

    sku: str
    winner: pd.Series  # the order that got the unit
    loser: pd.Series  # the order whose reservation was refused (the oversell)
    deliveries: pd.DataFrame  # every webhook copy of both orders
    listings: pd.DataFrame  # listing changes of the SKU on both channels in the window


@dataclass(frozen=True)
class Race2:
    """A return back on the shelf before the ledger knew, while buyers found 0."""

    sku: str
    order: pd.Series  # the returned order
    lost: pd.DataFrame  # buyers turned away while the unit waited
    listings: pd.DataFrame


@dataclass(frozen=True)
class Race3:
    """A stale snapshot: pulled, orders in between, pushed above the true count."""

    sku: str
    push: pd.Series  # the overstated push (pulled at computed_at, sent at sent_at)
    orders: pd.DataFrame  # the SKU's orders placed between pull and push
    listings: pd.DataFrame


def find_race1(result: SimulationResult) -> Race1 | None:
    """The first oversell whose unit went to an order from another marketplace."""
    orders = result.orders
    if orders.empty:
        return None
    for _, loser in orders[orders["oversold_at"].notna()].iterrows():
        rivals = orders[(orders["sku"] == loser["sku"]) & (orders["channel"] != loser["channel"])
                        & orders["reserved_at"].notna()
                        & (orders["reserved_at"] <= loser["oversold_at"])
                        & (orders["placed_at"] <= loser["placed_at"] + 1e-9)]
        if rivals.empty:
            continue
        winner = rivals.sort_values("reserved_at").iloc[-1]
        start = min(winner["placed_at"], loser["placed_at"]) - 60
        end = max(loser["oversold_at"], winner["reserved_at"]) + 600
        ids = {winner["order_id"], loser["order_id"]}
        deliveries = result.deliveries[result.deliveries["order_id"].isin(ids)]
        listings = result.listings[(result.listings["sku"] == loser["sku"])
                                   & result.listings["at"].between(start, end)]
        return Race1(str(loser["sku"]), winner, loser, deliveries, listings)
    return None


def find_race2(result: SimulationResult) -> Race2 | None:
    """The returned order whose wait for booking turned away the most buyers."""
    orders = result.orders
    if orders.empty:
        return None
    returned = orders[orders["return_arrived_at"].notna() & orders["return_recorded_at"].notna()
                      & (orders["return_recorded_at"] > orders["return_arrived_at"])]
    best: Race2 | None = None
    for _, order in returned.iterrows():
        window = orders["placed_at"].between(order["return_arrived_at"],
                                             order["return_recorded_at"])
        lost = orders[window & (orders["sku"] == order["sku"]) & ~orders["accepted"]]
        if len(lost) and (best is None or len(lost) > len(best.lost)):
            listings = result.listings[
                (result.listings["sku"] == order["sku"])
                & result.listings["at"].between(order["return_arrived_at"] - 3600,
                                                order["return_recorded_at"] + 3600)]
            best = Race2(str(order["sku"]), order, lost, listings)
    return best


def find_race3(result: SimulationResult) -> Race3 | None:
    """The push of a stale snapshot that overstated stock the most."""
    pushes = result.pushes
    if pushes.empty or "periodic_snapshot" not in set(pushes["mode"]):
        return None
    stale = pushes[(pushes["mode"] == "periodic_snapshot")
                   & (pushes["value"] > pushes["published_at_visible"])]
    if stale.empty:
        return None
    push = stale.assign(excess=stale["value"] - stale["published_at_visible"]) \
        .sort_values(["excess", "visible_at"], ascending=[False, True]).iloc[0]
    orders = result.orders
    between = orders[(orders["sku"] == push["sku"]) & orders["accepted"]
                     & orders["placed_at"].between(push["computed_at"], push["sent_at"])]
    listings = result.listings[(result.listings["sku"] == push["sku"])
                               & result.listings["at"].between(push["computed_at"] - 60,
                                                               push["visible_at"] + 1800)]
    return Race3(str(push["sku"]), push, between, listings)


def _lanes(figure: Figure, names: list[str], title: str) -> Axes:
    axes = figure.add_subplot()
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.7, len(names) - 0.3)
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    axes.set_xlabel("minutes from the first sale of the episode")
    axes.set_title(title, loc="left", fontsize=11)
    return axes


def _mark(axes: Axes, x: float, lane: int, text: str, color: str, marker: str = "o",
          row: int = 0) -> None:
    axes.plot([x], [lane], marker=marker, color=color, markersize=8, zorder=3)
    axes.annotate(text, (x, lane), xytext=(6, -12 - 9 * row), textcoords="offset points",
                  fontsize=8, color=color)


def _listing_steps(axes: Axes, listings: pd.DataFrame, lanes: dict[str, int],
                   origin: float) -> None:
    for channel, lane in lanes.items():
        rows = listings[listings["channel"] == channel]
        for n, (_, row) in enumerate(rows.iterrows()):
            sale = row["cause"] == "sale"
            color = "tab:red" if sale else "tab:gray"
            label = f"{'sale' if sale else 'push'} → {int(row['value'])}"
            x = (row["at"] - origin) / 60
            axes.plot([x], [lane], marker="v" if sale else "|", markersize=9 if sale else 14,
                      color=color)
            axes.annotate(label, (x, lane), xytext=(0, 8 + 8 * (n % 2)),
                          textcoords="offset points", ha="center", fontsize=7, color=color)


def draw_race1(race: Race1) -> Figure:
    """Two buyers, two webhooks, one unit: the timeline of a double-buy."""
    winner, loser = race.winner, race.loser
    names = [f"buyer on {winner['channel']}", f"buyer on {loser['channel']}", "ledger",
             f"listing on {winner['channel']}", f"listing on {loser['channel']}"]
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    axes = _lanes(figure, names, f"Race 1 — the last {race.sku} sold twice")
    origin = min(winner["placed_at"], loser["placed_at"])
    minutes = lambda t: (t - origin) / 60  # noqa: E731
    _mark(axes, minutes(winner["placed_at"]), 0, f"buys ({winner['order_id']})", "tab:blue")
    _mark(axes, minutes(loser["placed_at"]), 1, f"buys ({loser['order_id']})", "tab:red")
    for n, (_, copy) in enumerate(race.deliveries.sort_values("delivered_at").iterrows()):
        color = "tab:blue" if copy["order_id"] == winner["order_id"] else "tab:red"
        _mark(axes, minutes(copy["delivered_at"]), 2,
              f"{copy['order_id']} webhook #{int(copy['copy'])}: {copy['status']}", color,
              marker="s", row=n % 3)
    _listing_steps(axes, race.listings, {winner["channel"]: 3, loser["channel"]: 4}, origin)
    axes.axvspan(minutes(loser["placed_at"]), minutes(loser["oversold_at"]), color="tab:red",
                 alpha=0.08, label="oversold order in flight")
    axes.legend(loc="lower right", fontsize=8)
    return figure


def draw_race2(race: Race2) -> Figure:
    """A returned unit on the shelf, the buyers turned away, the late RETURN webhook."""
    order = race.order
    channels = sorted(set(race.listings["channel"]) | set(race.lost["channel"]))
    names = ["warehouse", "ledger", "buyers turned away",
             *[f"listing on {c}" for c in channels]]
    figure = Figure(figsize=(9, 3.2 + 0.3 * len(channels)), layout="constrained")
    axes = _lanes(figure, names, f"Race 2 — a returned {race.sku} nobody can buy")
    origin = order["return_arrived_at"]
    hours = lambda t: (t - origin) / 60  # noqa: E731
    _mark(axes, 0.0, 0, f"return of {order['order_id']} arrives", "tab:green")
    _mark(axes, hours(order["return_recorded_at"]), 1, "RETURN booked (webhook)", "tab:green",
          marker="s")
    for _, buyer in race.lost.iterrows():
        axes.plot([hours(buyer["placed_at"])], [2], marker="x", color="tab:red", markersize=8)
    axes.annotate(f"{len(race.lost)} buyer(s) found 0", (hours(race.lost["placed_at"].iloc[0]), 2),
                  xytext=(6, -12), textcoords="offset points", fontsize=8, color="tab:red")
    _listing_steps(axes, race.listings, {c: 3 + i for i, c in enumerate(channels)}, origin)
    axes.axvspan(0.0, hours(order["return_recorded_at"]), color="tab:orange", alpha=0.1,
                 label="unit on the shelf, not in the ledger")
    axes.set_xlabel("minutes from the return's arrival")
    axes.legend(loc="lower right", fontsize=8)
    return figure


def draw_race3(race: Race3) -> Figure:
    """The snapshot, the orders after it, and the stale push that ignores them."""
    push = race.push
    channels = sorted(set(race.listings["channel"]))
    names = ["sync job", "orders", *[f"listing on {c}" for c in channels]]
    figure = Figure(figsize=(9, 3.0 + 0.3 * len(channels)), layout="constrained")
    axes = _lanes(figure, names, f"Race 3 — a stale snapshot of {race.sku} pushed")
    origin = push["computed_at"]
    minutes = lambda t: (t - origin) / 60  # noqa: E731
    _mark(axes, 0.0, 0, "pull (snapshot)", "tab:purple")
    _mark(axes, minutes(push["sent_at"]), 0,
          f"push {int(push['value'])} (true: {int(push['published_at_visible'])})",
          "tab:purple", marker="s")
    for _, order in race.orders.iterrows():
        axes.plot([minutes(order["placed_at"])], [1], marker="o", color="tab:red")
    if len(race.orders):
        axes.annotate(f"{len(race.orders)} order(s) after the pull", (minutes(
            race.orders["placed_at"].iloc[0]), 1), xytext=(6, -12), textcoords="offset points",
            fontsize=8, color="tab:red")
    _listing_steps(axes, race.listings, {c: 2 + i for i, c in enumerate(channels)}, origin)
    axes.axvspan(0.0, minutes(push["sent_at"]), color="tab:purple", alpha=0.08,
                 label="snapshot ageing")
    axes.set_xlabel("minutes from the pull")
    axes.legend(loc="lower right", fontsize=8)
    return figure
