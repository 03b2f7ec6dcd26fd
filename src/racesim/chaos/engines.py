"""The engines ``racesim chaos`` attacks: opening one per run, and reading its answers.

An engine under test is any :class:`~racesim.ledger.protocol.StockEngine` — the protocol,
its statuses and its optional methods are described in :mod:`racesim.ledger.protocol`.
The harness redelivers a command the engine raised on, as a job runner would. Optional
methods widen the audit: ``stock(sku, as_of=None)`` checks the figures (and history by
``as_of``), ``iter_events(after_seq=0)`` checks projection = replay of the log,
``verify()`` runs the engine's own check, and ``batch()`` lets the harness crash a handler
inside its transaction.

An answer outside the protocol — no status, an unknown one, a figure that is not a whole
number, a read or factory that raises — stops the run with
:class:`~racesim.ledger.protocol.EngineProtocolError` naming the call: the adapter is
broken, and the harness cannot judge the engine behind it.

Engine specs on the command line: ``ledger`` (with ``--store URL``), ``naive_counter``,
``python:MODULE:FACTORY`` or ``python:path/to/file.py:FACTORY`` (``FACTORY()`` or
``FACTORY(run_id)`` returns a fresh engine for each run), and ``http://HOST:PORT/PATH``
(the JSON-over-HTTP adapter, :mod:`racesim.chaos.http`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import numbers
import re
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from racesim.chaos.http import HttpEngine
from racesim.chaos.reference import Figures
from racesim.chaos.swarm import swarm_sku
from racesim.errors import RacesimError, shorten
from racesim.ledger.engine import Ledger
from racesim.ledger.protocol import (
    ENGINE_STATUSES,
    LOCAL_ENGINES,
    LOG_KINDS,
    CommandAnswer,
    EngineProtocolError,
    LocalEngine,
    StockEngine,
    open_engine,
)
from racesim.ledger.store import store_variant
from racesim.webhooks.format import Webhook, apply_webhook

__all__ = [
    "EngineSpec",
    "EngineUnderTest",
    "HandlerCrash",
    "Observed",
    "open_factory",
    "parse_engine",
]

ENGINE_KINDS = (*LOCAL_ENGINES, "python", "http")


class HandlerCrash(Exception):
    """Raised inside an engine's transaction to simulate a handler dying mid-command."""


class Observed(NamedTuple):
    """What the harness can read of one SKU: always ``available``, figures if exposed."""

    available: int
    figures: Figures | None


