"""The auditor: applies one delivery to the engine and to the reference model, then checks.

After every step it checks, as far as the engine lets itself be read:

===================  ======================================================================
invariant            broken when
===================  ======================================================================
reserved_twice       a repeated order took stock again (or the log holds two RESERVEs for
                     one line)
oversold             a reservation took more than was available (available went negative
                     through a reservation)
rejected_revived     a repeat of a rejected order was reserved (or reported as reserved)
refused_sellable     a reservation was refused although the stock was there
refused_valid        the engine raised on a delivery that a correct engine applies
lost_delivery        the engine acknowledged a delivery it cannot apply yet, so the sender
                     never redelivers it (a cancellation before its order, say)
not_atomic           a delivery that failed, or whose handler crashed inside its
                     transaction, changed the engine's figures
conservation         the engine's figures (available; on hand and reserved if exposed)
                     differ from the units the deliveries account for
projection_replay    the engine's figures differ from its own event log replayed, or its
                     ``verify()`` reports a difference
as_of_replay         the figures as of a past instant differ from the deliveries' history
wrong_answer         the engine's answer is not the one a correct engine gives (``applied``
                     for a repeat, ``duplicate`` for a conflicting repeat, …)
===================  ======================================================================

The engine's answers and figures are also checked against the engine protocol
(:mod:`racesim.ledger.protocol`); an answer outside it stops the run with an
:class:`~racesim.ledger.protocol.EngineProtocolError` rather than counting as a break.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from racesim.chaos.engines import EngineUnderTest, Observed
from racesim.chaos.reference import Expected, LogFold, ReferenceModel
from racesim.ledger.protocol import EngineProtocolError
from racesim.webhooks.format import Webhook

__all__ = ["INVARIANTS", "OUTCOMES", "Auditor", "Violation", "event_webhook"]

OUTCOMES = ("reserved", "rejected", "applied", "duplicate", "mismatch", "refused", "crashed")
"""What :attr:`Auditor.outcomes` counts: what a correct engine does with each delivery
(see :class:`~racesim.chaos.reference.Expected`), and the deliveries whose handler crashed."""

INVARIANTS: dict[str, str] = {
    "reserved_twice": "an order line reserved more than once",
    "oversold": "a reservation took more stock than was available",
    "rejected_revived": "a duplicate of a rejected order was reserved",
    "refused_sellable": "a reservation refused although the stock was available",
    "refused_valid": "the engine raised on a delivery that can be applied",
    "lost_delivery": "a delivery acknowledged but not applied: it is never redelivered",
    "not_atomic": "a failed or crashed delivery changed the engine's figures",
    "conservation": "the engine's figures differ from the units its deliveries account for",
    "projection_replay": "the engine's figures differ from a replay of its event log",
    "as_of_replay": "figures as of a past instant differ from the deliveries' history",
    "wrong_answer": "the engine's answer (applied, duplicate, mismatch…) is not the right one",
}
"""Every invariant the auditor checks, with what breaking it means."""


class Violation(NamedTuple):
    """The first invariant a run broke: which, at which step (0-based) and how."""

    invariant: str
    step: int
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant} at step {self.step + 1}: {self.detail}"


class StepResult(NamedTuple):
    """How one delivery went.

    ``outcome``: ``applied``, ``refused`` (the engine raised) or ``crashed`` (the handler
    died: the sender will redeliver); ``answer``: the status the engine returned.
    """

    outcome: str
    expected: Expected | None
    violation: Violation | None
    answer: str = ""


_RECORDED = {"RESERVE": "reserved", "REJECT": "rejected"}
_WEBHOOK_OF = {"RESTOCK": "stock.received", "RESERVE": "order.created",
               "REJECT": "order.created", "RELEASE": "order.cancelled",
               "FULFILL": "order.shipped", "RETURN": "return.received",
               "ADJUST": "stock.adjusted"}


def event_webhook(event: Any) -> Webhook:
    """The delivery that made a ledger event (so the reference model can take it in).

    ``event`` is any record with the fields of a ledger :class:`~racesim.ledger.Event`
    (``kind`` a string or an Enum of one).
    """
    kind = _WEBHOOK_OF[str(getattr(event.kind, "value", event.kind)).upper()]
    quantity = event.quantity if kind in ("stock.received", "order.created",
                                          "return.received", "stock.adjusted") else 0
    return Webhook(kind, event.at, event.sku, event.order_id, quantity, event.channel,
                   event.ref, event.reason)


def _figures_text(observed: Observed) -> str:
    if observed.figures is None:
        return f"available {observed.available}"
    f = observed.figures
    return f"on hand {f.on_hand}, reserved {f.reserved}, available {f.available}"


class Auditor:
    """Drives one engine through deliveries, one :meth:`step` each, checking as it goes."""

    def __init__(self, engine: EngineUnderTest) -> None:
        self.engine = engine
        self.reference = ReferenceModel()
        self.fold = LogFold() if engine.has_log else None
        self.outcomes: Counter[str] = Counter()
        self._times: list[float] = []
        # The last figures read of each SKU: a SKU changes only through its deliveries
        # (anything else shows up in the next conservation check), so the "before" of a
        # step is the "after" of the last one that read it — one read per step saved.
        self._last: dict[str, Observed] = {}

    def _observe(self, sku: str) -> Observed:
        seen = self._last[sku] = self.engine.observe(sku)
        return seen

    @property
    def steps(self) -> int:
        """Deliveries audited so far."""
        return len(self._times)

    def step(self, webhook: Webhook) -> StepResult:
        """Deliver ``webhook`` (at its ``at``, honouring its ``crash``) and audit the result."""
        index = len(self._times)
        self._times.append(webhook.at)
        engine, sku = self.engine, webhook.sku
        crash = webhook.crash
        if crash == "before" or (crash == "during" and not engine.can_roll_back):
            self.outcomes["crashed"] += 1  # the engine never saw it: nothing to compare
            return StepResult("crashed", None, self._probe(index))
        before = self._last.get(sku) or self._observe(sku)
        if crash == "during":
            self.outcomes["crashed"] += 1
            try:
                engine.send_and_crash(webhook, webhook.at)
            except EngineProtocolError:
                raise
            except Exception:  # refused before the crash point: rolled back as well
                pass
            return StepResult("crashed", None, self._unchanged(index, webhook, before)
                              or self._log(index, (sku,)) or self._probe(index))
        expected = self.reference.apply(webhook)
        self.outcomes[expected.status] += 1
        if crash == "after":  # applied, but the sender never hears of it
            self.outcomes["crashed"] += 1
        try:
            result = engine.send(webhook, webhook.at)
        except EngineProtocolError:
            raise
        except Exception as exc:
            problem = self._unchanged(index, webhook, before)
            if problem is None and expected.status != "refused":
                problem = Violation("refused_valid", index,
                                    f"{webhook.describe()}: the engine raised "
                                    f"{type(exc).__name__}: {exc} — expected "
                                    f"{expected.status}")
            return StepResult("refused", expected, problem or self._log(index, (sku,))
                              or self._probe(index))
        status, decision = engine.reading(webhook, result)
        after = self._observe(sku)
        problem = (self._decision(index, webhook, expected, status, decision, before, after)
                   or self._conserved(index, webhook, after) or self._log(index, (sku,))
                   or self._answer(index, webhook, expected, status) or self._probe(index))
        return StepResult("crashed" if crash == "after" else "applied", expected, problem,
                          status)

    def adopt(self, events: list[Any]) -> tuple[float, Violation | None]:
        """Read in a ledger's existing events before the first step (replaying into it).

        The reference model and the log fold start from what the log records; returns the
        log's last time (0 when empty) and a violation if the log contradicts the rules
        (a RESERVE where a correct engine rejects, say).
        """
        last = 0.0
        for event in events:
            webhook = event_webhook(event)
            expected = self.reference.apply(webhook)
            if self.fold is not None:
                self.fold.add(event)
            recorded = _RECORDED.get(str(event.kind), "applied")
            # The log's own clock: a ledger records trailing times at the time before them.
            at = getattr(event, "recorded_at", event.at)
            if expected.status != recorded:
                return at, Violation(
                    "projection_replay", 0,
                    f"event {event.seq} ({event.kind} {event.key}) is in the log, but the "
                    f"events before it make it {expected.status}")
            last = at
        return last, None

    def finish(self) -> Violation | None:
        """Checks at the end of a run: every SKU's figures, the log, ``verify()``."""
        index = max(0, len(self._times) - 1)
        for sku in self.reference.skus:
            problem = self._conserved(index, None, self._observe(sku), sku)
            if problem:
                return problem
        problem = self._log(index)
        if problem is None and self.engine.has_verify:
            differences = self.engine.verify()
            if differences:
                problem = Violation("projection_replay", index,
                                    f"verify() found {len(differences)} difference(s), e.g. "
                                    f"{differences[0]}")
        return problem

    # -- the checks ------------------------------------------------------------------------

    def _unchanged(self, index: int, webhook: Webhook, before: Observed) -> Violation | None:
        after = self._observe(webhook.sku)
        what = "crashed inside its transaction" if webhook.crash == "during" else "failed"
        if after == before:
            fold = self.fold
            written = self.engine.events_after(fold.last_seq) if fold is not None else []
            if not written:
                return None
            return Violation("not_atomic", index,
                             f"{webhook.describe()}: the delivery {what}, yet the log gained "
                             f"{len(written)} event(s), e.g. {written[0]!r}")
        return Violation("not_atomic", index,
                         f"{webhook.describe()}: the delivery {what}, yet {webhook.sku} went "
                         f"from {_figures_text(before)} to {_figures_text(after)}")

    def _decision(self, index: int, webhook: Webhook, expected: Expected, status: str,
                  decision: str, before: Observed, after: Observed) -> Violation | None:
        what = webhook.describe()
        if expected.status == "refused":
            return Violation("lost_delivery", index,
                             f"{what}: acknowledged as {status!r}, but it cannot be applied "
                             f"({expected.reason}); the engine must refuse it so that it is "
                             "redelivered")
        if webhook.type != "order.created":
            return None
        took = before.available - after.available
        said_reserved = status == "reserved" or (decision == "reserved"
                                                 and expected.decision == "rejected")
        if expected.status in ("duplicate", "mismatch"):
            if said_reserved or took > 0:
                invariant = "rejected_revived" if expected.decision == "rejected" \
                    else "reserved_twice"
                return Violation(invariant, index,
                                 f"{what}: a repeat of an order line already "
                                 f"{expected.decision}; the engine answered {status!r}"
                                 + (f" ({decision})" if decision else "")
                                 + f" and available went {before.available} → "
                                   f"{after.available}")
            if decision == "rejected" and expected.decision == "reserved":
                return Violation("refused_sellable", index,
                                 f"{what}: a repeat of a reserved line reported as rejected")
            return None
        if expected.status == "rejected" and (status == "reserved" or took > 0):
            return Violation("oversold", index,
                             f"{what}: only {before.available} available, yet the engine "
                             f"answered {status!r} and available went {before.available} → "
                             f"{after.available}")
        if expected.status == "reserved" and status == "rejected":
            return Violation("refused_sellable", index,
                             f"{what}: {before.available} available, yet the engine rejected "
                             "it")
        return None

    @staticmethod
    def _answer(index: int, webhook: Webhook, expected: Expected,
                status: str) -> Violation | None:
        if status == expected.status:
            return None
        return Violation("wrong_answer", index,
                         f"{webhook.describe()}: the engine answered {status!r}; a correct "
                         f"engine answers {expected.status!r}"
                         + (f" ({expected.decision})" if expected.decision else ""))

    def _conserved(self, index: int, webhook: Webhook | None, after: Observed,
                   sku: str | None = None) -> Violation | None:
        sku = sku or webhook.sku  # type: ignore[union-attr]
        want = self.reference.figures(sku)
        wrong = after.available != want.available or (
            after.figures is not None and after.figures != want)
        if not wrong:
            return None
        told = f"{webhook.describe()}: " if webhook else "at the end of the run: "
        expected = (f"on hand {want.on_hand}, reserved {want.reserved}, available "
                    f"{want.available}") if after.figures is not None else \
            f"available {want.available}"
        return Violation("conservation", index,
                         f"{told}{sku} shows {_figures_text(after)}; the deliveries account "
                         f"for {expected}")

    def _log(self, index: int, fresh: tuple[str, ...] = ()) -> Violation | None:
        """Fold the log's new events; compare each SKU they touched with the projection.

        ``fresh``: SKUs whose figures were read after this step's delivery already.
        """
        fold = self.fold
        if fold is None:
            return None
        touched: set[str] = set()
        for event in self.engine.events_after(fold.last_seq):
            problem = fold.add(event)
            if problem:
                invariant = "reserved_twice" if "two RESERVE" in problem else "projection_replay"
                return Violation(invariant, index, problem)
            touched.add(event.sku)
        for sku in sorted(touched):
            seen = (self._last[sku] if sku in fresh else self._observe(sku)).figures
            replayed = fold.figures[sku]
            if seen is not None and seen != replayed:
                return Violation("projection_replay", index,
                                 f"{sku}: the projection says on hand {seen.on_hand}, reserved "
                                 f"{seen.reserved}; its event log replayed gives on hand "
                                 f"{replayed.on_hand}, reserved {replayed.reserved}")
        return None

    def _probe(self, index: int) -> Violation | None:
        """Compare the engine's figures as of an earlier instant with the history."""
        if not self.engine.has_history or not self.reference.skus:
            return None
        times, skus = self._times, self.reference.skus
        j = (index * 7919) % (index + 1)
        if index % 7 == 3:  # later than anything yet: today's figures
            at = times[-1] + 3_600.0
        elif index % 7 == 5:  # before the first delivery: nothing at all
            at = times[0] / 2 if times[0] > 0 else -1.0
        else:  # at an earlier delivery's instant, or between two
            at = times[j] if index % 2 == 0 or j == 0 else (times[j - 1] + times[j]) / 2
        sku = skus[(index * 31) % len(skus)]
        seen = self.engine.figures_at(sku, at)
        want = self.reference.figures_at(sku, at)
        if seen is None or seen == want:
            return None
        return Violation("as_of_replay", index,
                         f"{sku} as of {at:g} s: the engine says on hand {seen.on_hand}, "
                         f"reserved {seen.reserved}; the deliveries up to then give on hand "
                         f"{want.on_hand}, reserved {want.reserved}")
