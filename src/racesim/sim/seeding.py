"""numpy's ``SeedSequence`` hashing, shared by the many named streams of one replication.

Every named stream of a replication (:class:`racesim.sim.streams.Streams`) is seeded by
``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, crc32(name)))``: the same
words but the last. numpy builds each from scratch, its per-call overhead about ten
times the hashing itself, which small replications pay some twenty times each. Here the
root's words are mixed once (:class:`RootSeed`), and each stream only mixes in its last
word and draws its state (:class:`ChildSeed`) — in Python integers, following numpy's
``bit_generator.pyx`` step by step (O'Neill's ``seed_seq_fe``, numpy ≥ 1.19), so every
generator gets the state numpy's ``SeedSequence`` gives it, bit for bit
(``tests/test_seeding.py`` compares them on thousands of seeds).

Only what the streams use is here: an integer entropy and integer spawn-key words,
children with numpy's default pool of four words; :func:`child_seed` falls back on
numpy's ``SeedSequence`` for anything else (a root whose entropy is a list of words).
"""

from __future__ import annotations

import functools
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

__all__ = ["ChildSeed", "RootSeed", "child_seed", "shared_root"]

_MASK = 0xFFFFFFFF  # every word is an unsigned 32-bit integer
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875  # the entropy hash
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED  # the output hash
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4  # numpy's DEFAULT_POOL_SIZE


def _words(value: int) -> list[int]:
    """``value`` as little-endian 32-bit words (numpy's ``_int_to_uint32_array``)."""
    if value < 0:
        raise ValueError(f"seed words must be ≥ 0 (got {value})")
    words = [value & _MASK]
    value >>= 32
    while value:
        words.append(value & _MASK)
        value >>= 32
    return words


def _hashes(start: int, multiplier: int, count: int) -> list[int]:
    """The hash constant before each of ``count`` hash steps, and after the last."""
    out = [start]
    for _ in range(count):
        out.append((out[-1] * multiplier) & _MASK)
    return out


def _steps(hashes: list[int]) -> list[tuple[int, int]]:
    """(hash before, hash after) of each output step."""
    return list(pairwise(hashes))


_OUTPUT_HASHES = _hashes(_INIT_B, _MULT_B, 64)  # enough for 32 uint64 words of state
_OUTPUT_STEPS = _steps(_OUTPUT_HASHES)


def _hashmix(value: int, before: int, after: int) -> int:
    value = ((value ^ before) * after) & _MASK
    return value ^ (value >> 16)


def _mix(pool: list[int], word: int, hashes: list[int]) -> None:
    """Mix one entropy word beyond the pool's size into each pool word, in place."""
    for i in range(_POOL):
        mixed = (_MIX_L * pool[i] - _MIX_R * _hashmix(word, hashes[i], hashes[i + 1])) & _MASK
        pool[i] = mixed ^ (mixed >> 16)


@functools.lru_cache(maxsize=64)
def _entropy_pool(first: tuple[int, ...], words: int
                  ) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The pool after its :data:`_POOL` ``first`` words and their cross-mixing, the hash
    constants of ``words`` words in all, and how many of them that used.

    Both depend on the entropy alone, which every replication of a run shares (they
    differ in their spawn keys), so they are computed once per run.
    """
    steps = _POOL * _POOL + _POOL * (words - _POOL)  # hash steps before the last word
    hashes = _hashes(_INIT_A, _MULT_A, steps + _POOL)
    pool = [_hashmix(first[i], hashes[i], hashes[i + 1]) for i in range(_POOL)]
    n = _POOL
    for src in range(_POOL):  # every word of the pool into every other one
        for dst in range(_POOL):
            if src != dst:
                value = _hashmix(pool[src], hashes[n], hashes[n + 1])
                mixed = (_MIX_L * pool[dst] - _MIX_R * value) & _MASK
                pool[dst] = mixed ^ (mixed >> 16)
                n += 1
    return tuple(pool), tuple(hashes), n


class RootSeed:
    """The mixing of every word of ``SeedSequence(entropy, spawn_key=(*spawn_key, w))``
    but the last, ``w``: what all the streams of one replication share."""

    __slots__ = ("_hashes", "_pool")

    def __init__(self, entropy: int, spawn_key: tuple[int, ...]) -> None:
        run = _words(entropy)
        run += [0] * (_POOL - len(run))  # a spawn key follows: padded to the pool
        words = run + [w for key in spawn_key for w in _words(key)]
        shared, hashes, n = _entropy_pool(tuple(run[:_POOL]), len(words))
        pool = list(shared)
        for word in words[_POOL:]:
            _mix(pool, word, list(hashes[n:n + _POOL + 1]))
            n += _POOL
        self._pool = pool
        self._hashes = list(hashes[n:n + _POOL + 1])

    def child(self, word: int) -> ChildSeed:
        """The seed of spawn-key word ``word`` (0 ≤ word < 2³²)."""
        pool = list(self._pool)
        _mix(pool, word & _MASK, self._hashes)
        return ChildSeed(pool)


class ChildSeed(ISeedSequence):
    """A mixed pool that generates a bit generator's state as numpy's ``SeedSequence``."""

    __slots__ = ("pool",)

    def __init__(self, pool: list[int]) -> None:
        self.pool = pool

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        """``n_words`` words of state, 32- or 64-bit (``SeedSequence.generate_state``)."""
        wide = dtype is np.uint64 or np.dtype(dtype) == np.uint64
        count = 2 * n_words if wide else n_words
        steps = _OUTPUT_STEPS if count <= len(_OUTPUT_STEPS) else \
            _steps(_hashes(_INIT_B, _MULT_B, count))
        pool, words = self.pool, []
        for i in range(count):  # _hashmix inline: PCG64 asks for 8 words per stream
            before, after = steps[i]
            value = ((pool[i % _POOL] ^ before) * after) & _MASK
            words.append(value ^ (value >> 16))
        if wide:  # little-endian pairs, as numpy views them
            return np.array([words[i] | (words[i + 1] << 32) for i in range(0, count, 2)],
                            dtype=np.uint64)
        return np.array(words, dtype=np.uint32)


def child_seed(root: np.random.SeedSequence, shared: RootSeed | None,
               word: int) -> ISeedSequence:
    """The seed of ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, word))``:
    from ``shared`` (the root's mixing) when there is one, else numpy's own."""
    if shared is not None:
        return shared.child(word)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, word))


def shared_root(root: np.random.SeedSequence) -> RootSeed | None:
    """``root``'s mixing when this module covers it (an integer entropy and spawn key),
    else None. The children have numpy's default pool whatever ``root``'s is, as
    ``SeedSequence(root.entropy, spawn_key=…)`` gives them."""
    entropy, key = root.entropy, root.spawn_key
    if not isinstance(entropy, int | np.integer) or not all(
            isinstance(k, int | np.integer) for k in key):
        return None
    return RootSeed(int(entropy), tuple(int(k) for k in key))
