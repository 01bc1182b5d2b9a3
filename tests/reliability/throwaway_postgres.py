"""A PostgreSQL server of our own that a test may stop and start (the shared one is never
touched): initdb into a temporary directory, run as the ``postgres`` OS user when we are root,
on a free port. Uses tests.postgres_server's discovery of the local binaries."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.postgres_server import _run_as, find_binaries, free_port


class ThrowawayPostgres:
    def __init__(self) -> None:
        binaries = find_binaries()
        prefix, owner, why_not = _run_as()
        if binaries is None or why_not:
            raise RuntimeError(why_not or "no initdb/pg_ctl found")
        self.binaries, self.prefix = binaries, prefix
        self.base = Path(tempfile.mkdtemp(prefix="ledger-outage-pg-"))
        if owner is not None:
            import os

            os.chown(self.base, owner, -1)
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-300:]}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, str(self.binaries / tool), *args], capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        done = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr[-300:]} {self.log.read_text()[-500:]}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: terminate every session and shut down; ``immediate``: like a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
