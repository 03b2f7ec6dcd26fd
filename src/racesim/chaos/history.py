"""A recorded history: every operation one or many workers sent an engine, and its answer.

The linearizability checker (:mod:`racesim.chaos.linearize`) reads it. One record per
operation: when the caller invoked it and when the answer came back (monotonic seconds),
which worker called, the operation — named as the engine protocol
(:mod:`racesim.ledger.protocol`) names it — its arguments and the answer::

    {"racesim_history": 1}
    {"worker": 0, "op": "restock", "args": {"sku": "MUG", "quantity": 1, "ref": "PO-1",
     "at": 0.0}, "invoked": 0.10, "completed": 0.12, "answer": {"status": "applied"}}
    {"worker": 1, "op": "reserve", "args": {"order_id": "A-1", "sku": "MUG",
     "quantity": 1, "channel": "amazon", "at": 1.0}, "invoked": 0.20, "completed": 0.31,
     "answer": {"status": "reserved", "decision": "reserved"}}
    {"worker": 2, "op": "available", "args": {"sku": "MUG"}, "invoked": 0.25,
     "completed": 0.26, "answer": {"value": 0}}

Operations (:data:`OPERATIONS`): the commands ``restock``, ``reserve``, ``release``,
``fulfill``, ``return_`` and ``adjust``, whose arguments are the fields of their webhook
(:mod:`racesim.webhooks.format`: ``quantity``, ``delta``, ``at`` …) and whose answer is
``{"status": …, "decision": …}`` or ``{"error": "…"}`` (the engine raised, so — by the
protocol — changed nothing); ``batch``, several commands in one transaction
(``{"commands": [{"op": …, "args": …}, …]}``, answered ``{"answers": [...]}`` or
``{"error": …}``); and the reads ``available`` (``{"value": N}``) and ``stock``
(``{"on_hand": N, "reserved": M}``), whose only argument is ``sku``.

A worker does one thing at a time, so its operations may not overlap. The first line may
be a header (an object with ``racesim_history``). Reading stops at the first malformed
line with one :class:`HistoryError` naming the file, the line and the field.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from racesim.errors import RacesimError, shorten
from racesim.ledger.protocol import ENGINE_STATUSES
from racesim.webhooks.format import Webhook, WebhookError, parse_webhook

__all__ = [
    "COMMANDS",
    "HISTORY_FORMAT",
    "OPERATIONS",
    "READS",
    "HistoryError",
    "Operation",
    "operation_from_json",
    "read_history",
    "write_history",
]

HISTORY_FORMAT = 1
"""The value of ``racesim_history`` in a history's header."""

COMMANDS: dict[str, str] = {
    "restock": "stock.received",
    "reserve": "order.created",
    "release": "order.cancelled",
    "fulfill": "order.shipped",
    "return_": "return.received",
    "adjust": "stock.adjusted",
}
"""Each command of the engine protocol and the webhook type whose fields are its arguments."""

READS = ("available", "stock")
"""The reads of the engine protocol."""

OPERATIONS = (*COMMANDS, "batch", *READS)
"""Every operation a history may hold."""

MAX_WORKERS = 1_000_000
MAX_BATCH = 1_000
_FIELDS = ("worker", "op", "args", "invoked", "completed", "answer")
_HEADER = "racesim_history"
_BY_TYPE = {kind: op for op, kind in COMMANDS.items()}
_NAMED = re.compile(r"field '(\w+)':? (.*)", re.DOTALL)


class HistoryError(RacesimError, ValueError):
    """A history line is malformed; the message names the file, the line and the field."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a history.

    ``index``: its position in the history (0-based); ``invoked_s``/``completed_s``:
    monotonic seconds; ``commands``: the webhooks of a command (one) or a batch (several),
    empty for a read; ``sku``: a read's SKU; ``answer``: what the engine answered, as in
    the file (see the module docstring).
    """

    index: int
    worker: int
    op: str
    invoked_s: float
    completed_s: float
    commands: tuple[Webhook, ...]
    sku: str
    answer: dict[str, Any]

    @property
    def skus(self) -> tuple[str, ...]:
        """The SKUs the operation touches, sorted (several for a multi-SKU batch)."""
        return (self.sku,) if self.op in READS else tuple(sorted({w.sku for w in self.commands}))

    def to_json(self) -> dict[str, Any]:
        """The operation as one JSON object of a history file."""
        if self.op in READS:
            args: dict[str, Any] = {"sku": self.sku}
        elif self.op == "batch":
            args = {"commands": [_command_json(w) for w in self.commands]}
        else:
            args = _command_json(self.commands[0])["args"]
        return {"worker": self.worker, "op": self.op, "args": args,
                "invoked": self.invoked_s, "completed": self.completed_s,
                "answer": self.answer}

    def describe(self) -> str:
        """A short reading: ``reserve A-1 MUG ×1 (amazon)``, ``available MUG``."""
        if self.op in READS:
            return f"{self.op} {self.sku}"
        return "; ".join(f"{_BY_TYPE[w.type]} {_what(w)}" for w in self.commands)

    def answer_text(self) -> str:
        """The answer in a few words: ``reserved``, ``= 3``, ``error: …``."""
        return _answer_text(self.answer)


