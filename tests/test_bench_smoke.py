"""The ledger benchmark runs end to end and writes every figure it promises.

Only the shape of the output is checked: timings depend on the machine, so no threshold
is asserted here (the figures are for people, see ``benchmarks/README.md``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ledger.py"


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def test_quick_benchmark_prints_a_table_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "In-memory engine" in done.stdout and "SQLite" in done.stdout

    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["environment"]["quick"] is True

    for workload in ("reserve_heavy", "mixed"):
        row = figures["memory"][workload]
        assert _positive(row["commands"]) and _positive(row["commands_per_s"])
    assert figures["memory"]["mixed"]["new_orders"] < figures["memory"]["mixed"]["commands"]

    for mode in ("FULL", "NORMAL"):
        for kind in ("per_txn", "batched"):
            row = figures["sqlite"][mode][kind]
            for key in ("engine_per_s", "raw_per_s", "ratio", "ratio_of_medians"):
                assert _positive(row[key]), (mode, kind, key, row[key])

    for store in ("memory", "sqlite"):
        reads = figures["read_cost"][store]
        assert [p["events"] for p in reads["points"]] == [1_000, 10_000]
        assert all(_positive(p["ns_per_call"]) for p in reads["points"])
        assert _positive(reads["ratio_largest_to_smallest"])
