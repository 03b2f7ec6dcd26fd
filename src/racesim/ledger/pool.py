"""Where each request of a served ledger gets its engine: a pool, or one engine and a lock.

For SQLite and PostgreSQL stores, :class:`LedgerPool` opens a bounded set of ledgers on
the same URL and each request borrows one: the database's own transactions serialise the
writers (``BEGIN IMMEDIATE``; row locks), and SQLite's WAL lets readers proceed while a
write is pending, so a slow write on one SKU does not stall reads of another.
``memory://`` (one in-process store that cannot be opened twice), other stores, and an
engine object handed to the server are lent under one lock by :class:`SharedEngine`.
Neither closes an engine while a request holds it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from racesim.errors import RacesimError, StoreError, StoreRetryable
from racesim.ledger import Ledger

__all__ = ["EngineSource", "LedgerPool", "SharedEngine", "poolable"]

POOL_SIZE = 8
"""Ledgers a served SQLite or PostgreSQL store opens: requests served at once."""

MAX_POOL_SIZE = 64
BORROW_TIMEOUT = 90.0
"""Seconds a request waits for a pooled ledger before a 503 (a writer waits 60 at most)."""


class EngineSource(Protocol):
    """Lends an engine to one request at a time (see :class:`SharedEngine`, :class:`LedgerPool`)."""

    url: str

    @property
    def in_use(self) -> int:
        """Engines lent to requests right now."""
        ...

    def borrow(self) -> contextlib.AbstractContextManager[Any]: ...

    def close(self) -> None: ...


class SharedEngine:
    """One engine object, lent to one request at a time under a lock.

    For engines that cannot be opened twice (``memory://``) or that are not ours to open
    (an object handed to :class:`WebhookServer`). ``owned``: close it with the server.
    """

    def __init__(self, engine: Any, owned: bool = False) -> None:
        self.engine = engine
        self.url = str(getattr(engine, "url", ""))
        self._owned = owned
        self._lock = threading.Lock()
        self._lent = 0
        self._closed = False

    @property
    def in_use(self) -> int:
        """1 while a request holds the engine, else 0."""
        return self._lent

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Any]:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.url or 'the engine'}: the server is stopping")
            self._lent = 1
            try:
                yield self.engine
            finally:
                self._lent = 0

    def close(self) -> None:
        """Close the engine if it is ours — once no request holds it (never under one)."""
        with self._lock:
            self._closed = True
            if self._owned:
                self.engine.close()


class LedgerPool:
    """``size`` ledgers opened on one store URL; each request borrows one, exclusively.

    All are opened up front, so that a bad URL fails before the server binds and no
    request ever waits for a connection to be set up behind another's write lock. The
    database serialises the writers; a ledger returned after :meth:`close` is closed then.
    """

    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        if not 1 <= size <= MAX_POOL_SIZE:
            raise RacesimError(f"pool size must be 1 to {MAX_POOL_SIZE} (got {size})")
        self.ledgers: tuple[Ledger, ...] = ()
        opened: list[Ledger] = []
        try:
            for _ in range(size):
                opened.append(Ledger.open(url))
        except BaseException:
            for ledger in opened:
                ledger.close()
            raise
        self.ledgers = tuple(opened)
        self.url = opened[0].url
        self._idle: queue.LifoQueue[Ledger] = queue.LifoQueue()
        for ledger in opened:
            self._idle.put(ledger)
        self._closed = False
        self._lent = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Ledger]:
        if self._closed:
            raise StoreError(f"{self.url}: the server is stopping")
        try:
            ledger = self._idle.get(timeout=BORROW_TIMEOUT)
        except queue.Empty:
            raise StoreRetryable(f"{self.url}: all {len(self.ledgers)} ledger connections "
                                 f"stayed busy for {BORROW_TIMEOUT:g} s") from None
        with self._lock:
            self._lent += 1
        try:
            yield ledger
        finally:
            with self._lock:
                self._lent -= 1
                if self._closed:
                    ledger.close()
                else:
                    self._idle.put(ledger)

    @property
    def in_use(self) -> int:
        """Ledgers lent to requests right now."""
        return self._lent

    def close(self) -> None:
        """Close every idle ledger now, and each borrowed one when it is returned."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    self._idle.get_nowait().close()
                except queue.Empty:
                    break


def poolable(url: str) -> bool:
    """Whether ``url`` names a database that several ledgers may open at once."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = unquote(parts.path.lstrip("/"))
        return path not in ("", ":memory:")
    return scheme in ("postgresql", "postgres")
