"""The ledger's contract, run once per backend — and by a store racesim does not ship.

The suite itself lives in the package (:mod:`racesim.ledger.contract`) so that any store
can run it; here racesim runs it against its memory, SQLite and PostgreSQL stores, shows a
store defined outside the package passing it by subclassing, and a store that loses
idempotency failing it under pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import racesim
from broken_stores import ForgetfulStore
from postgres_server import fresh_postgres_url, require_postgres
from racesim.errors import StoreRefused
from racesim.ledger import (
    Ledger,
    Store,
    Transaction,
    contract,
    open_store,
)
from racesim.ledger.memory import MemoryStore


class TestMemoryStore(contract.StoreContract):
    def create_store(self) -> Store:
        return open_store("memory://")


class TestSqliteStore(contract.StoreContract):
    def create_store(self) -> Store:
        folder = tempfile.TemporaryDirectory(prefix="racesim-contract-")
        self.addCleanup(folder.cleanup)
        return open_store(f"sqlite:///{Path(folder.name) / 'ledger.db'}")


class TestPostgresStore(contract.StoreContract):
    def create_store(self) -> Store:
        require_postgres()  # skipped without a server — failed under CI
        return open_store(fresh_postgres_url("ledger"))


def test_unknown_store_urls_are_refused_clearly() -> None:
    with pytest.raises(StoreRefused, match="unknown scheme 'mysql'"):
        Ledger.open("mysql://localhost/db")
    with pytest.raises(StoreRefused, match="must look like"):
        Ledger.open("ledger.db")
    with pytest.raises(StoreRefused, match="unknown option"):
        Ledger.open("sqlite:///x.db?journal=off")
    with pytest.raises(StoreRefused, match="takes no path"):
        Ledger.open("memory://somewhere")


# -- a store racesim does not ship -----------------------------------------------------------

class CountingStore(MemoryStore):
    """A third-party store: the memory store, counting the transactions it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0

    def transaction(self) -> AbstractContextManager[Transaction]:  # type: ignore[override]
        self.transactions += 1
        return super().transaction()


class TestAThirdPartyStore(contract.StoreContract):
    """The whole contract, run on a store defined here, outside the racesim package."""

    def create_store(self) -> Store:
        self.store = CountingStore()
        return self.store

    def tearDown(self) -> None:
        # Every contract test writes or verifies: it went through this store's transactions.
        assert self.store.transactions > 0


def test_a_store_that_loses_idempotency_fails_the_contract() -> None:
    class ForgetfulContract(contract.StoreContract):
        def create_store(self) -> Store:
            return ForgetfulStore()

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(ForgetfulContract).run(result)
    broken = {test.id().rsplit(".", 1)[-1] for test, _ in result.failures + result.errors}
    assert result.testsRun == len(_contract_tests())
    assert {"test_restock_is_idempotent_on_sku_and_ref", "test_duplicate_reservation_is_absorbed",
            "test_release_returns_the_units_once"} <= broken
    assert "test_an_empty_ledger_knows_nothing" not in broken  # nothing to forget there


def test_the_abstract_contract_is_not_collected_and_names_what_is_missing() -> None:
    assert contract.StoreContract.__test__ is False
    assert TestMemoryStore.__test__ is True

    class NoFactory(contract.StoreContract):
        pass

    result = unittest.TestResult()
    NoFactory("test_an_empty_ledger_knows_nothing").run(result)
    assert len(result.errors) == 1
    assert "NoFactory must define create_store()" in result.errors[0][1]


THIRD_PARTY_TESTS = '''
    """A store's own test file, as its author would write it."""
    from racesim.ledger.contract import StoreContract
    from racesim.ledger.memory import MemoryStore
    from broken_stores import ForgetfulStore

    class SoundStore(MemoryStore):
        """Ours: the memory store under another name."""

    class TestSoundStore(StoreContract):
        def create_store(self):
            return SoundStore()

    class TestForgetfulStore(StoreContract):
        def create_store(self):
            return ForgetfulStore()
'''


@pytest.mark.slow  # a second interpreter importing pandas and racesim: ~4 s
def test_pytest_runs_the_contract_for_a_third_party_store_and_reports_its_failures(
        tmp_path: Path) -> None:
    (tmp_path / "test_my_store.py").write_text(textwrap.dedent(THIRD_PARTY_TESTS))
    report = tmp_path / "report.xml"
    tests_dir = str(Path(__file__).parent)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
         "--rootdir", str(tmp_path), str(tmp_path / "test_my_store.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env=_env_with_path(tests_dir))
    assert run.returncode == 1, run.stdout + run.stderr  # 1: tests ran, some failed
    outcomes: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        outcome = next((tag for tag in ("failure", "error", "skipped")
                        if case.find(tag) is not None), "passed")
        outcomes.setdefault(cls, {})[case.get("name", "")] = outcome
    assert set(outcomes) == {"TestSoundStore", "TestForgetfulStore"}  # the base: not run
    expected = set(_contract_tests())
    assert set(outcomes["TestSoundStore"]) == expected
    assert set(outcomes["TestSoundStore"].values()) == {"passed"}
    assert set(outcomes["TestForgetfulStore"]) == expected
    assert outcomes["TestForgetfulStore"]["test_duplicate_reservation_is_absorbed"] == "failure"
    assert "failed" in run.stdout and "TestForgetfulStore" in run.stdout


def _contract_tests() -> list[str]:
    return unittest.defaultTestLoader.getTestCaseNames(contract.StoreContract)


def _env_with_path(*folders: str) -> dict[str, str]:
    """This process's environment with ``folders`` and racesim's sources importable."""
    sources = str(Path(racesim.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*folders, sources, env.get("PYTHONPATH", "")])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # a bare pytest, as a store's own CI may have
    return env
