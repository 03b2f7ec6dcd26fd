"""A throwaway PostgreSQL server for the tests and benchmarks: ``initdb`` + ``pg_ctl``.

:class:`PostgresServer` makes a fresh cluster in a temporary directory, starts it on a
free loopback port with trust authentication, and deletes everything when stopped. Each
test gets its own schema in that one server (:func:`fresh_postgres_url`), which costs a
few milliseconds where a database would cost ~60 ms and 7 MB.

The server binaries come from ``$RACESIM_PG_BIN`` if it is set, else the newest
``/usr/lib/postgresql/<version>/bin`` (Debian's layout), else ``initdb`` on ``PATH``.
Run as root, the cluster belongs to the ``postgres`` OS user (``initdb`` refuses root)
and its commands run through ``runuser``.

Without the binaries, :func:`require_postgres` skips the test with a hint
(``apt-get install postgresql``) — but under ``CI=true`` it fails it: CI must never pass
by skipping the PostgreSQL tests.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = [
    "PostgresServer",
    "PostgresUnavailable",
    "find_bin_dir",
    "fresh_postgres_url",
    "require_postgres",
    "shared_server",
]

INSTALL_HINT = ("install PostgreSQL to run them (Debian/Ubuntu: apt-get install postgresql), "
                "or point RACESIM_PG_BIN at the directory holding initdb and pg_ctl")

# Settings for a test cluster: durability off (the server is deleted afterwards; the
# crash tests kill clients, not the server), small, loopback only.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``, or raise :class:`PostgresUnavailable`."""
    candidates: list[Path] = []
    if os.environ.get("RACESIM_PG_BIN"):  # given: that directory and no other
        candidates.append(Path(os.environ["RACESIM_PG_BIN"]))
    else:
        debian = Path("/usr/lib/postgresql")
        if debian.is_dir():
            versions = [p for p in debian.iterdir() if p.name.isdigit()]
            candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; "
                              + INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1, for one test session.

    ``settings`` are server settings (``-c name=value``); the default
    :data:`TEST_SETTINGS` turns durability off. Use as a context manager or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(self, bin_dir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.settings = dict(TEST_SETTINGS if settings is None else settings)
        self.port = 0
        self.directory: Path | None = None
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        assert self.directory is not None, "server not started"
        return self.directory / "data"

    def start(self) -> PostgresServer:
        """initdb a fresh cluster and start it on a free port; raise RuntimeError if it fails."""
        parent = None
        if self._as_postgres and not os.stat(tempfile.gettempdir()).st_mode & 0o001:
            parent = "/tmp"  # the postgres user must be able to reach its data directory
        self.directory = Path(tempfile.mkdtemp(prefix="racesim-pg-", dir=parent))
        if self._as_postgres:
            shutil.chown(self.directory, user="postgres")
        done = self._run("initdb", "-D", str(self.data_dir), "-U", "postgres",
                         "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        if done.returncode != 0:
            self._cleanup()
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")
        for _attempt in range(5):  # the free port may be taken before the server binds it
            self.port = _free_port()
            options = " ".join(f"-c {name}={value}" for name, value in {
                "listen_addresses": "127.0.0.1", "port": str(self.port),
                "unix_socket_directories": str(self.directory), **self.settings}.items())
            done = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-w", "-t", "60",
                             "-l", str(self.directory / "server.log"), "-o", options)
            if done.returncode == 0:
                return self
        log = self.log_tail()
        self._cleanup()
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{log}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log, for failure messages."""
        if self.directory is None:
            return ""
        log = self.directory / "server.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def url(self, database: str = "postgres", **options: str) -> str:
        """A ``postgresql://`` URL for ``database`` on this server, with store options."""
        query = "&".join(f"{key}={value}" for key, value in options.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else "")

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        if self.directory is None:
            return
        if self.data_dir.exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w",
                      timeout=60)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: PostgresServer | None = None
_shared_error: BaseException | None = None
_schemas = itertools.count(1)


def shared_server() -> PostgresServer:
    """This process's test server, started on first use and stopped when the process exits.

    Raises :class:`PostgresUnavailable` without binaries, RuntimeError if it cannot start.
    """
    global _shared, _shared_error
    if _shared is not None:
        return _shared
    if _shared_error is not None:
        raise _shared_error
    try:
        server = PostgresServer().start()
    except (PostgresUnavailable, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        _shared_error = exc
        raise
    atexit.register(server.stop)
    _shared = server
    return server


def fresh_postgres_url(name: str = "ledger", **options: str) -> str:
    """A URL naming a new, empty schema on the shared test server."""
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())
    schema = f"t{os.getpid()}_{next(_schemas)}_{slug}"[:63]
    return shared_server().url(schema=schema, **options)


def require_postgres() -> None:
    """Make sure the shared server runs: otherwise skip the test — or, under CI, fail it."""
    import pytest

    try:
        shared_server()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but PostgreSQL is missing: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"the throwaway PostgreSQL server did not start: {exc}", pytrace=False)

