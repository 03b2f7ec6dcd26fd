"""Draw one value at a time from a distribution, cheaply, in blocks.

Asking numpy for one number costs about a microsecond; the event loop needs many
(listing latencies, retry backoffs). A :class:`BlockSampler` draws a few thousand at once
from its own stream and hands them out in order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BlockSampler"]


class BlockSampler:
    """Successive draws (seconds) of ``distribution`` from the generator ``rng``."""

    __slots__ = ("_block", "_distribution", "_index", "_rng", "_size")

    def __init__(self, distribution: object, rng: np.random.Generator, size: int = 4096) -> None:
        self._distribution = distribution
        self._rng = rng
        self._size = size
        self._block: list[float] = []
        self._index = 0

    def __call__(self) -> float:
        """The next draw."""
        if self._index == len(self._block):
            draws = self._distribution.sample(self._rng, self._size)  # type: ignore[attr-defined]
            self._block = np.asarray(draws, dtype=float).tolist()
            self._index = 0
        value = self._block[self._index]
        self._index += 1
        return value
