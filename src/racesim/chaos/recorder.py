"""Recording a history: deliveries sent to an engine, each timed and answered, with reads.

:func:`record_trace` sends a chaos trace (:mod:`racesim.chaos.run`) to an engine one
delivery at a time, as one worker, and records every command and a read of the SKU after
it as :class:`~racesim.chaos.history.Operation` records. A sequential history is
linearizable exactly when every answer is the one the reference model gives, so it is the
checker's baseline; a concurrent driver records the same records from several workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from racesim.chaos.engines import EngineUnderTest
from racesim.chaos.history import COMMANDS, Operation
from racesim.errors import StoreRetryable
from racesim.ledger.protocol import EngineProtocolError
from racesim.webhooks.format import Webhook

__all__ = ["Recorder", "record_trace"]

_OP_OF = {kind: op for op, kind in COMMANDS.items()}

RETRIES = 50
"""Times a command is sent again after a retryable store error before its answer is that
error: a deadlock or a serialization failure rolled it back, and the next try usually
succeeds at once."""

RETRY_PAUSE_S = 0.001
"""Seconds before the first retry; doubled each time, up to :data:`RETRY_PAUSE_MAX_S`."""

RETRY_PAUSE_MAX_S = 0.05


class Recorder:
    """Times one worker's calls to an engine and keeps them as history operations.

    ``clock``: monotonic seconds (``time.monotonic`` by default; a test may pass a
    counter, so that consecutive operations never share an instant).
    """

    def __init__(self, engine: EngineUnderTest, worker: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.worker, self.clock = engine, worker, clock
        self.operations: list[Operation] = []

    def _add(self, op: str, invoked: float, commands: tuple[Webhook, ...], sku: str,
             answer: dict[str, Any]) -> None:
        self.operations.append(Operation(len(self.operations), self.worker, op, invoked,
                                         self.clock(), commands, sku, answer))

    def command(self, webhook: Webhook) -> dict[str, Any]:
        """Send one delivery as its command; record and return the answer."""
        invoked = self.clock()
        answer = self._answer(lambda: self._sent(webhook))
        self._add(_OP_OF[webhook.type], invoked, (webhook,), "", answer)
        return answer

    def batch(self, webhooks: Sequence[Webhook]) -> dict[str, Any]:
        """Send several deliveries in one transaction of the engine's ``batch()``; record
        and return ``{"answers": [...]}``, or ``{"error": …}`` when one raised and the
        whole batch rolled back. Multi-SKU batches of concurrent writers deadlock; the
        store rolls one back as retryable and it is sent again, whole."""
        if not self.engine.can_roll_back:
            raise EngineProtocolError(f"engine {self.engine.label}: no batch() to send "
                                      f"{len(webhooks)} commands in one transaction")

        def send() -> dict[str, Any]:
            with self.engine.engine.batch():  # type: ignore[attr-defined]
                return {"answers": [self._sent(w) for w in webhooks]}

        invoked = self.clock()
        answer = self._answer(send)
        self._add("batch", invoked, tuple(webhooks), "", answer)
        return answer

    def _sent(self, webhook: Webhook) -> dict[str, Any]:
        """One command sent, its answer checked against the protocol."""
        status, decision = self.engine.reading(webhook, self.engine.send(webhook, webhook.at))
        return {"status": status, **({"decision": decision} if decision else {})}

    @staticmethod
    def _answer(send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``send()``'s answer, or ``{"error": …}`` when the engine raised.

        A :class:`~racesim.errors.StoreRetryable` (a deadlock between writers, a
        serialization failure: nothing was written) is sent again, as a job runner
        would, up to :data:`RETRIES` times; the operation spans every try, and since the
        failed ones changed nothing, its effect still lies inside that interval.
        """
        pause_s = RETRY_PAUSE_S
        for attempt in range(RETRIES + 1):
            try:
                return send()
            except EngineProtocolError:
                raise
            except StoreRetryable as exc:
                if attempt == RETRIES:
                    return {"error": f"{type(exc).__name__}: {exc}"}
                time.sleep(pause_s)
                pause_s = min(2 * pause_s, RETRY_PAUSE_MAX_S)
            except Exception as exc:  # the engine refused it: by the protocol, nothing changed
                return {"error": f"{type(exc).__name__}: {exc}"}
        raise AssertionError("unreachable: the last try returns")

    def read(self, sku: str) -> None:
        """Record ``available(sku)``, then ``stock(sku)`` when the engine has it."""
        invoked = self.clock()
        self._add("available", invoked, (), sku, {"value": self.engine.read_available(sku)})
        if self.engine.has_stock:
            invoked = self.clock()
            figures = self.engine.read_stock(sku)
            assert figures is not None  # the engine has stock()
            self._add("stock", invoked, (), sku,
                      {"on_hand": figures.on_hand, "reserved": figures.reserved})


def record_trace(engine: EngineUnderTest, trace: Sequence[Webhook], *, worker: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> list[Operation]:
    """Send a trace's deliveries in order, each followed by a read of its SKU.

    A delivery whose handler crashed before reaching the engine is skipped; one that
    crashed inside its transaction is sent and rolled back (engines with ``batch()``) and
    left out of the history, since it changed nothing; one that crashed after committing
    is an ordinary command.
    """
    recorder = Recorder(engine, worker, clock)
    for webhook in trace:
        if webhook.crash == "before" or (webhook.crash == "during"
                                         and not engine.can_roll_back):
            continue
        if webhook.crash == "during":
            try:
                engine.send_and_crash(webhook, webhook.at)
            except EngineProtocolError:
                raise
            except Exception:  # refused before the crash point: rolled back as well
                pass
            continue
        recorder.command(webhook)
        recorder.read(webhook.sku)
    return recorder.operations
