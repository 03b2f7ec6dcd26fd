"""A webhook handler killed with SIGKILL mid-stream loses nothing and applies nothing twice.

A child process plays a long stream of commands — restocks, reservations, re-sent
copies of earlier commands, releases and shipments — against a store, and writes the
index of each command whose call has returned to its stdout pipe (``os.write`` of a
short line to a pipe is atomic, and what is in the pipe outlives the writer). The parent
kills it with SIGKILL at seeded random moments — between commands or in the middle of
a transaction — then, like a job runner, starts a new child that re-sends every command
not yet reported (at-least-once delivery, so the command in flight at the kill is sent
again). After every kill the reopened ledger must

- pass ``verify()`` (the projection equals a replay: nothing was half-applied);
- hold exactly the events of an uninterrupted run, up to some point (no stray event,
  no event twice);
- contain every reported command's idempotency key exactly once;

and after the last, uninterrupted child the log, stock levels and order lines must equal
those of one run that never crashed (computed in memory).

SQLite runs with ``synchronous=NORMAL``: a killed process, unlike a power cut, loses no
committed WAL frame. PostgreSQL's server keeps running: only the client dies, and the
server rolls its open transaction back.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import store_url
from postgres_server import require_postgres
from racesim.errors import LedgerError
from racesim.ledger import Ledger

COMMANDS = 500
KILLS = 5
SKUS = ("SKU-A", "SKU-B", "SKU-C")

Command = list[Any]  # [name, *arguments], JSON-friendly
Key = tuple[str, str, str, str]  # (command, sku, order_id, ref) as the event log holds it


def send(ledger: Ledger, command: Command) -> None:
    """Deliver one command of the stream (its ``at`` is part of it)."""
    name, *args = command
    if name == "restock":
        sku, qty, ref, at = args
        ledger.restock(sku, qty, ref=ref, at=at)
    elif name == "reserve":
        sku, qty, order_id, channel, at = args
        ledger.reserve(sku, qty, order_id=order_id, channel=channel, at=at)
    elif name == "release":
        order_id, sku, at = args
        ledger.release(order_id, sku, at=at)
    elif name == "fulfill":
        order_id, sku, at = args
        ledger.fulfill(order_id, sku, at=at)
    else:
        raise ValueError(f"unknown command {name!r}")


def key_of(command: Command) -> Key:
    """The idempotency key of the event this command writes, or finds already written."""
    name, *args = command
    if name == "restock":
        return ("restock", args[0], "", args[2])
    if name == "reserve":
        return ("reserve", args[0], args[2], "")
    return (name, args[1], args[0], "")


def command_stream(rng: random.Random, length: int) -> list[Command]:
    """``length`` commands that a memory ledger accepts, in time order, with repeats.

    Each is checked against a reference ledger as it is drawn, so the stream holds no
    refused command: every call the child reports has an event under its key.
    """
    reference = Ledger.open("memory://")
    stream: list[Command] = []
    reserved: list[tuple[str, str]] = []
    for i in range(length):
        at = float(i)
        roll = rng.random()
        if i == 0 or roll < 0.12:
            command: Command = ["restock", rng.choice(SKUS), rng.randint(1, 4), f"PO-{i}", at]
        elif roll < 0.62:
            command = ["reserve", rng.choice(SKUS), rng.randint(1, 2), f"ORD-{i}",
                       rng.choice(("amazon", "ebay", "shop")), at]
        elif roll < 0.77:
            command = [*rng.choice(stream)[:-1], at]  # a re-sent copy, delivered late
        elif reserved:
            order_id, sku = reserved.pop(rng.randrange(len(reserved)))
            command = ["release" if roll < 0.87 else "fulfill", order_id, sku, at]
        else:
            continue
        try:
            send(reference, command)
        except LedgerError:
            continue
        if command[0] == "reserve" and command[3] == f"ORD-{i}":  # a first delivery
            line = reference.order_line(command[3], command[1])
            if line is not None and line.status == "reserved":
                reserved.append((command[3], command[1]))
        stream.append(command)
    reference.close()
    return stream


def run_uninterrupted(stream: list[Command]) -> Ledger:
    """The stream applied once, in order, to a memory ledger: what a crash must not change."""
    ledger = Ledger.open("memory://")
    for command in stream:
        send(ledger, command)
    return ledger


def event_keys(ledger: Ledger) -> Counter[Key]:
    """How often each idempotency key occurs in the log."""
    return Counter((e.command, e.sku, e.order_id, e.ref) for e in ledger.iter_events())


def start_child(url: str, stream_file: Path, start: int) -> subprocess.Popen[bytes]:
    """A handler process sending the stream from index ``start`` on (reports on stdout)."""
    return subprocess.Popen([sys.executable, __file__, url, str(stream_file), str(start)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parent)


def child_main(url: str, stream_file: str, start: int) -> None:
    """The handler: send each command from ``start`` on; report each index that returned."""
    stream = json.loads(Path(stream_file).read_text(encoding="utf-8"))
    with Ledger.open(url) as ledger:
        for index in range(start, len(stream)):
            send(ledger, stream[index])
            os.write(1, f"{index}\n".encode())


def check_after_crash(url: str, reference_events: list[Any], reported: set[int],
                      stream: list[Command]) -> int:
    """The reopened ledger is sound, a prefix of the uninterrupted log, and holds every
    reported command exactly once. Returns the number of events."""
    with Ledger.open(url) as ledger:
        assert ledger.verify() == []
        events = list(ledger.iter_events())
        assert events == reference_events[:len(events)], "the log is not a prefix of a clean run"
        keys = event_keys(ledger)
        assert all(count == 1 for count in keys.values())
        missing = [stream[i] for i in sorted(reported) if keys[key_of(stream[i])] != 1]
        assert missing == [], f"reported as returned but not in the log: {missing[:3]}"
        return len(events)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_killed_handler_loses_nothing_and_applies_nothing_twice(
        tmp_path: Path, kind: str) -> None:
    if kind == "postgres":
        require_postgres()
    rng = random.Random(20261127)
    stream = command_stream(rng, COMMANDS)
    assert {c[0] for c in stream} == {"restock", "reserve", "release", "fulfill"}
    reference = run_uninterrupted(stream)
    reference_events = list(reference.iter_events())
    stream_file = tmp_path / "stream.json"
    stream_file.write_text(json.dumps(stream), encoding="utf-8")
    url = store_url(kind, tmp_path, "crash")
    if kind == "sqlite":
        url += "?synchronous=NORMAL"
    Ledger.open(url).close()  # create the schema before the first kill can land

    reported: set[int] = set()
    start, kills, lengths = 0, 0, []
    while kills < KILLS and start < len(stream):
        child = start_child(url, stream_file, start)
        assert child.stdout is not None
        kill_after = rng.randint(5, 60)  # reports to wait for before the kill
        for seen, line in enumerate(child.stdout, start=1):
            reported.add(int(line))
            if seen == kill_after:
                time.sleep(rng.uniform(0, 0.003))  # land anywhere in the next command
                child.send_signal(signal.SIGKILL)
                break
        reported.update(int(line) for line in child.stdout)  # what it wrote before dying
        child.wait(timeout=60)
        if child.returncode == -signal.SIGKILL:
            kills += 1
        else:
            assert child.returncode == 0, child.stderr.read().decode() if child.stderr else ""
        lengths.append(check_after_crash(url, reference_events, reported, stream))
        start = max(reported, default=-1) + 1  # re-send the command in flight, if any
    assert kills == KILLS, f"only {kills} kills landed; make the stream longer"

    child = start_child(url, stream_file, start)  # the last handler runs to the end
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    reported.update(int(line) for line in out.split())
    assert reported >= set(range(start, len(stream)))
    check_after_crash(url, reference_events, reported, stream)
    with Ledger.open(url) as ledger:
        assert list(ledger.iter_events()) == reference_events
        assert ledger.levels() == reference.levels()
        assert ledger.store.order_lines() == reference.store.order_lines()
    assert lengths == sorted(lengths)


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
