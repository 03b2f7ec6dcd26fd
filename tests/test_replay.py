"""``racesim replay``: a recorded webhook log applied to a ledger, with malformed lines,
out-of-order deliveries, injected duplicates and reordering, crash markers and the
command line — on every store.

The logs are written by hand below; each one's docstring says what the replay must make
of it.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import store_url
from postgres_server import require_postgres
from racesim.chaos.replay import MalformedLog, ReplayReport, format_report, replay_log
from racesim.cli.main import main
from racesim.errors import RacesimError
from racesim.ledger import Ledger
from racesim.webhooks.format import Webhook

Record = dict[str, Any]


def restock(at: float, sku: str, quantity: int, ref: str, **extra: object) -> Record:
    return {"type": "stock.received", "at": at, "sku": sku, "quantity": quantity, "ref": ref,
            **extra}


def order(at: float, order_id: str, sku: str, quantity: int, channel: str = "amazon",
          **extra: object) -> Record:
    return {"type": "order.created", "at": at, "order_id": order_id, "sku": sku,
            "quantity": quantity, "channel": channel, **extra}


def cancel(at: float, order_id: str, sku: str, **extra: object) -> Record:
    return {"type": "order.cancelled", "at": at, "order_id": order_id, "sku": sku, **extra}


def ship(at: float, order_id: str, sku: str, **extra: object) -> Record:
    return {"type": "order.shipped", "at": at, "order_id": order_id, "sku": sku, **extra}


def give_back(at: float, order_id: str, sku: str, quantity: int, ref: str) -> Record:
    return {"type": "return.received", "at": at, "order_id": order_id, "sku": sku,
            "quantity": quantity, "ref": ref}


def count(at: float, sku: str, delta: int, reason: str, ref: str) -> Record:
    return {"type": "stock.adjusted", "at": at, "sku": sku, "delta": delta, "reason": reason,
            "ref": ref}


def write(path: Path, *lines: Record | str | bytes) -> Path:
    """A JSONL file: records as JSON, strings and bytes as they are (for broken lines)."""
    raw = [line if isinstance(line, bytes) else
           (line if isinstance(line, str) else json.dumps(line)).encode() for line in lines]
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


def figures(report: ReplayReport) -> dict[str, tuple[int, int, int]]:
    """Each SKU's (on hand, reserved, available) after the replay."""
    frame = report.projection
    return {sku: (int(row.on_hand), int(row.reserved), int(row.available))
            for sku, row in frame.iterrows()}


SHOP = [
    restock(1, "MUG", 10, "PO-1"),
    restock(2, "TEE", 4, "PO-2"),
    order(10, "A-1", "MUG", 3),
    order(11, "A-2", "MUG", 2, "ebay"),
    order(12, "A-3", "TEE", 5, "shopify"),  # only 4 TEE: rejected
    cancel(20, "A-1", "MUG"),
    ship(21, "A-2", "MUG"),
    give_back(30, "A-2", "MUG", 1, "RMA-1"),
    count(40, "TEE", -1, "damaged", "COUNT-1"),
    order(50, "A-4", "TEE", 2),
]
"""A day in a small shop, in order: every webhook type, one rejected order.

MUG: 10 in, A-1 cancelled, A-2 shipped (2) and 1 back → 9 on hand, none reserved.
TEE: 4 in, A-3 rejected, 1 damaged, A-4 reserves 2 → 3 on hand, 2 reserved, 1 available.
"""

SHOP_FIGURES = {"MUG": (9, 0, 9), "TEE": (3, 2, 1)}
SHOP_OUTCOMES = {"applied": 6, "reserved": 3, "rejected": 1}


@pytest.fixture
def shop_log(tmp_path: Path) -> Path:
    return write(tmp_path / "shop.jsonl", *SHOP)


# -- a clean log -------------------------------------------------------------------------


def test_a_clean_log_gives_the_expected_projection_on_every_store(
        shop_log: Path, store_kind: str, tmp_path: Path) -> None:
    url = store_url(store_kind, tmp_path, "shop")
    report = replay_log(shop_log, url)
    assert report.sound and report.violation is None
    assert figures(report) == SHOP_FIGURES
    assert report.outcomes == SHOP_OUTCOMES
    assert (report.lines, report.deliveries) == (10, 10)
    assert report.dead_letters == [] and report.malformed == []
    assert report.path == str(shop_log)
    row = report.projection.loc["MUG"]
    assert (row["shipped"], row["returned"]) == (2, 1)
    if store_kind != "memory":  # a memory ledger ends with its replay (whose audit verified it)
        with Ledger.open(url) as ledger:
            assert ledger.verify() == []
            assert ledger.event_count() == 10  # the rejection is recorded too
            assert ledger.order_line("A-3", "TEE").status.value == "rejected"
            assert list(ledger.events()["at"]) == [1, 2, 10, 11, 12, 20, 21, 30, 40, 50]


