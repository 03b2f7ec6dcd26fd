"""How fast is the stock ledger, and does reading it stay cheap as its log grows?

Three measurements, each printed next to its target:

1. **In-memory engine, reserve commands per second** on one core (one process, one
   thread). ``reserve-heavy``: one SKU restocked with enough units, then N reserves of one
   unit each under distinct, precomputed order ids. ``mixed``: 50 SKUs, 4 channels, and
   30 % of the commands are re-sent copies of an earlier order's reserve (duplicate
   webhook deliveries, answered from the idempotency record). Target: ≥ 200,000 commands/s
   — a simulated flash sale replays millions of commands, and the ledger must not be what
   makes a parameter sweep slow.

2. **SQLite engine, reserve commands per second** in a WAL file, for ``synchronous=FULL``
   and ``synchronous=NORMAL``: one transaction per command, and batched (many commands in
   one :meth:`~racesim.ledger.Ledger.batch`). Next to each, the *raw* rate of the same
   configuration in the same run: a plain :mod:`sqlite3` connection to a fresh file with
   the same pragmas doing ``BEGIN IMMEDIATE; INSERT one row; COMMIT`` (or the same number
   of rows per transaction as the batch). The ratio engine / raw says how much the ledger's
   rules (three tables, two indexes, read-decide-write) cost over the cheapest possible
   durable write on this disk. Target: per-transaction engine ≥ 50 % of the raw rate.
   Engine and raw rounds alternate, each on a fresh file, and the best of several rounds
   is kept, so that a noisy neighbour slows both sides rather than biasing the ratio (the
   ratio of the two medians is printed too, as a check on the best-of ratio).

3. **Read cost against log size**: mean time of ``Ledger.available(sku)`` on a few SKUs
   after the log holds 10^4, 10^5 and 10^6 events, for both stores. Reads use the stock
   projection and never scan the log, so the ratio of the largest to the smallest log's
   cost should stay ≈ 1.

4. **PostgreSQL engine, reserve commands per second**, for ``synchronous_commit=on`` and
   ``off``: one transaction per command, and batched. Next to each, the *raw* rate of the
   same server in the same run: a plain psycopg connection doing ``BEGIN; SELECT … FOR
   UPDATE`` (one stock row) ``; INSERT`` (one 3-column row) ``; COMMIT`` per transaction
   (or the same number of inserts per transaction as the batch), each round in a fresh
   schema. Target: per-transaction engine ≥ 50 % of the raw rate. The server is the one
   ``--postgres URL`` names (a plain libpq URL of a database where the benchmark may
   create and drop schemas), else a throwaway cluster started with ``initdb`` and
   ``pg_ctl`` on a loopback port with PostgreSQL's default, durable settings; without
   PostgreSQL on the machine the section is skipped.

Usage::

    python benchmarks/bench_ledger.py [--quick] [--json PATH] [--postgres URL | --no-postgres]

``--quick`` runs tiny sizes (a few seconds; for the smoke test). Rates are commands per
second of wall-clock time (``time.perf_counter``); read costs are nanoseconds per call,
loop overhead included. The garbage collector stays enabled, as in a real simulation.
Nothing here asserts a timing: the figures are printed for people to read.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from racesim.ledger import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from postgres_server import PostgresServer, PostgresUnavailable

MEMORY_TARGET = 200_000  # reserve commands/s, in-memory engine, one core
SQLITE_TARGET_RATIO = 0.50  # engine per-transaction rate / raw single-insert rate
SYNC_MODES = ("FULL", "NORMAL")
POSTGRES_TARGET_RATIO = 0.50  # engine per-transaction rate / raw SELECT FOR UPDATE + INSERT
POSTGRES_COMMIT_MODES = ("on", "off")  # synchronous_commit
SEED = 20261127


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each measurement does (commands, events, calls)."""

    memory_commands: int  # reserves per memory round
    memory_rounds: int
    sqlite_per_txn_commands: int  # one transaction each, per round
    sqlite_batched_commands: int  # per round, in batches of ``batch_size``
    batch_size: int
    sqlite_rounds: int
    log_sizes: tuple[int, ...]  # events in the log when reads are timed
    read_calls: int  # available() calls per timing
    read_rounds: int
    postgres_per_txn_commands: int = 2_000  # one transaction each, per round
    postgres_batched_commands: int = 10_000  # per round, in batches of ``batch_size``
    postgres_rounds: int = 5


