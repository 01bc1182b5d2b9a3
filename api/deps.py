"""Annotated dependencies that keep route signatures short."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Forbidden, Unauthenticated
from api.services import Services
from api.tokens import FRESH_LOOKUP, Principal, Role
from domain import Ledger

bearer = HTTPBearer(auto_error=False, description="A token from `ledger token create`.")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# Dependencies that only read app state are ``async def``: FastAPI runs a plain ``def``
# dependency in a worker thread, one thread hop each (BENCHMARKS.md, *Write path*).
async def _services(request: Request) -> Services:
    return services(request)


ServicesDep = Annotated[Services, Depends(_services)]


def ledger(request: Request) -> Ledger:
    return services(request).ledger


async def _ledger(request: Request) -> Ledger:
    return services(request).ledger


LedgerDep = Annotated[Ledger, Depends(_ledger)]


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("Authorization: send 'Bearer <token>'", field="Authorization")
    known: tuple[str, Principal] | None = getattr(request.state, "authenticated", None)
    if known is not None and known[0] == credentials.credentials:
        return known[1]  # looked up once per request
    principal = services(request).tokens.principal(credentials.credentials)
    if principal is None:
        raise Unauthenticated("Authorization: unknown token", field="Authorization")
    request.state.principal_role = principal.role.value  # for the access log (api.observability)
    request.state.principal = principal  # whose Idempotency-Key this is (api.idempotency)
    request.state.authenticated = (credentials.credentials, principal)
    return principal


# Set by IdempotentRoute for a POST whose endpoint looks its token up afresh itself, in the
# endpoint's worker thread (api.idempotency.fresh_token_first): the dependency may then answer
# from the token cache, inline, and the write still never runs on a token revoked before it arrived.
FRESH_IN_ENDPOINT: ContextVar[bool] = ContextVar("fresh_token_in_endpoint", default=False)


async def current_principal(request: Request,
                            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                            ) -> Principal:
    """The caller: from the token cache inline when it can tell (reads; and writes that look the
    token up afresh in their endpoint's thread), else in a worker thread (a database read)."""
    if credentials is not None and credentials.scheme.lower() == "bearer" and credentials.credentials \
            and (not FRESH_LOOKUP.get() or FRESH_IN_ENDPOINT.get()):
        found = services(request).tokens.cached(credentials.credentials)
        if found is not None:
            request.state.principal_role = found.role.value
            request.state.principal = found
            return found
    return await run_in_threadpool(authenticate, request, credentials)


def fresh_authentication(request: Request) -> Principal:
    """The token looked up in the database, ignoring the cache (a write about to run)."""
    credentials = request.headers.get("authorization", "")
    scheme, _, token = credentials.partition(" ")
    principal = services(request).tokens.principal(token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        request.state.principal = None  # no caller: nothing is stored under its Idempotency-Key
        raise Unauthenticated("Authorization: unknown token", field="Authorization")
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class allow:
    """A dependency admitting only ``roles`` (listed in the OpenAPI document as ``x-roles``)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def check(self, principal: Principal) -> Principal:
        if principal.role not in self.roles:
            allowed = ", ".join(r.value for r in self.roles)
            raise Forbidden(f"role {principal.role.value!r} may not do this (allowed: {allowed})")
        return principal

    async def __call__(self, principal: CurrentPrincipal) -> Principal:  # inline: no thread hop
        return self.check(principal)


async def idempotency_key(key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                    description="Retry-safe key: the same key and body return the first response.")] = None
                    ) -> str | None:
    """Declared for OpenAPI; the key itself is handled by :class:`api.idempotency.IdempotentRoute`."""
    return key


Operator = Annotated[Principal, Depends(allow(Role.operator))]
OperatorOrFinance = Annotated[Principal, Depends(allow(Role.operator, Role.finance))]
Finance = Annotated[Principal, Depends(allow(Role.finance))]
Meter = Annotated[Principal, Depends(allow(Role.meter))]
Auditor = Annotated[Principal, Depends(allow(Role.auditor))]
Booker = Annotated[Principal, Depends(allow(Role.tenant, Role.operator))]
TenantReader = Annotated[Principal, Depends(allow(Role.tenant, Role.operator, Role.finance, Role.auditor))]
ReportReader = Annotated[Principal, Depends(allow(Role.operator, Role.finance, Role.auditor))]
