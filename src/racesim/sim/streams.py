"""Random streams: one independent numpy Generator per named source of randomness.

Common random numbers need each source (demand, webhook latency, duplication, returns…)
to draw from its own stream, so that changing one part of a scenario — the buffer, the
sync mode, one channel's duplicate rate — leaves every other draw as it was. Streams are
named, not numbered: a stream's seed is derived from the replication's SeedSequence and
a stable hash of its name, so adding a new source later does not shift the others.

A stream is drawn from only by the part of the model that owns it, and a scenario that
does not use a source never touches its stream: the day multipliers of over-dispersed
demand (:data:`DEMAND_DISPERSION`) are drawn only when a SKU asks for them, so a
Poisson scenario's draws are exactly what they were before that source existed.
"""

from __future__ import annotations

import zlib
from typing import cast

import numpy as np

from racesim.sim.seeding import child_seed, shared_root

__all__ = ["DEMAND_DISPERSION", "Streams", "replication_seeds"]

DEMAND_DISPERSION = "demand-dispersion"
"""The stream of every SKU's day multipliers (see :func:`racesim.sim.demand.day_multipliers`)."""


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences for replications 0…R−1 of a run seeded with ``seed``.

    Replication r gets the same sequence whatever the number of replications or
    workers, so results never depend on how the work was split.
    """
    return np.random.SeedSequence(seed).spawn(replications)


class Streams:
    """Named generators derived from one replication's SeedSequence."""

    def __init__(self, seed: np.random.SeedSequence | int) -> None:
        self._root = seed if isinstance(seed, np.random.SeedSequence) else \
            np.random.SeedSequence(seed)
        self._shared = shared_root(self._root)  # the root's words, hashed once
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of source ``name`` (created on first use, then reused): PCG64
        seeded as by ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key,
        crc32(name)))`` (see :mod:`.seeding`)."""
        generator = self._cache.get(name)
        if generator is None:
            key = zlib.crc32(name.encode("utf-8"))
            sequence = child_seed(self._root, self._shared, key)
            # numpy's BitGenerator takes any ISeedSequence; its stubs name SeedSequence only
            bits = np.random.PCG64(cast("np.random.SeedSequence", sequence))
            generator = self._cache[name] = np.random.Generator(bits)
        return generator