def _what(w: Webhook) -> str:
    text = w.describe()
    return text.removeprefix(w.type + " ").rsplit(" at ", 1)[0]


def _answer_text(answer: dict[str, Any]) -> str:
    if "error" in answer:
        return f"error: {shorten(answer['error'], 40, as_text=True)}"
    if "value" in answer:
        return f"= {answer['value']}"
    if "on_hand" in answer:
        return f"on hand {answer['on_hand']}, reserved {answer['reserved']}"
    if "answers" in answer:
        return "[" + ", ".join(_answer_text(a) for a in answer["answers"]) + "]"
    decision = answer.get("decision", "")
    return answer["status"] + (f" ({decision})" if decision and decision != answer["status"]
                               else "")


def _command_json(w: Webhook) -> dict[str, Any]:
    args = w.to_json()
    del args["type"]
    return {"op": _BY_TYPE[w.type], "args": args}


class _Bad(Exception):
    """A field is malformed: ``field`` names it, the message says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _seconds(field: str, value: object) -> float:
    try:
        seconds = float(value) if isinstance(value, int | float) and \
            not isinstance(value, bool) else math.nan
    except OverflowError:  # a JSON integer too large for a float
        seconds = math.inf
    if not math.isfinite(seconds):
        raise _Bad(field, f"must be a finite number of seconds (got {shorten(value)})")
    return seconds


def _whole(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(field, f"must be a whole number from {low} to {high:,} "
                          f"(got {shorten(value)})")
    return value


def _object(field: str, value: object, keys: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(field, f"must be a JSON object (got {shorten(value)})")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise _Bad(field, f"unknown key(s) {', '.join(map(repr, unknown))} "
                          f"(expected {', '.join(keys)})")
    missing = [key for key in keys if key not in value]
    if missing and not set(missing) <= {"decision"}:
        raise _Bad(field, f"missing key(s) {', '.join(map(repr, missing))}")
    return value


def _command(prefix: str, op: object, args: object) -> Webhook:
    """A command's webhook; ``prefix`` locates it (``""``, ``"args.commands[2]."``)."""
    if op not in COMMANDS:
        raise _Bad(f"{prefix}op", f"must be one of {', '.join(COMMANDS)} (got {shorten(op)})")
    if not isinstance(args, dict):
        raise _Bad(f"{prefix}args", f"must be a JSON object (got {shorten(args)})")
    if "type" in args:
        raise _Bad(f"{prefix}args", "unknown key 'type' (the operation names it)")
    kind = COMMANDS[str(op)]
    try:
        return parse_webhook({"type": kind, **args})
    except WebhookError as exc:
        message = str(exc).removeprefix(f"{kind}: ")
        named = _NAMED.match(message)
        if named:
            raise _Bad(f"{prefix}args.{named[1]}", named[2]) from None
        raise _Bad(f"{prefix}args", message) from None


def _status_answer(field: str, value: object) -> dict[str, Any]:
    if isinstance(value, dict) and "error" in value:
        answer = _object(field, value, ("error",))
        if not isinstance(answer["error"], str):
            raise _Bad(f"{field}.error", f"must be a string (got {shorten(answer['error'])})")
        return {"error": answer["error"]}
    answer = _object(field, value, ("status", "decision"))
    if answer["status"] not in ENGINE_STATUSES:
        raise _Bad(f"{field}.status", f"must be one of {', '.join(sorted(ENGINE_STATUSES))} "
                                      f"(got {shorten(answer['status'])})")
    decision = answer.get("decision", "")
    if decision not in ("", "reserved", "rejected"):
        raise _Bad(f"{field}.decision", f"must be reserved, rejected or empty "
                                        f"(got {shorten(decision)})")
    return {"status": answer["status"], **({"decision": decision} if decision else {})}


