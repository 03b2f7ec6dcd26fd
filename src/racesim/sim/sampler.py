"""Draw one value at a time from a distribution, cheaply, in blocks.

Asking numpy for one number costs about a microsecond; the event loop needs many
(listing latencies, retry backoffs). A :class:`BlockSampler` draws a few thousand at once
from its own stream and hands them out in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["FIRST_BLOCK", "BlockSampler", "Sampleable"]

FIRST_BLOCK = 64
"""Draws in a growing sampler's first block (see :class:`BlockSampler`)."""


class Sampleable(Protocol):
    """Anything that draws ``size`` values from a generator: the scenario's distributions."""

    def sample(self, rng: np.random.Generator, size: int) -> npt.ArrayLike:
        """``size`` draws, as an array."""
        ...


class BlockSampler:
    """Successive draws (seconds) of ``distribution`` from the generator ``rng``.

    Call it for the next draw; :attr:`draw` is the same call without the method's own
    frame, for the hottest loops. A block is drawn when the first value of it is asked
    for, so the stream is read exactly as far as the draws taken need.

    Blocks are ``size`` draws each. A distribution whose draws may be taken in pieces
    (its ``in_pieces`` is true: n draws in several calls are the n of one call) starts
    with a block of :data:`FIRST_BLOCK` and grows it fourfold up to ``size``: the same
    values in the same order, without drawing thousands for a small replication that
    asks for a few dozen.
    """

    __slots__ = ("_distribution", "_draws", "_rng", "_size", "draw")

    def __init__(self, distribution: Sampleable, rng: np.random.Generator,
                 size: int = 4096) -> None:
        self._distribution = distribution
        self._rng = rng
        self._size = size
        self._draws = self._blocks()
        self.draw: Callable[[], float] = partial(next, self._draws)

    def _blocks(self) -> Iterator[float]:
        """Every draw, block after block (the loop ends only with the simulation)."""
        size = self._size
        block = min(FIRST_BLOCK, size) if getattr(self._distribution, "in_pieces", False) \
            else size
        while True:
            draws = self._distribution.sample(self._rng, block)
            yield from np.asarray(draws, dtype=float).tolist()
            block = min(block * 4, size)

    def __call__(self) -> float:
        """The next draw."""
        return next(self._draws)
