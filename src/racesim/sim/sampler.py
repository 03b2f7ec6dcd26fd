"""Draw one value at a time from a distribution, cheaply, in blocks.

Asking numpy for one number costs about a microsecond; the event loop needs many
(listing latencies, retry backoffs). A :class:`BlockSampler` draws a few thousand at once
from its own stream and hands them out in order.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["BlockSampler", "Sampleable"]


class Sampleable(Protocol):
    """Anything that draws ``size`` values from a generator: the scenario's distributions."""

    def sample(self, rng: np.random.Generator, size: int) -> npt.ArrayLike:
        """``size`` draws, as an array."""
        ...


class BlockSampler:
    """Successive draws (seconds) of ``distribution`` from the generator ``rng``."""

    __slots__ = ("_block", "_distribution", "_index", "_rng", "_size")

    def __init__(self, distribution: Sampleable, rng: np.random.Generator,
                 size: int = 4096) -> None:
        self._distribution = distribution
        self._rng = rng
        self._size = size
        self._block: list[float] = []
        self._index = 0

    def __call__(self) -> float:
        """The next draw."""
        if self._index == len(self._block):
            draws = self._distribution.sample(self._rng, self._size)
            self._block = np.asarray(draws, dtype=float).tolist()
            self._index = 0
        value = self._block[self._index]
        self._index += 1
        return value
