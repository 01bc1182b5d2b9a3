"""Find (or start) a PostgreSQL server for the PostgreSQL half of the suite.

Order: ``LEDGER_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
if it answers; otherwise a throwaway server (see ``start_throwaway_server``; set
``LEDGER_TEST_POSTGRES_START=0`` to forbid that); otherwise the PostgreSQL tests are skipped
with a visible reason -- unless ``LEDGER_REQUIRE_POSTGRES=1`` (set by CI), which turns that
skip into a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT_S = 60


def schema_url(admin: str, schema: str) -> str:
    """The ledger URL of ``schema`` on the server at ``admin``."""
    return f"{admin}{'&' if '?' in admin else '?'}schema={schema}"


@contextlib.contextmanager
def scratch_schema(admin: str, prefix: str = "t_") -> Iterator[str]:
    """A new empty schema named ``prefix`` + random hex, dropped (with its contents) afterwards."""
    import psycopg

    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except Exception:
        return False


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: the newest Debian/Ubuntu install under
    /usr/lib/postgresql/*/bin, else whatever is on PATH (Homebrew, Postgres.app, Fedora)."""
    def version(path: str) -> tuple[int, ...]:
        parts = Path(path).parent.parent.name.split(".")
        return tuple(int(p) for p in parts if p.isdigit())

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(on_path)
    for initdb in candidates:
        directory = Path(initdb).parent
        if (directory / "pg_ctl").exists():
            return directory
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> tuple[list[str], int | None, str]:
    """(command prefix, uid to own the data directory, reason if impossible).

    initdb refuses to run as root, so as root the server runs as the ``postgres`` OS user
    (created by every distribution's server package) through ``runuser``.
    """
    if os.geteuid() != 0:
        return [], None, ""
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return [], None, "running as root and there is no 'postgres' OS user to run initdb as"
    runuser = shutil.which("runuser")
    if runuser is None:
        return [], None, "running as root and 'runuser' is not available to run initdb as 'postgres'"
    return [runuser, "-u", "postgres", "--"], uid, ""


def _start() -> tuple[str | None, str]:
    if os.environ.get("LEDGER_TEST_POSTGRES_START", "1") == "0":
        return None, "starting a throwaway server is disabled (LEDGER_TEST_POSTGRES_START=0)"
    binaries = find_binaries()
    if binaries is None:
        return None, "no initdb/pg_ctl found (install the PostgreSQL server package)"
    prefix, owner, why_not = _run_as()
    if why_not:
        return None, why_not
    base = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    data = base / "data"
    log = base / "server.log"
    if owner is not None:
        os.chown(base, owner, -1)
    port = free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=START_TIMEOUT_S)

    try:
        done = run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--no-sync")
        if done.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            return None, f"initdb failed: {(done.stderr or done.stdout).strip()[-300:]}"
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        done = run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        if done.returncode != 0:
            tail = log.read_text()[-300:] if log.exists() else done.stderr
            shutil.rmtree(base, ignore_errors=True)
            return None, f"pg_ctl start failed: {tail.strip()}"
    except (OSError, subprocess.TimeoutExpired) as error:
        shutil.rmtree(base, ignore_errors=True)
        return None, f"could not start a throwaway server: {error}"

    def stop() -> None:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", ""


def start_throwaway_server() -> str | None:
    """Start a temporary server from local binaries; return its URL, or None.

    The server gets its own data directory and a free port, trusts local connections, and is
    stopped (and its directory removed) when the Python process exits.
    """
    return _start()[0]


def find_server() -> tuple[str | None, str]:
    """(admin URL, reason) -- URL is None when no server could be found or started."""
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_URL)
    if reachable(url):
        return url, ""
    started, why_not = _start()
    if started and reachable(started):
        return started, ""
    return None, f"no PostgreSQL server at {url} and none could be started: {why_not or 'not reachable'}"