class EngineUnderTest:
    """One engine instance as the auditor sees it: commands in, statuses and figures out.

    Every value read from the engine is checked against the protocol; a value outside it
    raises :class:`EngineProtocolError` naming the call.
    """

    def __init__(self, engine: StockEngine[Any], label: str) -> None:
        missing = [name for name in ("restock", "reserve", "release", "fulfill", "return_",
                                     "adjust", "available")
                   if not callable(getattr(engine, name, None))]
        if missing:
            raise EngineProtocolError(f"engine {label}: {type(engine).__name__} lacks "
                                      f"{', '.join(missing)} (see racesim.ledger.protocol)")
        self.engine = engine
        self.label = label
        stock = getattr(engine, "stock", None)
        self.has_stock = callable(stock)
        self.has_history = callable(stock) and _takes(stock, "as_of")
        self.has_log = callable(getattr(engine, "iter_events", None))
        self.has_verify = callable(getattr(engine, "verify", None))
        self.can_roll_back = callable(getattr(engine, "batch", None))

    def send(self, webhook: Webhook, at: float) -> CommandAnswer:
        """Apply one delivery; return what the engine returned (see :meth:`reading`).

        Whatever the engine raises propagates: it refused the delivery.
        """
        return apply_webhook(self.engine, webhook, at)

    def reading(self, webhook: Webhook, result: CommandAnswer) -> tuple[str, str]:
        """(status, decision) of a command's result, checked against the protocol."""
        status = result if isinstance(result, str | Enum) else getattr(result, "status", None)
        decision = "" if isinstance(result, str | Enum) else getattr(result, "decision", None)
        status = _word(status)
        if status not in ENGINE_STATUSES:
            raise EngineProtocolError(
                f"engine {self.label}: {webhook.type} returned {shorten(result)}; expected one of "
                f"{', '.join(sorted(ENGINE_STATUSES))} (a string, an Enum, or an object with "
                "'status')")
        decision = _word(decision) if decision else ""
        if decision and decision not in ("reserved", "rejected"):
            raise EngineProtocolError(f"engine {self.label}: {webhook.type} returned decision "
                                      f"{shorten(decision)}; expected reserved or rejected")
        return status, decision

    def send_and_crash(self, webhook: Webhook, at: float) -> None:
        """Apply one delivery inside a transaction that the 'handler' then dies in."""
        with suppress(HandlerCrash), self._optional("batch")():
            apply_webhook(self.engine, webhook, at)
            raise HandlerCrash

    def observe(self, sku: str) -> Observed:
        """The SKU's figures now: ``available(sku)``, and ``stock(sku)`` if it has one."""
        return Observed(self.read_available(sku), self.read_stock(sku))

    def read_available(self, sku: str) -> int:
        """``available(sku)``, checked."""
        return self._units(f"available({sku!r})", self._call(self.engine.available, sku))

    def read_stock(self, sku: str) -> Figures | None:
        """``stock(sku)``, checked (None when the engine has no ``stock``)."""
        if not self.has_stock:
            return None
        stock = self._call(self._optional("stock"), sku)
        return self._figures(f"stock({sku!r})", stock)

    def figures_at(self, sku: str, at: float) -> Figures | None:
        """The SKU's figures as of ``at`` (None when the engine has no history)."""
        if not self.has_history:
            return None
        stock = self._call(self._optional("stock"), sku, as_of=at)
        return self._figures(f"stock({sku!r}, as_of={at!r})", stock)

    def events_after(self, seq: int) -> list[Any]:
        """Log records after sequence number ``seq`` (engines with a log), checked."""
        events = list(self._call(self._optional("iter_events"), after_seq=seq))
        for event in events:
            try:
                kind = _word(event.kind).upper()
                ok = (kind in LOG_KINDS and isinstance(event.sku, str)
                      and _is_whole(event.quantity) and _is_whole(event.seq))
            except AttributeError:
                ok = False
            if not ok:
                raise EngineProtocolError(
                    f"engine {self.label}: iter_events() yielded {shorten(event)}; expected "
                    "records with seq, kind (RESTOCK, RESERVE, REJECT, RELEASE, FULFILL, RETURN, "
                    "ADJUST), sku, quantity and order_id")
        return events

    def verify(self) -> list[str]:
        """The engine's own integrity check: problems found (empty when sound)."""
        return [str(problem) for problem in self._call(self._optional("verify"))]

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if callable(close):
            self._call(close)

    def _optional(self, name: str) -> Callable[..., Any]:
        """One of the protocol's optional methods (``has_…`` said the engine has it)."""
        method: Callable[..., Any] = getattr(self.engine, name)
        return method

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except EngineProtocolError:
            raise
        except Exception as exc:
            name = getattr(method, "__name__", "a method")
            raise EngineProtocolError(f"engine {self.label}: {name}() raised "
                                      f"{_described(exc)}") from exc

    def _units(self, call: str, value: Any) -> int:
        if not _is_whole(value):
            raise EngineProtocolError(f"engine {self.label}: {call} returned {shorten(value)}; "
                                      "expected a whole number of units")
        return int(value)

    def _figures(self, call: str, stock: Any) -> Figures:
        try:
            on_hand, reserved = stock.on_hand, stock.reserved
        except AttributeError:
            raise EngineProtocolError(f"engine {self.label}: {call} returned {shorten(stock)}; "
                                      "expected an object with on_hand and reserved") from None
        return Figures(self._units(f"{call}.on_hand", on_hand),
                       self._units(f"{call}.reserved", reserved))


