"""The model gives the figures it gave before its core was made faster, on every scenario.

``tests/data/sim_reference.json`` (written by ``tests/sim_reference.py``) holds, for every
shipped scenario and two seeds, a replication's summary with and without tables, its
per-channel and per-SKU tables and each event table's rows and column sums. Integer
counts must be identical; floats equal within 1e-9 relative (a faster core may add in
another order); anything else — a missing figure, a new one, a string — must be equal.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from sim_reference import REFERENCE, SCENARIOS, SEEDS, scenario_figures, shipped_scenarios

RELATIVE = 1e-9
BEFORE: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))


def _differences(before: Any, now: Any, where: str = "") -> list[str]:
    """Every place ``now`` departs from ``before`` beyond the tolerance, by path."""
    if isinstance(before, dict) and isinstance(now, dict):
        found = [f"{where}/{k}: missing" for k in before.keys() - now.keys()]
        found += [f"{where}/{k}: new" for k in now.keys() - before.keys()]
        for key in sorted(before.keys() & now.keys()):
            found += _differences(before[key], now[key], f"{where}/{key}")
        return found
    if isinstance(before, list) and isinstance(now, list) and len(before) == len(now):
        return [d for n, (b, x) in enumerate(zip(before, now, strict=True))
                for d in _differences(b, x, f"{where}[{n}]")]
    if isinstance(before, float) and isinstance(now, int | float) and not isinstance(now, bool):
        if math.isclose(before, now, rel_tol=RELATIVE, abs_tol=1e-12):
            return []
        return [f"{where}: {before!r} before, {now!r} now"]
    if type(before) is not type(now) or before != now:
        return [f"{where}: {before!r} before, {now!r} now"]
    return []


def test_the_reference_covers_every_shipped_scenario() -> None:
    assert {key.split("/")[0] for key in BEFORE} == {p.stem for p in shipped_scenarios()}
    assert {int(key.split("/")[1]) for key in BEFORE} == set(SEEDS)


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_a_scenario_gives_its_reference_figures(key: str) -> None:
    stem, seed = key.split("/")
    now = json.loads(json.dumps(scenario_figures(SCENARIOS / f"{stem}.toml", int(seed))))
    assert _differences(BEFORE[key], now) == []


def test_the_comparison_catches_a_changed_count_and_a_drifted_float() -> None:
    before = {"orders": 10, "rate": 0.25, "rows": [1, 2]}
    assert _differences(before, {"orders": 10, "rate": 0.25 * (1 + 1e-12), "rows": [1, 2]}) == []
    assert _differences(before, {"orders": 11, "rate": 0.25, "rows": [1, 2]}) == [
        "/orders: 10 before, 11 now"]
    assert _differences(before, {"orders": 10, "rate": 0.2500001, "rows": [1, 2]}) == [
        "/rate: 0.25 before, 0.2500001 now"]
    assert _differences(before, {"orders": 10, "rows": [1, 3]}) == [
        "/rate: missing", "/rows[1]: 2 before, 3 now"]
