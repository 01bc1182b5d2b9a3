"""One router per resource; every router uses IdempotentRoute so POSTs honour Idempotency-Key."""

from __future__ import annotations

from fastapi import APIRouter

from api.idempotency import IdempotentRoute
from api.schemas.common import PROBLEM_RESPONSES


def resource_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=IdempotentRoute, responses=PROBLEM_RESPONSES)


def command(*names: str) -> dict[str, object]:
    """``openapi_extra`` of a write route: the ``Ledger`` command it runs, as ``x-ledger-command``
    (a list when the body chooses between several, e.g. purchased or granted credits);
    tests/e2e/test_command_surface.py checks every public command has a route."""
    return {"x-ledger-command": names[0] if len(names) == 1 else list(names)}