FULL_SIZES = Sizes(
    memory_commands=200_000, memory_rounds=3,
    sqlite_per_txn_commands=3_000, sqlite_batched_commands=20_000, batch_size=1_000,
    sqlite_rounds=5,
    log_sizes=(10_000, 100_000, 1_000_000), read_calls=200_000, read_rounds=3,
)
QUICK_SIZES = Sizes(
    memory_commands=2_000, memory_rounds=1,
    sqlite_per_txn_commands=200, sqlite_batched_commands=2_000, batch_size=1_000,
    sqlite_rounds=1,
    log_sizes=(1_000, 10_000), read_calls=2_000, read_rounds=1,
    postgres_per_txn_commands=100, postgres_batched_commands=1_000, postgres_rounds=1,
)


# -- workloads -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """Precomputed reserve commands (one unit each) and the stock they need.

    ``commands`` holds ``(sku, order_id, channel, at)``; ``restock`` the units each SKU
    gets first; ``new_orders`` how many commands are first deliveries (the rest repeat
    one of them).
    """

    name: str
    commands: list[tuple[str, str, str, float]]
    restock: dict[str, int]
    new_orders: int


def reserve_heavy(n: int) -> Workload:
    """N distinct one-unit reserves on one SKU that has exactly enough units."""
    commands = [("SKU-0", f"ORD-{i}", "web", float(i)) for i in range(n)]
    return Workload("reserve-heavy", commands, {"SKU-0": n}, n)


def mixed(n: int, rng: np.random.Generator, skus: int = 50, channels: int = 4,
          duplicate_share: float = 0.30) -> Workload:
    """N reserves over ``skus`` SKUs and ``channels`` channels, ``duplicate_share`` re-sent.

    A re-sent command repeats an earlier first delivery exactly (same SKU, order, channel),
    as a marketplace webhook delivered twice would. Every SKU has enough units for all its
    orders, so the figure measures the command path, not refusals.
    """
    sku_names = [f"SKU-{k}" for k in range(skus)]
    channel_names = [f"channel-{c}" for c in range(channels)]
    repeats = rng.random(n) < duplicate_share
    repeats[0] = False
    repeat: list[bool] = repeats.tolist()
    sku_of: list[int] = rng.integers(0, skus, n).tolist()
    channel_of: list[int] = rng.integers(0, channels, n).tolist()
    earlier: list[float] = rng.random(n).tolist()
    firsts: list[tuple[str, str, str]] = []
    commands: list[tuple[str, str, str, float]] = []
    for i in range(n):
        if repeat[i]:
            sku, order_id, channel = firsts[int(earlier[i] * len(firsts))]
        else:
            sku, order_id, channel = (sku_names[sku_of[i]], f"ORD-{i}",
                                      channel_names[channel_of[i]])
            firsts.append((sku, order_id, channel))
        commands.append((sku, order_id, channel, float(i)))
    return Workload("mixed", commands, dict.fromkeys(sku_names, n), len(firsts))


def prepare(ledger: Ledger, workload: Workload) -> None:
    """Restock every SKU the workload reserves from (one batch, untimed)."""
    with ledger.batch():
        for sku, units in workload.restock.items():
            ledger.restock(sku, units, ref="PO-0", at=0.0)


def check(ledger: Ledger, workload: Workload) -> None:
    """Fail loudly if the workload did not do what it claims (a broken benchmark)."""
    expected = sum(workload.restock.values()) - workload.new_orders
    got = sum(ledger.available(sku) for sku in workload.restock)
    if got != expected or ledger.event_count() != len(workload.restock) + workload.new_orders:
        raise RuntimeError(f"{workload.name}: {got} units available, expected {expected}; "
                           f"{ledger.event_count()} events")


def run_reserves(ledger: Ledger, commands: Sequence[tuple[str, str, str, float]]) -> float:
    """Seconds to run ``commands`` as one-unit reserves, one transaction each."""
    reserve = ledger.reserve
    start = time.perf_counter()
    for sku, order_id, channel, at in commands:
        reserve(sku, 1, order_id, channel, at)
    return time.perf_counter() - start


def run_batched(ledger: Ledger, commands: Sequence[tuple[str, str, str, float]],
                batch_size: int) -> float:
    """Seconds to run ``commands`` as one-unit reserves, ``batch_size`` per transaction."""
    reserve = ledger.reserve
    start = time.perf_counter()
    for first in range(0, len(commands), batch_size):
        with ledger.batch():
            for sku, order_id, channel, at in commands[first:first + batch_size]:
                reserve(sku, 1, order_id, channel, at)
    return time.perf_counter() - start


# -- 1. in-memory throughput -----------------------------------------------------------


def bench_memory(workload: Workload, rounds: int) -> dict[str, Any]:
    """Reserve commands/s of the in-memory engine: best of ``rounds`` fresh ledgers."""
    rates = []
    for _ in range(rounds):
        with Ledger.open("memory://") as ledger:
            prepare(ledger, workload)
            gc.collect()
            seconds = run_reserves(ledger, workload.commands)
            check(ledger, workload)
        rates.append(len(workload.commands) / seconds)
    return {"commands": len(workload.commands), "new_orders": workload.new_orders,
            "commands_per_s": max(rates), "rounds_per_s": rates}


# -- 2. SQLite against raw sqlite3 -----------------------------------------------------


class Files:
    """Fresh database file paths in one temporary directory."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._count = 0

    def new(self, stem: str) -> Path:
        self._count += 1
        return self._directory / f"{stem}-{self._count}.db"


