"""A small HTTP server that applies JSON webhooks to a ledger: ``racesim serve``.

It speaks the protocol of :mod:`racesim.chaos.http` — ``POST /webhooks`` (one webhook as
JSON, see :mod:`racesim.webhooks.format`) and ``GET /stock/{sku}`` — so that the chaos harness
can attack the ledger over the wire exactly as it attacks your own service, and so that
you can see the protocol working before you implement it::

    racesim serve --store sqlite:///shop.db --port 8080      # prints a generated token
    RACESIM_TOKEN=… racesim chaos --engine http://127.0.0.1:8080 --seeds 100

The ledger stamps each webhook with the time it *received* it (its own clock), not the
``at`` in the body: a server's log is in arrival order.

**Safe by default.** A server that changes stock must not be drivable by a web page its
operator happens to visit, so every request passes, in this order (the rules on tokens,
hosts and origins live in :mod:`racesim.webhooks.access`):

1. *Framing*: one ``Content-Length`` at most and no ``Transfer-Encoding`` (400/411); a
   request whose length two parsers could read differently is never accepted.
2. *Host*: a loopback name (``localhost``, ``127.0.0.1``, ``[::1]``), the bound address,
   or a host allowed explicitly, with the served port or none (403). This defeats DNS
   rebinding, where a hostile name resolves to 127.0.0.1 and the browser, thinking it is
   on the attacker's site, lets its page read the answers.
3. *Origin*, when a browser sends one: a loopback origin on the served port or one allowed
   explicitly (403).
4. *Token*: ``Authorization: Bearer TOKEN`` (401 with ``WWW-Authenticate: Bearer``),
   compared in constant time; serving without one is allowed only on a loopback address.
5. *Content type* for ``POST``: ``application/json`` (415). Browsers send ``text/plain``
   forms and ``fetch`` bodies cross-site *without* a preflight; JSON needs one, which this
   server never grants.

A refused request reaches no ledger. A webhook the ledger cannot apply is answered 422
(malformed), 409 (not applicable yet: resend later) or 503 (the store failed; with
``Retry-After`` when the failure is retryable and nothing was written). One access-log
line per request (time, client, method, path, status, milliseconds; never a header) goes
to ``log`` when one is given.

**Concurrency** (:mod:`racesim.ledger.pool`). For SQLite and PostgreSQL stores,
:meth:`WebhookServer.for_store` opens a bounded pool of ledgers on the same URL and each
request borrows one: the database's own transactions serialise writers, and SQLite's WAL
lets readers proceed while a write is pending, so a slow write on one SKU does not stall
reads of another. ``memory://`` (one in-process store that cannot be opened twice), other
stores, and an engine object handed to :class:`WebhookServer` are used under one lock.

**Why the standard library's** :mod:`http.server`: the protocol is two endpoints and a
health check; the ledger API is blocking (sqlite3, psycopg), which maps one-to-one onto a
thread per connection; and it adds no dependency. An ASGI stack would bring a server, a
framework and an event loop only to hand each request back to a thread pool. What
``http.server`` does not do we do here, in a few lines each: the framing, host, origin,
token and content-type checks above, a body limit and an idle timeout. It speaks no TLS:
to serve beyond this machine, put a TLS-terminating proxy in front and ``--allow-host``
the name it forwards.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from racesim.errors import InvalidCommand, LedgerError, RacesimError, StoreError
from racesim.ledger import Ledger
from racesim.ledger.pool import POOL_SIZE, EngineSource, LedgerPool, SharedEngine, poolable
from racesim.webhooks.access import (
    AccessRules,
    check_token,
    is_loopback,
    read_token_file,
    resolve_token,
)
from racesim.webhooks.format import WebhookError, apply_webhook, webhook_from_json

__all__ = ["LedgerPool", "SharedEngine", "WebhookServer", "exposure_warning", "read_token_file",
           "resolve_token", "serve"]

MAX_BODY = 64 * 1024
"""Largest request body accepted, in bytes: one webhook is a few hundred."""

RETRY_AFTER_S = 1
"""``Retry-After`` of a 503 for a retryable store error (a deadlock, a lock timeout): the
transaction was rolled back and may be sent again at once; a second is a polite pause."""

_LOG_PATH_LENGTH = 120


# -- the server --------------------------------------------------------------------------

class WebhookServer(ThreadingHTTPServer):
    """An HTTP server bound to ``(host, port)`` applying webhooks to ``engine``.

    ``engine`` is a :class:`~racesim.ledger.Ledger` — or any object with its command
    methods and ``available`` (figures come from ``stock`` when it has one) — used under
    one lock, and left open on :meth:`stop` (it is the caller's); :meth:`for_store` serves
    a store URL with a pool of ledgers instead. Port 0 picks a free port (read it back from
    :attr:`url`). Use as a context manager, or call :meth:`serve_forever` /
    :meth:`start` (a daemon thread) and :meth:`stop`.

    ``token``: the bearer token every request must carry; ``None`` generates one (read it
    from :attr:`token`). ``auth=False`` serves without one, on a loopback address only.
    ``allow_hosts`` and ``allow_origins`` widen the Host and Origin headers accepted;
    ``log`` receives one access-log line per request.
    """

    daemon_threads = True
    request_queue_size = 1024  # many clients connecting at once are queued, not reset

    def __init__(self, engine: Any, host: str = "127.0.0.1", port: int = 0, *,
                 token: str | None = None, auth: bool = True,
                 allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = (),
                 log: TextIO | None = None) -> None:
        self.engines: EngineSource = engine if isinstance(engine, SharedEngine | LedgerPool) \
            else SharedEngine(engine)
        self._thread: threading.Thread | None = None
        if not auth and not is_loopback(host):
            where = host or "every interface"
            raise RacesimError(f"serving without a token is allowed on a loopback address "
                               f"only (127.0.0.1, ::1, localhost), not {where}; drop "
                               "--no-auth or bind --host 127.0.0.1")
        self.token = None if not auth else check_token(token, "token") if token is not None \
            else secrets.token_urlsafe(32)
        self.log = log
        self._log_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host.strip("[]"), port), _Handler)
        except (OSError, OverflowError) as exc:  # port in use, bad address, port > 65535
            raise RacesimError(f"cannot serve on {host}:{port}: {exc}") from None
        try:
            self.rules = AccessRules(self.token, host, self.server_address[1], allow_hosts,
                                     allow_origins)
        except RacesimError:
            self.server_close()
            raise

    @classmethod
    def for_store(cls, store: str, host: str = "127.0.0.1", port: int = 0, *,
                  pool_size: int = POOL_SIZE, **options: Any) -> WebhookServer:
        """Serve the ledger at ``store``: a pool of ``pool_size`` ledgers for SQLite and
        PostgreSQL, one ledger under a lock otherwise; all closed by :meth:`stop`.

        ``options`` are :class:`WebhookServer`'s keyword arguments.
        """
        engines: EngineSource = LedgerPool(store, pool_size) if poolable(store) else \
            SharedEngine(Ledger.open(store), owned=True)
        try:
            return cls(engines, host, port, **options)
        except BaseException:
            engines.close()
            raise

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        address, port = self.server_address[:2]
        # typeshed allows a bytes host (AF_UNIX); a TCP server's host is always a str
        host = address.decode() if isinstance(address, bytes) else address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> WebhookServer:
        """Serve on a daemon thread (for tests and notebooks); returns self."""
        # a short poll: stop() returns within 50 ms, not half a second
        self._thread = threading.Thread(target=self.serve_forever, name="racesim-serve",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and the ledgers this server opened."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        self.engines.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that failed outside the protocol: one line in the log, no traceback.

        A client that hangs up or resets mid-request (common, harmless) is not logged.
        """
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            self.access_log(f"racesim serve: error serving {client_address[0]}: "
                            f"{type(error).__name__}: {str(error)[:200]}")

    def access_log(self, line: str) -> None:
        """Write one access-log line (when the server has a log)."""
        if self.log is not None:
            with self._log_lock:
                self.log.write(line + "\n")
                self.log.flush()


class _Refusal(Exception):
    """A request refused before it reached the engine: status, message, extra headers."""

    def __init__(self, status: HTTPStatus, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per client
    # Headers and body go out in two writes; with Nagle on, the second waits for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    timeout = 60  # seconds a client may keep a connection idle or a body unfinished

    def handle_one_request(self) -> None:
        self._started = time.perf_counter()
        self._status: int | None = None
        self._logged = False
        super().handle_one_request()
        if self._status is not None and not self._logged:  # an answer of http.server's own
            self._log_access()

    def do_POST(self) -> None:
        length = self._admit()
        if length is None:
            return
        if urlsplit(self.path).path.rstrip("/") != "/webhooks":
            self._refuse_unread(HTTPStatus.NOT_FOUND, f"no such endpoint: POST "
                                                      f"{_printable(self.path)}")
            return
        types = self.headers.get_all("Content-Type") or []
        media = types[0].split(";", 1)[0].strip().lower() if len(types) == 1 else ""
        if media != "application/json":
            self._refuse_unread(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                "send the webhook as Content-Type: application/json")
            return
        if length > MAX_BODY or length == 0:
            self._refuse_unread(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length else
                                HTTPStatus.BAD_REQUEST,
                                f"send one webhook of at most {MAX_BODY} bytes")
            return
        body = self.rfile.read(length)
        try:
            webhook = webhook_from_json(body)
        except WebhookError as exc:
            self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(exc)})
            return
        try:
            with self.server.engines.borrow() as engine:
                result = apply_webhook(engine, webhook)
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
        length = self._admit()
        if length is None:
            return
        if length:
            self._refuse_unread(HTTPStatus.BAD_REQUEST, "GET takes no body")
            return
        path = urlsplit(self.path).path
        if path.rstrip("/") == "/health":
            self._reply(HTTPStatus.OK, {"status": "ok", "engine": self.server.engines.url})
            return
        if not path.startswith("/stock/") or len(path) == len("/stock/"):
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: GET "
                                                        f"{_printable(self.path)}"})
            return
        sku = unquote(path.removeprefix("/stock/"))
        try:
            with self.server.engines.borrow() as engine:
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

    # -- checks ----------------------------------------------------------------------------

    def _admit(self) -> int | None:
        """The body's length if the request may go on; else refuse it and return None."""
        try:
            length = self._framing()
            self._check_caller()
        except _Refusal as refusal:
            self._refuse_unread(refusal.status, refusal.message, refusal.headers)
            return None
        return length

    def _framing(self) -> int:
        """The body's length; refuses ambiguous framing (several lengths, chunked bodies)."""
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.get_all("Transfer-Encoding"):
            if lengths:
                raise _Refusal(HTTPStatus.BAD_REQUEST,
                               "both Transfer-Encoding and Content-Length: refused")
            raise _Refusal(HTTPStatus.LENGTH_REQUIRED,
                           "send a Content-Length; Transfer-Encoding is not accepted")
        if len(lengths) > 1:
            raise _Refusal(HTTPStatus.BAD_REQUEST, "more than one Content-Length: refused")
        if not lengths:
            if self.command == "POST":
                raise _Refusal(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length")
            return 0
        text = lengths[0].strip()
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise _Refusal(HTTPStatus.BAD_REQUEST if not re.fullmatch(r"[0-9]+", text)
                           else HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           "Content-Length must be a whole number of bytes")
        return int(text)

    def _check_caller(self) -> None:
        """Host, Origin and token (see the module doc); raises :class:`_Refusal`."""
        rules = self.server.rules
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or not rules.host_allowed(hosts[0]):
            raise _Refusal(HTTPStatus.FORBIDDEN if len(hosts) == 1 else
                           HTTPStatus.BAD_REQUEST,
                           "Host header not allowed: use localhost or 127.0.0.1, or start "
                           "the server with --allow-host NAME" if hosts else
                           "send exactly one Host header")
        origins = self.headers.get_all("Origin") or []
        if origins and (len(origins) > 1 or not rules.origin_allowed(origins[0])):
            raise _Refusal(HTTPStatus.FORBIDDEN, "cross-origin request refused (start the "
                                                 "server with --allow-origin ORIGIN)")
        credentials = self.headers.get_all("Authorization") or []
        if len(credentials) > 1 or not rules.token_matches(credentials[0] if credentials
                                                              else None):
            challenge = 'Bearer realm="racesim"' + (', error="invalid_token"'
                                                    if credentials else "")
            raise _Refusal(HTTPStatus.UNAUTHORIZED,
                           "send the server's token as Authorization: Bearer TOKEN"
                           if not credentials else "wrong token",
                           {"WWW-Authenticate": challenge})

    # -- answers ---------------------------------------------------------------------------

    def _refuse(self, exc: RacesimError) -> None:
        """Answer an engine's refusal: 422 malformed, 409 not applicable (yet), 503 broken.

        A retryable store error (:class:`~racesim.errors.StoreRetryable`: nothing was
        written) is a 503 with ``Retry-After``, which tells the sender to send it again.
        """
        status = (HTTPStatus.UNPROCESSABLE_ENTITY if isinstance(exc, InvalidCommand) else
                  HTTPStatus.CONFLICT if isinstance(exc, LedgerError) else
                  HTTPStatus.SERVICE_UNAVAILABLE)
        retry = isinstance(exc, StoreError) and exc.retryable
        self._reply(status, {"error": str(exc)},
                    {"Retry-After": str(RETRY_AFTER_S)} if retry else None)

    def _refuse_unread(self, status: HTTPStatus, message: str,
                       headers: dict[str, str] | None = None) -> None:
        """Refuse before reading the body: the connection closes (its bytes are unread)."""
        self.close_connection = True
        self._reply(status, {"error": message}, {**(headers or {}), "Connection": "close"})

    def _reply(self, status: HTTPStatus, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._log_access()  # before the answer leaves: the log is in the order clients see
        self.end_headers()
        self.wfile.write(data)

    # -- the access log --------------------------------------------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Remember the status; the line is written once the answer is out."""
        with contextlib.suppress(TypeError, ValueError):
            self._status = int(code)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: :meth:`_log_access` writes the one line per request."""

    def _log_access(self) -> None:
        self._logged = True
        milliseconds = (time.perf_counter() - self._started) * 1000
        method = _printable(self.command or "-")[:16]
        path = _printable(urlsplit(self.path).path if self.command else "-")
        if len(path) > _LOG_PATH_LENGTH:
            path = path[:_LOG_PATH_LENGTH] + "…"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.server.access_log(f"{stamp} {self.client_address[0]} {method} {path} "
                               f"{self._status} {milliseconds:.1f}ms")


def _printable(text: str) -> str:
    """``text`` with spaces, controls and non-ASCII percent-escaped (one log field)."""
    return "".join(c if "!" <= c <= "~" else f"%{ord(c):02X}" for c in text[:1000])


# -- racesim serve -----------------------------------------------------------------------

def exposure_warning(host: str) -> str:
    """The warning printed when ``host`` is not a loopback address ('' when it is)."""
    if is_loopback(host):
        return ""
    return (f"racesim serve: warning: listening on {host or 'every interface'}, reachable "
            "from other machines, without TLS; anyone holding the token can change stock")


def serve(store: str, host: str = "127.0.0.1", port: int = 8080, *,
          token: str | None = None, token_file: str | Path | None = None,
          no_auth: bool = False, allow_hosts: Iterable[str] = (),
          allow_origins: Iterable[str] = (), quiet: bool = False) -> None:
    """Serve the ledger at ``store`` until interrupted (``racesim serve``)."""
    token, generated = resolve_token(token, token_file, no_auth)
    with WebhookServer.for_store(store, host, port, token=token, auth=not no_auth,
                                 allow_hosts=allow_hosts, allow_origins=allow_origins,
                                 log=None if quiet else sys.stderr) as server:
        print(f"racesim serve: ledger {server.engines.url} on {server.url} "
              "(POST /webhooks, GET /stock/SKU; Ctrl-C stops)", flush=True)
        if generated:
            print(f"racesim serve: token {token} (send Authorization: Bearer TOKEN; "
                  f"racesim chaos reads it from RACESIM_TOKEN)", flush=True)
        warning = exposure_warning(host)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
