"""Each channel's publishing rule, resolved for one replication and grouped.

The model publishes a quantity per channel (``stock.published[c][k]``), computed by that
channel's :class:`~racesim.policy.publishing.PublishRule`. Channels under equal rules
form one *group* and share the group's lists, so a scenario whose channels all follow
one rule computes its buffer once per change, exactly as when there was one rule.

Where a channel's rule comes from (first that applies):

1. ``buffer`` given to the model as a mapping, naming the channel: a
   :class:`PublishRule` is the channel's whole rule; a plain policy replaces its buffer
   and keeps the cap and threshold the scenario gives it;
2. ``buffer`` given as one :class:`PublishRule`: every channel's whole rule; as one
   policy: it replaces every channel's buffer (caps and thresholds kept);
3. the scenario: the channel's ``publish`` record, else ``[buffer]`` with no cap and no
   threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from racesim.policy.buffers import Policy, bind_policy
from racesim.policy.publishing import ChannelBuffers, PublishRule
from racesim.util.identity_cache import IdentityCache

if TYPE_CHECKING:
    from racesim.scenario import Scenario

__all__ = ["ChannelRules", "GroupState", "resolve_rules", "rules_for"]


class GroupState(NamedTuple):
    """What the model's hot paths read of one group: its rule and its lists (units)."""

    policy: Policy
    """The group's bound buffer policy."""
    cap: int | None
    threshold: int
    least: int
    """The fewest free units its rule lists anything for: ``max(threshold, 1)``."""
    buffers: list[int]
    """Per SKU, what its buffer withholds now."""
    published: list[int]
    """Per SKU, what its rule lists now."""
    channels: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """The bound rule of each group of channels, and which channels are in each group.

    ``rules[g]`` is group g's rule (its buffer bound to the scenario) and ``policies[g]``
    that bound buffer as a plain callable; ``group_of[c]`` is
    channel c's group; ``channels[g]`` lists group g's channels; ``weights[g]`` is the
    group's share of demand (its channels' shares over all shares), the weight of its
    hidden units in ``hidden_unit_hours``.
    """

    rules: tuple[PublishRule, ...]
    policies: tuple[Policy, ...]
    group_of: tuple[int, ...]
    channels: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]

    @property
    def uniform(self) -> bool:
        """Every channel follows one rule."""
        return len(self.rules) == 1


def scenario_rule(scenario: Scenario, channel: int) -> PublishRule:
    """Channel ``channel``'s rule as the scenario file gives it (unbound)."""
    publish = scenario.channels[channel].publish
    if publish is not None:
        return publish.to_rule(scenario.buffer)
    return PublishRule(scenario.buffer.to_policy())


def _channel_rule(scenario: Scenario, channel: int,
                  buffer: ChannelBuffers | None) -> PublishRule:
    """Channel ``channel``'s rule (unbound), by the order in the module's docstring."""
    own = scenario_rule(scenario, channel)
    if buffer is None:
        return own
    if isinstance(buffer, Mapping):
        given = buffer.get(scenario.channels[channel].name)
        if given is None:
            return own
        return given if isinstance(given, PublishRule) else own.with_buffer(given)
    return buffer if isinstance(buffer, PublishRule) else own.with_buffer(buffer)


def resolve_rules(scenario: Scenario, buffer: ChannelBuffers | None) -> ChannelRules:
    """Every channel's rule for ``scenario``, equal rules grouped and bound once.

    A mapping naming a channel the scenario does not have is a ``ValueError`` naming it.
    """
    names = [channel.name for channel in scenario.channels]
    if isinstance(buffer, Mapping):
        unknown = [name for name in buffer if name not in names]
        if unknown:
            raise ValueError(f"buffer: no channel named {unknown[0]!r} in the scenario "
                             f"(channels: {', '.join(names)})")
    distinct: list[PublishRule] = []
    group_of: list[int] = []
    for c in range(len(names)):
        rule = _channel_rule(scenario, c, buffer)
        for g, other in enumerate(distinct):
            if other == rule:
                group_of.append(g)
                break
        else:
            group_of.append(len(distinct))
            distinct.append(rule)
    members = tuple(tuple(c for c, g in enumerate(group_of) if g == group)
                    for group in range(len(distinct)))
    shares = [channel.share for channel in scenario.channels]
    total = math.fsum(shares)
    weights = tuple(math.fsum(shares[c] for c in group) / total if total > 0
                    else len(group) / len(shares) for group in members)
    policies = tuple(bind_policy(rule.buffer, scenario) for rule in distinct)
    rules = tuple(rule.with_buffer(policy) for rule, policy in zip(distinct, policies,
                                                                     strict=True))
    return ChannelRules(rules=rules, policies=policies,
                        group_of=tuple(group_of), channels=members, weights=weights)


def _own_rules(scenario: Scenario) -> ChannelRules:
    return resolve_rules(scenario, None)


_OWN_RULES: IdentityCache[Scenario, ChannelRules] = IdentityCache()


def rules_for(scenario: Scenario, buffer: ChannelBuffers | None) -> ChannelRules:
    """:func:`resolve_rules`, the scenario's own rules (no ``buffer``) once per scenario.

    Those depend on the scenario alone (its built-in policies bind to pure functions), so
    the replications of one scenario object share them; a given ``buffer`` may be any
    callable, stateful or not, and is resolved afresh for each replication.
    """
    if buffer is None:
        return _OWN_RULES(scenario, _own_rules)
    return resolve_rules(scenario, buffer)
