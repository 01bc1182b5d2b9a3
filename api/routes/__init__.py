"""One router per resource; every router uses IdempotentRoute so POSTs honour Idempotency-Key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import idempotency_key
from api.idempotency import IdempotentRoute
from api.params import check_parameters
from api.schemas.common import PROBLEM_RESPONSES


def resource_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=IdempotentRoute, responses=PROBLEM_RESPONSES,
                     dependencies=[Depends(check_parameters)])


POST_DEPENDENCIES = [Depends(idempotency_key)]
