"""A small HTTP server that applies JSON webhooks to a ledger: ``racesim serve``.

It speaks the protocol of :mod:`racesim.chaos.http` — ``POST /webhooks`` (one webhook as
JSON, see :mod:`racesim.webhooks`) and ``GET /stock/{sku}`` — so that the chaos harness
can attack the ledger over the wire exactly as it attacks your own service, and so that
you can see the protocol working before you implement it::

    racesim serve --store sqlite:///shop.db --port 8080
    racesim chaos --engine http://127.0.0.1:8080 --seeds 100

The ledger stamps each webhook with the time it *received* it (its own clock), not the
``at`` in the body: a server's log is in arrival order. Requests are served by threads
that take turns on the one ledger connection.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from racesim.errors import InvalidCommand, LedgerError, RacesimError
from racesim.ledger import Ledger
from racesim.webhooks import WebhookError, apply_webhook, webhook_from_json

__all__ = ["WebhookServer", "serve"]

MAX_BODY = 64 * 1024
"""Largest request body accepted, in bytes: one webhook is a few hundred."""


class WebhookServer(ThreadingHTTPServer):
    """An HTTP server bound to ``(host, port)`` applying webhooks to ``engine``.

    ``engine`` is a :class:`~racesim.ledger.Ledger` — or any object with its command
    methods and ``available`` (figures come from ``stock`` when it has one). Port 0 picks
    a free port (read it back from :attr:`url`). Use as a context manager, or call
    :meth:`serve_forever` / :meth:`start` (a daemon thread) and :meth:`stop`.
    """

    daemon_threads = True
    request_queue_size = 1024  # many clients connecting at once are queued, not reset

    def __init__(self, engine: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None
        try:
            super().__init__((host, port), _Handler)
        except (OSError, OverflowError) as exc:  # port in use, bad address, port > 65535
            raise RacesimError(f"cannot serve on {host}:{port}: {exc}") from None

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WebhookServer:
        """Serve on a daemon thread (for tests and notebooks); returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="racesim-serve",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the engine stays open: it is the caller's)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per client
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    timeout = 60  # seconds a client may keep a connection idle or a body unfinished

    def do_POST(self) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/webhooks":
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: POST {self.path}"})
            return
        length = self.headers.get("Content-Length", "").strip()
        status = (HTTPStatus.LENGTH_REQUIRED if not length else
                  HTTPStatus.BAD_REQUEST if not re.fullmatch(r"[0-9]+", length) else
                  HTTPStatus.REQUEST_ENTITY_TOO_LARGE if len(length) > 9
                  or int(length) > MAX_BODY else None)
        if status is not None:
            self._reply(status, {"error": f"send one webhook of at most {MAX_BODY} bytes with "
                                          "a Content-Length"})
            self.close_connection = True
            return
        body = self.rfile.read(int(length))
        try:
            webhook = webhook_from_json(body)
        except WebhookError as exc:
            self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
            return
        try:
            with self.server.lock:
                result = apply_webhook(self.server.engine, webhook)
        except RacesimError as exc:
            self._refuse(exc)
            return
        reply: dict[str, Any] = {"status": str(result.status)}
        if getattr(result, "decision", None):
            reply["decision"] = str(result.decision)
        if getattr(result, "event", None) is not None:
            reply["seq"] = result.event.seq
        if getattr(result, "detail", ""):
            reply["detail"] = result.detail
        self._reply(HTTPStatus.OK, reply)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.rstrip("/") == "/health":
            self._reply(HTTPStatus.OK, {"status": "ok",
                                        "engine": str(getattr(self.server.engine, "url", ""))})
            return
        if not path.startswith("/stock/") or len(path) == len("/stock/"):
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: GET {self.path}"})
            return
        sku = unquote(path.removeprefix("/stock/"))
        engine = self.server.engine
        try:
            with self.server.lock:
                if callable(getattr(engine, "stock", None)):
                    stock = engine.stock(sku)
                    figures = {"available": stock.on_hand - stock.reserved,
                               "on_hand": stock.on_hand, "reserved": stock.reserved,
                               "shipped": stock.shipped, "returned": stock.returned}
                else:
                    figures = {"available": engine.available(sku)}
        except RacesimError as exc:
            self._refuse(exc)
            return
        self._reply(HTTPStatus.OK, {"sku": sku, **figures})

    def _refuse(self, exc: RacesimError) -> None:
        """Answer an engine's refusal: 422 malformed, 409 not applicable (yet), 503 broken."""
        status = (HTTPStatus.UNPROCESSABLE_ENTITY if isinstance(exc, InvalidCommand) else
                  HTTPStatus.CONFLICT if isinstance(exc, LedgerError) else
                  HTTPStatus.SERVICE_UNAVAILABLE)
        self._reply(status, {"error": str(exc)})

    def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a chaos run sends thousands of requests."""


def serve(store: str, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the ledger at ``store`` until interrupted (``racesim serve``)."""
    with Ledger.open(store) as ledger, WebhookServer(ledger, host, port) as server:
        print(f"racesim serve: ledger {ledger.url} on {server.url} "
              "(POST /webhooks, GET /stock/SKU; Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