def sqlite_url(path: Path, synchronous: str) -> str:
    """The ledger URL of a SQLite file with the given ``synchronous`` mode."""
    return f"sqlite:///{path}?synchronous={synchronous}"


@contextmanager
def raw_connection(path: Path, synchronous: str) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection with the SQLite store's pragmas and a 3-column table."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("CREATE TABLE t (order_id TEXT NOT NULL, sku TEXT NOT NULL, at REAL NOT NULL)")
        yield conn
    finally:
        conn.close()


def raw_rate(path: Path, synchronous: str, rows: Sequence[tuple[str, str, float]],
             batch_size: int) -> float:
    """Rows/s of ``BEGIN IMMEDIATE; INSERT × batch_size; COMMIT`` on a fresh file."""
    with raw_connection(path, synchronous) as conn:
        execute = conn.execute
        insert = "INSERT INTO t (order_id, sku, at) VALUES (?, ?, ?)"
        start = time.perf_counter()
        if batch_size == 1:
            for row in rows:
                execute("BEGIN IMMEDIATE")
                execute(insert, row)
                execute("COMMIT")
        else:
            for first in range(0, len(rows), batch_size):
                execute("BEGIN IMMEDIATE")
                for row in rows[first:first + batch_size]:
                    execute(insert, row)
                execute("COMMIT")
        seconds = time.perf_counter() - start
    return len(rows) / seconds


def engine_rate(path: Path, synchronous: str, workload: Workload, batch_size: int) -> float:
    """Reserve commands/s of the SQLite ledger on a fresh file."""
    with Ledger.open(sqlite_url(path, synchronous)) as ledger:
        prepare(ledger, workload)
        if batch_size == 1:
            seconds = run_reserves(ledger, workload.commands)
        else:
            seconds = run_batched(ledger, workload.commands, batch_size)
        check(ledger, workload)
    return len(workload.commands) / seconds


