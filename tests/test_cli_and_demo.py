"""The command line, the README's promises and the duplicate-webhook demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from racesim.cli.demo import DemoSetup, duplicate_storm, plan_deliveries
from racesim.cli.main import main
from racesim.ledger import Ledger
from racesim.ledger.naive import NaiveCounter

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(["racesim", "--version"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("racesim ")


def test_demo_writes_its_tables_and_a_sound_ledger(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "3", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "duplicate deliveries" in out and "identical." in out
    for name in ("summary.csv", "deliveries.csv", "events.csv", "ledger.db"):
        assert (tmp_path / name).exists()
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        assert ledger.verify() == []
    assert main(["demo", "--seed", "3", "--out", str(tmp_path)]) == 0  # rerun replaces


def test_demo_json_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--seed", "7", "--json"])
    first = json.loads(capsys.readouterr().out)
    main(["demo", "--seed", "7", "--json"])
    assert json.loads(capsys.readouterr().out) == first
    assert first["verify_differences"] == 0


def test_a_bad_store_url_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--store", "mysql://db"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("racesim: error: store URL 'mysql://db'")
    assert "Traceback" not in err and err.count("\n") == 1


def test_every_order_gets_one_to_three_copies_out_of_order() -> None:
    deliveries = plan_deliveries(DemoSetup(orders=200), seed=5)
    copies: dict[str, list[int]] = {}
    for d in deliveries:
        copies.setdefault(d.order_id, []).append(d.copy)
    assert len(copies) == 200
    assert {len(c) for c in copies.values()} == {1, 2, 3}
    assert any(c != sorted(c) for c in copies.values())  # a copy overtook an earlier one
    assert plan_deliveries(DemoSetup(orders=200), seed=5) == deliveries


def test_the_ledger_sells_each_order_once_the_naive_counter_does_not() -> None:
    setup = DemoSetup(stock=(("MUG", 100),), orders=30, p2=0.5, p3=0.2)
    summary, deliveries = duplicate_storm(Ledger.open(), seed=11, setup=setup)
    row = summary.loc["MUG"]
    assert row["reserved"] == row["orders"] == 30
    assert row["ledger_available"] == 70
    assert row["duplicates_absorbed"] == len(deliveries) - 30 > 0
    assert row["naive_phantom_reservations"] == row["duplicates_absorbed"]
    assert row["naive_available"] == 70 - row["naive_phantom_reservations"]


def test_naive_counter_decrements_on_every_copy() -> None:
    counter = NaiveCounter()
    counter.restock("SKU-1", 2, ref="PO-1")
    assert counter.reserve("SKU-1", 1, "A-1", "amazon").status.value == "reserved"
    assert counter.reserve("SKU-1", 1, "A-1", "amazon").status.value == "reserved"
    assert counter.reserve("SKU-1", 1, "B-1", "ebay").status.value == "rejected"
    assert counter.available("SKU-1") == 0


def test_the_readme_opens_with_the_two_set_up_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1:lines.index("```bash") + 3]
    assert block[0].endswith("# main job") and "racesim report" in block[0]
    assert "--out out/" in block[0]  # an untracked folder: a first run changes no tracked file
    assert "/out/" in (ROOT / ".gitignore").read_text().splitlines()
    assert block[1].endswith("# test suite") and "pytest" in block[1]


def test_the_readme_examples_run() -> None:
    text = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(examples) >= 2
    outputs = []
    for example in examples:
        result = subprocess.run([sys.executable, "-c", example], capture_output=True,
                                text=True, check=False, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    printed = outputs[0].splitlines()
    assert printed[0] == "reserved duplicate rejected"
    assert printed[1].startswith("Stock(sku='MUG-RED', on_hand=1, reserved=1,")  # as promised
    assert printed[2:4] == ["0", "1"]  # available now, and replayed to t=5


def test_the_code_is_ruff_clean() -> None:
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_the_readme_webhook_examples_are_valid_webhooks() -> None:
    from racesim.webhooks.format import parse_webhook

    text = (ROOT / "README.md").read_text()
    examples = re.findall(r"```json\n(.*?)```", text, re.S)
    assert examples
    for example in examples:
        for line in example.strip().splitlines():
            assert parse_webhook(json.loads(line)).type
