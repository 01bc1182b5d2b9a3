"""``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served by the app, from the
pinned ``fastapi-offline`` package's copies (FastAPI's defaults load them from a CDN)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
PREFIX = "/static/docs"


REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"  # the one remote asset ReDoc's bundle asks for


@lru_cache(maxsize=1)
def redoc_bundle() -> bytes:
    """ReDoc's bundle with its footer logo pointed at a local file (read once)."""
    return (DOCS_STATIC / "redoc.standalone.js").read_bytes().replace(REMOTE_LOGO, f"{PREFIX}/favicon.png".encode())


def install_docs(app: FastAPI) -> None:
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    app.add_api_route(f"{PREFIX}/redoc.standalone.js", redoc_js, methods=["GET"], include_in_schema=False)
    app.mount(PREFIX, StaticFiles(directory=str(DOCS_STATIC)), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
                                   swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{PREFIX}/swagger-ui.css",
                                   swagger_favicon_url=f"{PREFIX}/favicon.png")

    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                              redoc_favicon_url=f"{PREFIX}/favicon.png", with_google_fonts=False)

    app.add_api_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
