"""The HTTP adapter and ``racesim serve``: the chaos harness attacking an engine over the wire.

A real server on loopback — the ledger behind :class:`WebhookServer`, in this process or
as ``racesim serve`` in another — takes JSON webhooks from :class:`HttpEngine`, which
sends the server's token; the same swarm and auditor as in-process must pass the ledger
and catch a broken engine. (Refusals of hostile callers: ``test_serve_security.py``.)
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from racesim.chaos import parse_engine, run_chaos
from racesim.chaos.http import DeliveryRefused, HttpEngine, HttpEngineError
from racesim.cli.main import main
from racesim.errors import RacesimError, StoreError
from racesim.ledger import Ledger
from racesim.ledger.naive import NaiveCounter
from racesim.webhooks.server import WebhookServer

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def served_ledger(tmp_path: Path) -> Iterator[tuple[str, Ledger]]:
    """A SQLite ledger served on a free loopback port with :data:`TOKEN` by a pool of
    ledgers: (URL, a ledger of the test's own on the same file)."""
    store = f"sqlite:///{tmp_path / 'served.db'}"
    with WebhookServer.for_store(store, token=TOKEN).start() as server, \
            Ledger.open(store) as ledger:
        yield server.url, ledger


def request(url: str, method: str, path: str, body: Any = None,
            raw: bytes | None = None, token: str = TOKEN) -> tuple[int, dict]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Authorization": f"Bearer {token}"}
    if data:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, payload


@pytest.mark.slow  # the swarm over HTTP on a server of its own: about 25 s
def test_the_ledger_over_http_passes_the_swarm(served_ledger: tuple[str, Ledger]) -> None:
    url, ledger = served_ledger
    report = run_chaos(parse_engine(url, namespace="t1-", token=TOKEN), range(40), jobs=2)
    assert report.passed, report.failures[0].violation
    assert report.totals()["duplicate"] > 100 and report.totals()["refused"] > 0
    assert ledger.verify() == []  # the served ledger is sound after every seed's traffic
    # a second invocation on the same server keeps its ids apart: no false duplicates
    assert run_chaos(parse_engine(url, namespace="t2-", token=TOKEN), range(5)).passed


def test_a_broken_engine_over_http_is_caught() -> None:
    with WebhookServer(NaiveCounter()).start() as server:  # a generated token
        report = run_chaos(parse_engine(server.url, token=server.token), range(20))
    assert not report.passed and report.failures[0].seed < 3
    assert report.shortened is not None and len(report.shortened) < 10


def test_the_protocol_answers(served_ledger: tuple[str, Ledger]) -> None:
    url, ledger = served_ledger
    received = {"type": "stock.received", "at": 0, "sku": "MUG RED/1", "quantity": 1,
                "ref": "PO-1"}
    assert request(url, "POST", "/webhooks", received) == (200, {"status": "applied",
                                                               "seq": 1})
    created = {"type": "order.created", "at": 1, "order_id": "A-1", "sku": "MUG RED/1",
               "quantity": 1, "channel": "amazon"}
    assert request(url, "POST", "/webhooks", created)[1]["status"] == "reserved"
    status, body = request(url, "POST", "/webhooks", created)
    assert (status, body["status"], body["decision"]) == (200, "duplicate", "reserved")
    status, body = request(url, "GET", "/stock/MUG%20RED%2F1")
    assert status == 200 and (body["available"], body["on_hand"], body["reserved"]) == (0, 1, 1)
    early = {"type": "order.cancelled", "at": 2, "order_id": "B-9", "sku": "MUG RED/1"}
    status, body = request(url, "POST", "/webhooks", early)
    assert status == 409 and "B-9" in body["error"]  # not yet: the sender retries
    status, body = request(url, "POST", "/webhooks", {**created, "qty": 2})
    assert status == 422 and "'qty'" in body["error"]
    status, body = request(url, "POST", "/webhooks", raw=b"{not json")
    assert status == 422 and body["error"].startswith("not JSON")
    assert request(url, "GET", "/nowhere")[0] == 404
    assert request(url, "POST", "/elsewhere", created)[0] == 404
    assert request(url, "GET", "/health")[1]["status"] == "ok"
    assert ledger.event_count() == 2  # nothing malformed or refused reached the log


def test_the_adapter_prefixes_ids_and_raises_on_refusal(
        served_ledger: tuple[str, Ledger]) -> None:
    url, ledger = served_ledger
    engine = HttpEngine(url, "run7", token=TOKEN)
    assert engine.restock("MUG", 2, "PO-1", 0.0).status == "applied"
    assert engine.available("MUG") == 2 and engine.stock("MUG").on_hand == 2
    assert ledger.available("run7-MUG") == 2 and ledger.available("MUG") == 0
    with pytest.raises(DeliveryRefused, match="run7-A-1"):
        engine.release("A-1", "MUG", 1.0)
    engine.close()


class _FailingStore(NaiveCounter):
    """Answers every cancellation with a server error instead of a 409."""

    def release(self, order_id: str, sku: str, at: float | None = None) -> Any:
        raise StoreError("the database is down")


def test_a_server_error_is_not_taken_for_a_refusal() -> None:
    with WebhookServer(_FailingStore()).start() as server, \
            pytest.raises(HttpEngineError, match="answered 503"):
        run_chaos(parse_engine(server.url, token=server.token), range(10))


def test_serving_on_a_port_in_use_is_a_clear_error() -> None:
    with WebhookServer(NaiveCounter()) as first:
        port = first.server_address[1]
        with pytest.raises(RacesimError, match=f"cannot serve on 127.0.0.1:{port}"):
            WebhookServer(NaiveCounter(), port=port)


def test_an_unreachable_engine_is_a_clear_error() -> None:
    with WebhookServer(NaiveCounter()) as server:  # bound, then closed: a dead port
        url = server.url
    with pytest.raises(HttpEngineError, match="cannot reach the engine"):
        HttpEngine(url)
    assert issubclass(HttpEngineError, RacesimError)


def test_the_adapter_without_the_token_is_told_so(served_ledger: tuple[str, Ledger]) -> None:
    url, ledger = served_ledger
    with pytest.raises(HttpEngineError, match="answered 401: the server wants a token"):
        HttpEngine(url, "run8")
    with pytest.raises(HttpEngineError, match="answered 401: the server wants another"):
        HttpEngine(url, "run8", token="not-" + TOKEN)
    with pytest.raises(HttpEngineError, match="answered 401"):  # the harness stops
        run_chaos(parse_engine(url, namespace="t3-"), range(1))
    assert ledger.event_count() == 0


@pytest.mark.slow  # two racesim processes: about 9 s
def test_racesim_serve_and_chaos_talk_across_processes(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    server = subprocess.Popen([sys.executable, "-m", "racesim", "serve", "--store", store,
                               "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True,
                              env={k: v for k, v in os.environ.items()
                                   if k != "RACESIM_SERVE_TOKEN"})
    try:
        banner = server.stdout.readline()
        url = banner.split(" on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        token_line = server.stdout.readline()  # no token given: one generated and printed
        assert token_line.startswith("racesim serve: token ")
        token = token_line.split()[3]
        chaos = subprocess.run([sys.executable, "-m", "racesim", "chaos", "--engine", url,
                                "--seeds", "15", "--json"], capture_output=True, text=True,
                               timeout=300, check=False,
                               env={**os.environ, "RACESIM_TOKEN": token})
        assert chaos.returncode == 0, chaos.stderr
        assert json.loads(chaos.stdout)["passed"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    with Ledger.open(store) as ledger:
        assert ledger.event_count() > 100 and ledger.verify() == []


def test_the_token_goes_with_http_engines_only_and_is_never_shown(tmp_path: Path) -> None:
    spec = parse_engine("http://127.0.0.1:9", token=TOKEN)
    assert spec.token == TOKEN and TOKEN not in repr(spec) + spec.label
    with pytest.raises(RacesimError, match="a token applies to --engine http"):
        parse_engine("ledger", token=TOKEN)
    (tmp_path / "token").write_text(TOKEN)
    assert main(["chaos", "--engine", "ledger", "--token-file", str(tmp_path / "token"),
                 "--seeds", "1"]) == 2
    assert main(["chaos", "--engine", "http://127.0.0.1:9", "--token-file",
                 str(tmp_path / "missing"), "--seeds", "1"]) == 2
