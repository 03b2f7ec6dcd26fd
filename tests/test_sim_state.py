"""The simulation's seams: typed state records, and the typed metrics of a run.

The sync and results code read the model's state through :mod:`racesim.sim.state`, never
the model itself; the metrics are :class:`~racesim.sim.summary.Summary` (a replication)
and :class:`~racesim.sim.summary.RunSummary` (a run), whose fields every output is
built from.
"""

from __future__ import annotations

import ast
import dataclasses
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from racesim.scenario import load_scenario
from racesim.scenario.model import validate_scenario
from racesim.sim.model import Simulation
from racesim.sim.state import UNSET, SimulationState, is_set, set_mask
from racesim.sim.summary import MONEY_FIELDS, SUMMED, RunSummary, Summary
from racesim.study.replications import RunResult, run_scenario

SRC = Path(__file__).resolve().parents[1] / "src" / "racesim"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _imported(module: Path) -> set[str]:
    """Every module ``module`` imports, anywhere in it (TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("name", ["results", "sync", "state", "summary"])
def test_the_sync_and_the_results_never_import_the_model(name: str) -> None:
    assert "racesim.sim.model" not in _imported(SRC / "sim" / f"{name}.py")


def test_unset_times_are_read_through_the_helpers() -> None:
    assert not is_set(UNSET) and is_set(0.0) and is_set(12.5)
    times = np.array([UNSET, 0.0, 3.0, UNSET])
    assert set_mask(times).tolist() == [False, True, True, False]


def _field_docs(source: Path) -> dict[str, set[str]]:
    """Per class of ``source``: the fields followed by a docstring."""
    documented: dict[str, set[str]] = {}
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        documented[node.name] = {
            statement.target.id for statement, after in pairwise(body)
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str) and after.value.value.strip()}
    return documented


def test_every_metric_documents_its_unit_and_basis() -> None:
    documented = _field_docs(SRC / "sim" / "summary.py")
    for record in (Summary, RunSummary):
        names = {f.name for f in dataclasses.fields(record)}
        assert names - documented[record.__name__] == set(), record.__name__


def test_a_run_sums_exactly_the_fields_a_replication_marks_summed() -> None:
    run_fields = [f.name for f in dataclasses.fields(RunSummary)]
    assert [f"{name}_total" for name in SUMMED] == run_fields[:len(SUMMED)]
    assert "oversell_rate" not in SUMMED and "orders" in SUMMED
    assert not [name for name in run_fields[len(SUMMED):] if name.endswith("_total")]


@pytest.fixture(scope="module")
def race1_run() -> RunResult:
    """race1 without its [costs] table: the outputs of a scenario that has none."""
    data = load_scenario(SCENARIOS / "race1_double_buy.toml").to_dict()
    data.pop("costs")
    return run_scenario(validate_scenario(data, "race1"), seed=2, replications=3)


def test_the_outputs_are_built_from_the_fields(race1_run: RunResult) -> None:
    run = race1_run
    summary = run.summary()
    assert isinstance(summary, RunSummary)
    names = [f.name for f in dataclasses.fields(RunSummary) if f.name != "costs"]  # no [costs]
    per_month = [f"{name.removesuffix('_total')}_per_month" for name in names
                 if name.endswith("_total")]
    assert [key for key in summary.to_dict() if not key.endswith("_per_month")] == names
    assert [key for key in summary.to_dict() if key.endswith("_per_month")] == per_month
    days = summary.replications * summary.measured_days
    assert summary.to_dict()["lost_sales_per_month"] == pytest.approx(
        summary.lost_sales_total / days * 30)
    data: dict[str, Any] = run.to_json()
    first = run.replications[0].summary
    assert isinstance(first, Summary)
    assert list(data["per_replication"][0]) == [f.name for f in dataclasses.fields(Summary)
                                                if f.name not in MONEY_FIELDS]
    assert data["per_replication"][0]["oversell_rate_ci"] == list(first.oversell_rate_ci)
    columns = list(run.per_replication.columns)
    assert columns[-2:] == ["oversell_rate_low", "oversell_rate_high"]
    assert summary.orders_total == sum(r.summary.orders for r in run.replications)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.orders = 0  # type: ignore[misc]


def test_the_state_holds_what_the_results_read() -> None:
    scenario = load_scenario(SCENARIOS / "minimal.toml")
    simulation = Simulation(scenario, np.random.SeedSequence(4), tables=False)
    result = simulation.run()
    state = simulation.state()
    assert isinstance(state, SimulationState)
    accepted = sum(sum(orders.accepted) for orders in state.channels)
    assert result.summary.orders == accepted  # minimal has no warm-up
    for orders in state.channels:
        for j in range(len(orders)):
            # first_seen is set exactly for the orders a webhook copy reached
            assert is_set(orders.first_seen[j]) == (orders.deliveries[j] > 0)
            assert orders.accepted[j] or orders.deliveries[j] == 0
