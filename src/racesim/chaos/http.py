"""The HTTP adapter: drive an engine that lives behind a URL with JSON webhooks.

Protocol (what your service implements; ``racesim serve`` implements it for the ledger):

``POST {base}/webhooks`` with one webhook as JSON (:mod:`racesim.webhooks.format`), e.g.
``{"type": "order.created", "at": 12.5, "order_id": "AMZ-1", "sku": "MUG", "quantity": 1,
"channel": "amazon"}``. Answer ``200`` with ``{"status": "reserved"}`` — one of
``reserved``, ``rejected``, ``applied``, ``duplicate``, ``mismatch`` — plus, for a
repeated order, ``"decision": "reserved"|"rejected"``. Answer ``409`` with
``{"error": "…"}`` for a webhook that cannot be applied (yet): the harness redelivers it
later, as a marketplace would. Answer ``503`` with a ``Retry-After`` header when the
store rolled the command back through no fault of its own (a deadlock, a serialization
failure: nothing was written): the adapter raises :class:`ServerRetryable` (a
:class:`~racesim.errors.StoreRetryable`) and the harness sends it again at once; a read
answered so is asked again. Any other answer (a 422, a 500, a timeout, a body that is
not this JSON) stops the harness with an error naming it: it is not a refusal.

``GET {base}/stock/{sku}`` → ``200`` with ``{"sku": …, "available": N}`` and, if the
engine keeps them, ``"on_hand"`` and ``"reserved"`` (then those are audited too). A SKU
never seen is all zero. SKUs are URL-encoded in the path.

Every request carries ``Authorization: Bearer TOKEN`` when the adapter has a token (the
one ``racesim serve`` prints or reads; ``racesim chaos`` takes it from ``--token-file`` or
``RACESIM_TOKEN``); a 401 stops the harness with an error saying so.

Concurrency: each adapter holds one keep-alive connection, so ``racesim chaos
--concurrency K`` opens K of them to the same namespace (one adapter per worker); the
server must serve them at once and keep its own writers apart.

To keep runs apart on one long-lived server, the adapter prefixes every SKU, order id and
reference it sends with the run's id (``<namespace><run_id>-``); the server needs no reset.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from racesim.errors import RacesimError, StoreRetryable
from racesim.ledger.protocol import EngineProtocolError
from racesim.webhooks.format import Webhook

__all__ = ["DeliveryRefused", "HttpEngine", "HttpEngineError", "ServerRetryable"]

READ_RETRIES = 20
"""Times a read answered 503 with ``Retry-After`` is asked again before the harness stops."""

READ_RETRY_PAUSE_S = 0.01


class HttpEngineError(EngineProtocolError):
    """The engine's server could not be reached or answered outside the protocol."""


class DeliveryRefused(RacesimError):
    """The server answered 409: the webhook cannot be applied now (the sender retries)."""


class ServerRetryable(StoreRetryable):
    """The server answered 503 with ``Retry-After``: nothing was written; send it again."""


class _Status:
    """A command's answer: ``status`` and ``decision`` strings."""

    __slots__ = ("decision", "status")

    def __init__(self, status: str, decision: str) -> None:
        self.status, self.decision = status, decision


class _Stock:
    __slots__ = ("on_hand", "reserved")

    def __init__(self, on_hand: int, reserved: int) -> None:
        self.on_hand, self.reserved = on_hand, reserved


