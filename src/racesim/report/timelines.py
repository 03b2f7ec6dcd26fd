"""Annotated timelines of the three races, found in a run's own records.

Each ``find_*`` function looks through one replication's tables (orders, deliveries,
pushes, listings) for an episode of its race and returns it as plain data, or None
when the run holds none; each ``draw_*`` function turns an episode into a matplotlib
Figure with one lane per actor (buyers, the ledger, each listing), times in minutes
from the start of the episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib as mpl
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
    push: pd.Series | None = None
    """The push of the winner's sale to the loser's marketplace: it showed there only
    after the loser had bought (``visible_at`` > the loser's ``placed_at``)."""


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
        return Race1(str(loser["sku"]), winner, loser, deliveries, listings,
                     _late_push(result.pushes, winner, loser))
    return None


def _late_push(pushes: pd.DataFrame, winner: pd.Series, loser: pd.Series) -> pd.Series | None:
    """The first push to the loser's marketplace computed after the winner's reservation."""
    if pushes.empty:
        return None
    late = pushes[(pushes["sku"] == loser["sku"]) & (pushes["channel"] == loser["channel"])
                  & (pushes["computed_at"] >= winner["reserved_at"] - 1e-9)]
    return None if late.empty else late.sort_values("computed_at").iloc[0]


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


WIDTH_IN = 7.2
"""Width of every timeline (inches): printed at this size, so its text keeps its points."""


@dataclass(frozen=True)
class _Clock:
    """Times on an episode's axis: seconds, minutes or hours from its start."""

    origin: float
    divisor: float
    unit: str

    @classmethod
    def fit(cls, origin: float, end: float) -> _Clock:
        span = max(end - origin, 1.0)
        if span <= 300:
            return cls(origin, 1.0, "seconds")
        if span <= 3 * 3600:
            return cls(origin, 60.0, "minutes")
        return cls(origin, 3600.0, "hours")

    def __call__(self, t: float) -> float:
        return (float(t) - self.origin) / self.divisor


def _lanes(figure: Figure, names: list[str], title: str, clock: _Clock, start: str) -> Axes:
    axes = figure.add_subplot()
    axes.set_yticks(range(len(names)), names)
    axes.set_ylim(-0.8, len(names) - 0.2)
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    axes.set_xlabel(f"{clock.unit} from {start}")
    axes.set_title(title, loc="left")
    return axes


def _label(axes: Axes, x: float, lane: float, text: str, color: str,
           above: bool = False) -> None:
    """A label beside a point: below it (or above it), to its right unless it would run
    off the axis, then to its left."""
    low, high = axes.get_xlim()
    width_in = 0.8 * axes.get_figure().get_figwidth()  # type: ignore[union-attr]
    text_in = 0.55 * len(text) * float(mpl.rcParams["font.size"]) / 72
    right = x + (text_in / width_in + 0.02) * (high - low) <= high
    label = axes.annotate(text, (x, lane), xytext=(5 if right else -5, 8 if above else -8),
                          textcoords="offset points", ha="left" if right else "right",
                          va="bottom" if above else "top", color=color)
    label.set_in_layout(False)


def _mark(axes: Axes, x: float, lane: int, text: str, color: str, marker: str = "o",
          above: bool = False) -> None:
    """A point on a lane with its label."""
    axes.plot([x], [lane], marker=marker, color=color, markersize=8, zorder=3)
    _label(axes, x, lane, text, color, above)


def _span(axes: Axes, times: list[float]) -> None:
    """The x axis over the episode's events, with a margin on each side."""
    low, high = min([0.0, *times]), max([1e-6, *times])
    margin = 0.05 * (high - low)
    axes.set_xlim(low - margin, high + 5 * margin)  # room for the last labels


def _listing_steps(axes: Axes, listings: pd.DataFrame, lanes: dict[str, int],
                   clock: _Clock, above: frozenset[int] = frozenset()) -> None:
    """Each listing change on its channel's lane; labels above on the lanes ``above``."""
    for channel, lane in lanes.items():
        rows = listings[listings["channel"] == channel]
        for n, (_, row) in enumerate(rows.iterrows()):
            sale = row["cause"] == "sale"
            color = "tab:red" if sale else "tab:gray"
            label = f"{'sale' if sale else 'push'}: shows {int(row['value'])}"
            x = clock(row["at"])
            axes.plot([x], [lane], marker="v" if sale else "|", markersize=9 if sale else 14,
                      color=color)
            _label(axes, x, lane, label, color, above=(n % 2 == 1) != (lane in above))


def draw_race1(race: Race1) -> Figure:
    """Two buyers, two webhooks, one unit, and the push that arrived too late."""
    winner, loser, push = race.winner, race.loser, race.push
    names = [f"buyer on {winner['channel']}", f"buyer on {loser['channel']}", "ledger",
             f"listing on {winner['channel']}", f"listing on {loser['channel']}"]
    origin = min(winner["placed_at"], loser["placed_at"])
    end = max(loser["oversold_at"], push["visible_at"] if push is not None else origin)
    clock = _Clock.fit(origin, end)
    figure = Figure(figsize=(WIDTH_IN, 3.9), layout="constrained")
    axes = _lanes(figure, names, f"Race 1: the last {race.sku} sold twice", clock,
                  "the first sale")
    _span(axes, [clock(t) for t in (winner["placed_at"], loser["placed_at"], end,
                                    *race.deliveries["delivered_at"], *race.listings["at"])])
    _mark(axes, clock(winner["placed_at"]), 0, f"buys ({winner['order_id']})", "tab:blue",
          above=True)
    _mark(axes, clock(loser["placed_at"]), 1, f"buys ({loser['order_id']})", "tab:red",
          above=True)
    for n, (_, copy) in enumerate(race.deliveries.sort_values("delivered_at").iterrows()):
        color = "tab:blue" if copy["order_id"] == winner["order_id"] else "tab:red"
        _mark(axes, clock(copy["delivered_at"]), 2,
              f"{copy['order_id']} webhook: {copy['status']}", color, marker="s",
              above=n % 2 == 0)
    _listing_steps(axes, race.listings, {winner["channel"]: 3, loser["channel"]: 4}, clock,
                   above=frozenset({4}) if push is not None else frozenset())
    if push is not None:
        _late_push_bar(axes, push, clock, winner["order_id"], push["visible_at"] -
                       loser["placed_at"], loser["channel"])
    axes.axvspan(clock(loser["placed_at"]), clock(loser["oversold_at"]), color="tab:red",
                 alpha=0.08, label="oversold order in flight")
    figure.legend(loc="outside lower center", frameon=False)
    return figure


def _late_push_bar(axes: Axes, push: pd.Series, clock: _Clock, order_id: str, late_s: float,
                   channel: str) -> None:
    """The push leaving the ledger and travelling to the listing, which shows it too late."""
    sent, shown = clock(push["sent_at"]), clock(push["visible_at"])
    axes.plot([sent, sent], [2, 4], linestyle=":", color="tab:purple", linewidth=1.5)
    axes.plot([sent, shown], [4, 4], color="tab:purple", linewidth=6, alpha=0.35,
              solid_capstyle="butt", label=f"the push on its way to {channel}'s listing")
    axes.plot([shown], [4], marker="D", color="tab:purple", markersize=7, zorder=3)
    _label(axes, sent, 4, f"push of {order_id}: shows {int(push['value'])}, "
           f"{late_s:.0f} s too late", "tab:purple")


def draw_race2(race: Race2) -> Figure:
    """A returned unit on the shelf, the buyers turned away, the late RETURN webhook."""
    order = race.order
    channels = sorted(set(race.listings["channel"]) | set(race.lost["channel"]))
    names = ["warehouse", "ledger", "buyers turned away",
             *[f"listing on {c}" for c in channels]]
    origin = order["return_arrived_at"]
    clock = _Clock.fit(origin, order["return_recorded_at"])
    figure = Figure(figsize=(WIDTH_IN, 3.4 + 0.35 * len(channels)), layout="constrained")
    axes = _lanes(figure, names, f"Race 2: a returned {race.sku} nobody can buy", clock,
                  "the return's arrival")
    _span(axes, [clock(t) for t in (order["return_recorded_at"], *race.lost["placed_at"],
                                    *race.listings["at"])])
    _mark(axes, 0.0, 0, f"return of {order['order_id']} arrives", "tab:green")
    _mark(axes, clock(order["return_recorded_at"]), 1, "return booked (webhook)",
          "tab:green", marker="s")
    for _, buyer in race.lost.iterrows():
        axes.plot([clock(buyer["placed_at"])], [2], marker="x", color="tab:red", markersize=8)
    _label(axes, clock(race.lost["placed_at"].iloc[0]), 2, f"{len(race.lost)} buyer(s) found 0",
           "tab:red")
    _listing_steps(axes, race.listings, {c: 3 + i for i, c in enumerate(channels)}, clock)
    axes.axvspan(0.0, clock(order["return_recorded_at"]), color="tab:orange", alpha=0.1,
                 label="unit on the shelf, not in the ledger")
    figure.legend(loc="outside lower center", frameon=False)
    return figure


def draw_race3(race: Race3) -> Figure:
    """The snapshot, the orders after it, and the stale push that ignores them."""
    push = race.push
    channels = sorted(set(race.listings["channel"]))
    names = ["sync job", "orders", *[f"listing on {c}" for c in channels]]
    origin = push["computed_at"]
    clock = _Clock.fit(origin, push["visible_at"])
    figure = Figure(figsize=(WIDTH_IN, 3.2 + 0.35 * len(channels)), layout="constrained")
    axes = _lanes(figure, names, f"Race 3: a stale snapshot of {race.sku} pushed", clock,
                  "the pull")
    _span(axes, [clock(t) for t in (push["sent_at"], push["visible_at"], *race.orders["placed_at"],
                                    *race.listings["at"])])
    _mark(axes, 0.0, 0, "pull (snapshot)", "tab:purple")
    _mark(axes, clock(push["sent_at"]), 0,
          f"push {int(push['value'])} (true: {int(push['published_at_visible'])})",
          "tab:purple", marker="s", above=True)
    for _, order in race.orders.iterrows():
        axes.plot([clock(order["placed_at"])], [1], marker="o", color="tab:red")
    if len(race.orders):
        _label(axes, clock(race.orders["placed_at"].iloc[0]), 1,
               f"{len(race.orders)} order(s) after the pull", "tab:red")
    _listing_steps(axes, race.listings, {c: 2 + i for i, c in enumerate(channels)}, clock)
    axes.axvspan(0.0, clock(push["sent_at"]), color="tab:purple", alpha=0.08,
                 label="snapshot ageing")
    figure.legend(loc="outside lower center", frameon=False)
    return figure