def test_the_report_reads_as_text_and_as_json(shop_log: Path) -> None:
    report = replay_log(shop_log)
    text = format_report(report)
    assert text.startswith(f"{shop_log} → memory://: 10 deliveries read, 10 handled")
    assert "  3 reserved, 1 rejected, 6 applied\n" in text
    assert "invariants: all held" in text
    assert "MUG" in text and "TEE" in text
    as_json = json.loads(json.dumps(report.to_json()))
    assert as_json["violation"] is None and as_json["outcomes"] == SHOP_OUTCOMES
    assert {r["sku"]: (r["on_hand"], r["reserved"], r["available"])
            for r in as_json["projection"]} == SHOP_FIGURES


def test_an_empty_log_applies_nothing_and_is_sound(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    report = replay_log(path)
    assert report.sound and (report.lines, report.deliveries) == (0, 0)
    assert report.outcomes == {} and report.projection.empty
    assert "(the ledger holds no stock)" in format_report(report)


# -- out of order: redeliveries and dead letters -----------------------------------------

OUT_OF_ORDER = [
    restock(1, "MUG", 5, "PO-1"),
    cancel(2, "O-1", "MUG"),  # before its order: refused at 2, applied at 32
    order(3, "O-1", "MUG", 2),
    give_back(4, "O-2", "MUG", 1, "RMA-1"),  # before the shipment: refused at 4 and 34
    order(5, "O-2", "MUG", 1, "ebay"),
    ship(50, "O-2", "MUG"),  # so the return applies on its third delivery, at 4 + 30 + 60
    ship(60, "NEVER", "MUG"),  # no such order, ever: refused on every delivery
]
"""Deliveries in the order a busy marketplace might send them (see each comment)."""


def test_refused_deliveries_are_redelivered_with_backoff_until_they_apply(
        tmp_path: Path) -> None:
    url = store_url("sqlite", tmp_path)
    report = replay_log(write(tmp_path / "late.jsonl", *OUT_OF_ORDER), url)
    assert report.sound
    assert figures(report) == {"MUG": (5, 0, 5)}  # 5 in, 1 shipped, 1 back, O-1 cancelled
    assert report.outcomes == {"applied": 4, "reserved": 2, "refused": 1 + 2 + 4}
    assert report.deliveries == 7 + 1 + 2 + 3
    assert report.dead_letters == [Webhook("order.shipped", 60.0, "MUG", order_id="NEVER")]
    with Ledger.open(url) as ledger:
        events = ledger.events()
    assert list(zip(events["kind"], events["at"], strict=True)) == [
        ("RESTOCK", 1), ("RESERVE", 3), ("RESERVE", 5), ("RELEASE", 32), ("FULFILL", 50),
        ("RETURN", 94)]


@pytest.mark.parametrize(("attempts", "dead", "deliveries"), [
    (1, ["order.cancelled", "return.received", "order.shipped"], 7),
    (2, ["return.received", "order.shipped"], 7 + 1 + 1 + 1),
    (3, ["order.shipped"], 7 + 1 + 2 + 2),
    (6, ["order.shipped"], 7 + 1 + 2 + 5),
])
def test_a_delivery_refused_attempts_times_is_a_dead_letter(
        tmp_path: Path, attempts: int, dead: list[str], deliveries: int) -> None:
    report = replay_log(write(tmp_path / "late.jsonl", *OUT_OF_ORDER), attempts=attempts)
    assert [w.type for w in report.dead_letters] == dead
    assert report.deliveries == deliveries
    assert report.outcomes["refused"] == deliveries - 7 + len(dead)
    assert report.sound  # refusing what cannot apply is correct, not a broken invariant


def test_dead_letters_are_listed_in_the_text_and_json_reports(tmp_path: Path) -> None:
    report = replay_log(write(tmp_path / "late.jsonl", *OUT_OF_ORDER))
    text = format_report(report)
    assert "1 delivery(ies) refused on every attempt (dead letters):\n" in text
    assert "    order.shipped NEVER MUG at 60 s\n" in text
    assert report.to_json()["dead_letters"] == [ship(60.0, "NEVER", "MUG")]


# -- malformed lines ---------------------------------------------------------------------

BROKEN = [
    restock(1, "MUG", 5, "PO-1"),
    order(2, "O-1", "MUG", 2),
    '{"type": "order.created", "at": 3, "order_id": "O-2"',  # 3: truncated
    "",  # 4: blank, skipped
    {**order(5, "O-3", "MUG", 1), "qty": 1},  # 5: misspelt field
    order(6, "O-4", "MUG", 1),
]
"""Four good lines around two malformed ones (lines 3 and 5)."""


def test_stop_on_malformed_lines_applies_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.jsonl", *BROKEN)
    url = store_url("sqlite", tmp_path)
    with pytest.raises(MalformedLog, match=r"2 malformed line\(s\); nothing was applied") as info:
        replay_log(path, url, on_malformed="stop")
    assert [m.line for m in info.value.malformed] == [3, 5]
    assert info.value.path == path
    message = str(info.value)
    assert f"{path}: line 3: not JSON" in message
    assert f"{path}: line 5: order.created: unknown field(s) 'qty'" in message
    assert "--malformed skip" in message
    assert isinstance(info.value, RacesimError)
    with Ledger.open(url) as ledger:
        assert ledger.event_count() == 0


def test_stop_is_the_default(tmp_path: Path) -> None:
    with pytest.raises(MalformedLog, match="line 3"):
        replay_log(write(tmp_path / "broken.jsonl", *BROKEN))


def test_a_long_list_of_malformed_lines_is_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path / "junk.jsonl", *(["{oops"] * 25))
    with pytest.raises(MalformedLog, match=r"25 malformed line\(s\)") as info:
        replay_log(path)
    message = str(info.value)
    assert "line 20: not JSON" in message and "line 21:" not in message
    assert message.endswith("… and 5 more")


