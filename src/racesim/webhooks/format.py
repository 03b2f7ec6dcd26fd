"""Stock webhooks as JSON: the one format racesim reads, writes, replays and posts.

A webhook is one JSON object; a log of deliveries is JSON Lines — one delivery per line,
in the order the seller received them, a redelivered copy being simply another line.

=================  ==========================================  ===================
``type``           fields besides ``type`` and ``at``           ledger command
=================  ==========================================  ===================
stock.received     ``sku``, ``quantity``, ``ref``               ``restock``
order.created      ``order_id``, ``sku``, ``quantity``,         ``reserve``
                   ``channel``
order.cancelled    ``order_id``, ``sku``                        ``release``
order.shipped      ``order_id``, ``sku``                        ``fulfill``
return.received    ``order_id``, ``sku``, ``quantity``, ``ref`` ``return_``
stock.adjusted     ``sku``, ``delta``, ``reason``, ``ref``      ``adjust``
=================  ==========================================  ===================

``at`` is when the seller received the delivery, in seconds (simulated or epoch).
``quantity`` is a whole number of units ≥ 1 and ``delta`` a non-zero whole number;
identifiers are non-empty strings of printable characters. Two optional fields:
``id``, the sender's delivery id (repeated on redeliveries; informational), and
``crash``, used by ``racesim chaos`` traces: ``"before"`` (the handler died before it
touched the engine), ``"during"`` (it died inside its transaction, which rolls back) or
``"after"`` (it died after committing, before acknowledging — so the sender redelivers).
Any other field is an error, so a misspelt ``"qty"`` is caught rather than ignored.
A log's first line may instead be a *header*, an object with a ``racesim_trace`` key and
no ``type`` — ``racesim chaos`` writes ``{"racesim_trace": "chaos", "seed": 7,
"swarm_version": 2}`` — which readers skip (:func:`read_header` returns it)::

    {"type": "order.created", "at": 12.5, "order_id": "AMZ-1001", "sku": "MUG-RED",
     "quantity": 1, "channel": "amazon"}
    {"type": "order.cancelled", "at": 30.0, "order_id": "AMZ-1001", "sku": "MUG-RED"}
    {"type": "stock.adjusted", "at": 99.0, "sku": "MUG-RED", "delta": -2,
     "reason": "cycle count", "ref": "COUNT-7"}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from racesim.errors import RacesimError, shorten
from racesim.ledger.protocol import CommandAnswer, StockEngine
from racesim.ledger.validation import MAX_UNITS

__all__ = [
    "CRASH_POINTS",
    "WEBHOOK_TYPES",
    "MalformedLine",
    "Webhook",
    "WebhookError",
    "apply_webhook",
    "parse_webhook",
    "read_header",
    "read_log",
    "webhook_from_json",
    "write_log",
]

A = TypeVar("A", bound=CommandAnswer)
"""What the engine's commands answer (the ledger: :class:`~racesim.ledger.CommandResult`)."""

WEBHOOK_TYPES: dict[str, tuple[str, ...]] = {
    "stock.received": ("sku", "quantity", "ref"),
    "order.created": ("order_id", "sku", "quantity", "channel"),
    "order.cancelled": ("order_id", "sku"),
    "order.shipped": ("order_id", "sku"),
    "return.received": ("order_id", "sku", "quantity", "ref"),
    "stock.adjusted": ("sku", "delta", "reason", "ref"),
}
"""Each webhook type and its required fields (besides ``type`` and ``at``)."""

CRASH_POINTS = ("before", "during", "after")
"""Where a chaos trace says the handler crashed (see the module docstring)."""

_OPTIONAL = ("id", "crash")
_HEADER = "racesim_trace"
_MAX_ID = 256


