"""The stock-engine protocol: the commands every engine answers, and opening one by name.

A stock engine is any object with the ledger's command methods — :class:`StockEngine`.
:class:`~racesim.ledger.Ledger` speaks it, so does the naive counter, so does the chaos
harness's HTTP adapter, and so can your engine through a thin adapter::

    class MyEngine:                        # racesim chaos --engine python:my_adapter:MyEngine
        def restock(self, sku, qty, ref, at=None): ...
        def reserve(self, sku, qty, order_id, channel, at=None): ...  # "reserved"/"rejected"/…
        def release(self, order_id, sku, at=None): ...
        def fulfill(self, order_id, sku, at=None): ...
        def return_(self, order_id, sku, qty, ref, at=None): ...
        def adjust(self, sku, delta, reason, ref, at=None): ...
        def available(self, sku) -> int: ...
        def close(self): ...

A command answers with its status (:data:`ENGINE_STATUSES`): a string or Enum
(``"reserved"``, ``"rejected"``, ``"applied"``, ``"duplicate"``, ``"mismatch"``, the values
of :class:`~racesim.ledger.CommandStatus`) or an object with a ``status`` attribute — the
ledger's :class:`~racesim.ledger.CommandResult` — and, for a repeated order, ``decision``:
whether the line was reserved or rejected. ``duplicate`` answers a repeat with the same
content, ``mismatch`` one with other content, ``applied`` the first of anything but an
order. An answer outside this is refused with :class:`EngineProtocolError` by whoever reads
it. A command that cannot be applied *yet* (a cancellation before its order, a return
before its shipment) or cannot be applied at all must **raise**: a sender redelivers it as
a job runner would. ``at`` is the time of the delivery in seconds (never decreasing within
a run). ``available(sku)`` returns a whole number of units (0 for a SKU never seen).

Optional methods let a reader check more (the chaos harness audits them when present):
``stock(sku, as_of=None)`` returning an object with ``on_hand`` and ``reserved``;
``iter_events(after_seq=0)`` yielding records with ``seq``, ``kind`` (one of
:data:`LOG_KINDS`), ``sku``, ``quantity`` and ``order_id``; ``verify()`` returning a list
of problems (empty when sound); ``batch()``, a context manager whose exception rolls back.

:class:`InspectableEngine` is the protocol of the engines racesim opens itself
(:func:`open_engine`): they also say where they keep their log, how many events it holds
and the log as a DataFrame — empty for the naive counter, which keeps none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from racesim.errors import RacesimError
from racesim.ledger.engine import Ledger
from racesim.ledger.events import CommandResult, CommandStatus, EventKind
from racesim.ledger.naive import NaiveCounter

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ENGINE_STATUSES",
    "LOCAL_ENGINES",
    "LOG_KINDS",
    "CommandAnswer",
    "EngineProtocolError",
    "InspectableEngine",
    "LocalEngine",
    "StatusReport",
    "StockEngine",
    "open_engine",
]

ENGINE_STATUSES = frozenset(status.value for status in CommandStatus)
"""The answers a command may give: reserved, rejected, applied, duplicate, mismatch."""

LOG_KINDS = frozenset(kind.value for kind in EventKind)
"""The kinds an engine's log records may carry (RESTOCK, RESERVE, REJECT, …)."""

LOCAL_ENGINES = ("ledger", "naive_counter")
"""The engines :func:`open_engine` opens by name."""


class EngineProtocolError(RacesimError):
    """The engine, or its adapter, answered outside the protocol (not an invariant break).

    A status that is not one of :data:`ENGINE_STATUSES`, a figure that is not a whole
    number, a factory or read that raised: a reader cannot judge such an engine, so it
    stops and says which call returned what.
    """


class StatusReport(Protocol):
    """A command's answer as an object: its ``status`` (a :data:`ENGINE_STATUSES` word)."""

    @property
    def status(self) -> str: ...


CommandAnswer = CommandResult | CommandStatus | str | StatusReport
"""What a command may return: the ledger's result, a status, or an object with one."""

Answer_co = TypeVar("Answer_co", bound=CommandAnswer, covariant=True)


@runtime_checkable
class StockEngine(Protocol[Answer_co]):
    """The commands an engine answers (see the module docstring).

    Parametrised by what its commands return: the ledger is a
    ``StockEngine[CommandResult]``; an adapter may answer with plain strings.
    """

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> Answer_co:
        """Units received: ``qty`` > 0, ``ref`` the receipt (idempotency key with ``sku``)."""
        ...

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> Answer_co:
        """An order line claims ``qty`` units: reserved, or rejected for lack of stock."""
        ...

    def release(self, order_id: str, sku: str, at: float | None = None) -> Answer_co:
        """A reserved line is cancelled: its units become available again."""
        ...

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> Answer_co:
        """A reserved line ships: its units leave on-hand stock."""
        ...

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> Answer_co:
        """Shipped units come back (``ref``: the return's reference)."""
        ...

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> Answer_co:
        """A signed correction of on-hand stock (cycle count, damage), with its reason."""
        ...

    def available(self, sku: str) -> int:
        """Units that can still be promised for ``sku`` (0 for a SKU never seen)."""
        ...

    def close(self) -> None:
        """Release connections; the engine is not used afterwards."""
        ...


@runtime_checkable
class InspectableEngine(StockEngine[Answer_co], Protocol[Answer_co]):
    """An engine that also tells where its log lives and what it holds."""

    @property
    def url(self) -> str:
        """Where the engine keeps its state (``memory://``, ``naive://``, a store URL)."""
        ...

    def event_count(self) -> int:
        """Events in the log (0 for an engine that keeps none)."""
        ...

    def events(self) -> pd.DataFrame:
        """The log, one row per event (an empty frame for an engine that keeps none)."""
        ...


LocalEngine = Ledger | NaiveCounter
"""The engines racesim opens by name: both ``InspectableEngine[CommandResult]``."""


def open_engine(kind: str, store: str = "memory://") -> LocalEngine:
    """The engine named ``kind``: the ledger on ``store``, or the naive counter.

    ``kind`` is one of :data:`LOCAL_ENGINES`; ``store`` is a store URL (the naive counter
    keeps no store and ignores it).
    """
    if kind == "ledger":
        return Ledger.open(store)
    if kind == "naive_counter":
        return NaiveCounter()
    raise ValueError(f"unknown engine {kind!r} (known: {', '.join(LOCAL_ENGINES)})")
