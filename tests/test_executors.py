"""Executors run pure tasks anywhere and hand the results back in task order.

``LocalExecutor(1)`` runs in this process, ``LocalExecutor(J)`` on J worker processes,
``DaskExecutor`` on a Dask cluster; whichever runs a task, and whenever it finishes, the
i-th result belongs to the i-th task — which is what makes a run's numbers independent of
how it was executed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import pytest

from conftest import Recording
from racesim.errors import RacesimError
from racesim.scenario import Scenario, load_scenario
from racesim.study.executors import (
    DaskExecutor,
    ExecutorError,
    LocalExecutor,
    make_executor,
)
from racesim.study.replications import run_scenario

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "scenarios")


# -- task functions (module level, so worker processes can unpickle them) ----------------


def square(x: int) -> int:
    """x²."""
    return x * x


def slow_first(x: int) -> tuple[int, int]:
    """Earlier items sleep longer, so they finish last; returns (x, worker pid)."""
    time.sleep(0.05 * (4 - x) if x < 4 else 0)
    return x, os.getpid()


def fail_on_three(x: int) -> int:
    """Raises for 3."""
    if x == 3:
        raise ValueError("three is not allowed")
    return x


# -- helpers -------------------------------------------------------------------------------


def need_dask() -> None:
    """Skip (locally) or fail (in CI) when dask.distributed is not installed."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        message = ("dask.distributed is not installed: pip install -e '.[dev]' "
                   "(or 'racesim[dask]') to run the Dask tests")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the Dask tests, but {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[DaskExecutor]:
    """One real LocalCluster of two worker processes, shared by this module's tests."""
    need_dask()
    with DaskExecutor(workers=2).start() as executor:
        yield executor


@pytest.fixture(scope="module")
def short_race() -> Scenario:
    """race1_double_buy cut to one simulated day (a few ms per replication)."""
    race1 = load_scenario(os.path.join(SCENARIOS, "race1_double_buy.toml"))
    return race1.with_overrides({"duration": "1d"})


# -- LocalExecutor -------------------------------------------------------------------------


def test_one_job_runs_in_this_process_in_order() -> None:
    with LocalExecutor(1) as executor:
        results = list(executor.map(slow_first, [0, 1, 2, 3]))
    assert [x for x, _ in results] == [0, 1, 2, 3]
    assert {pid for _, pid in results} == {os.getpid()}
    assert executor.describe() == {"kind": "local", "jobs": 1}


def test_two_jobs_run_elsewhere_but_return_in_task_order() -> None:
    with LocalExecutor(2) as executor:
        results = list(executor.map(slow_first, list(range(8))))
        again = list(executor.map(square, range(5)))  # the pool is reused
    assert [x for x, _ in results] == list(range(8))  # item 0 finished last, still first
    assert os.getpid() not in {pid for _, pid in results}
    assert again == [0, 1, 4, 9, 16]
    assert executor.describe() == {"kind": "local", "jobs": 2}


def test_a_task_error_is_raised_to_the_caller() -> None:
    with LocalExecutor(2) as executor, pytest.raises(ValueError, match="three is not allowed"):
        list(executor.map(fail_on_three, range(6)))


def test_nothing_to_do_gives_nothing() -> None:
    with LocalExecutor(2) as executor:
        assert list(executor.map(square, [])) == []


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_jobs_must_be_a_positive_whole_number(jobs: object) -> None:
    with pytest.raises(ValueError, match=r"jobs must be a whole number ≥ 1"):
        LocalExecutor(jobs)  # type: ignore[arg-type]


# -- choosing an executor ------------------------------------------------------------------


def test_make_executor_by_name() -> None:
    assert isinstance(make_executor("local", jobs=2), LocalExecutor)
    with pytest.raises(ExecutorError, match=r"unknown executor 'ray': expected one of "
                                            r"'local', 'dask'"):
        make_executor("ray")
    with pytest.raises(ExecutorError, match=r"scheduler address \(tcp://h:8786\) needs the "
                                            r"dask executor"):
        make_executor("local", scheduler="tcp://h:8786")


def test_executor_errors_are_racesim_errors() -> None:
    assert issubclass(ExecutorError, RacesimError)
    assert issubclass(ExecutorError, RuntimeError)


def test_missing_dask_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # makes the import fail
    with pytest.raises(ExecutorError, match=r"install racesim\[dask\]"):
        DaskExecutor(workers=2)
    with pytest.raises(ExecutorError, match=r"install racesim\[dask\]"):
        make_executor("dask", jobs=2)


# -- run_scenario on an executor -----------------------------------------------------------


def test_run_scenario_gives_the_same_numbers_on_any_local_executor(
        short_race: Scenario) -> None:
    alone = run_scenario(short_race, seed=3, replications=4, jobs=1)
    with LocalExecutor(2) as executor:
        pooled = run_scenario(short_race, seed=3, replications=4, executor=executor)
    assert pooled.to_json() == alone.to_json()
    assert run_scenario(short_race, seed=3, replications=4, jobs=2).to_json() == alone.to_json()


def test_run_scenario_wants_jobs_or_an_executor_not_both(short_race: Scenario) -> None:
    with pytest.raises(ValueError, match=r"give jobs .* or an executor .*, not both"):
        run_scenario(short_race, replications=2, jobs=2, executor=LocalExecutor(1))



def test_any_executor_subclass_can_run_a_scenario(short_race: Scenario) -> None:
    recording = Recording()
    result = run_scenario(short_race, seed=1, replications=3, executor=recording)
    assert len(recording.tasks) == 3
    assert result.to_json() == run_scenario(short_race, seed=1, replications=3).to_json()


# -- DaskExecutor on a real LocalCluster ---------------------------------------------------


def test_dask_returns_results_in_task_order(dask_executor: DaskExecutor) -> None:
    results = list(dask_executor.map(slow_first, list(range(6))))
    assert [x for x, _ in results] == list(range(6))
    assert os.getpid() not in {pid for _, pid in results}
    assert dask_executor.describe() == {"kind": "dask", "scheduler": None, "workers": 2}


def test_dask_raises_a_task_error(dask_executor: DaskExecutor) -> None:
    with pytest.raises(ValueError, match="three is not allowed"):
        list(dask_executor.map(fail_on_three, range(5)))
    assert list(dask_executor.map(square, [2, 3])) == [4, 9]  # still usable afterwards


def test_run_scenario_on_dask_matches_local(dask_executor: DaskExecutor,
                                            short_race: Scenario) -> None:
    on_dask = run_scenario(short_race, seed=3, replications=4, executor=dask_executor)
    assert on_dask.to_json() == run_scenario(short_race, seed=3, replications=4).to_json()


def test_dask_by_scheduler_address_leaves_the_cluster_running(short_race: Scenario) -> None:
    need_dask()
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        with DaskExecutor(scheduler=address) as executor:
            assert list(executor.map(square, [1, 2, 3])) == [1, 4, 9]
            assert executor.describe() == {"kind": "dask", "scheduler": address, "workers": 1}
            on_dask = run_scenario(short_race, seed=2, replications=2, executor=executor)
        assert len(cluster.workers) == 1  # disconnecting did not shut it down
    assert on_dask.to_json() == run_scenario(short_race, seed=2, replications=2).to_json()


def test_unreachable_scheduler_is_one_clear_error() -> None:
    need_dask()
    executor = DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    with pytest.raises(ExecutorError, match=r"cannot reach the Dask scheduler at "
                                            r"tcp://127\.0\.0\.1:9 within 1 s"):
        executor.start()
    executor.close()
