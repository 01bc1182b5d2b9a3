"""Helpers for the crash tests: a `ledger serve` subprocess, and reading what the log holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx

from bootstrap import open_ledger
from tests.e2e.conftest import free_port


class LedgerServer:
    """`ledger serve` in its own process (so it can be SIGKILLed), restartable on the same port."""

    def __init__(self, url: str, *, projector: bool = True, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.url = url
        self.args = args
        self.port = free_port()
        self.projector = projector
        self.env = dict(os.environ, PYTHONPATH=os.getcwd(), **(env or {}))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "cli", "serve", "--db", self.url, "--port", str(self.port),
                   "--log-level", "warning", "--projector" if self.projector else "--no-projector",
                   "--create", *self.args]  # the schema may be new: create its tables, as `ledger init` would
        self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"ledger serve exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.base + "/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ledger serve did not start")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def log_head(url: str) -> int:
    """The position of the last event in the log at ``url``."""
    ledger = open_ledger(url)
    try:
        return ledger.max_position() or 0
    finally:
        ledger.close()


def logged(url: str, topic: str) -> list[tuple[int, str, dict[str, Any]]]:
    """(position, originator id, state) of every event of ``topic`` in the log."""
    ledger = open_ledger(url)
    try:
        out = []
        start = 1
        while True:
            batch = ledger.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            out += [(n.id, str(n.originator_id), json.loads(n.state)) for n in batch]
            if len(batch) < 1000:
                return out
            start = batch[-1].id + 1
    finally:
        ledger.close()
