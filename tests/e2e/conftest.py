"""HTTP fixtures: the app over TestClient (SQLite) and over a real uvicorn server (PostgreSQL)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from access.tokens import Role, create_token
from bootstrap import create_app, open_api_store
from config.settings import Settings
from tests.conftest import spawns


@dataclass
class Api:
    """A client plus one token per staff role; ``tenant_token`` issues tenant tokens."""

    client: TestClient | httpx.Client
    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        store = open_api_store(self.url)
        try:
            for role in (Role.operator, Role.finance, Role.auditor, Role.meter):
                self.tokens[role.value] = create_token(store, role)
        finally:
            store.close()

    def tenant_token(self, tenant_id: str) -> str:
        store = open_api_store(self.url)
        try:
            return create_token(store, Role.tenant, UUID(tenant_id))
        finally:
            store.close()

    @property
    def operator(self) -> str:
        return self.tokens["operator"]


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings(database_url=url, projector_poll_seconds=0.05, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def sqlite_api(sqlite_url: str) -> Iterator[Api]:
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        yield Api(client, sqlite_url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn in a background thread on a free port."""

    def __init__(self, url: str, **overrides: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(settings_for(url, **overrides)), host="127.0.0.1", port=self.port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
@spawns  # a uvicorn server
def postgres_api(postgres_url: str) -> Iterator[Api]:
    with ServerThread(postgres_url) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Api(client, postgres_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def any_api(request: pytest.FixtureRequest) -> Api:
    api: Api = request.getfixturevalue("sqlite_api" if request.param == "sqlite" else "postgres_api")
    return api


@pytest.fixture
@spawns  # a uvicorn server
def sqlite_server_api(sqlite_url: str) -> Iterator[Api]:
    with ServerThread(sqlite_url) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Api(client, sqlite_url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@spawns  # a uvicorn server on either store
def served_api(request: pytest.FixtureRequest) -> Api:
    """A real uvicorn server on either store (for concurrency)."""
    api: Api = request.getfixturevalue("sqlite_server_api" if request.param == "sqlite" else "postgres_api")
    return api
