"""Annotated dependencies that keep route signatures short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from access.tokens import Principal, Role
from api.fresh import checked_in_endpoint, looks_up_afresh
from api.problems import Forbidden, Unauthenticated
from api.services import Services
from config.settings import PAGE_SIZE_CAP
from domain import Ledger
from domain.errors import InvalidInput

bearer = HTTPBearer(auto_error=False, description="A token from `ledger token create`.")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# Dependencies that only read app state are ``async def``: FastAPI runs a plain ``def``
# dependency in a worker thread, one thread hop each (BENCHMARKS.md, *Write path*).
async def _services(request: Request) -> Services:
    return services(request)


ServicesDep = Annotated[Services, Depends(_services)]


async def _ledger(request: Request) -> Ledger:
    return services(request).ledger


LedgerDep = Annotated[Ledger, Depends(_ledger)]

async def _page_limit(request: Request, limit: Annotated[int | None, Query(
        ge=1, le=PAGE_SIZE_CAP, description="Items per page: by default LEDGER_PAGE_SIZE (100), at most "
                                            "LEDGER_MAX_PAGE_SIZE (1000)")] = None) -> int:
    """A list's page size: ``limit`` if given (422 naming it above ``LEDGER_MAX_PAGE_SIZE``),
    else ``LEDGER_PAGE_SIZE``."""
    settings = services(request).settings
    if limit is None:
        return settings.page_size
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit: at most {settings.max_page_size} items a page (LEDGER_MAX_PAGE_SIZE), "
                           f"not {limit}", field="limit")
    return limit


PageLimit = Annotated[int, Depends(_page_limit)]


def _known(request: Request, principal: Principal | None) -> None:
    """Who the request is from, for the access log (api.observability) and for whose
    Idempotency-Key it is (api.idempotency; None: nothing is stored under the key)."""
    request.state.principal = principal
    if principal is not None:
        request.state.principal_role = principal.role.value


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller of the bearer token (from the database, never the cache, for a write)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        _known(request, None)
        raise Unauthenticated("Authorization: send 'Bearer <token>'", field="Authorization")
    principal = services(request).tokens.principal(credentials.credentials, fresh=looks_up_afresh(request.method))
    _known(request, principal)
    if principal is None:
        raise Unauthenticated("Authorization: unknown token", field="Authorization")
    return principal


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller: from the token cache inline when it can tell (reads; and writes that look the
    token up afresh in their endpoint's thread: ``api.fresh.checked_in_endpoint``), else in a
    worker thread (a database read)."""
    checked_later = checked_in_endpoint(request)
    if credentials is not None and credentials.scheme.lower() == "bearer" and credentials.credentials \
            and (not looks_up_afresh(request.method) or checked_later):
        found = services(request).tokens.cached(credentials.credentials, checked_later=checked_later)
        if found is not None:
            _known(request, found)
            return found
    return await run_in_threadpool(authenticate, request, credentials)


def fresh_authentication(request: Request) -> Principal:
    """The caller looked up in the database (a write about to run, in its worker thread)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    return authenticate(request, HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if token else None)


class allow:
    """A dependency admitting only ``roles`` (listed in the OpenAPI document as ``x-roles``)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def check(self, principal: Principal) -> Principal:
        if principal.role not in self.roles:
            allowed = ", ".join(r.value for r in self.roles)
            raise Forbidden(f"role {principal.role.value!r} may not do this (allowed: {allowed})")
        return principal

    async def __call__(self, request: Request, credentials: Credentials) -> Principal:  # inline: no thread hop
        # The bearer scheme is this dependency's own (not that of a dependency it would depend
        # on): one level of dependency solving less on every request (BENCHMARKS.md, *Write path*).
        principal = await _principal(request, credentials)
        if principal.role not in self.roles and checked_in_endpoint(request):
            # A write's caller may come from a cache whose look at revocations is due: a revoked
            # token is 401, not 403 (a database lookup, on this refusal path only).
            await run_in_threadpool(fresh_authentication, request)
        return self.check(principal)


Operator = Annotated[Principal, Depends(allow(Role.operator))]
OperatorOrFinance = Annotated[Principal, Depends(allow(Role.operator, Role.finance))]
Finance = Annotated[Principal, Depends(allow(Role.finance))]
Meter = Annotated[Principal, Depends(allow(Role.meter))]
Auditor = Annotated[Principal, Depends(allow(Role.auditor))]
Booker = Annotated[Principal, Depends(allow(Role.tenant, Role.operator))]
TenantReader = Annotated[Principal, Depends(allow(Role.tenant, Role.operator, Role.finance, Role.auditor))]
ReportReader = Annotated[Principal, Depends(allow(Role.operator, Role.finance, Role.auditor))]