class WebhookError(RacesimError, ValueError):
    """A webhook is malformed; the message names the field and the bad value."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """One delivery of a stock webhook.

    ``quantity`` is in units — the signed ``delta`` for ``stock.adjusted``. Fields a type
    does not use are empty (``""`` or 0).
    """

    type: str
    at: float
    sku: str
    order_id: str = ""
    quantity: int = 0
    channel: str = ""
    ref: str = ""
    reason: str = ""
    id: str = ""
    crash: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The natural key: copies of one webhook share it (type, order, SKU, ref)."""
        return (self.type, self.order_id, self.sku, self.ref)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this delivery: its type's fields, ``at``, and any options."""
        record: dict[str, Any] = {"type": self.type, "at": self.at}
        for name in WEBHOOK_TYPES[self.type]:
            record[name] = self.quantity if name == "delta" else getattr(self, name)
        for name in _OPTIONAL:
            if getattr(self, name):
                record[name] = getattr(self, name)
        return record

    def to_line(self) -> str:
        """The delivery as one line of JSON (no trailing newline)."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(", ", ": "))

    def describe(self) -> str:
        """A short human reading: ``order.created AMZ-1 MUG ×2 (amazon) at 12.5 s``."""
        parts = [self.type, self.order_id, self.sku]
        if self.type == "stock.adjusted":
            parts.append(f"{self.quantity:+d} ({self.reason})")
        elif self.quantity:
            parts.append(f"×{self.quantity}")
        if self.channel:
            parts.append(f"({self.channel})")
        if self.ref:
            parts.append(f"ref {self.ref}")
        text = " ".join(p for p in parts if p) + f" at {self.at:g} s"
        return text + (f" [handler crash {self.crash}]" if self.crash else "")


def _identifier(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise WebhookError(f"field {name!r} must be a string (got {_shown(value)})")
    if not value or value.isspace():
        raise WebhookError(f"field {name!r} must be a non-empty string "
                           f"(got {shorten(value)})")
    if not value.isprintable():
        raise WebhookError(f"field {name!r} must not contain control characters "
                           f"(got {shorten(value)})")
    if len(value) > _MAX_ID:
        raise WebhookError(f"field {name!r} is {len(value)} characters long; at most "
                           f"{_MAX_ID} are accepted")
    return value


def _units(name: str, value: object, *, signed: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookError(f"field {name!r} must be a whole number of units "
                           f"(got {_shown(value)})")
    if abs(value) > MAX_UNITS:
        raise WebhookError(f"field {name!r} must be at most {MAX_UNITS:,} units in "
                           f"magnitude (got {shorten(value)})")
    if signed and value == 0:
        raise WebhookError(f"field {name!r} must be non-zero (got 0)")
    if not signed and value < 1:
        raise WebhookError(f"field {name!r} must be ≥ 1 (got {value})")
    return value


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WebhookError(f"field 'at' must be a number of seconds (got {_shown(value)})")
    try:
        seconds = float(value)
    except OverflowError:  # a JSON integer too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise WebhookError(f"field 'at' must be a finite number of seconds ≥ 0 "
                           f"(got {shorten(value)})")
    return seconds


def _shown(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | list | dict) or \
        value is None else repr(value)
    kind = "string" if isinstance(value, str) else type(value).__name__
    return f"{kind} {shorten(text, as_text=True)}"


def _listed(names: list[str], most: int = 5) -> str:
    """``'a', 'b' and 3 more``: a few names, each shortened."""
    shown = ", ".join(shorten(name, 40) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def parse_webhook(record: object) -> Webhook:
    """Check one decoded JSON value and return its :class:`Webhook`.

    Raises :class:`WebhookError` naming the first field that is missing, unknown or
    malformed; nothing is applied anywhere.
    """
    if not isinstance(record, dict):
        raise WebhookError(f"a webhook must be a JSON object (got {_shown(record)})")
    kind = record.get("type")
    if not isinstance(kind, str) or kind not in WEBHOOK_TYPES:  # a list is unhashable
        known = ", ".join(WEBHOOK_TYPES)
        if "type" not in record:
            raise WebhookError(f"field 'type' is missing (one of {known})")
        raise WebhookError(f"field 'type': unknown webhook type {_shown(kind)} "
                           f"(known: {known})")
    fields = WEBHOOK_TYPES[kind]
    unknown = sorted(set(record) - {"type", "at", *fields, *_OPTIONAL})
    if unknown:
        raise WebhookError(f"{kind}: unknown field(s) {_listed(unknown)} "
                           f"(expected {', '.join(('at', *fields))})")
    missing = [name for name in ("at", *fields) if name not in record]
    if missing:
        raise WebhookError(f"{kind}: missing field(s) {', '.join(map(repr, missing))}")
    values: dict[str, Any] = {"type": kind, "at": _seconds(record["at"])}
    for name in fields:
        value = record[name]
        if name == "quantity":
            values["quantity"] = _units(name, value, signed=False)
        elif name == "delta":
            values["quantity"] = _units(name, value, signed=True)
        elif name == "reason":
            if not isinstance(value, str) or not value.strip():
                raise WebhookError(f"field 'reason' must be a non-empty string "
                                   f"(got {_shown(value)})")
            if "\x00" in value:
                raise WebhookError("field 'reason' must not contain NUL characters")
            values["reason"] = value
        else:
            values[name] = _identifier(name, value)
    if "id" in record:
        values["id"] = _identifier("id", record["id"])
    if "crash" in record:
        if record["crash"] not in CRASH_POINTS:
            raise WebhookError(f"field 'crash' must be one of {', '.join(CRASH_POINTS)} "
                               f"(got {_shown(record['crash'])})")
        values["crash"] = record["crash"]
    return Webhook(**values)


def apply_webhook(engine: StockEngine[A], webhook: Webhook, at: float | None = None) -> A:
    """Send ``webhook`` to ``engine`` as its ledger command, at time ``at``.

    ``engine`` is any :class:`~racesim.ledger.protocol.StockEngine` (a
    :class:`~racesim.ledger.Ledger`, the naive counter, a chaos adapter); what it returns
    is returned, what it raises propagates.
    """
    w = webhook
    kind = w.type
    if kind == "order.created":
        return engine.reserve(w.sku, w.quantity, w.order_id, w.channel, at)
    if kind == "order.cancelled":
        return engine.release(w.order_id, w.sku, at)
    if kind == "order.shipped":
        return engine.fulfill(w.order_id, w.sku, at)
    if kind == "stock.received":
        return engine.restock(w.sku, w.quantity, w.ref, at)
    if kind == "return.received":
        return engine.return_(w.order_id, w.sku, w.quantity, w.ref, at)
    if kind == "stock.adjusted":
        return engine.adjust(w.sku, w.quantity, w.reason, w.ref, at)
    raise WebhookError(f"field 'type': unknown webhook type {kind!r}")


class MalformedLine(NamedTuple):
    """A line of a webhook log that could not be read: where, why, and its text."""

    line: int
    message: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _RepeatedKey(ValueError):
    pass


def webhook_from_json(text: str | bytes) -> Webhook:
    """Decode one webhook from JSON text (an HTTP body, say) and check it.

    Raises :class:`WebhookError` for text that is not JSON, an object with a key given
    twice (ambiguous), or anything :func:`parse_webhook` refuses.
    """
    try:
        record = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as exc:
        raise WebhookError(str(exc)) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise WebhookError(f"not JSON: {exc}"[:200]) from None
    return parse_webhook(record)


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (else the line is ambiguous)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(f"field {shorten(key)} appears more than once")
            seen.add(key)
    return record


def read_log(path: str | Path) -> tuple[list[tuple[int, Webhook]], list[MalformedLine]]:
    """Read a JSON Lines webhook log: ``(line number, webhook)`` pairs and malformed lines.

    Blank lines and a header on the first line are skipped. Every other line must decode
    (UTF-8, JSON) and pass :func:`parse_webhook`; one that does not is reported with its
    line number and left out whole — a line is never partly read.
    """
    path = Path(path)
    good: list[tuple[int, Webhook]] = []
    bad: list[MalformedLine] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # BOM or not
            except UnicodeDecodeError as exc:
                bad.append(MalformedLine(number, f"not UTF-8 text ({exc.reason} at byte "
                                                 f"{exc.start})", repr(raw[:80])))
                continue
            if not text.strip():
                continue
            try:
                record = json.loads(text, object_pairs_hook=_no_repeated_keys)
            except _RepeatedKey as exc:
                bad.append(MalformedLine(number, str(exc), text.rstrip("\r\n")[:200]))
                continue
            except json.JSONDecodeError as exc:
                bad.append(MalformedLine(number, f"not JSON ({exc.msg} at column {exc.colno})",
                                         text.rstrip("\r\n")[:200]))
                continue
            except (ValueError, RecursionError) as exc:  # a huge integer, deep nesting
                bad.append(MalformedLine(number, f"not JSON that can be read ({exc})"[:200],
                                         text.rstrip("\r\n")[:200]))
                continue
            if number == 1 and _is_header(record):
                continue
            try:
                good.append((number, parse_webhook(record)))
            except WebhookError as exc:
                bad.append(MalformedLine(number, str(exc), text.rstrip("\r\n")[:200]))
    return good, bad


def _is_header(record: object) -> bool:
    return isinstance(record, dict) and _HEADER in record and "type" not in record


def read_header(path: str | Path) -> dict[str, Any] | None:
    """The header on a log's first line (see the module docstring), or ``None``."""
    with Path(path).open("rb") as handle:
        first = handle.readline()
    try:
        record = json.loads(first.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON: not a header
        return None
    return record if _is_header(record) else None


def write_log(path: str | Path, webhooks: Iterable[Webhook],
              header: dict[str, Any] | None = None) -> Path:
    """Write deliveries as JSON Lines (one per line, in order); return the path.

    ``header``, if given, is written first, under the ``racesim_trace`` key's rules.
    """
    path = Path(path)
    with path.open("w", encoding="utf-8") as handle:
        if header is not None:
            if not _is_header(header):
                raise ValueError(f"a log header needs a {_HEADER!r} key and no 'type'")
            handle.write(json.dumps(header, ensure_ascii=False) + "\n")
        for webhook in webhooks:
            handle.write(webhook.to_line() + "\n")
    return path
