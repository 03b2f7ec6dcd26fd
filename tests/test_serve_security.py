"""``racesim serve`` safe by default: what a hostile web page or client cannot do.

Each hostile request is sent as raw bytes — exactly the headers a browser or a smuggling
client would send — to a real server on a SQLite ledger, and the ledger is read before and
after: a refused request must leave its event count and stock as they were. The same
request with the right headers is then accepted, so each refusal is the check's doing.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from conftest import store_url
from postgres_server import require_postgres
from racesim.cli.main import main
from racesim.errors import RacesimError, StoreError, StoreRefused
from racesim.ledger import Ledger
from racesim.ledger.naive import NaiveCounter
from racesim.webhooks.server import (
    LedgerPool,
    SharedEngine,
    WebhookServer,
    exposure_warning,
    resolve_token,
)

TOKEN = "s3cret-token-for-tests-0123456789"
ADJUST = json.dumps({"type": "stock.adjusted", "at": 0, "sku": "MUG", "delta": -100,
                     "reason": "shrinkage", "ref": "EVIL-1"}).encode()


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite ledger holding 5 units of MUG."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with Ledger.open(url) as ledger:
        ledger.restock("MUG", 5, "PO-1")
    return url


@pytest.fixture
def server(store: str) -> Iterator[WebhookServer]:
    with WebhookServer.for_store(store, token=TOKEN, log=io.StringIO()).start() as served:
        yield served


def send(server: WebhookServer, method: str, path: str, headers: list[tuple[str, str]],
         body: bytes = b"") -> tuple[int, dict[str, str], dict]:
    """Send one request exactly as written (no header added); (status, headers, JSON)."""
    port = server.server_address[1]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        payload = response.read()
    return response.status, dict(response.getheaders()), json.loads(payload or b"{}")


def good(server: WebhookServer, body: bytes = b"") -> list[tuple[str, str]]:
    """The headers of a request the server accepts."""
    headers = [("Host", f"127.0.0.1:{server.server_address[1]}"),
               ("Authorization", f"Bearer {TOKEN}")]
    if body:
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return headers


def state(store: str) -> tuple[int, int, int]:
    """(events, on hand, reserved) of MUG, read through a ledger of its own."""
    with Ledger.open(store) as ledger:
        stock = ledger.stock("MUG")
        return ledger.event_count(), stock.on_hand, stock.reserved


def without(headers: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k not in names]


HOSTILE_POSTS = {
    # what a page on another site can make a browser send without a preflight
    "cross-site text/plain, no token": lambda h: [
        *without(h, "Authorization", "Content-Type"), ("Content-Type", "text/plain"),
        ("Origin", "http://evil.example")],
    "text/plain with the token": lambda h: [*without(h, "Content-Type"),
                                            ("Content-Type", "text/plain;charset=UTF-8")],
    "form-encoded with the token": lambda h: [
        *without(h, "Content-Type"), ("Content-Type", "application/x-www-form-urlencoded")],
    "no Content-Type": lambda h: without(h, "Content-Type"),
    "foreign Origin with the token": lambda h: [*h, ("Origin", "http://evil.example")],
    "Origin null": lambda h: [*h, ("Origin", "null")],
    "no token": lambda h: without(h, "Authorization"),
    "wrong token": lambda h: [*without(h, "Authorization"),
                              ("Authorization", f"Bearer {TOKEN[:-1]}x")],
    "basic auth": lambda h: [*without(h, "Authorization"),
                             ("Authorization", "Basic dXNlcjpwYXNz")],
    "rebinding Host": lambda h: [*without(h, "Host"), ("Host", "evil.example")],
    "loopback Host, other port": lambda h: [*without(h, "Host"), ("Host", "127.0.0.1:1")],
    "two Hosts": lambda h: [*h, ("Host", "evil.example")],
    "two Content-Lengths": lambda h: [*h, ("Content-Length", str(len(ADJUST) - 10))],
    "same Content-Length twice": lambda h: [*h, ("Content-Length", str(len(ADJUST)))],
    "listed Content-Length": lambda h: [*without(h, "Content-Length"),
                                        ("Content-Length", f"{len(ADJUST)}, {len(ADJUST)}")],
    "chunked and a length": lambda h: [*h, ("Transfer-Encoding", "chunked")],
    "chunked": lambda h: [*without(h, "Content-Length"), ("Transfer-Encoding", "chunked")],
}
EXPECTED = {"cross-site text/plain, no token": 403, "text/plain with the token": 415,
            "form-encoded with the token": 415, "no Content-Type": 415,
            "foreign Origin with the token": 403, "Origin null": 403, "no token": 401,
            "wrong token": 401, "basic auth": 401, "rebinding Host": 403,
            "loopback Host, other port": 403, "two Hosts": 400, "two Content-Lengths": 400,
            "same Content-Length twice": 400, "listed Content-Length": 400,
            "chunked and a length": 400, "chunked": 411}


@pytest.mark.parametrize("case", sorted(HOSTILE_POSTS))
def test_a_hostile_post_is_refused_and_changes_nothing(server: WebhookServer, store: str,
                                                       case: str) -> None:
    before = state(store)
    headers = HOSTILE_POSTS[case](good(server, ADJUST))
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(ADJUST), ADJUST) if "chunked" in case else ADJUST
    status, answer_headers, answer = send(server, "POST", "/webhooks", headers, body)
    assert status == EXPECTED[case], answer
    assert state(store) == before == (1, 5, 0)
    if status == 401:
        assert answer_headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in json.dumps(answer)
    # the same webhook, sent properly, is applied: the refusal was the check's doing
    assert send(server, "POST", "/webhooks", good(server, ADJUST), ADJUST)[0] == 409
    ok = ADJUST.replace(b"-100", b"-2")
    assert send(server, "POST", "/webhooks", good(server, ok), ok)[2]["status"] == "applied"
    assert state(store) == (2, 3, 0)


def test_a_page_cannot_read_stock_through_dns_rebinding(server: WebhookServer) -> None:
    port = server.server_address[1]
    headers = good(server)
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}"):
        status, _, answer = send(server, "GET", "/stock/MUG", [*without(headers, "Host"),
                                                               ("Host", host)])
        assert status == 403 and "on_hand" not in answer
    for host in (f"localhost:{port}", "localhost", f"127.0.0.1:{port}", f"LOCALHOST:{port}"):
        status, _, answer = send(server, "GET", "/stock/MUG", [*without(headers, "Host"),
                                                               ("Host", host)])
        assert (status, answer["on_hand"]) == (200, 5)


def test_origins_loopback_by_default_widened_by_allow_origin(store: str) -> None:
    with WebhookServer.for_store(store, token=TOKEN, allow_origins=["http://LocalHost:3000"],
                                 pool_size=2).start() as served:
        port = served.server_address[1]
        for origin, status in ((f"http://localhost:{port}", 200),
                               (f"http://127.0.0.1:{port}", 200),
                               ("http://localhost:3000", 200),
                               ("http://localhost:3001", 403),
                               (f"https://localhost:{port}", 403),
                               ("http://evil.example", 403),
                               (f"http://localhost:{port}.evil.example", 403)):
            answer = send(served, "GET", "/stock/MUG", [*good(served), ("Origin", origin)])
            assert answer[0] == status, origin


def test_allow_host_widens_the_host_check(store: str) -> None:
    with WebhookServer.for_store(store, token=TOKEN, allow_hosts=["shop.internal",
                                                                  "proxy.lan:443"],
                                 pool_size=1).start() as served:
        port = served.server_address[1]
        base = without(good(served), "Host")
        for host, status in ((f"shop.internal:{port}", 200), ("shop.internal", 200),
                             ("shop.internal:9", 403), ("proxy.lan:443", 200),
                             ("proxy.lan", 403), ("other.lan", 403)):
            assert send(served, "GET", "/stock/MUG", [*base, ("Host", host)])[0] == status, host


def test_no_auth_only_on_loopback() -> None:
    for host in ("0.0.0.0", "", "192.0.2.1", "example.com"):
        with pytest.raises(RacesimError, match="loopback address only"):
            WebhookServer(NaiveCounter(), host, 0, auth=False)
    with WebhookServer(NaiveCounter(), "127.0.0.1", 0, auth=False).start() as served:
        assert served.token is None
        headers = without(good(served), "Authorization")
        assert send(served, "GET", "/stock/MUG", headers)[0] == 200
        # without a token, the Origin and Content-Type checks still stop a page
        assert send(served, "POST", "/webhooks", [*without(headers, "Content-Type"),
                                                  ("Content-Type", "text/plain"),
                                                  ("Content-Length", str(len(ADJUST)))],
                    ADJUST)[0] == 415
        assert send(served, "GET", "/stock/MUG", [*headers, ("Origin", "http://a.example")]
                    )[0] == 403


def test_a_non_loopback_bind_is_warned_about() -> None:
    for host in ("0.0.0.0", "", "192.0.2.1", "shop.example"):
        assert "warning: listening on" in exposure_warning(host)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert exposure_warning(host) == ""


def test_a_client_that_resets_leaves_no_traceback(server: WebhookServer,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    port = server.server_address[1]
    for partial in (b"", b"GET /stock/MUG HTTP/1.1\r\nHost: localhost\r\n"):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(partial)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, mid-request
    assert send(server, "GET", "/stock/MUG", good(server))[0] == 200
    assert "Traceback" not in capfd.readouterr().err
    assert server.log.getvalue().count("\n") == 1  # type: ignore[union-attr]


def test_racesim_serve_refuses_no_auth_on_every_interface(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--no-auth", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "loopback address only" in err and "--no-auth" in err


def test_token_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RACESIM_SERVE_TOKEN", raising=False)
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}  \nsecond line ignored\n")
    assert resolve_token(None, path, False) == (TOKEN, False)
    assert resolve_token(TOKEN, None, False) == (TOKEN, False)
    monkeypatch.setenv("RACESIM_SERVE_TOKEN", TOKEN + "-env")
    assert resolve_token(None, None, False) == (TOKEN + "-env", False)
    monkeypatch.delenv("RACESIM_SERVE_TOKEN")
    generated, was_generated = resolve_token(None, None, False)
    assert was_generated and len(generated) >= 32 and generated != resolve_token(
        None, None, False)[0]
    assert resolve_token(None, None, True) == (None, False)
    (tmp_path / "empty").write_text("\n\n")
    (tmp_path / "short").write_text("abc\n")
    for args, message in (([str(tmp_path / "missing")], "cannot read it"),
                          ([str(tmp_path / "empty")], "the file is empty"),
                          ([str(tmp_path / "short")], "16 to 1024 visible ASCII")):
        assert main(["serve", "--port", "0", "--token-file", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "--token-file" in err
    assert main(["serve", "--port", "0", "--no-auth", "--token-file", str(path)]) == 2
    assert main(["serve", "--port", "0", "--allow-origin", "http://x.example/path"]) == 2
    assert "--allow-origin" in capsys.readouterr().err


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if k != "RACESIM_SERVE_TOKEN"}
    process = subprocess.Popen([sys.executable, "-m", "racesim", "serve", "--port", "0",
                                "--store", f"sqlite:///{tmp_path / 'cli.db'}", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    banner = process.stdout.readline()  # type: ignore[union-attr]
    return process, banner.split(" on ")[1].split()[0]


def _get(url: str, path: str, token: str | None) -> int:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"}
                       if token else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def test_racesim_serve_reads_a_token_file_and_logs_each_request(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    process, url = _start(["--token-file", str(tmp_path / "token")], tmp_path)
    try:
        assert _get(url, "/stock/MUG", TOKEN) == 200
        assert _get(url, "/stock/MUG", None) == 401
        assert _get(url, "/" + "x" * 5000, TOKEN) == 404
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert TOKEN not in out + err and "token" not in out  # a given token is not echoed
    lines = err.splitlines()
    assert len(lines) == 3, err
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 127\.0\.0\.1 GET "
    assert re.fullmatch(stamp + r"/stock/MUG 200 \d+\.\dms", lines[0])
    assert re.fullmatch(stamp + r"/stock/MUG 401 \d+\.\dms", lines[1])
    assert re.fullmatch(stamp + r"/x{119}… 404 \d+\.\dms", lines[2])  # bounded


def test_racesim_serve_quiet_logs_nothing(tmp_path: Path) -> None:
    process, url = _start(["--quiet", "--token", TOKEN], tmp_path)
    try:
        assert _get(url, "/stock/MUG", TOKEN) == 200
        assert _get(url, "/health", "wrong-token-wrong-token") == 401
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert err == ""


def test_the_access_log_never_holds_the_token(server: WebhookServer) -> None:
    send(server, "GET", f"/stock/MUG?token={TOKEN[:4]}", good(server))
    send(server, "GET", "/stock/MUG", [*without(good(server), "Authorization"),
                                       ("Authorization", f"Bearer {TOKEN}x")])
    send(server, "GET", "/stock/a%20b\x01", good(server))
    log = server.log.getvalue()  # type: ignore[union-attr]
    assert len(log.splitlines()) == 3 and TOKEN[:6] not in log and "?" not in log
    assert " 401 " in log.splitlines()[1]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_read_of_one_sku_proceeds_while_a_write_on_another_waits(kind: str,
                                                                   tmp_path: Path) -> None:
    """A write held open on the database blocks a POST on SKU A, not a GET of SKU B."""
    if kind == "postgres":
        require_postgres()
    store = store_url(kind, tmp_path, "held")
    with Ledger.open(store) as ledger:
        ledger.restock("MUG", 5, "PO-1")
    with WebhookServer.for_store(store, token=TOKEN, pool_size=4).start() as served:
        pool = served.engines
        held, release = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:  # another writer, mid-transaction
            with Ledger.open(store) as other, other.batch():
                other.restock("A", 1, "PO-held")
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold_the_write_lock)
        holder.start()
        assert held.wait(10)
        body = json.dumps({"type": "stock.received", "at": 0, "sku": "A", "quantity": 2,
                           "ref": "PO-2"}).encode()
        answers: list[tuple[int, dict]] = []
        writer = threading.Thread(target=lambda: answers.append(
            send(served, "POST", "/webhooks", good(served, body), body)[::2]))
        try:
            writer.start()
            deadline = time.monotonic() + 10
            while pool.in_use == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert pool.in_use == 1  # the POST holds a ledger, waiting for the database
            status, _, answer = send(served, "GET", "/stock/MUG", good(served))  # 10 s max
            assert (status, answer["on_hand"]) == (200, 5)
            assert send(served, "GET", "/stock/A", good(served))[2]["on_hand"] == 0
            assert writer.is_alive() and not answers  # the write is still waiting
        finally:
            release.set()
            holder.join(30)
            writer.join(60)
        assert answers == [(200, {"status": "applied", "seq": 3})]
        assert state(store)[0] == 3


def test_a_database_busy_beyond_its_timeout_is_a_503_with_retry_after(tmp_path: Path) -> None:
    """Another writer keeps the lock: nothing is written, and the answer says to resend."""
    path = tmp_path / "busy.db"
    store = f"sqlite:///{path}?timeout=0.1"
    with Ledger.open(store) as ledger:
        ledger.restock("MUG", 5, "PO-1")
    body = json.dumps({"type": "stock.received", "at": 0, "sku": "MUG", "quantity": 2,
                       "ref": "PO-2"}).encode()
    with WebhookServer.for_store(store, token=TOKEN, pool_size=2).start() as served:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process, mid-write
        try:
            status, headers, answer = send(served, "POST", "/webhooks", good(served, body),
                                           body)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (status, headers.get("Retry-After")) == (503, "1")
        assert "database is locked" in answer["error"] and "retry it" in answer["error"]
        assert state(store) == (1, 5, 0)
        status, headers, answer = send(served, "POST", "/webhooks", good(served, body), body)
        assert (status, answer, "Retry-After" in headers) == (200, {"status": "applied",
                                                                    "seq": 2}, False)


class _BrokenStore(NaiveCounter):
    """A counter whose cancellations fail in its store with ``error``."""

    def __init__(self, error: StoreError) -> None:
        super().__init__()
        self.error = error

    def release(self, order_id: str, sku: str, at: float | None = None) -> NoReturn:
        raise self.error


@pytest.mark.parametrize("error", [StoreRefused("the schema refused it"),
                                   StoreError("lost while committing")])
def test_a_store_error_not_worth_resending_is_a_503_without_retry_after(
        error: StoreError) -> None:
    body = json.dumps({"type": "order.cancelled", "at": 0, "sku": "MUG",
                       "order_id": "A-1"}).encode()
    with WebhookServer(_BrokenStore(error), token=TOKEN).start() as served:
        status, headers, answer = send(served, "POST", "/webhooks", good(served, body), body)
    assert (status, answer) == (503, {"error": str(error)})
    assert "Retry-After" not in headers


def test_stop_closes_the_pooled_ledgers(store: str) -> None:
    served = WebhookServer.for_store(store, token=TOKEN, pool_size=3).start()
    pool = served.engines
    assert isinstance(pool, LedgerPool) and len(pool.ledgers) == 3
    assert send(served, "GET", "/stock/MUG", good(served))[0] == 200
    served.stop()
    for ledger in pool.ledgers:
        with pytest.raises(sqlite3.ProgrammingError):
            ledger.available("MUG")
    memory = WebhookServer.for_store("memory://", token=TOKEN)
    assert isinstance(memory.engines, SharedEngine)  # one in-process store: one lock
    memory.stop()
    with pytest.raises(RacesimError, match="pool size"):
        WebhookServer.for_store(store, pool_size=0)