def compare_with_raw(files: Files, synchronous: str, workload: Workload, batch_size: int,
                     rounds: int) -> dict[str, Any]:
    """Best-of-``rounds`` engine and raw rates, alternating which runs first each round."""
    rows = [(order_id, sku, at) for sku, order_id, _channel, at in workload.commands]
    engine: list[float] = []
    raw: list[float] = []
    for r in range(rounds):
        engine_first = r % 2 == 0
        if engine_first:
            engine.append(engine_rate(files.new("engine"), synchronous, workload, batch_size))
        raw.append(raw_rate(files.new("raw"), synchronous, rows, batch_size))
        if not engine_first:
            engine.append(engine_rate(files.new("engine"), synchronous, workload, batch_size))
    best_engine, best_raw = max(engine), max(raw)
    return {"commands": len(workload.commands), "batch_size": batch_size,
            "engine_per_s": best_engine, "raw_per_s": best_raw,
            "ratio": best_engine / best_raw,
            "ratio_of_medians": statistics.median(engine) / statistics.median(raw),
            "engine_rounds_per_s": engine, "raw_rounds_per_s": raw}


def bench_sqlite(directory: Path, sizes: Sizes) -> dict[str, Any]:
    """Per-transaction and batched rates, engine and raw, for each synchronous mode."""
    files = Files(directory)
    per_txn = reserve_heavy(sizes.sqlite_per_txn_commands)
    batched = reserve_heavy(sizes.sqlite_batched_commands)
    results: dict[str, Any] = {}
    for mode in SYNC_MODES:
        results[mode] = {
            "per_txn": compare_with_raw(files, mode, per_txn, 1, sizes.sqlite_rounds),
            "batched": compare_with_raw(files, mode, batched, sizes.batch_size,
                                        sizes.sqlite_rounds),
        }
    return results


# -- 3. read cost against log size -----------------------------------------------------


def time_reads(ledger: Ledger, skus: Sequence[str], calls: int, rounds: int) -> float:
    """Mean nanoseconds per ``available(sku)`` call, cycling over ``skus``; best round."""
    order = [skus[i % len(skus)] for i in range(calls)]
    available = ledger.available
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for sku in order:
            available(sku)
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e9


def bench_reads(url: str, sizes: Sizes, rng: np.random.Generator) -> dict[str, Any]:
    """Grow one ledger's log to each of ``sizes.log_sizes`` events, timing reads at each."""
    skus = [f"SKU-{k}" for k in range(50)]
    read_skus = skus[:4]
    largest = max(sizes.log_sizes)
    sku_of: list[int] = rng.integers(0, len(skus), largest).tolist()
    points: list[dict[str, float]] = []
    with Ledger.open(url) as ledger:
        with ledger.batch():
            for sku in skus:
                ledger.restock(sku, largest, ref="PO-0", at=0.0)
        written = len(skus)
        for target in sorted(sizes.log_sizes):
            while written < target:
                end = min(target, written + sizes.batch_size)
                with ledger.batch():
                    for i in range(written, end):
                        ledger.reserve(skus[sku_of[i]], 1, f"ORD-{i}", "web", float(i + 1))
                written = end
            if ledger.event_count() != target:
                raise RuntimeError(f"{url}: {ledger.event_count()} events, wanted {target}")
            gc.collect()
            points.append({"events": target,
                           "ns_per_call": time_reads(ledger, read_skus, sizes.read_calls,
                                                     sizes.read_rounds)})
    return {"points": points,
            "ratio_largest_to_smallest": points[-1]["ns_per_call"] / points[0]["ns_per_call"]}


# -- 4. PostgreSQL against raw psycopg -------------------------------------------------


