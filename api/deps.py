"""Annotated dependencies that keep route signatures short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Forbidden, Unauthenticated
from api.services import Services
from api.tokens import Principal, Role
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


def current_principal(request: Request,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    return authenticate(request, credentials)


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
