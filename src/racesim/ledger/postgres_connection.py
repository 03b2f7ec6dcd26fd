"""Connecting the PostgreSQL store: its URL, the session's settings, and driver errors.

:func:`url_arguments` reads a ``postgresql://`` URL (see :mod:`racesim.ledger.postgres`
for its options) without connecting; :func:`connect` opens a session and
:func:`configure_session` sets it up.
:func:`store_error` turns a psycopg error into the ledger's hierarchy, so callers retry
what is retryable (a deadlock, a serialization failure, a lock timeout, a connection lost
before ``COMMIT``) and report what is refused, without reading messages.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the PostgreSQL store needs psycopg 3: "
                      "pip install 'racesim[postgres]'") from exc

from racesim.errors import StoreError, StoreRefused, StoreRetryable, shorten
from racesim.ledger.store import shown_url

__all__ = ["UrlArguments", "check_settings", "configure_session", "connect", "masked",
           "one_line", "store_error", "url_arguments"]

_OUR_OPTIONS = ("schema", "timeout", "synchronous_commit")
_LIBPQ_OPTIONS = ("connect_timeout", "sslmode", "application_name")


class UrlArguments(NamedTuple):
    """What a ``postgresql://`` URL says: where to connect and how to set the session up."""

    conninfo: str
    schema: str
    timeout: float
    synchronous_commit: str
    libpq: dict[str, str]


def url_arguments(url: str, parts: SplitResult, options: dict[str, str]) -> UrlArguments:
    """A URL's connection string, racesim settings and libpq options, or a StoreRefused."""
    shown = shown_url(masked(url))  # never the password
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise StoreRefused(f"store URL {shown}: name one database, as in "
                           "postgresql://user@host:5432/dbname")
    unknown = set(options) - {*_OUR_OPTIONS, *_LIBPQ_OPTIONS}
    if unknown:
        raise StoreRefused(f"store URL {shown}: unknown option(s) {shorten(sorted(unknown))} "
                           f"(known: {', '.join((*_OUR_OPTIONS, *_LIBPQ_OPTIONS))})")
    try:
        timeout = float(options.get("timeout", 60.0))
    except ValueError as exc:
        raise StoreRefused(f"store URL {shown}: timeout must be seconds "
                           f"(got {shorten(options['timeout'])})") from exc
    return UrlArguments(f"postgresql://{parts.netloc}{parts.path}",
                         options.get("schema", "public"), timeout,
                         options.get("synchronous_commit", "on"),
                         {key: options[key] for key in _LIBPQ_OPTIONS if key in options})


def check_settings(url: str, schema: str, timeout: float, synchronous_commit: str) -> None:
    """Refuse an empty schema, a negative timeout or an unknown synchronous_commit."""
    if not schema:
        raise StoreRefused(f"{url}: schema must be a non-empty name")
    if not (math.isfinite(timeout) and timeout >= 0):
        raise StoreRefused(f"{url}: timeout must be a number of seconds ≥ 0 "
                           f"(got {timeout!r})")
    if synchronous_commit.lower() not in ("on", "off", "local", "remote_write",
                                          "remote_apply"):
        raise StoreRefused(f"{url}: synchronous_commit={shorten(synchronous_commit)} is not "
                           "one of on, off, local, remote_write, remote_apply")


def connect(conninfo: str, url: str, libpq: dict[str, str]) -> psycopg.Connection[Any]:
    """An autocommit session on ``conninfo`` (``libpq``: libpq's own options, strings);
    a :class:`StoreError` naming ``url`` when the server cannot be reached."""
    try:
        # psycopg types its own keywords too; libpq's parameters are all strings.
        return psycopg.connect(conninfo, autocommit=True, **libpq)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise StoreError(f"{url}: cannot connect to the ledger database: "
                         f"{one_line(exc)}") from exc


def configure_session(cursor: psycopg.Cursor[Any], schema: str, timeout: float,
                      synchronous_commit: str) -> None:
    """Point the session's ``search_path`` at ``schema``; wait at most ``timeout``
    seconds for another writer's lock; set ``synchronous_commit`` (a server setting)."""
    cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    lock_ms = max(1, round(timeout * 1000))  # 0 would mean "wait for ever" to PostgreSQL
    cursor.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(str(lock_ms))))
    cursor.execute(sql.SQL("SET synchronous_commit = {}").format(sql.Literal(synchronous_commit)))


def store_error(url: str, exc: psycopg.Error, connection: psycopg.Connection[Any], *,
                committing: bool = False) -> StoreError:
    """A StoreError that says what the server refused, whether to retry, and how.

    :class:`StoreRetryable` when the server rolled the transaction back through no
    fault of the command (deadlock, serialization failure, lock timeout) or the
    connection dropped before ``COMMIT`` was sent; :class:`StoreRefused` when the
    schema refused the write or the store cannot be used; a plain StoreError when the
    connection dropped while committing (``committing``): the commit may have landed.
    """
    message = one_line(exc)
    if isinstance(exc, pg_errors.IntegrityError | pg_errors.DataError):
        return StoreRefused(f"{url}: the database refused a write: {message}")
    if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        return StoreRetryable(f"{url}: the transaction conflicted with another "
                              f"writer and was rolled back; retry it ({message})")
    if isinstance(exc, pg_errors.LockNotAvailable):
        return StoreRetryable(f"{url}: gave up waiting for another writer's lock "
                              f"(retry it, or raise ?timeout=SECONDS): {message}")
    if connection.broken or isinstance(exc, _CONNECTION_LOST):
        if committing:
            return StoreError(f"{url}: the connection was lost while committing, "
                              "so the write may or may not have been made: read the "
                              f"ledger before retrying ({message})")
        return StoreRetryable(f"{url}: the connection to the database was lost "
                              "before anything was committed; open the store again and "
                              f"retry ({message})")
    if isinstance(exc, _UNUSABLE):
        return StoreRefused(f"{url}: the store cannot be used: {message}")
    return StoreError(f"{url}: {message}")


_CONNECTION_LOST = (pg_errors.ConnectionException, pg_errors.AdminShutdown,
                    pg_errors.CrashShutdown, pg_errors.CannotConnectNow)
"""Server errors after which the session is gone (its open transaction rolled back)."""

_UNUSABLE = (pg_errors.InsufficientPrivilege, pg_errors.ReadOnlySqlTransaction,
             pg_errors.UndefinedTable)
"""Server errors saying this store cannot be written as it is (the same again next time)."""


def one_line(exc: BaseException) -> str:
    """A driver message on one line (PostgreSQL adds DETAIL and HINT lines)."""
    return " ".join(str(exc).split())


def masked(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and ``Ledger.url``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
