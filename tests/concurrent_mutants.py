"""Engines that answer every concurrent delivery correctly and still leave a broken state.

Each is the real ledger over one memory store per run (every worker of a run gets a
``Ledger`` over it, as handler processes share a database), with one mistake in what it
shows at rest: its event log, its own check, or its figures as of the past. Their
histories linearize; only the audit of the final state (``racesim.chaos.final_state``)
catches them. Each class is a chaos factory taking the run's id,
``python:tests/concurrent_mutants.py:NAME``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from racesim.ledger import EventKind, Ledger, Stock
from racesim.ledger.memory import MemoryStore

_STORES: dict[str, _RunStore] = {}
_REGISTRY_LOCK = threading.Lock()


class _RunStore(MemoryStore):
    """A run's shared memory store, forgotten when a worker closes it."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def close(self) -> None:
        with _REGISTRY_LOCK:
            if _STORES.get(self.run_id) is self:
                del _STORES[self.run_id]


def _ledger(run_id: str) -> Ledger:
    with _REGISTRY_LOCK:
        store = _STORES.get(run_id)
        if store is None:
            store = _STORES[run_id] = _RunStore(run_id)
    return Ledger(store)


class _Shared:
    """The run's ledger, every method passed through unless a mutant overrides it."""

    def __init__(self, run_id: str) -> None:
        self.ledger = _ledger(run_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


class _RewritesLog(_Shared):
    """Shows its log rewritten by :meth:`rewrite` (renumbered 1, 2, …; its own check does
    not look at the log)."""

    def rewrite(self, events: list[Any]) -> list[Any]:
        raise NotImplementedError

    def iter_events(self, after_seq: int = 0, **filters: Any) -> Iterator[Any]:
        events = self.rewrite(list(self.ledger.iter_events(**filters)))
        renumbered = (event._replace(seq=seq) for seq, event in enumerate(events, start=1))
        return (event for event in renumbered if event.seq > after_seq)

    def verify(self) -> list[str]:
        return []


class LosesReleaseEvents(_RewritesLog):
    """Its event log misses every RELEASE."""

    def rewrite(self, events: list[Any]) -> list[Any]:
        return [event for event in events if event.kind is not EventKind.RELEASE]


class LogsFirstReserveTwice(_RewritesLog):
    """Its event log shows the first reservation twice."""

    def rewrite(self, events: list[Any]) -> list[Any]:
        first = next((n for n, e in enumerate(events) if e.kind is EventKind.RESERVE), None)
        return events if first is None else [*events[:first + 1], *events[first:]]


class LogsReservationsFirst(_RewritesLog):
    """Its event log lists every reservation before the stock that made it possible."""

    def rewrite(self, events: list[Any]) -> list[Any]:
        return sorted(events, key=lambda event: event.kind is not EventKind.RESERVE)


class ComplainsAtRest(_Shared):
    """Its own ``verify()`` finds a difference once it has any event."""

    def verify(self) -> list[str]:
        return ["projection row MUG differs from the log"] if self.ledger.event_count() else []


class ForgetsHistory(_Shared):
    """Answers ``stock(sku, as_of=t)`` with today's figures."""

    def stock(self, sku: str, as_of: float | None = None) -> Stock:
        return self.ledger.stock(sku)


def shared_ledger(run_id: str) -> Ledger:
    """The correct ledger over the run's shared store."""
    return _ledger(run_id)
