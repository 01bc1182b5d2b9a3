"""The dashboard (``/ui``), every asset served by the app itself: nothing is loaded from outside
the server. Installed on the HTTP app by the composition root (``bootstrap.create_app``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from config.settings import Settings
from web.routes import ui
from web.session import SessionSigner

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the dashboard, its static files and ``/`` -> ``/ui``."""
    secret = settings.ui_secret.get_secret_value() if settings.ui_secret is not None else None
    app.state.ui_signer = SessionSigner(secret)
    app.include_router(ui)
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="ui-static")
    app.add_api_route("/", root, methods=["GET"], include_in_schema=False)


async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)