def _batch(args: object, answer: object) -> tuple[tuple[Webhook, ...], dict[str, Any]]:
    listed = _object("args", args, ("commands",))["commands"]
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_BATCH:
        raise _Bad("args.commands", f"must be a list of 1 to {MAX_BATCH} commands")
    commands = []
    for n, item in enumerate(listed):
        entry = _object(f"args.commands[{n}]", item, ("op", "args"))
        commands.append(_command(f"args.commands[{n}].", entry["op"], entry["args"]))
    if isinstance(answer, dict) and "error" in answer:
        return tuple(commands), _status_answer("answer", answer)
    answers = _object("answer", answer, ("answers",))["answers"]
    if not isinstance(answers, list) or len(answers) != len(commands):
        raise _Bad("answer.answers", f"must be a list of {len(commands)} answers, one per "
                                     "command")
    return tuple(commands), {"answers": [_status_answer(f"answer.answers[{n}]", a)
                                         for n, a in enumerate(answers)]}


def _read_answer(op: str, value: object) -> dict[str, Any]:
    keys = ("value",) if op == "available" else ("on_hand", "reserved")
    answer = _object("answer", value, keys)
    return {key: _whole(f"answer.{key}", answer[key], -10**12, 10**12) for key in keys}


def operation_from_json(record: object, index: int) -> Operation:
    """Check one decoded history record; raise :class:`HistoryError` naming the field."""
    try:
        return _operation(record, index)
    except _Bad as bad:
        raise HistoryError(f"field {bad.field!r}: {bad}") from None


def _operation(record: object, index: int) -> Operation:
    if not isinstance(record, dict):
        raise _Bad("(line)", f"must be a JSON object (got {shorten(record)})")
    _object("(line)", record, _FIELDS)
    op = record["op"]
    if op not in OPERATIONS:
        raise _Bad("op", f"must be one of {', '.join(OPERATIONS)} (got {shorten(op)})")
    worker = _whole("worker", record["worker"], 0, MAX_WORKERS)
    invoked = _seconds("invoked", record["invoked"])
    completed = _seconds("completed", record["completed"])
    if completed < invoked:
        raise _Bad("completed", f"{completed:g} s is before 'invoked' ({invoked:g} s)")
    sku, commands = "", cast(tuple[Webhook, ...], ())
    if op in READS:
        sku = _object("args", record["args"], ("sku",))["sku"]
        if not isinstance(sku, str) or not sku.strip() or not sku.isprintable():
            raise _Bad("args.sku", f"must be a non-empty string (got {shorten(sku)})")
        answer = _read_answer(op, record["answer"])
    elif op == "batch":
        commands, answer = _batch(record["args"], record["answer"])
    else:
        commands = (_command("", op, record["args"]),)
        answer = _status_answer("answer", record["answer"])
    return Operation(index, worker, op, invoked, completed, commands, sku, answer)


def read_history(path: str | Path) -> list[Operation]:
    """Read a history file (JSON Lines); the first malformed line raises HistoryError."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    operations: list[Operation] = []
    lines: list[int] = []
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}: line {number}"
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                record = json.loads(text) if text.strip() else None
            except UnicodeDecodeError:
                raise HistoryError(f"{where}: not UTF-8 text") from None
            except (ValueError, RecursionError) as exc:
                raise HistoryError(f"{where}: not JSON ({shorten(str(exc), 80, as_text=True)})"
                                   ) from None
            if record is None or (number == 1 and isinstance(record, dict)
                                  and _HEADER in record):
                continue
            try:
                operation = operation_from_json(record, len(operations))
            except HistoryError as exc:
                raise HistoryError(f"{where}: {exc}") from None
            operations.append(operation)
            lines.append(number)
    _one_at_a_time(path, operations, lines)
    return operations


def _one_at_a_time(path: Path, operations: list[Operation], lines: list[int]) -> None:
    """A worker's operations may not overlap (it waits for each answer)."""
    by_worker: dict[int, list[Operation]] = {}
    for operation in operations:
        by_worker.setdefault(operation.worker, []).append(operation)
    clashes = []
    for worker, own in by_worker.items():
        own.sort(key=lambda o: (o.invoked_s, o.index))
        for before, after in itertools.pairwise(own):
            if after.invoked_s < before.completed_s:
                clashes.append((lines[after.index], worker, after, before))
                break
    if clashes:
        number, worker, after, before = min(clashes, key=lambda c: c[0])
        raise HistoryError(f"{path}: line {number}: field 'invoked': worker {worker} invoked "
                           f"this at {after.invoked_s:g} s, before its operation on line "
                           f"{lines[before.index]} completed ({before.completed_s:g} s)")


def write_history(path: str | Path, operations: Iterable[Operation]) -> Path:
    """Write operations as a history file (a header, then one JSON object per line)."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({_HEADER: HISTORY_FORMAT}) + "\n")
        for operation in operations:
            handle.write(json.dumps(operation.to_json(), ensure_ascii=False) + "\n")
    return path
