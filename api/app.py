"""The FastAPI application factory. Services come from the composition root (``bootstrap``):
call ``bootstrap.create_app``, which passes ``bootstrap.open_services`` in here."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from api import metrics, problems
from api.deps import allow
from api.docs import install_docs
from api.limits import BodyLimit
from api.middleware import CatchAll, Deadline
from api.observability import Observe
from api.routes import include_all
from api.schemas.common import Problem
from api.services import Services
from config.settings import Settings


class Background(Protocol):
    def close(self) -> None: ...


def create_app(settings: Settings, *, open_services: Callable[[Settings], Services],
               services: Services | None = None,
               background: Callable[[Services], Background | None] | None = None) -> FastAPI:
    """Build the app. ``open_services(settings)`` opens the stores at startup (lifespan) and they
    close at shutdown; pass open ``services`` instead to share them (the caller closes them).
    ``background(services)`` starts what runs beside the requests (the projection follower:
    ``server.follower``), closed at shutdown before the services."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services or open_services(settings)
        app.state.services = opened
        unobserve = opened.ledger.observe_group_commits(measured.count_group_commit)
        running = background(opened) if background is not None else None
        try:
            yield
        finally:
            if running is not None:
                running.close()
            unobserve()  # shared services outlive this app: its metrics stop counting
            if services is None:
                opened.close()

    # FastAPI's own OpenTelemetry layer off: the ledger counts and logs every request itself
    # (api.observability: request id, Prometheus metrics, access log); left on, it asks the
    # environment for OpenTelemetry providers on every request (~1 % of a POST's CPU).
    app = FastAPI(title="GPU capacity and billing ledger", version="1", lifespan=lifespan,
                  generate_unique_id_function=operation_id,
                  telemetry={"tracing": False, "metrics": False, "logs": False},
                  docs_url=None, redoc_url=None,  # served with local assets by api.docs
                  description="Event-sourced ledger of GPU capacity, funding and billing. "
                              "Errors are RFC 9457 problem+json; writes answer with `Ledger-Position`.")
    problems.install(app)
    measured = metrics.Metrics(lambda: getattr(app.state, "services", None))
    # Outermost last: CatchAll answers whatever escapes Deadline, BodyLimit and the routes;
    # Observe (request id, metrics, access log) sees every final answer, CatchAll's 500s included.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Deadline, seconds=settings.request_deadline_seconds)
    app.add_middleware(CatchAll)
    app.add_middleware(Observe, metrics=measured)
    include_all(app)  # every router of api.routes
    app.add_api_route("/health", health, methods=["GET"], tags=["health"], response_model=Health,
                      summary="Liveness: the process is up and serving (no auth, no database)")
    metrics.install(app, measured, ready_max_lag_events=settings.ready_max_lag_events)
    install_docs(app)  # /docs and /redoc with local assets
    app.openapi = lambda: problem_media_types(app)  # type: ignore[method-assign]
    return app


def operation_id(route: APIRoute) -> str:
    """An operation's id is what a client calls: the route's name (its function's, e.g.
    ``confirm_reservation``; a report's route is ``report_<name>``), never FastAPI's default
    ``confirm_reservation_v1_reservations_post``; a ``_route`` suffix (``metrics_route``) is dropped."""
    return route.name.removesuffix("_route")


class Health(BaseModel):
    status: Literal["ok"]


async def health() -> dict[str, str]:
    """Cheap by design (async, no dependencies): what a load balancer or a startup probe polls."""
    return {"status": "ok"}


def problem_media_types(app: FastAPI) -> dict[str, Any]:
    """Error responses are documented as application/problem+json only (what they are sent as)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        for path in schema["paths"].values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        for context in iter_route_contexts(app.routes):  # who may call each operation: its ``allow``'s roles
            route = context.original_route
            if isinstance(route, APIRoute):
                roles = roles_of(route.dependant)
                for method in context.methods or ():
                    operation = schema["paths"].get(context.path_format, {}).get(method.lower())
                    if operation is not None and roles:
                        operation["x-roles"] = sorted(roles)
        add_links(schema["paths"])
        app.openapi_schema = schema
    return app.openapi_schema


PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")


def add_links(paths: dict[str, Any]) -> None:
    """OpenAPI links from what a POST creates to the operations that take its id: a POST to a
    collection ``C`` whose 201 body has an ``id`` links to every operation under ``C/{x_id}``, with
    ``x_id`` taken from ``$response.body#/id``. Clients (and schemathesis' stateful phase) follow
    them; derived from the routes, so a new resource gets its links by itself."""
    for collection, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or PATH_PARAMETER.search(collection):
            continue
        links: dict[str, Any] = {}
        for path, operations in paths.items():
            match = PATH_PARAMETER.match(path[len(collection) + 1:]) if path.startswith(collection + "/") else None
            if match is None:
                continue
            for method, operation in operations.items():
                links[operation["operationId"]] = {"operationId": operation["operationId"],
                                                   "parameters": {match.group(1): "$response.body#/id"},
                                                   "description": f"{method.upper()} {path} on the created resource"}
        if links:
            created["links"] = links


def roles_of(dependant: Dependant) -> set[str]:
    """The roles admitted by the ``allow`` dependencies under ``dependant`` (empty: no auth)."""
    found: set[str] = set()
    for sub in dependant.dependencies:
        if isinstance(sub.call, allow):
            found |= {role.value for role in sub.call.roles}
        found |= roles_of(sub)
    return found