class HttpEngine:
    """A :class:`~racesim.ledger.protocol.StockEngine` that posts webhooks to a URL.

    One keep-alive connection per adapter; ``timeout`` in seconds per request; ``token``
    sent as a bearer token with every request. ``stock()`` is offered only once the server
    has shown ``on_hand`` and ``reserved``.
    """

    def __init__(self, base_url: str, run_id: str = "", timeout: float = 30.0,
                 token: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpEngineError(f"engine URL {base_url!r}: expected http://HOST:PORT/PATH")
        self.url = base_url.rstrip("/")
        self._path = parts.path.rstrip("/")
        self._prefix = f"{run_id}-" if run_id else ""
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        connection = http.client.HTTPSConnection if parts.scheme == "https" else \
            http.client.HTTPConnection
        self._connection = connection(parts.hostname, parts.port, timeout=timeout)
        self._full = self._probe_figures()

    # -- the protocol ----------------------------------------------------------------------

    def restock(self, sku: str, qty: int, ref: str, at: float | None = None) -> _Status:
        return self._post(Webhook("stock.received", at or 0.0, sku, quantity=qty, ref=ref))

    def reserve(self, sku: str, qty: int, order_id: str, channel: str,
                at: float | None = None) -> _Status:
        return self._post(Webhook("order.created", at or 0.0, sku, order_id, qty, channel))

    def release(self, order_id: str, sku: str, at: float | None = None) -> _Status:
        return self._post(Webhook("order.cancelled", at or 0.0, sku, order_id))

    def fulfill(self, order_id: str, sku: str, at: float | None = None) -> _Status:
        return self._post(Webhook("order.shipped", at or 0.0, sku, order_id))

    def return_(self, order_id: str, sku: str, qty: int, ref: str,
                at: float | None = None) -> _Status:
        return self._post(Webhook("return.received", at or 0.0, sku, order_id, qty, ref=ref))

    def adjust(self, sku: str, delta: int, reason: str, ref: str,
               at: float | None = None) -> _Status:
        return self._post(Webhook("stock.adjusted", at or 0.0, sku, quantity=delta, ref=ref,
                                  reason=reason))

    def available(self, sku: str) -> int:
        return self._figures(sku)["available"]

    def close(self) -> None:
        self._connection.close()

    def __getattr__(self, name: str) -> Any:
        # ``stock`` exists only when the server reports on_hand and reserved.
        if name == "stock" and self.__dict__.get("_full"):
            return self._stock
        raise AttributeError(name)

    # -- wire ------------------------------------------------------------------------------

    def _stock(self, sku: str) -> _Stock:
        figures = self._figures(sku)
        return _Stock(figures["on_hand"], figures["reserved"])

    def _post(self, webhook: Webhook) -> _Status:
        prefix = self._prefix
        if prefix:
            webhook = replace(webhook, sku=prefix + webhook.sku,
                              order_id=prefix + webhook.order_id if webhook.order_id else "",
                              ref=prefix + webhook.ref if webhook.ref else "")
        status, body, retry = self._request("POST", f"{self._path}/webhooks",
                                            webhook.to_json())
        if status == 409:
            raise DeliveryRefused(str(body.get("error", body)))
        if retry:
            raise ServerRetryable(f"POST {self.url}/webhooks answered 503 (send it again): "
                                  f"{body.get('error', body)}")
        if status != 200 or not isinstance(body.get("status"), str):
            raise HttpEngineError(f"POST {self.url}/webhooks answered {status}: {body}")
        return _Status(body["status"], str(body.get("decision") or ""))

    def _figures(self, sku: str) -> dict[str, Any]:
        path = f"{self._path}/stock/{quote(self._prefix + sku, safe='')}"
        status, body, retry = self._request("GET", path)
        for _ in range(READ_RETRIES):
            if not retry:
                break
            time.sleep(READ_RETRY_PAUSE_S)
            status, body, retry = self._request("GET", path)
        if status != 200 or "available" not in body:
            raise HttpEngineError(f"GET {self.url}/stock/… answered {status}: {body}")
        return body

    def _probe_figures(self) -> bool:
        body = self._figures("racesim-probe")
        return "on_hand" in body and "reserved" in body

    def _request(self, method: str, path: str,
                 payload: Any = None) -> tuple[int, dict[str, Any], bool]:
        """(status, JSON body, whether the answer was a 503 with ``Retry-After``)."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        headers.update(self._auth)
        # A kept-alive connection the server closed: a GET is tried once more; a POST is
        # not (the server may have applied it: a second copy would not be in the trace).
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                self._connection.request(method, path or "/", body=data, headers=headers)
                response = self._connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as exc:
                self._connection.close()
                if attempt == attempts:
                    raise HttpEngineError(f"{method} {self.url}: the connection dropped "
                                          f"({exc})") from exc
            except OSError as exc:
                self._connection.close()
                raise HttpEngineError(f"{method} {self.url}: cannot reach the engine "
                                      f"({exc})") from exc
            except http.client.HTTPException as exc:
                self._connection.close()
                raise HttpEngineError(f"{method} {self.url}: the answer is not HTTP "
                                      f"({type(exc).__name__}: {exc})") from exc
        if response.status == 401:
            raise HttpEngineError(f"{method} {self.url}: answered 401: the server wants "
                                  + ("another token" if self._auth else "a token")
                                  + " (racesim chaos reads it from --token-file or "
                                    "RACESIM_TOKEN)")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"body": raw[:200].decode("utf-8", "replace")}
        retry = response.status == 503 and response.getheader("Retry-After") is not None
        return response.status, body if isinstance(body, dict) else {"body": body}, retry
