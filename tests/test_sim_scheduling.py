"""Plain callbacks run where SimPy would have run a Timeout: same times, same order."""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import pytest
import simpy
from simpy.events import Timeout

from racesim.sim.scheduling import ModelEnvironment


def _script(env: simpy.Environment, plain: Callable[[int], bool],
            seed: int) -> list[tuple[float, str]]:
    """A workload with many equal times: chains of calls, a process, and a stop time.

    Every call is a plain callback where ``plain(number)`` says so, else a Timeout with a
    callback; the log lists (time, what ran) in the order things ran.
    """
    rng = np.random.default_rng(seed)
    delays = rng.integers(0, 4, 4_000).tolist()  # whole seconds: ties everywhere
    log: list[tuple[float, str]] = []
    made = 0

    def later(delay: float, label: str) -> None:
        nonlocal made
        number = made
        made += 1
        if isinstance(env, ModelEnvironment) and plain(number):
            env.plain_later(delay, fired, label)
        else:
            Timeout(env, delay, label).callbacks.append(lambda event: fired(event.value))

    def fired(label: str) -> None:
        log.append((env.now, label))
        if made < len(delays) - 2:  # each call schedules up to two more
            later(delays[made], f"{label}.a")
            if delays[made] % 2:
                later(delays[made], f"{label}.b")

    def ticker() -> Generator[simpy.Event, None, None]:
        for tick in range(400):
            yield env.timeout(1)
            log.append((env.now, f"tick {tick}"))
            if tick % 3 == 0:
                later(0, f"tick {tick} now")

    for root in range(20):
        later(delays[root], f"root {root}")
    env.process(ticker())
    env.run(until=150)
    return log


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plain_callbacks_keep_simpys_order_among_equal_times(seed: int) -> None:
    expected = _script(simpy.Environment(), lambda number: False, seed)
    mixed = _script(ModelEnvironment(), lambda number: number % 3 != 1, seed)
    every = _script(ModelEnvironment(), lambda number: True, seed)
    assert len(expected) > 1_000
    assert sum(1 for t, _ in expected if t == 12.0) > 100  # the workload has ties
    assert mixed == expected
    assert every == expected


def test_a_plain_callback_sees_its_own_time_and_waits_for_the_stop() -> None:
    env = ModelEnvironment()
    seen: list[tuple[float, str]] = []
    env.plain_later(2.5, lambda label: seen.append((env.now, label)), "first")
    env.plain_later(10.0, lambda label: seen.append((env.now, label)), "at the stop")
    env.plain_later(0.0, lambda label: seen.append((env.now, label)), "now")
    assert env.peek() == 0.0 and env.plain_pending == 3
    env.run(until=10.0)
    assert seen == [(0.0, "now"), (2.5, "first")]  # as a Timeout at 10 s: not run yet
    assert env.now == 10.0 and env.peek() == 10.0 and env.plain_callbacks == 3
    env.run()
    assert seen[-1] == (10.0, "at the stop") and env.plain_pending == 0


def test_a_plain_callback_cannot_be_scheduled_in_the_past() -> None:
    with pytest.raises(ValueError, match=r"delay\(=-1\.0\) must be >= 0"):
        ModelEnvironment().plain_later(-1.0, print, None)


def test_an_environment_with_only_plain_callbacks_runs_them_all_then_stops() -> None:
    env = ModelEnvironment()
    seen: list[float] = []

    def chain(left: int) -> None:
        seen.append(env.now)
        if left:
            env.plain_later(1.5, chain, left - 1)

    env.plain_later(1.0, chain, 3)
    env.run()
    assert seen == [1.0, 2.5, 4.0, 5.5]


def _chain_script(env: simpy.Environment, seed: int) -> list[tuple[float, str]]:
    """A chain of pre-drawn calls (as the buyers are) among other work, with many ties.

    Each link schedules a Timeout at once, some at the next link's time (a tie), and a
    ticker process runs beside it. On a :class:`ModelEnvironment` the links are one
    :meth:`~ModelEnvironment.chain`; on SimPy each link schedules the next as a Timeout
    before its work.
    """
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.integers(0, 3, 600)).astype(float).tolist()  # whole seconds
    work = rng.integers(0, 3, 600).tolist()
    log: list[tuple[float, str]] = []

    def other(label: str) -> None:
        log.append((env.now, label))

    def link(n: int) -> None:
        log.append((env.now, f"link {n}"))
        Timeout(env, work[n], f"work {n}").callbacks.append(lambda e: other(e.value))

    def simpy_chain(event: simpy.Event) -> None:
        n = event.value
        if n + 1 < len(times):
            Timeout(env, times[n + 1] - env.now, n + 1).callbacks.append(simpy_chain)
        link(n)

    def ticker() -> Generator[simpy.Event, None, None]:
        for tick in range(300):
            yield env.timeout(2)
            log.append((env.now, f"tick {tick}"))

    if isinstance(env, ModelEnvironment):
        env.chain(times, link)
    else:
        Timeout(env, times[0], 0).callbacks.append(simpy_chain)
    env.process(ticker())
    env.run(until=times[-1] - 5)
    return log


@pytest.mark.parametrize("seed", [4, 5])
def test_a_chain_run_in_place_keeps_simpys_order(seed: int) -> None:
    bare, env = simpy.Environment(), ModelEnvironment()
    expected = _chain_script(bare, seed)
    chained = _chain_script(env, seed)
    assert sum(1 for _, label in expected if label.startswith("work")) > 300
    assert len({t for t, _ in expected}) < len(expected) / 2  # ties everywhere
    assert env.plain_callbacks > 500  # one id per link, placed or run in place
    assert chained == expected
    assert next(env._eid) == next(bare._eid)  # every link took one id, as a Timeout did


def test_a_chain_waits_for_what_is_due_at_its_time_and_for_the_stop() -> None:
    env = ModelEnvironment()
    seen: list[tuple[float, str]] = []
    env.plain_later(3.0, lambda label: seen.append((env.now, label)), "scheduled first")
    env.chain([1.0, 3.0, 3.0, 8.0, 12.0], lambda n: seen.append((env.now, f"link {n}")))
    env.run(until=8.0)
    assert seen == [(1.0, "link 0"), (3.0, "scheduled first"), (3.0, "link 1"),
                    (3.0, "link 2")]  # the link at 8 s waits, as a Timeout would, for later
    env.run()
    assert seen[-2:] == [(8.0, "link 3"), (12.0, "link 4")] and env.plain_callbacks == 6
