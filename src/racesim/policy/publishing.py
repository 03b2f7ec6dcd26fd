"""Publishing rules: what one marketplace's listing of a SKU should show.

A rule is a buffer policy (any of :mod:`racesim.policy.buffers`), an optional cap and a
threshold, applied in that order to the ledger's available units::

    free = available − buffer
    q    = 0                 if free < threshold (or free ≤ 0)
           min(free, cap)    otherwise

The cap says "never list more than this here" (marketplace plug-ins cap one channel's
exposure); the threshold "list nothing while fewer than this are free" (stop selling the
last units on a slow marketplace). With no cap and threshold 0 this is today's
``max(available − buffer, 0)``.

:class:`PublishRule` is the runtime rule; :meth:`racesim.sim.model.Simulation` takes one
per channel (``buffer={"amazon": PublishRule(fixed(2), cap=20), "shop": fixed(0)}``),
and a scenario's ``[[channels]] publish`` record builds one
(:mod:`racesim.scenario.publish`). A plain buffer policy given for a channel replaces
only that channel's buffer and keeps its cap and threshold; a rule replaces all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from racesim.policy.buffers import AnyPolicy, Bindable, bind_policy

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["ChannelBuffers", "PublishRule", "listed_quantity"]

def listed_quantity(available: int, buffer: int, cap: int | None, threshold: int) -> int:
    """Units to list: 0 if ``available − buffer < threshold`` (or ≤ 0), else capped at ``cap``."""
    free = available - buffer
    if free <= 0 or free < threshold:
        return 0
    return free if cap is None or free < cap else cap


@dataclass(frozen=True, slots=True)
class PublishRule:
    """One channel's publishing rule: a buffer, then a cap, then a threshold (units).

    ``buffer`` is any buffer policy; ``cap`` None means no cap, else a positive number of
    units never to exceed; ``threshold`` ≥ 0: list 0 while ``available − buffer`` is
    below it. A policy that needs the scenario (``seed_formula``…) must be bound first:
    :meth:`bind` returns the rule with its policy bound.
    """

    buffer: AnyPolicy
    cap: int | None = None
    threshold: int = 0

    def __post_init__(self) -> None:
        if not callable(self.buffer) and not isinstance(self.buffer, Bindable):
            raise TypeError(f"PublishRule: buffer must be a buffer policy (got {self.buffer!r})")
        cap = self.cap
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"PublishRule: cap must be a positive whole number or None "
                             f"(got {cap!r})")
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValueError(f"PublishRule: threshold must be a whole number ≥ 0 "
                             f"(got {threshold!r})")

    @property
    def plain(self) -> bool:
        """No cap and no threshold: the listing is ``max(available − buffer, 0)``."""
        return self.cap is None and self.threshold == 0

    def bind(self, scenario: Scenario) -> PublishRule:
        """This rule with its buffer policy bound to ``scenario`` (see ``bind_policy``)."""
        bound = bind_policy(self.buffer, scenario)
        return self if bound is self.buffer else replace(self, buffer=bound)

    def buffer_units(self, sku: str, available: int, now: float) -> int:
        """The units the buffer withholds of ``sku`` at ``now`` (seconds)."""
        policy = self.buffer
        if isinstance(policy, Bindable) and not callable(policy):
            raise TypeError(f"PublishRule: bind the rule to a scenario before use "
                            f"({type(policy).__name__} needs one)")
        return policy(sku, available, now)

    def quantity(self, available: int, buffer: int) -> int:
        """Units to list given ``available`` units and the buffer's ``buffer`` units."""
        return listed_quantity(available, buffer, self.cap, self.threshold)

    def listed(self, sku: str, available: int, now: float) -> int:
        """Units of ``sku`` this channel should list at ``now`` (seconds)."""
        return self.quantity(available, self.buffer_units(sku, available, now))

    def with_buffer(self, buffer: AnyPolicy) -> PublishRule:
        """The same cap and threshold with another buffer policy."""
        return replace(self, buffer=buffer)


ChannelBuffers = AnyPolicy | PublishRule | Mapping[str, AnyPolicy | PublishRule]
"""What ``Simulation(buffer=…)`` takes: one policy or rule for every channel, or one per
channel name."""
