"""Values worked out once per object (a scenario), kept while that object lives.

A sweep or a tuner runs hundreds of replications of one :class:`~racesim.scenario.Scenario`
object; what depends only on it — its cost arrays, its resolved publishing rules — need
not be rebuilt for each. Scenarios are frozen but not hashable (they hold dicts), so the
cache is keyed on the object's identity and holds it only weakly: an entry goes when its
object is freed, and a new object at a recycled address never meets an old entry. Each
process has its own cache (a worker rebuilds an entry once, from its own copy).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["IdentityCache"]

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    """``cache(key, make)``: ``make(key)`` the first time for this very ``key`` object.

    ``make`` must depend on nothing but ``key`` (and its value must not be changed by
    those who read it): every later call with the same object returns the same value.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[K], V]] = {}

    def __call__(self, key: K, make: Callable[[K], V]) -> V:
        entry = self._entries.get(id(key))
        if entry is not None and entry[0]() is key:
            return entry[1]
        value = make(key)
        ident, entries = id(key), self._entries
        entries[ident] = (weakref.ref(key, lambda _: entries.pop(ident, None)), value)
        return value

    def __len__(self) -> int:
        return len(self._entries)