class Schemas:
    """Fresh schema names in one database, dropped again by :meth:`drop_all`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._names: list[str] = []

    def new(self, stem: str) -> str:
        name = f"racesim_bench_{os.getpid()}_{stem}_{len(self._names) + 1}"
        self._names.append(name)
        return name

    def drop_all(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self._names:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(name)))
        self._names.clear()


def postgres_url(base: str, schema: str, synchronous_commit: str) -> str:
    """The ledger URL of ``schema`` in the database ``base`` names."""
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}schema={schema}&synchronous_commit={synchronous_commit}"


def postgres_raw_rate(base: str, schema: str, synchronous_commit: str,
                      rows: Sequence[tuple[str, str, float]], batch_size: int) -> float:
    """Rows/s of ``BEGIN; SELECT … FOR UPDATE; INSERT × batch_size; COMMIT`` in a new schema."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(base, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(sql.SQL("SET synchronous_commit = {}").format(
            sql.Literal(synchronous_commit)))
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cur.execute("CREATE TABLE stock (sku TEXT PRIMARY KEY, units BIGINT NOT NULL)")
        cur.execute("INSERT INTO stock (sku, units) VALUES ('SKU-0', 0)")
        cur.execute("CREATE TABLE t (order_id TEXT NOT NULL, sku TEXT NOT NULL, "
                    "at DOUBLE PRECISION NOT NULL)")
        execute = cur.execute
        lock = "SELECT units FROM stock WHERE sku = %s FOR UPDATE"
        insert = "INSERT INTO t (order_id, sku, at) VALUES (%s, %s, %s)"
        start = time.perf_counter()
        for first in range(0, len(rows), batch_size):
            execute("BEGIN")
            execute(lock, ("SKU-0",))
            cur.fetchone()
            for row in rows[first:first + batch_size]:
                execute(insert, row)
            execute("COMMIT")
        seconds = time.perf_counter() - start
    return len(rows) / seconds


def postgres_engine_rate(base: str, schema: str, synchronous_commit: str, workload: Workload,
                         batch_size: int) -> float:
    """Reserve commands/s of the PostgreSQL ledger in a new schema."""
    with Ledger.open(postgres_url(base, schema, synchronous_commit)) as ledger:
        prepare(ledger, workload)
        if batch_size == 1:
            seconds = run_reserves(ledger, workload.commands)
        else:
            seconds = run_batched(ledger, workload.commands, batch_size)
        check(ledger, workload)
        if ledger.verify():
            raise RuntimeError(f"{ledger.url}: verify() found differences")
    return len(workload.commands) / seconds


def postgres_compare_with_raw(schemas: Schemas, synchronous_commit: str, workload: Workload,
                              batch_size: int, rounds: int) -> dict[str, Any]:
    """Best-of-``rounds`` engine and raw rates, alternating which runs first each round."""
    rows = [(order_id, sku, at) for sku, order_id, _channel, at in workload.commands]
    base = schemas.url
    engine: list[float] = []
    raw: list[float] = []
    for r in range(rounds):
        engine_first = r % 2 == 0
        if engine_first:
            engine.append(postgres_engine_rate(base, schemas.new("engine"), synchronous_commit,
                                               workload, batch_size))
        raw.append(postgres_raw_rate(base, schemas.new("raw"), synchronous_commit, rows,
                                     batch_size))
        if not engine_first:
            engine.append(postgres_engine_rate(base, schemas.new("engine"), synchronous_commit,
                                               workload, batch_size))
    best_engine, best_raw = max(engine), max(raw)
    return {"commands": len(workload.commands), "batch_size": batch_size,
            "engine_per_s": best_engine, "raw_per_s": best_raw,
            "ratio": best_engine / best_raw,
            "ratio_of_medians": statistics.median(engine) / statistics.median(raw),
            "engine_rounds_per_s": engine, "raw_rounds_per_s": raw}


