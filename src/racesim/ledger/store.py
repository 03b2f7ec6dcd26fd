"""The storage interface every ledger backend implements, and the URL → store registry.

A store is deliberately dumb: it keeps the event log, the stock projection and the
order-line table, and offers exclusive write transactions. Every rule (idempotency,
lifecycle, invariants) lives in :mod:`racesim.ledger.engine`, so a new backend is a new
module that implements :class:`Store` and :class:`Transaction` and registers its URL
scheme here — the engine does not change.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, cast
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from racesim.errors import StoreRefused, shorten
from racesim.ledger.events import Event, EventKind, OrderLine, OrderStatus, Stock
from racesim.ledger.projection import Replay

__all__ = [
    "ALL_EVENTS",
    "EventFilter",
    "Store",
    "Transaction",
    "check_store_url",
    "open_store",
    "register_store",
    "store_variant",
]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events to read. Every field left at its default matches everything.

    ``until_at`` keeps events *recorded* by then (``recorded_at <= until_at``: a prefix of
    the log, since record times never decrease); ``after_seq`` keeps ``seq > after_seq``.
    """

    sku: str | None = None
    order_id: str | None = None
    kinds: tuple[EventKind, ...] = ()
    after_seq: int = 0
    until_at: float | None = None


ALL_EVENTS = EventFilter()


class Transaction(ABC):
    """An exclusive write transaction: every read sees, and every write joins, one snapshot.

    The engine reads what it needs, decides, then writes; a store commits all writes of a
    transaction together or none of them. Reads of a stock row must lock it against other
    writers until commit (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``FOR UPDATE``).
    """

    @abstractmethod
    def last_at(self) -> float | None:
        """Record time (``recorded_at``) of the newest event, or None for an empty ledger."""

    @abstractmethod
    def stock(self, sku: str) -> Stock:
        """The SKU's projection row, locked until commit (all zero if never seen)."""

    @abstractmethod
    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        """The (order, SKU) line, or None if no reservation was ever recorded for it."""

    @abstractmethod
    def find(self, command: str, sku: str, order_id: str, ref: str) -> Event | None:
        """The event written under this idempotency key, if any."""

    @abstractmethod
    def append(self, at: float, recorded_at: float, kind: EventKind, sku: str, quantity: int,
               command: str, order_id: str = "", channel: str = "", ref: str = "",
               reason: str = "") -> Event | None:
        """Append an event; return it with its sequence number.

        ``at`` is the caller's time, ``recorded_at`` the record time the engine chose
        (never before :meth:`last_at`).

        Returns None, writing nothing, when the idempotency key (``command``, ``sku``,
        ``order_id``, ``ref``) already exists (``INSERT … ON CONFLICT DO NOTHING``).
        """

    @abstractmethod
    def put_stock(self, stock: Stock) -> None:
        """Store the SKU's new projection row."""

    @abstractmethod
    def insert_line(self, order_id: str, sku: str, channel: str, quantity: int,
                    status: OrderStatus, seq: int) -> bool:
        """Insert a new order line (nothing returned yet); False, writing nothing, if the
        (order_id, sku) key already exists (``INSERT … ON CONFLICT DO NOTHING``)."""

    @abstractmethod
    def update_line(self, line: OrderLine) -> None:
        """Replace an existing order line."""


class Store(ABC):
    """A ledger backend: event log + projection tables behind exclusive transactions."""

    url: str

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin an exclusive write transaction; commit on normal exit, roll back on error."""

    @abstractmethod
    def stock(self, sku: str) -> Stock:
        """The SKU's current projection row (read from the projection, never the log)."""

    @abstractmethod
    def stock_levels(self) -> dict[str, Stock]:
        """Every SKU's current projection row."""

    @abstractmethod
    def order_line(self, order_id: str, sku: str) -> OrderLine | None:
        """The (order, SKU) line, or None."""

    @abstractmethod
    def order_lines(self) -> dict[tuple[str, str], OrderLine]:
        """Every order line, keyed by (order_id, sku)."""

    @abstractmethod
    def events(self, where: EventFilter = ALL_EVENTS) -> Iterator[Event]:
        """Events matching ``where``, in sequence order."""

    @abstractmethod
    def event_count(self) -> int:
        """Number of events in the log."""

    @abstractmethod
    def replace_projection(self, replay: Replay) -> None:
        """Replace the stock and order-line tables with ``replay``'s figures.

        Called inside a :meth:`transaction`, which makes the replacement atomic.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files. The default has nothing to release."""

    @abstractmethod
    def destroy(self) -> None:
        """Close the store and delete everything it holds (file, schema, memory).

        For throwaway ledgers — a test, one seed of ``racesim chaos`` — never for a
        ledger someone relies on: the event log is gone afterwards.
        """


