"""The model's clock: a SimPy environment that also runs *plain callbacks*, in SimPy's order.

Most of what a replication schedules is a message in flight — a webhook copy on its way
to the seller, a push on its way to a listing: a function to call with a payload at a
later time, that no process ever waits for. A SimPy ``Timeout`` for each costs an
``Event`` object, a callback list and a place in SimPy's heap, which holds thousands of
shipments waiting for the warehouse (each push and pop then walks a deep heap).
:meth:`ModelEnvironment.plain_later` keeps such calls as plain tuples in a heap of their
own, and :meth:`ModelEnvironment.step` runs every one that is due before SimPy's next
event, at its own time (``env.now`` is its time while it runs).

**Same order as SimPy.** SimPy processes events by (time, priority, event id), the id
counting up as events are scheduled. A plain callback takes the next id from SimPy's own
counter when it is scheduled and has the priority of a ``Timeout``, so it runs exactly
where a ``Timeout`` scheduled at that moment would have run, before or after the events
at an equal time; a replication's results are the same whichever way its work is
scheduled. A *chain* of calls drawn in advance (the buyers: :meth:`ModelEnvironment.chain`)
keeps that order too, and skips the heap for each call that is next anyway. What needs an
event — a process yielding it, a condition on it — is scheduled as a SimPy event, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappop, heappush
from typing import Any, TypeVar

import simpy
from simpy.events import NORMAL

__all__ = ["ModelEnvironment"]

P = TypeVar("P")
_NORMAL = int(NORMAL)  # a Timeout's priority, as a plain int (compares faster)


class ModelEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` with a heap of plain callbacks merged into its steps.

    ``plain_callbacks`` counts the calls scheduled so far: each took one of SimPy's event
    ids, so SimPy's counter reaches the events scheduled plus these.
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        # (time, priority, event id, callback, payload): ordered like SimPy's own heap
        # entries; ids are unique, so a comparison never reaches the callback.
        self._due: list[tuple[float, int, int, Callable[[Any], None], Any]] = []
        self.plain_callbacks = 0

    def plain_later(self, delay: float, callback: Callable[[P], None], payload: P) -> None:
        """Call ``callback(payload)`` ``delay`` seconds from now (≥ 0), as a Timeout would."""
        if delay < 0:
            raise ValueError(f"delay(={delay}) must be >= 0")
        heappush(self._due, (self._now + delay, _NORMAL, next(self._eid), callback, payload))
        self.plain_callbacks += 1

    def chain(self, times: Sequence[float], call: Callable[[int], None]) -> None:
        """Make ``call(n)`` at ``times[n]`` (seconds, sorted) for every n: a chain of calls.

        The calls run as if each scheduled the next with :meth:`plain_later` *before* its
        own work (the next one's event id is taken then), so whatever a call schedules
        comes after its successor at an equal time — a chain of ``Timeout`` events' order.
        While nothing else is due up to the successor's time, it is made at once, in the
        same loop, without a trip through the heap.
        """
        if times:
            self.plain_later(times[0] - self._now, self._chain_link, (times, call, 0))

    def _chain_link(self, link: tuple[Sequence[float], Callable[[int], None], int]) -> None:
        """Run chain ``link``'s calls from its n-th until one is not next (see :meth:`chain`)."""
        times, call, n = link
        due, queue, ids, last = self._due, self._queue, self._eid, len(times) - 1
        while n < last:  # at most one round per call of the chain
            now = self._now
            at = now + (times[n + 1] - now)  # the time a delay from now gives
            eid = next(ids)
            self.plain_callbacks += 1
            call(n)
            n += 1
            if (due and due[0][0] <= at) or (queue and queue[0][0] <= at):
                heappush(due, (at, _NORMAL, eid, self._chain_link, (times, call, n)))
                return
            self._now = at
        call(n)

    @property
    def plain_pending(self) -> int:
        """Plain callbacks scheduled and not yet run."""
        return len(self._due)

    def drop_pending(self) -> None:
        """Forget everything still scheduled, once a run is over.

        Pending events hold callbacks bound to the model, and a process's event holds its
        generator, whose frame holds the model: cycles only the collector would free.
        Emptying both heaps breaks them, so a finished simulation is freed at once.
        """
        for *_, event in self._queue:
            event.callbacks = []
        self._queue.clear()
        self._due.clear()

    def step(self) -> None:
        """Run the plain callbacks due before SimPy's next event, then process that event.

        Raises :class:`simpy.core.EmptySchedule` when neither is left, as SimPy does.
        """
        due = self._due
        if due:
            queue = self._queue
            while due and (not queue or due[0] < queue[0]):
                self._now, _, _, callback, payload = heappop(due)
                callback(payload)
        super().step()

    def peek(self) -> float:
        """The time of the next event or plain callback (``inf`` if there is none)."""
        due = self._due
        nxt = super().peek()
        return due[0][0] if due and due[0][0] < nxt else nxt
