"""The plumbing every output shares: one manifest record and one task record.

A run's folder and a sweep's folder record the same provenance (scenario text and sha256,
seed, versions, command, time) under the same keys, because both come from
:func:`racesim.util.manifest.record`; a replication is one frozen
:class:`racesim.study.replications.ReplicationTask` wherever it is run from (progress bars
are tested in ``test_progress.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import racesim.util.manifest
from racesim.cli.output import write_run
from racesim.scenario import Scenario, load_scenario
from racesim.sim.streams import replication_seeds
from racesim.study.replications import ReplicationTask, run_replication, run_scenario, run_task
from racesim.study.sweep import sweep
from racesim.util.jsonable import finite, jsonable, plain
from racesim.util.manifest import NOT_INSTALLED, VERSIONED, record, scenario_source, versions

ROOT = Path(__file__).resolve().parents[1]
RACE1 = ROOT / "scenarios" / "race1_double_buy.toml"
PROVENANCE = {"what", "scenario_file", "scenario_sha256", "scenario_text", "seed", "versions",
              "command", "written_at"}


@pytest.fixture(scope="module")
def short_race() -> Scenario:
    """race1 cut to two simulated days (a few ms per replication)."""
    return load_scenario(RACE1).with_overrides({"duration": "2d"})


# -- the manifest record ---------------------------------------------------------------------


def test_a_record_names_the_scenario_file_its_text_and_hash_then_settings_and_provenance(
        ) -> None:
    text = RACE1.read_text(encoding="utf-8")
    data = record("racesim test", scenario_path=RACE1, seed=7, replications=3)
    assert list(data) == ["what", "scenario_file", "scenario_sha256", "scenario_text", "seed",
                          "replications", "versions", "command", "written_at"]
    assert data["what"] == "racesim test" and data["scenario_file"] == str(RACE1)
    assert data["scenario_text"] == text
    assert data["scenario_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert (data["seed"], data["replications"]) == (7, 3)
    assert data["command"] == sys.argv and data["command"] is not sys.argv
    assert datetime.fromisoformat(data["written_at"]).utcoffset().total_seconds() == 0
    json.dumps(data)  # JSON-ready as it is


def test_the_simulated_text_wins_over_the_file_and_neither_gives_none() -> None:
    assert scenario_source(RACE1, "name = 'x'")["scenario_text"] == "name = 'x'"
    assert scenario_source(None) == {"scenario_file": None, "scenario_sha256": None,
                                     "scenario_text": None}
    assert record("racesim test", command=["racesim", "x"])["command"] == ["racesim", "x"]


def test_versions_list_python_every_package_and_the_tools_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    found = versions({"chromium": "131.0"})
    assert list(found) == ["python", *VERSIONED, "chromium"]
    assert found["chromium"] == "131.0" and found["numpy"] == np.__version__
    monkeypatch.setattr(racesim.util.manifest, "VERSIONED", ("racesim-no-such-package",))
    assert versions()["racesim-no-such-package"] == NOT_INSTALLED


def test_a_run_and_a_sweep_record_the_same_provenance(short_race: Scenario,
                                                      tmp_path: Path) -> None:
    result = run_scenario(short_race, seed=3, replications=1)
    write_run(tmp_path / "run", short_race, result, RACE1)
    sweep(short_race, {"buffer.units": [0, 1]}, seed=3).save(tmp_path / "sweep", RACE1)
    run, swept = (json.loads((tmp_path / name / "manifest.json").read_text(encoding="utf-8"))
                  for name in ("run", "sweep"))
    assert set(run) >= PROVENANCE and set(swept) >= PROVENANCE
    assert (run["what"], swept["what"]) == ("racesim run", "racesim sweep")
    for key in ("scenario_file", "scenario_sha256", "scenario_text", "seed"):
        assert run[key] == swept[key], key
    assert set(run["versions"]) == set(swept["versions"]) == {"python", *VERSIONED}


# -- plain values ----------------------------------------------------------------------------


def test_numpy_values_become_plain_and_nan_becomes_none() -> None:
    assert type(plain(np.int64(3))) is int and plain("x") == "x"
    assert finite(float("inf")) is None and finite(None) is None and finite(np.float64(2)) == 2
    assert jsonable({"a": [np.float64("nan"), (np.int64(1), 2.5)], 3: np.bool_(True)}) == \
        {"a": [None, [1, 2.5]], "3": True}


# -- the task record -------------------------------------------------------------------------


def test_a_task_is_a_frozen_picklable_record_that_runs_its_replication(
        short_race: Scenario) -> None:
    seed = replication_seeds(5, 2)[1]
    task = ReplicationTask(short_race, seed, 1, tables=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.replication = 2  # type: ignore[misc]
    assert not hasattr(task, "__dict__")  # slots
    again = pickle.loads(pickle.dumps(task))
    expected = run_replication(short_race, seed, 1, tables=False).summary
    assert run_task(again).summary == expected
    assert run_scenario(short_race, seed=5, replications=2).replications[1].summary == expected
