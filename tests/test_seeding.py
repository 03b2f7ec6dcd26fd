"""A replication's named streams get exactly the states numpy's SeedSequence gives them.

:mod:`racesim.sim.seeding` mixes a replication's root words once and each stream's last
word on its own, in Python integers; it must agree with numpy bit for bit, or every
result of the model would change.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from racesim.sim.seeding import RootSeed, child_seed, shared_root
from racesim.sim.streams import Streams


def _roots() -> list[np.random.SeedSequence]:
    """Roots as racesim makes them (spawned from a run seed) and odder ones."""
    rng = np.random.default_rng(2026)
    roots = [*np.random.SeedSequence(20261127).spawn(3), np.random.SeedSequence(0),
             np.random.SeedSequence(1, spawn_key=(0,)), np.random.SeedSequence(),
             np.random.SeedSequence(2**200 + 7, spawn_key=(2**40, 3))]
    for _ in range(200):
        entropy = int(rng.integers(0, 2**62)) * int(rng.integers(1, 2**62))
        key = tuple(int(k) for k in rng.integers(0, 2**33, int(rng.integers(0, 3))))
        roots.append(np.random.SeedSequence(entropy, spawn_key=key))
    return roots


def test_every_child_seed_generates_numpys_state() -> None:
    words = [0, 1, 2**32 - 1, *(zlib.crc32(n.encode()) for n in ("demand/amazon", "shrinkage"))]
    for root in _roots():
        shared = shared_root(root)
        assert shared is not None
        for word in words:
            numpy_seed = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, word))
            ours = shared.child(word)
            for n_words, dtype in ((4, np.uint64), (5, np.uint32), (40, np.uint64)):
                expected = numpy_seed.generate_state(n_words, dtype)
                got = ours.generate_state(n_words, dtype)
                assert got.dtype == expected.dtype
                assert got.tolist() == expected.tolist()


def test_a_stream_draws_what_numpys_generator_draws() -> None:
    root = np.random.SeedSequence(20261127).spawn(4)[3]
    streams = Streams(root)
    for name in ("demand/amazon", "units/ebay", "shrinkage", "lead-time/MUG-RED"):
        key = zlib.crc32(name.encode("utf-8"))
        expected = np.random.default_rng(
            np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, key)))
        assert streams(name).random(5).tolist() == expected.random(5).tolist()
        assert streams(name) is streams(name)  # one generator per name


def test_roots_it_does_not_cover_use_numpys_own_sequence() -> None:
    odd = np.random.SeedSequence([1, 2, 3])
    assert shared_root(odd) is None
    seed = child_seed(odd, None, 5)
    assert isinstance(seed, np.random.SeedSequence) and seed.spawn_key == (5,)
    assert Streams(odd)("x").random() == np.random.default_rng(
        np.random.SeedSequence([1, 2, 3], spawn_key=(zlib.crc32(b"x"),))).random()
    wide = np.random.SeedSequence(9, pool_size=8)  # children have the default pool
    assert Streams(wide)("x").random() == np.random.default_rng(
        np.random.SeedSequence(9, spawn_key=(zlib.crc32(b"x"),))).random()


def test_a_negative_word_is_refused() -> None:
    with pytest.raises(ValueError, match="≥ 0"):
        RootSeed(-1, ())
