"""One router per resource; every router uses IdempotentRoute so POSTs honour Idempotency-Key."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter, FastAPI

from api.idempotency import IdempotentRoute
from api.schemas.common import PROBLEM_RESPONSES

_ROUTERS: list[APIRouter] = []  # in the order the route modules made them


def resource_router(prefix: str, tag: str) -> APIRouter:
    """A router of this package: the app includes it by itself (:func:`include_all`)."""
    made = APIRouter(prefix=prefix, tags=[tag], route_class=IdempotentRoute, responses=PROBLEM_RESPONSES)
    _ROUTERS.append(made)
    return made


def include_all(app: FastAPI) -> None:
    """Include every router of every module of this package: a new route module is found by
    being here, not by a list elsewhere."""
    for found in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        importlib.import_module(f"{__name__}.{found.name}")
    for router in _ROUTERS:
        app.include_router(router)


def command(*names: str) -> dict[str, object]:
    """``openapi_extra`` of a write route: the ``Ledger`` command it runs, as ``x-ledger-command``
    (a list when the body chooses between several, e.g. purchased or granted credits);
    tests/e2e/test_command_surface.py checks every public command has a route."""
    return {"x-ledger-command": names[0] if len(names) == 1 else list(names)}