def test_skip_applies_every_good_line_and_reports_the_malformed_ones(tmp_path: Path) -> None:
    report = replay_log(write(tmp_path / "broken.jsonl", *BROKEN), on_malformed="skip")
    assert report.sound
    assert [(m.line, m.message.split(" (")[0]) for m in report.malformed] == [
        (3, "not JSON"), (5, "order.created: unknown field(s) 'qty'")]
    assert (report.lines, report.deliveries) == (3, 3)
    assert report.outcomes == {"applied": 1, "reserved": 2}
    assert figures(report) == {"MUG": (5, 3, 2)}  # O-1 and O-4; O-3's line was left out
    text = format_report(report)
    assert "  2 malformed line(s) skipped:\n    line 3: not JSON" in text
    assert [m["line"] for m in report.to_json()["malformed"]] == [3, 5]


# -- injected duplicates and reordering --------------------------------------------------

SWEET = [
    restock(0, "MUG", 100, "PO-1"),
    restock(0, "TEE", 100, "PO-2"),
    order(100, "O-1", "MUG", 3),
    order(105, "O-2", "TEE", 2, "ebay"),
    cancel(110, "O-1", "MUG"),
    order(115, "O-3", "MUG", 4, "etsy"),
    ship(120, "O-2", "TEE"),
    order(125, "O-4", "TEE", 1),
    give_back(130, "O-2", "TEE", 1, "RMA-1"),
    count(135, "MUG", -5, "damaged", "COUNT-1"),
    ship(140, "O-3", "MUG"),
    count(145, "TEE", 3, "found", "COUNT-2"),
]
"""A log whose outcome does not depend on the order of its deliveries (within a minute)
nor on repeats: stock arrives long before the orders and covers them all, and whatever a
shuffle sends early (a cancellation, a shipment, a return) is refused and redelivered.

MUG: 100 in, O-1 cancelled, O-3 shipped (4), 5 damaged → 91 on hand, none reserved.
TEE: 100 in, O-2 shipped (2) and 1 back, O-4 reserves 1, 3 found → 102 on hand, 1 reserved.
"""

SWEET_FIGURES = {"MUG": (91, 0, 91), "TEE": (102, 1, 101)}


@pytest.fixture
def sweet_log(tmp_path: Path) -> Path:
    return write(tmp_path / "sweet.jsonl", *SWEET)


def test_the_order_insensitive_log_replays_cleanly(sweet_log: Path) -> None:
    report = replay_log(sweet_log)
    assert report.sound and figures(report) == SWEET_FIGURES
    assert report.deliveries == report.lines == 12
    assert "refused" not in report.outcomes and "duplicate" not in report.outcomes