def _word(value: Any) -> str:
    """A status or kind as a plain lower-case string (Enum members by their value)."""
    if isinstance(value, Enum):
        value = value.value
    return value.lower() if isinstance(value, str) else repr(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """How to make a fresh engine for each run (seed, or shrinking attempt).

    ``kind``: ledger, naive_counter, python or http; ``target``: the ledger's store URL,
    the factory's ``module:name`` or the HTTP base URL; ``namespace``: a prefix that keeps
    the ids of one harness invocation apart from another's on a shared HTTP server;
    ``token``: the bearer token an HTTP engine is sent (never shown in a label or repr).
    """

    kind: str
    target: str = ""
    namespace: str = ""
    token: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        """How reports name the engine: ``ledger on sqlite:///chaos.db``, ``naive_counter``."""
        if self.kind == "ledger":
            return f"ledger on {self.target}"
        return self.kind if not self.target else f"{self.kind} {self.target}"

    def open(self, run_id: str) -> EngineUnderTest:
        """A fresh, empty engine for run ``run_id`` (leftovers of an earlier run are wiped)."""
        if self.kind in LOCAL_ENGINES:
            return EngineUnderTest(self._fresh_local(run_id), self.label)
        if self.kind == "http":
            return EngineUnderTest(HttpEngine(self.target, f"{self.namespace}{run_id}",
                                              token=self.token or None), self.label)
        return open_factory(load_factory(self.target), run_id, self.label)

    def _fresh_local(self, run_id: str) -> LocalEngine:
        """The ledger on this run's own store (emptied if a chaos run left it), or the
        naive counter."""
        engine = open_engine(self.kind, store_variant(self.target, _tag(run_id), "chaos"))
        if not isinstance(engine, Ledger) or not engine.event_count():
            return engine
        # A leftover of an earlier run, or someone's ledger?
        ours = all(swarm_sku(sku) for sku in engine.levels())
        url = engine.url
        if not ours:
            engine.close()
            raise RacesimError(f"{url} holds a ledger that racesim chaos did not "
                               "write; choose another --store (each seed uses "
                               "its own file or schema derived from it)")
        engine.destroy()
        return open_engine(self.kind, url)

    def discard(self, engine: EngineUnderTest) -> None:
        """Close a run's engine; delete a throwaway ledger's storage (its run passed)."""
        destroy = getattr(engine.engine, "destroy", None)
        if self.kind == "ledger" and callable(destroy):
            destroy()
        else:
            engine.close()


def parse_engine(text: str, store: str | None = None, namespace: str = "",
                 token: str | None = None) -> EngineSpec:
    """Read an engine spec (see the module docstring); ``store`` goes with ``ledger``,
    ``token`` (the server's bearer token) with ``http://``."""
    text = text.strip()
    if store is not None and text != "ledger":
        raise RacesimError(f"--store applies to --engine ledger only (got --engine {text!r})")
    if token is not None and not text.startswith(("http://", "https://")):
        raise RacesimError(f"a token applies to --engine http://… only (got --engine "
                           f"{text!r})")
    if text == "ledger":
        return EngineSpec("ledger", store or "memory://")
    if text == "naive_counter":
        return EngineSpec("naive_counter")
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        if not parts.hostname:
            raise RacesimError(f"engine URL {text!r} names no host")
        return EngineSpec("http", text.rstrip("/"), namespace, token or "")
    if text.startswith("python:"):
        target = text.removeprefix("python:")
        load_factory(target)  # fail here, with the reason, not in a worker
        return EngineSpec("python", target)
    raise RacesimError(f"unknown engine {text!r}: use ledger, naive_counter, "
                       "python:MODULE:FACTORY or http://HOST:PORT/PATH")


def open_factory(factory: Callable[..., Any], run_id: str, label: str) -> EngineUnderTest:
    """The engine ``factory(run_id)`` (or ``factory()``, if it takes no argument) makes.

    An exception from the factory is the adapter's fault:
    :class:`~racesim.ledger.protocol.EngineProtocolError` naming ``label``.
    """
    takes_run_id = _positional_parameters(factory) >= 1
    try:
        engine = factory(run_id) if takes_run_id else factory()
    except Exception as exc:
        raise EngineProtocolError(f"engine {label}: the factory raised "
                                  f"{_described(exc)}") from exc
    return EngineUnderTest(engine, label)


def load_factory(target: str) -> Callable[..., Any]:
    """The callable named by ``module:name`` or ``path/to/file.py:name``."""
    module_name, _, attribute = target.rpartition(":")
    if not module_name or not attribute:
        raise RacesimError(f"python engine {target!r}: expected MODULE:FACTORY or "
                           "path/to/file.py:FACTORY")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            if not path.is_file():
                raise RacesimError(f"python engine {target!r}: no file {path}")
            name = f"racesim_user_engine_{abs(hash(str(path)))}"
            module = sys.modules.get(name)
            if module is None:
                if str(path.parent) not in sys.path:  # its sibling modules import, as for
                    sys.path.insert(0, str(path.parent))  # a script run from there
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
                sys.modules[name] = module
                spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(module_name)
    except RacesimError:
        raise
    except Exception as exc:
        raise RacesimError(f"python engine {target!r}: cannot import {module_name}: "
                           f"{_described(exc)}") from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise RacesimError(f"python engine {target!r}: {module_name} has no callable "
                           f"{attribute!r}")
    return factory


def _described(error: BaseException) -> str:
    """``Type: message`` of an engine's exception, the message shortened."""
    return f"{type(error).__name__}: {shorten(str(error), as_text=True)}"


def _tag(run_id: str) -> str:
    """A run id made safe for a file name and a schema name."""
    return re.sub(r"[^a-z0-9_]", "_", run_id.lower())


def _takes(function: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _positional_parameters(factory: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
               for p in parameters)