@contextmanager
def postgres_database(url: str | None) -> Iterator[tuple[str, str]]:
    """The database to measure in and how it was found: ``url``, else a throwaway server.

    The throwaway cluster keeps PostgreSQL's default, durable settings (``fsync``,
    ``full_page_writes`` on); only its address and size are set.
    """
    if url is not None:
        yield url, "given with --postgres"
        return
    with PostgresServer(settings={"max_connections": "20"}) as server:
        yield server.url(), f"throwaway cluster (initdb) in {server.bin_dir}, default settings"


def bench_postgres(url: str | None, sizes: Sizes) -> dict[str, Any]:
    """Per-transaction and batched rates, engine and raw, for each synchronous_commit."""
    import psycopg

    per_txn = reserve_heavy(sizes.postgres_per_txn_commands)
    batched = reserve_heavy(sizes.postgres_batched_commands)
    with postgres_database(url) as (base, origin):
        with psycopg.connect(base) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        schemas = Schemas(base)
        results: dict[str, Any] = {"target_ratio_per_txn": POSTGRES_TARGET_RATIO,
                                   "server": origin, "server_version": version}
        try:
            for mode in POSTGRES_COMMIT_MODES:
                results[mode] = {
                    "per_txn": postgres_compare_with_raw(schemas, mode, per_txn, 1,
                                                         sizes.postgres_rounds),
                    "batched": postgres_compare_with_raw(schemas, mode, batched,
                                                         sizes.batch_size,
                                                         sizes.postgres_rounds),
                }
        finally:
            schemas.drop_all()
    return results


# -- report ----------------------------------------------------------------------------


