"""``racesim.util.parallel``: independent parts side by side, results in their order."""

from __future__ import annotations

import threading
import time

import pytest

from racesim.util import parallel
from racesim.util.parallel import in_parallel, sequential


def _thread() -> str:
    return threading.current_thread().name


def test_results_come_in_the_order_of_the_parts_whichever_finishes_first() -> None:
    def slow() -> str:
        time.sleep(0.05)
        return "slow"

    assert in_parallel(slow, lambda: "quick", lambda: 3) == ["slow", "quick", 3]
    assert in_parallel(lambda: 1) == [1] and in_parallel() == []


@pytest.mark.skipif(parallel.WORKERS < 1 or parallel._cores() < 2, reason="one core")
def test_the_other_parts_run_on_a_pool_thread_and_the_first_on_the_callers() -> None:
    here, there = in_parallel(_thread, _thread)
    assert here == _thread() and there.startswith("racesim-part")


def test_inside_sequential_every_part_runs_on_the_calling_thread() -> None:
    with sequential():
        assert in_parallel(_thread, _thread, _thread) == [_thread()] * 3


def test_a_part_on_a_pool_thread_runs_its_own_parts_in_turn() -> None:
    def nested() -> list[str]:
        return in_parallel(_thread, _thread)

    _, inner = in_parallel(lambda: None, nested)
    assert inner[0] == inner[1]  # the same pool thread (or this one, with one core)


def test_a_failed_part_raises_after_every_part_has_finished() -> None:
    finished: list[str] = []

    def late() -> None:
        time.sleep(0.05)
        finished.append("late")

    def fails() -> None:
        raise ValueError("part 1 failed")

    with pytest.raises(ValueError, match="part 1 failed"):
        in_parallel(fails, late)
    assert finished == ["late"]
    with pytest.raises(KeyError, match="second"):
        in_parallel(lambda: None, late, lambda: {}["second"])
    assert finished == ["late", "late"]
