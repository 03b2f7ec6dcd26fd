"""The model's figures on every shipped scenario, as plain data, to pin them across changes.

:func:`reference_figures` runs each scenario of ``scenarios/`` for a few seeds, with and
without tables, and reduces what a replication returns — the summary, the per-channel and
per-SKU tables, and every event table's row count and column sums — to JSON-ready values.
``tests/data/sim_reference.json`` holds them as the model gave them before the simulation
core was made faster; ``tests/test_sim_reference.py`` compares today's with it (integer
counts identical, floats within 1e-9 relative: a faster core may sum in another order).

Run ``python tests/sim_reference.py`` to write the file again — only when a change to the
model's *results* is intended, and say so in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from racesim.scenario.load import load_scenario
from racesim.study.replications import run_replication

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
REFERENCE = ROOT / "tests" / "data" / "sim_reference.json"
SEEDS = (3, 11)
MAX_SKUS_IN_FULL = 30
"""A per-SKU table longer than this is kept as its digest (rows and column sums)."""
SHORTER = {"high_volume": {"duration": "2h", "warmup": "10m"}}  # as the quick benchmark


def _plain(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars to Python, NaN to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _table_digest(table: pd.DataFrame) -> dict[str, Any]:
    """Rows, and the sum of every numeric or boolean column (NaN left out)."""
    sums = {}
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            sums[str(name)] = float(pd.to_numeric(column, errors="coerce").astype(float).sum())
    return {"rows": len(table), "sums": sums}


def _frame(table: pd.DataFrame) -> dict[str, Any]:
    """A small table (per channel, per SKU) in full, by index label."""
    return _plain({str(k): row for k, row in table.to_dict(orient="index").items()})


def scenario_figures(path: Path, seed: int) -> dict[str, Any]:
    """One scenario's figures for one seed: the lean path and the path with tables."""
    scenario = load_scenario(path).with_overrides(SHORTER.get(path.stem, {}))
    lean = run_replication(scenario, np.random.SeedSequence(seed), tables=False)
    full = run_replication(scenario, np.random.SeedSequence(seed), tables=True)
    return {
        "summary": _plain(lean.summary.to_dict()),
        "per_channel": _frame(lean.per_channel),
        "per_sku": (_frame(lean.per_sku) if len(lean.per_sku) <= MAX_SKUS_IN_FULL
                    else _table_digest(lean.per_sku)),
        "summary_with_tables": _plain(full.summary.to_dict()),
        "tables": {name: _table_digest(table) for name, table in full.tables().items()},
        "sync_latency": {"n": int(full.sync_latency.size),
                         "sum": float(np.sum(full.sync_latency))},
    }


def shipped_scenarios() -> list[Path]:
    """Every scenario file shipped in ``scenarios/``."""
    return sorted(SCENARIOS.glob("*.toml"))


def reference_figures() -> dict[str, Any]:
    """Every shipped scenario × seed, keyed ``stem/seed``."""
    return {f"{path.stem}/{seed}": scenario_figures(path, seed)
            for path in shipped_scenarios() for seed in SEEDS}


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(reference_figures(), indent=1, sort_keys=True) + "\n",
                         encoding="utf-8")
    print(f"wrote {REFERENCE}")