@pytest.mark.parametrize("seed", range(6))
def test_duplicates_and_shuffling_never_change_the_projection(sweet_log: Path,
                                                              seed: int) -> None:
    clean = replay_log(sweet_log)
    hostile = replay_log(sweet_log, duplicate=(0.3, 0.1), shuffle=60, seed=seed, attempts=6)
    assert hostile.sound and hostile.dead_letters == []
    assert figures(hostile) == figures(clean) == SWEET_FIGURES
    columns = ["on_hand", "reserved", "available", "shipped", "returned"]
    assert hostile.projection[columns].equals(clean.projection[columns])
    outcomes = hostile.outcomes
    # every line applies once; each other delivery is an injected copy or a redelivery
    assert outcomes["applied"] + outcomes["reserved"] == 12 and "mismatch" not in outcomes
    assert hostile.deliveries == (12 + outcomes.get("duplicate", 0)
                                  + outcomes.get("refused", 0))


def test_the_same_seed_gives_the_same_report(sweet_log: Path) -> None:
    options: dict[str, Any] = {"duplicate": (0.3, 0.1), "shuffle": 60.0, "seed": 5}
    first, second = replay_log(sweet_log, **options), replay_log(sweet_log, **options)
    assert first.to_json() == second.to_json()
    assert first.outcomes == second.outcomes and first.deliveries == second.deliveries
    assert first.projection.equals(second.projection)


def test_the_seed_matters(sweet_log: Path) -> None:
    runs = {json.dumps(replay_log(sweet_log, duplicate=(0.3, 0.1), shuffle=60, seed=seed,
                                  attempts=6).outcomes, sort_keys=True)
            for seed in range(6)}
    assert len(runs) > 1


def test_shuffling_alone_sends_some_deliveries_before_their_order(sweet_log: Path) -> None:
    reports = [replay_log(sweet_log, shuffle=60, seed=seed, attempts=6) for seed in range(6)]
    assert all(r.deliveries == 12 + r.outcomes.get("refused", 0) for r in reports)
    assert all("duplicate" not in r.outcomes for r in reports)
    assert any(r.outcomes.get("refused", 0) for r in reports)


@pytest.mark.parametrize(("duplicate", "copies"), [((1.0, 0.0), 2), ((0.0, 1.0), 3),
                                                    ((0.5, 0.5), None)])
def test_duplicate_probabilities_add_deliveries(sweet_log: Path,
                                                duplicate: tuple[float, float],
                                                copies: int | None) -> None:
    report = replay_log(sweet_log, duplicate=duplicate, seed=1)
    assert report.sound and figures(report) == SWEET_FIGURES
    assert report.lines == 12
    if copies is not None:  # every line delivered exactly that many times, in file order
        assert report.deliveries == 12 * copies
        assert report.outcomes["duplicate"] == 12 * (copies - 1)
    else:  # two or three copies each
        assert 24 < report.deliveries < 36
        assert report.outcomes["duplicate"] == report.deliveries - 12


def test_some_duplicates_mean_more_deliveries_than_lines(sweet_log: Path) -> None:
    report = replay_log(sweet_log, duplicate=(0.3, 0.0), seed=3)
    assert report.deliveries > report.lines == 12
    assert report.outcomes["duplicate"] == report.deliveries - 12
    assert figures(report) == SWEET_FIGURES


# -- replaying into a ledger that already holds events -----------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def lasting_kind(request: pytest.FixtureRequest) -> str:
    """A store that outlives one replay (a memory ledger ends with it)."""
    if request.param == "postgres":
        require_postgres()
    return request.param


def test_a_second_replay_into_the_same_ledger_is_all_duplicates(
        shop_log: Path, lasting_kind: str, tmp_path: Path) -> None:
    url = store_url(lasting_kind, tmp_path, "twice")
    first = replay_log(shop_log, url)
    second = replay_log(shop_log, url)
    assert first.sound and second.sound
    assert second.outcomes == {"duplicate": 10} and second.deliveries == 10
    assert figures(second) == figures(first) == SHOP_FIGURES
    with Ledger.open(url) as ledger:
        assert ledger.event_count() == 10 and ledger.verify() == []