def environment(sizes: Sizes, quick: bool) -> dict[str, Any]:
    """Where and when the figures were taken, and with which sizes."""
    return {"date": date.today().isoformat(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "cpus": os.cpu_count(), "quick": quick, "sizes": asdict(sizes)}


def meets(ok: bool) -> str:
    """Table cell for a target check."""
    return "yes" if ok else "NO"


def render(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    env, memory, sqlite, reads = (results["environment"], results["memory"],
                                  results["sqlite"], results["read_cost"])
    lines = [f"racesim ledger benchmark — {env['date']}, Python {env['python']}, "
             f"SQLite {env['sqlite']}, {env['cpus']} CPU(s){' (quick)' if env['quick'] else ''}",
             "",
             f"1. In-memory engine, one core (target ≥ {MEMORY_TARGET:,} reserve commands/s)",
             f"   {'workload':<16}{'commands':>10}{'commands/s':>14}  meets target"]
    for name in ("reserve_heavy", "mixed"):
        row = memory[name]
        rate = row["commands_per_s"]
        lines.append(f"   {name.replace('_', '-'):<16}{row['commands']:>10,}{rate:>14,.0f}"
                     f"  {meets(rate >= MEMORY_TARGET)}")
    lines += ["",
              f"2. SQLite (WAL, fresh file per round, best of {env['sizes']['sqlite_rounds']}); "
              f"target: engine per-txn ≥ {SQLITE_TARGET_RATIO:.0%} of raw",
              f"   {'synchronous':<12}{'mode':<16}{'engine cmd/s':>14}{'raw rows/s':>12}"
              f"{'engine/raw':>12}{'(median)':>10}  meets target"]
    for mode in SYNC_MODES:
        for kind in ("per_txn", "batched"):
            row = sqlite[mode][kind]
            label = ("1 per txn" if kind == "per_txn"
                     else f"{row['batch_size']:,} per txn")
            verdict = meets(row["ratio"] >= SQLITE_TARGET_RATIO) if kind == "per_txn" else "-"
            lines.append(f"   {mode:<12}{label:<16}{row['engine_per_s']:>14,.0f}"
                         f"{row['raw_per_s']:>12,.0f}{row['ratio']:>12.2f}"
                         f"{row['ratio_of_medians']:>10.2f}  {verdict}")
    header = "".join(f"{p['events']:>12,} ev" for p in reads["memory"]["points"])
    lines += ["", "3. Read cost of available(sku) against log size (ns per call; ≈ flat expected)",
              f"   {'store':<10}{header}{'largest/smallest':>18}"]
    for store in ("memory", "sqlite"):
        row = reads[store]
        cells = "".join(f"{p['ns_per_call']:>15,.0f}" for p in row["points"])
        lines.append(f"   {store:<10}{cells}{row['ratio_largest_to_smallest']:>18.2f}")
    postgres = results.get("postgres")
    if postgres is None:
        return "\n".join(lines)
    lines.append("")
    if "skipped" in postgres:
        lines.append(f"4. PostgreSQL: skipped ({postgres['skipped']})")
        return "\n".join(lines)
    lines += [f"4. PostgreSQL {postgres['server_version']} ({postgres['server']}; fresh schema "
              f"per round, best of {env['sizes']['postgres_rounds']}); "
              f"target: engine per-txn ≥ {POSTGRES_TARGET_RATIO:.0%} of raw",
              f"   {'sync_commit':<12}{'mode':<16}{'engine cmd/s':>14}{'raw rows/s':>12}"
              f"{'engine/raw':>12}{'(median)':>10}  meets target"]
    for mode in POSTGRES_COMMIT_MODES:
        for kind in ("per_txn", "batched"):
            row = postgres[mode][kind]
            label = ("1 per txn" if kind == "per_txn"
                     else f"{row['batch_size']:,} per txn")
            verdict = (meets(row["ratio"] >= POSTGRES_TARGET_RATIO) if kind == "per_txn"
                       else "-")
            lines.append(f"   {mode:<12}{label:<16}{row['engine_per_s']:>14,.0f}"
                         f"{row['raw_per_s']:>12,.0f}{row['ratio']:>12.2f}"
                         f"{row['ratio_of_medians']:>10.2f}  {verdict}")
    return "\n".join(lines)


def run(sizes: Sizes, quick: bool, postgres: str | None = None,
        with_postgres: bool = True) -> dict[str, Any]:
    """Every measurement, in order, as one JSON-ready dictionary.

    ``postgres`` names the database for section 4 (default: a throwaway server);
    ``with_postgres=False`` leaves the section out.
    """
    rng = np.random.default_rng(SEED)
    workload_rng, read_rng = rng.spawn(2)
    heavy = reserve_heavy(sizes.memory_commands)
    mix = mixed(sizes.memory_commands, workload_rng)
    results: dict[str, Any] = {"environment": environment(sizes, quick)}
    results["memory"] = {"target_commands_per_s": MEMORY_TARGET,
                         "reserve_heavy": bench_memory(heavy, sizes.memory_rounds),
                         "mixed": bench_memory(mix, sizes.memory_rounds)}
    del heavy, mix
    with tempfile.TemporaryDirectory(prefix="racesim-bench-") as tmp:
        directory = Path(tmp)
        results["sqlite"] = {"target_ratio_per_txn": SQLITE_TARGET_RATIO,
                             **bench_sqlite(directory, sizes)}
        memory_rng, sqlite_rng = read_rng.spawn(2)
        results["read_cost"] = {
            "memory": bench_reads("memory://", sizes, memory_rng),
            "sqlite": bench_reads(sqlite_url(directory / "reads.db", "NORMAL"), sizes,
                                  sqlite_rng),
        }
    if with_postgres:
        try:
            results["postgres"] = bench_postgres(postgres, sizes)
        except (PostgresUnavailable, ImportError) as exc:
            if postgres is not None:
                raise
            results["postgres"] = {"skipped": str(exc)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (a few seconds), for smoke tests")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures as JSON to PATH")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", metavar="URL",
                       help="measure PostgreSQL in this database (plain libpq URL; schemas "
                            "are created and dropped); default: a throwaway server")
    where.add_argument("--no-postgres", action="store_true",
                       help="leave the PostgreSQL measurement out")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    results = run(sizes, args.quick, args.postgres, not args.no_postgres)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
