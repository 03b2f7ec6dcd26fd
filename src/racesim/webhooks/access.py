"""Who may ask a served ledger: the bearer token, and the Host and Origin headers allowed.

``racesim serve`` refuses, before any ledger is touched, a request whose Host is not a
loopback name, the bound address or one allowed with ``--allow-host`` (DNS rebinding: a
hostile name that resolves to 127.0.0.1), whose Origin is a browser page elsewhere than a
loopback origin on the served port or one allowed with ``--allow-origin``, or that lacks
the token (``Authorization: Bearer TOKEN``, compared in constant time). A token is 16 to
1024 visible ASCII characters; it comes from ``--token``, ``--token-file`` (first line),
``RACESIM_SERVE_TOKEN``, or is generated.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from racesim.errors import RacesimError

__all__ = ["AccessRules", "check_token", "is_loopback", "read_token_file", "resolve_token"]

TOKEN_ENV = "RACESIM_SERVE_TOKEN"
"""Environment variable ``racesim serve`` reads its token from."""

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]{16,1024}")


def check_token(token: str, source: str) -> str:
    """``token`` if it is usable in a header: 16–1024 visible ASCII characters."""
    if not _TOKEN_CHARS.fullmatch(token):
        raise RacesimError(f"{source}: a token must be 16 to 1024 visible ASCII characters "
                           f"(no spaces); got {min(len(token), 9999)} characters")
    return token


def read_token_file(path: str | Path, option: str = "--token-file") -> str:
    """The token in the first line of ``path``, stripped (a one-line error otherwise)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline(2048)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        raise RacesimError(f"{option} {path}: cannot read it ({reason})") from None
    token = first.strip()
    if not token:
        raise RacesimError(f"{option} {path}: the file is empty (put the token on its "
                           "first line)")
    return check_token(token, f"{option} {path}")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(token: str | None, token_file: str | Path | None,
                  no_auth: bool) -> tuple[str | None, bool]:
    """(token, generated?) from ``--token``, ``--token-file``, the environment or none."""
    if no_auth:
        if token is not None or token_file is not None:
            raise RacesimError("--no-auth and --token/--token-file exclude each other")
        return None, False
    if token is not None and token_file is not None:
        raise RacesimError("give --token or --token-file, not both")
    if token is not None:
        return check_token(token, "--token"), False
    if token_file is not None:
        return read_token_file(token_file), False
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    if from_env:
        return check_token(from_env, TOKEN_ENV), False
    return secrets.token_urlsafe(32), True


class AccessRules:
    """Which Host and Origin headers and which token a server accepts (see module doc)."""

    def __init__(self, token: str | None, host: str, port: int,
                 allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()) -> None:
        self.token = token.encode("utf-8") if token is not None else None
        self.port = port
        names = {*LOOPBACK_NAMES}
        bound = host.strip().lower()
        if bound and bound not in ("0.0.0.0", "::", "[::]"):
            names.add(f"[{bound.strip('[]')}]" if ":" in bound else bound)
        self._hosts: set[tuple[str, int | None]] = {(name, None) for name in names}
        for entry in allow_hosts:
            self._hosts.add(parse_host(entry, "--allow-host"))
        self._origins = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
        self._origins.update(parse_origin(entry) for entry in allow_origins)

    def host_allowed(self, header: str) -> bool:
        try:
            name, port = parse_host(header, "Host")
        except RacesimError:
            return False
        if port is not None and (name, port) in self._hosts:
            return True
        return (name, None) in self._hosts and port in (None, self.port)

    def origin_allowed(self, header: str) -> bool:
        try:
            return parse_origin(header) in self._origins
        except RacesimError:
            return False

    def token_matches(self, header: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        given = credentials.strip().encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.token)


def parse_host(text: str, what: str) -> tuple[str, int | None]:
    """``name[:port]`` as (lower-case name, port or None); IPv6 in brackets."""
    text = text.strip().lower()
    match = re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?", text)
    if not match or (match[2] and not 0 < int(match[2]) < 65536):
        raise RacesimError(f"{what} {text[:80]!r}: expected NAME or NAME:PORT")
    return match[1], int(match[2]) if match[2] else None


def parse_origin(text: str) -> str:
    """An origin ``scheme://host[:port]`` in the form browsers send it (lower case)."""
    parts = urlsplit(text.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("",) \
            or parts.query or parts.fragment or "@" in parts.netloc:
        raise RacesimError(f"--allow-origin {text[:80]!r}: expected an origin such as "
                           "http://localhost:3000 (scheme, host and port, no path)")
    parse_host(parts.netloc, "--allow-origin")
    return f"{parts.scheme}://{parts.netloc}"
