"""One channel's publishing rule: its own buffer, a cap and a threshold.

::

    [[channels]]
    name = "amazon"
    ...
    publish = { buffer = { policy = "fixed", units = 2 }, cap = 20, threshold = 3 }

Channel c lists ``0 if available − buffer < threshold else min(available − buffer,
cap)`` (:mod:`racesim.policy.publishing`). ``buffer`` is any ``[buffer]`` record (absent:
the scenario's ``[buffer]``), ``cap`` a whole number of units ≥ 1 (absent: no cap),
``threshold`` a whole number ≥ 0 (default 0: list whatever is free). A channel without
``publish`` follows ``[buffer]`` with no cap and no threshold.
"""

from __future__ import annotations

from racesim.policy.publishing import PublishRule
from racesim.scenario.buffer import BufferConfig
from racesim.scenario.fields import Count, PositiveCount, Record

__all__ = ["PublishConfig"]


class PublishConfig(Record):
    """What one marketplace's listing shows: its buffer, then its cap, then its threshold."""

    buffer: BufferConfig | None = None
    """This channel's buffer policy; None: the scenario's ``[buffer]``."""
    cap: PositiveCount | None = None
    """Never list more than this many units (None: no cap)."""
    threshold: Count = 0
    """List 0 while ``available − buffer`` is below this many units."""

    def buffer_config(self, default: BufferConfig) -> BufferConfig:
        """The buffer this channel follows: its own, else ``default`` (the scenario's)."""
        return self.buffer if self.buffer is not None else default

    def to_rule(self, default: BufferConfig) -> PublishRule:
        """The runtime rule, with ``default`` as the buffer when the channel names none."""
        return PublishRule(self.buffer_config(default).to_policy(), cap=self.cap,
                           threshold=self.threshold)

    @property
    def plain(self) -> bool:
        """No buffer of its own, no cap, no threshold: the scenario's ``[buffer]`` as it is."""
        return self.buffer is None and self.cap is None and self.threshold == 0
