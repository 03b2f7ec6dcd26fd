"""The stock-engine protocol: what every engine answers, and opening one by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from racesim.chaos.engines import EngineUnderTest, parse_engine
from racesim.ledger import CommandStatus, Ledger
from racesim.ledger.naive import NaiveCounter
from racesim.ledger.protocol import (
    ENGINE_STATUSES,
    InspectableEngine,
    StockEngine,
    open_engine,
)
from racesim.webhooks.format import Webhook, apply_webhook


def test_the_engines_racesim_opens_by_name_are_inspectable(tmp_path: Path) -> None:
    ledger = open_engine("ledger", f"sqlite:///{tmp_path / 'ledger.db'}")
    naive = open_engine("naive_counter")
    try:
        assert isinstance(ledger, Ledger) and isinstance(naive, NaiveCounter)
        for engine in (ledger, naive):
            assert isinstance(engine, InspectableEngine)
            assert engine.event_count() == 0
        apply_webhook(naive, Webhook("stock.received", 0.0, "MUG", quantity=2, ref="PO-1"))
        assert naive.available("MUG") == 2
        assert naive.event_count() == 0 and naive.events().empty  # it keeps no log
        apply_webhook(ledger, Webhook("stock.received", 0.0, "MUG", quantity=2, ref="PO-1"))
        assert ledger.event_count() == 1 and list(ledger.events()["kind"]) == ["RESTOCK"]
    finally:
        ledger.close()


def test_an_unknown_engine_name_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown engine 'abacus' \(known: ledger, "
                                         r"naive_counter\)"):
        open_engine("abacus", "memory://")


def test_the_statuses_are_the_ledgers_command_statuses() -> None:
    assert {status.value for status in CommandStatus} == ENGINE_STATUSES
    assert not isinstance(object(), StockEngine)


def test_the_chaos_harness_opens_local_engines_through_open_engine(tmp_path: Path) -> None:
    spec = parse_engine("ledger", store=f"sqlite:///{tmp_path / 'chaos.db'}")
    engine = spec.open("seed-7")
    try:
        assert isinstance(engine, EngineUnderTest) and isinstance(engine.engine, Ledger)
        assert engine.engine.url.endswith("chaos-seed_7.db")  # the run's own file
    finally:
        spec.discard(engine)
    naive = parse_engine("naive_counter").open("seed-7")
    assert isinstance(naive.engine, NaiveCounter)
