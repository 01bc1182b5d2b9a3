"""How `ledger serve` runs the app (server/supervisor.py): the heap frozen once startup completes, and
the settings its workers share."""

from __future__ import annotations

import gc
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send

from config.settings import Settings
from server.supervisor import FrozenAfterStartup, WorkerApp, worker_settings


def test_the_heap_is_frozen_once_the_app_has_started_not_before() -> None:
    seen: list[int] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        seen.append(gc.get_freeze_count())  # while the app starts: nothing frozen yet
        yield

    app = FastAPI(lifespan=lifespan)

    frozen = FrozenAfterStartup(app)

    async def served(scope: Scope, receive: Receive, send: Send) -> None:  # as uvicorn awaits it (ASGI 3)
        await frozen(scope, receive, send)

    gc.unfreeze()
    try:
        with TestClient(served) as client:
            assert seen == [0]
            assert gc.get_freeze_count() > 0
            assert client.get("/missing").status_code == 404  # requests pass through untouched
    finally:
        gc.unfreeze()


def test_workers_share_one_session_key_and_run_no_follower_of_their_own() -> None:
    unset = worker_settings(Settings(run_projector=True))
    assert unset.run_projector is False and unset.ui_secret is not None
    assert len(unset.ui_secret.get_secret_value()) >= 32
    assert worker_settings(Settings()).ui_secret != unset.ui_secret  # a fresh key per server
    chosen = worker_settings(Settings(ui_secret=SecretStr("chosen-key")))
    assert chosen.ui_secret is not None and chosen.ui_secret.get_secret_value() == "chosen-key"


def build(settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.secret = settings.ui_secret
    return app


def test_the_worker_factory_reaches_a_worker_with_the_parents_settings() -> None:
    settings = worker_settings(Settings())
    factory = pickle.loads(pickle.dumps(WorkerApp(settings, build, dict)))  # as spawn sends it
    app = factory()
    assert isinstance(app, FrozenAfterStartup)
    assert app.app.state.secret == settings.ui_secret  # type: ignore[attr-defined]