# scheme -> "module:Class"; a backend registers itself by adding one entry.
_REGISTRY: dict[str, str] = {
    "memory": "racesim.ledger.memory:MemoryStore",
    "sqlite": "racesim.ledger.sqlite:SqliteStore",
    "postgresql": "racesim.ledger.postgres:PostgresStore",
    "postgres": "racesim.ledger.postgres:PostgresStore",
}


def register_store(scheme: str, target: str) -> None:
    """Make ``Ledger.open("scheme://…")`` use ``target`` (``"package.module:Class"``)."""
    _REGISTRY[scheme] = target


URL_CHARS = 240
"""How much of a store URL an error message shows (a deep path is still legible)."""


def shown_url(url: object) -> str:
    """A store URL as error messages quote it: its ``repr``, cut after :data:`URL_CHARS`."""
    return shorten(url, URL_CHARS)


class _OpensFromUrl(Protocol):
    """What a registered backend class provides: the classmethod ``open_store`` calls."""

    def from_url(self, url: str, parts: SplitResult, options: dict[str, str]) -> Store: ...


def open_store(url: str) -> Store:
    """Open the store a URL names: ``memory://``, ``sqlite:///path.db`` or
    ``postgresql://user@host/db`` (``?option=value``)."""
    store_class, parts, options = _backend(url)
    return cast(_OpensFromUrl, store_class).from_url(url, parts, options)


def check_store_url(url: str) -> None:
    """Refuse, with :class:`StoreRefused`, a URL that :func:`open_store` would refuse for its
    form — shape, scheme, options, the folder an SQLite file goes in — opening nothing.

    No file is created and no server contacted, so a command can check its ``--store``
    before any work starts; a database that is unreachable or locked is still found only
    when it is opened. A backend checks its own part with a ``check_url`` classmethod
    (``from_url``'s arguments); one without it is checked for its scheme only.
    """
    store_class, parts, options = _backend(url)
    check = getattr(store_class, "check_url", None)
    if check is not None:
        check(url, parts, options)


def _backend(url: str) -> tuple[type[Store], SplitResult, dict[str, str]]:
    """The class registered for the URL's scheme, the split URL and its options."""
    if not isinstance(url, str) or "://" not in url:
        raise StoreRefused(f"store URL {shown_url(url)} must look like 'memory://', "
                           "'sqlite:///path.db' or 'postgresql://user@host/db'")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise StoreRefused(f"store URL {shown_url(url)}: {exc}") from None
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in _REGISTRY:
        known = ", ".join(f"{s}://" for s in sorted(_REGISTRY))
        raise StoreRefused(f"store URL {shown_url(url)}: unknown scheme {shorten(scheme)} "
                           f"(known: {known})")
    module_name, _, class_name = _REGISTRY[scheme].partition(":")
    try:
        store_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        raise StoreRefused(f"store URL {shown_url(url)}: backend {module_name} unavailable: "
                           f"{exc}") from exc
    return store_class, parts, dict(parse_qsl(parts.query, keep_blank_values=True))


def store_variant(url: str, tag: str, default_schema: str = "public") -> str:
    """A sibling ledger of ``url`` for one run: ``sqlite:///run.db`` → ``sqlite:///run-TAG.db``.

    PostgreSQL URLs get their own schema (``?schema=NAME_TAG``, from ``default_schema``
    when the URL names none); ``memory://`` is returned as it is (always fresh). Used to
    give each replication or chaos seed a ledger of its own.
    """
    if url.startswith(("postgresql:", "postgres:")):
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        options["schema"] = f"{options.get('schema', default_schema)}_{tag}"
        return urlunsplit(parts._replace(query=urlencode(options)))
    if not url.startswith("sqlite:"):
        return url
    base, query = [*url.split("?", 1), ""][:2]
    match = re.match(r"(.*?)(\.[A-Za-z0-9]+)?$", base)
    stem, suffix = match.group(1), match.group(2) or ""  # type: ignore[union-attr]
    return f"{stem}-{tag}{suffix}" + (f"?{query}" if query else "")
