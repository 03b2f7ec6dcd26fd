"""A block sampler hands out a distribution's draws in the order one large draw gives them."""

from __future__ import annotations

import numpy as np
import pytest

from racesim.scenario.distributions import (
    EmpiricalDuration,
    ExponentialDuration,
    FixedDuration,
    LogNormalDuration,
    UniformDuration,
)
from racesim.sim.sampler import FIRST_BLOCK, BlockSampler, Sampleable

DISTRIBUTIONS: list[Sampleable] = [
    ExponentialDuration(mean=90.0),
    LogNormalDuration(median=40.0, p99=300.0),
    UniformDuration(low=30.0, high=120.0),
    FixedDuration(value=5.0),
    EmpiricalDuration(samples=(1.0, 2.0, 7.5, 30.0)),
]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=lambda d: type(d).__name__)
def test_growing_blocks_give_the_draws_of_one_large_block(distribution: Sampleable) -> None:
    taken = 5 * FIRST_BLOCK + 7  # across the first blocks' edges (64, 256, then 1024)
    sampler = BlockSampler(distribution, np.random.default_rng(11), size=1024)
    drawn = [sampler() for _ in range(taken)]
    whole = np.asarray(distribution.sample(np.random.default_rng(11), 1024), dtype=float)
    assert drawn == whole[:taken].tolist()


def test_only_distributions_that_draw_value_by_value_grow_their_blocks() -> None:
    rng = np.random.default_rng(3)
    empirical = BlockSampler(EmpiricalDuration(samples=(1.0, 2.0)), rng, size=512)
    empirical()
    assert rng.bit_generator.state == _after(512)  # a bounded-integer draw: one block
    rng = np.random.default_rng(3)
    uniform = BlockSampler(UniformDuration(low=0.0, high=1.0), rng, size=512)
    uniform()
    assert rng.bit_generator.state != _after(512)  # only FIRST_BLOCK drawn so far


def _after(draws: int) -> dict[str, object]:
    rng = np.random.default_rng(3)
    EmpiricalDuration(samples=(1.0, 2.0)).sample(rng, draws)
    return dict(rng.bit_generator.state)