def test_a_later_log_continues_where_the_ledger_left_off(shop_log: Path,
                                                         tmp_path: Path) -> None:
    url = store_url("sqlite", tmp_path)
    replay_log(shop_log, url)
    more = write(tmp_path / "more.jsonl", ship(5, "A-4", "TEE"), order(6, "A-5", "MUG", 9))
    report = replay_log(more, url)  # its times are before the ledger's last event
    assert report.sound and report.outcomes == {"applied": 1, "reserved": 1}
    assert figures(report) == {"MUG": (9, 9, 0), "TEE": (1, 0, 1)}
    with Ledger.open(url) as ledger:
        assert list(ledger.events()["at"])[-2:] == [50, 50]  # kept in time order


def test_a_ledger_whose_projection_was_tampered_with_is_not_sound(
        shop_log: Path, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    replay_log(shop_log, f"sqlite:///{db}")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE stock SET on_hand = on_hand + 5 WHERE sku = 'MUG'")
    connection.close()
    report = replay_log(shop_log, f"sqlite:///{db}")
    assert not report.sound
    assert report.violation.invariant == "conservation"
    assert "MUG shows on hand 14" in report.violation.detail
    assert "invariants: BROKEN — conservation at step" in format_report(report)


# -- crash markers -----------------------------------------------------------------------

CRASHES = [
    restock(1, "MUG", 5, "PO-1"),
    restock(2, "MUG", 100, "PO-2", crash="before"),  # never reached the ledger
    order(3, "O-1", "MUG", 2, crash="during"),  # rolled back
    order(4, "O-2", "MUG", 1, crash="after"),  # committed, then the handler died
    cancel(5, "O-9", "MUG", crash="during"),  # refused inside the crashed transaction
    restock(6, "MUG", 100, "PO-2", id="redelivery"),  # the sender's redelivery of line 2
]
"""A ``racesim chaos`` trace: crashed handlers, and the redelivery that followed one."""


def test_crash_markers_are_honoured(store_kind: str, tmp_path: Path) -> None:
    url = store_url(store_kind, tmp_path, "crashes")
    report = replay_log(write(tmp_path / "crashes.jsonl", *CRASHES), url)
    assert report.sound
    assert figures(report) == {"MUG": (105, 1, 104)}  # PO-1, PO-2 once, O-2 only
    # O-2 counts as reserved *and* crashed: it was applied, then its handler died
    assert report.outcomes == {"applied": 2, "reserved": 1, "crashed": 4}
    assert report.deliveries == 6 and report.dead_letters == []  # crashed: not redelivered
    assert "  1 reserved, 2 applied, 4 crashed\n" in format_report(report)
    if store_kind != "memory":
        with Ledger.open(url) as ledger:
            assert list(ledger.events()["kind"]) == ["RESTOCK", "RESERVE", "RESTOCK"]
            assert ledger.order_line("O-1", "MUG") is None
            assert ledger.order_line("O-2", "MUG").status.value == "reserved"
            assert ledger.verify() == []


# -- bad arguments -----------------------------------------------------------------------


@pytest.mark.parametrize(("options", "message"), [
    ({"duplicate": (0.9, 0.5)},
     r"duplicate probabilities must be in \[0, 1\] and sum to at most 1 "
     r"\(got p2=0.9, p3=0.5\)"),
    ({"duplicate": (-0.1, 0.0)}, r"duplicate probabilities .* \(got p2=-0.1, p3=0\)"),
    ({"duplicate": (0.0, 1.5)}, r"duplicate probabilities"),
    ({"duplicate": (math.nan, 0.0)}, r"duplicate probabilities"),
    ({"shuffle": -1.0}, r"shuffle window must be ≥ 0 seconds \(got -1\)"),
    ({"shuffle": math.nan}, r"shuffle window must be ≥ 0 seconds \(got nan\)"),
    ({"shuffle": math.inf}, r"shuffle window must be ≥ 0 seconds \(got inf\)"),
    ({"on_malformed": "ignore"}, r"on_malformed must be 'stop' or 'skip' \(got 'ignore'\)"),
    ({"attempts": 0}, r"attempts must be ≥ 1 \(got 0\)"),
    ({"seed": -1}, r"seed must be ≥ 0 \(got -1\)"),
], ids=["p2+p3>1", "negative p2", "p3>1", "NaN p2", "negative shuffle", "NaN shuffle",
        "infinite shuffle", "unknown on_malformed", "no attempts", "negative seed"])
def test_bad_arguments_are_refused_before_the_store_is_touched(
        shop_log: Path, tmp_path: Path, options: dict[str, Any], message: str) -> None:
    db = tmp_path / "untouched.db"
    with pytest.raises(RacesimError, match=message):
        replay_log(shop_log, f"sqlite:///{db}", **options)
    assert not db.exists()


@pytest.mark.parametrize(("name", "says"), [("missing.jsonl", "no such webhook log"),
                                            (".", "a directory, not a webhook log")],
                         ids=["missing", "a directory"])
def test_a_log_that_is_not_a_file_is_refused(tmp_path: Path, name: str, says: str) -> None:
    path = tmp_path / name
    with pytest.raises(RacesimError, match=rf"{path}: {says}"):
        replay_log(path)


def test_a_bad_store_url_is_refused(shop_log: Path) -> None:
    with pytest.raises(RacesimError, match=r"store URL 'mysql://db'"):
        replay_log(shop_log, "mysql://db")


# -- the command line --------------------------------------------------------------------


def test_cli_replays_and_prints_the_report(shop_log: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    url = store_url("sqlite", tmp_path)
    assert main(["replay", str(shop_log), "--store", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{shop_log} → {url}: 10 deliveries read, 10 handled")
    assert "invariants: all held" in out
    with Ledger.open(url) as ledger:
        assert ledger.event_count() == 10


def test_cli_json_has_the_projection(shop_log: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(shop_log), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["store"] == "memory://" and report["outcomes"] == SHOP_OUTCOMES
    assert {r["sku"]: (r["on_hand"], r["reserved"], r["available"])
            for r in report["projection"]} == SHOP_FIGURES


def test_cli_stops_on_malformed_lines_with_exit_status_2(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    path = write(tmp_path / "broken.jsonl", *BROKEN)
    url = store_url("sqlite", tmp_path)
    assert main(["replay", str(path), "--store", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"racesim: error: {path}: 2 malformed line(s)")
    assert f"{path}: line 3: not JSON" in captured.err
    assert f"{path}: line 5: " in captured.err
    assert "Traceback" not in captured.err
    with Ledger.open(url) as ledger:
        assert ledger.event_count() == 0


def test_cli_skips_malformed_lines_when_asked(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "broken.jsonl", *BROKEN)
    assert main(["replay", str(path), "--malformed", "skip", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["line"] for m in report["malformed"]] == [3, 5] and report["lines"] == 3


def test_cli_accepts_duplicates_and_shuffling(sweet_log: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["replay", str(sweet_log), "--duplicate", "0.3,0.1", "--shuffle", "60",
            "--seed", "5", "--attempts", "6", "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = replay_log(sweet_log, duplicate=(0.3, 0.1), shuffle=60, seed=5, attempts=6)
    assert printed == json.loads(json.dumps(expected.to_json()))
    assert printed["deliveries"] > printed["lines"] == 12


def test_cli_exits_1_when_an_invariant_broke(shop_log: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    assert main(["replay", str(shop_log), "--store", f"sqlite:///{db}"]) == 0
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE stock SET reserved = reserved + 1 WHERE sku = 'TEE'")
    connection.close()
    capsys.readouterr()
    assert main(["replay", str(shop_log), "--store", f"sqlite:///{db}"]) == 1
    assert "invariants: BROKEN — conservation" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--duplicate", "0.9,0.5"], "expected two probabilities p2,p3 in [0, 1]"),
    (["--duplicate", "often"], "expected p2,p3 such as 0.3,0.1"),
    (["--shuffle", "-5"], "must be a number of seconds ≥ 0"),
    (["--attempts", "0"], "must be ≥ 1"),
    (["--malformed", "ignore"], "invalid choice: 'ignore'"),
])
def test_cli_bad_options_are_usage_errors(shop_log: Path, argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", str(shop_log), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_a_missing_log_is_one_line_on_stderr(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err == f"racesim: error: {tmp_path / 'nope.jsonl'}: no such webhook log\n"


def test_a_line_dated_far_in_the_future_is_malformed_and_cannot_freeze_the_replay(
        tmp_path: Path) -> None:
    log = write(tmp_path / "log.jsonl", restock(1e308, "MUG", 1, "PO-1"),
                restock(5, "MUG", 2, "PO-2"), order(6, "A-1", "MUG", 1))
    url = store_url("sqlite", tmp_path)
    with pytest.raises(MalformedLog, match="line 1: field 'at' \\(1e\\+308 s\\) lies more than"):
        replay_log(log, url)
    with Ledger.open(url) as ledger:
        assert ledger.event_count() == 0  # nothing applied
    report = replay_log(log, url, on_malformed="skip")
    assert report.sound and report.outcomes == {"applied": 1, "reserved": 1}
    assert figures(report) == {"MUG": (2, 1, 1)}
