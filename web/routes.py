"""The dashboard's HTTP routes under ``/ui``: sign-in and sign-out, the finance, tenant and auditor
pages, a page per registry report, and the CSV of what each page shows. Server-rendered HTML
(Jinja2); the only script draws the charts from the JSON each page carries.

Pages are not in the OpenAPI document (they are HTML for people, not API operations); their
query parameters are checked by the same code as the API's (``Report.parse``), a bad one is a
422 page naming it, and another tenant's id is a 404, exactly as over ``/v1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

import web.pages as pages
from access.tokens import Principal, Role
from api.access import visible_invoice
from api.audit import aggregate_as_of, events_after
from api.deps import services as services_of
from api.invoice_documents import HTML, PDF, document_response
from api.problems import Forbidden
from api.services import Services
from domain.errors import InvalidInput, LedgerError, NotFound
from projections.journal_accounts import CHART
from projections.registry import REPORTS
from projections.reports.base import GRANULARITIES, Filter
from web.reading import READERS, check_role, choices, report_roles, tenant_name, visible_reports
from web.sections import Section, cell_text, filter_label, grouped, header_text, percent, short_ids
from web.session import (
    LOGIN_CSRF_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
    SessionSigner,
    clear_cookie,
    new_csrf,
    same_secret,
    set_cookie,
)

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["cell"] = cell_text  # a report cell for people (web.sections)
templates.env.filters["header"] = header_text
templates.env.filters["percent"] = percent
templates.env.filters["short"] = short_ids
templates.env.filters["grouped"] = grouped
templates.env.filters["filter_label"] = filter_label
templates.env.globals["filter_of"] = lambda kind: Filter(kind, "")  # the finance page's own filters
templates.env.globals["accounts"] = [(a.code, f"{a.code} {a.name}") for a in CHART]  # the account filter's list
ui = APIRouter(prefix="/ui", include_in_schema=False)
MAX_FORM_BYTES = 16_384
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HOME = {Role.operator: "/ui/finance", Role.finance: "/ui/finance", Role.auditor: "/ui/audit",
        Role.tenant: "/ui/tenant", Role.meter: "/ui/reports"}


def signer(request: Request) -> SessionSigner:
    found: SessionSigner = request.app.state.ui_signer
    return found


def session_of(request: Request) -> Session | None:
    """The signed-in session, if the cookie is valid and its token still is (revocation, expiry)."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    found = signer(request).loads(value)
    if found is None:
        return None
    principal = services_of(request).tokens.principal_of_hash(found[0])
    if principal is None:
        return None
    request.state.principal_role = principal.role.value  # for the access log
    return Session(found[0], found[1], principal)


def html(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def sign_in_redirect() -> Response:
    return RedirectResponse("/ui/login", status_code=303)


def page(request: Request, template: str, build: Callable[[Services, Principal, Mapping[str, str]], Any],
         pick: bool = False, **context: Any) -> Response:
    """Render ``template`` with ``build``'s data for the signed-in user; refusals as pages."""
    session = session_of(request)
    if session is None:
        return sign_in_redirect()
    query = dict(request.query_params)
    services = services_of(request)
    who = session.principal.role.value
    if session.principal.tenant_id is not None:
        who = f"tenant: {tenant_name(services, str(session.principal.tenant_id)) or session.principal.tenant_id}"
    common = {"session": session, "nav": nav(session.principal), "query": query, "who": who,
              "granularities": GRANULARITIES, "choices": None, **context}
    try:
        if pick:
            common["choices"] = choices(services, session.principal)
        data = build(services, session.principal, query)
    except InvalidInput as error:
        return html(request, "error.html", 422, error=str(error), field=error.field, **common)
    except NotFound as error:
        return html(request, "error.html", 404, error=str(error), field=error.field, **common)
    except Forbidden as error:
        return html(request, "error.html", 403, error=str(error), field=None, **common)
    return html(request, template, data=data, **common)


def nav(principal: Principal) -> list[tuple[str, str]]:
    links = []
    if principal.role in READERS:
        links.append(("/ui/finance", "Finance"))
    if principal.role in (Role.tenant, *READERS):
        links.append(("/ui/tenant", "Tenant"))
    if principal.role is Role.auditor:
        links.append(("/ui/audit", "Auditor"))
    links.append(("/ui/reports", "Reports"))
    return links


@ui.get("")
def home(request: Request) -> Response:
    session = session_of(request)
    if session is None:
        return sign_in_redirect()
    return RedirectResponse(HOME[session.principal.role], status_code=303)


@ui.get("/login")
def login_form(request: Request) -> Response:
    csrf = new_csrf()
    response = html(request, "login.html", csrf=csrf, error=None, session=None, nav=[])
    set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, LOGIN_SECONDS)
    return response


async def form_of(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


@ui.post("/login")
async def login(request: Request) -> Response:
    form = await form_of(request)
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not same_secret(form.get("csrf"), csrf):
        return html(request, "login.html", 403, csrf=csrf or "", session=None, nav=[],
                    error="The sign-in form expired; reload the page and try again.")
    token = form.get("token", "").strip()
    principal = await run_in_threadpool(services_of(request).tokens.principal, token) if token else None
    if principal is None:
        return html(request, "login.html", 401, csrf=csrf, session=None, nav=[],
                    error="That token is unknown, revoked or expired.")
    from access.tokens import token_hash

    response = RedirectResponse(HOME[principal.role], status_code=303)
    set_cookie(response, request, SESSION_COOKIE, signer(request).dumps(token_hash(token), new_csrf()),
               SESSION_SECONDS)
    clear_cookie(response, request, LOGIN_CSRF_COOKIE)
    return response


@ui.post("/logout")
async def logout(request: Request) -> Response:
    form = await form_of(request)
    value = request.cookies.get(SESSION_COOKIE)
    found = signer(request).loads(value) if value else None
    if found is not None and not same_secret(form.get("csrf"), found[1]):
        return Response("CSRF check failed: reload the page and sign out again.", status_code=403,
                        media_type="text/plain")
    response = RedirectResponse("/ui/login", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@ui.get("/finance")
def finance_page(request: Request) -> Response:
    return page(request, "finance.html", pages.finance, pick=True)


@ui.get("/tenant")
def tenant_page(request: Request) -> Response:
    return page(request, "tenant.html", pages.tenant, pick=True)


@ui.get("/reports")
def reports_index(request: Request) -> Response:
    return page(request, "reports.html", lambda _s, principal, _q: visible_reports(principal))


@ui.get("/reports/{name}")
def report_page(request: Request, name: str) -> Response:
    def build(services: Services, principal: Principal, query: Mapping[str, str]) -> Section:
        report = REPORTS.get(name)
        if report is None:
            raise NotFound(f"report: no report named {name[:60]!r}", field="report")
        return pages.report_section(services, principal, report, query)

    return page(request, "report.html", build, pick=True)


@ui.get("/invoices/{invoice_id}")
def invoice_document(request: Request, invoice_id: str) -> Response:
    """An invoice's document (``?format=pdf``, the default, or ``html``): what ``GET
    /v1/invoices/{id}`` answers with ``Accept: application/pdf``, for the signed-in user, with the
    same visibility (another tenant's invoice is a 404)."""
    session = session_of(request)
    if session is None:
        return sign_in_redirect()
    kind = request.query_params.get("format", "pdf")
    if kind not in ("pdf", "html"):
        raise InvalidInput("format: expected pdf or html", field="format")
    if len(invoice_id) > 100:
        raise InvalidInput("invoice_id: expected an invoice id or number", field="invoice_id")
    services = services_of(request)
    invoice = visible_invoice(services.ledger, session.principal, invoice_id)  # its id or its number
    return document_response(services.ledger, invoice, services.settings, PDF if kind == "pdf" else HTML)


@ui.get("/csv/{name}")
def report_csv(request: Request, name: str) -> Response:
    """The CSV of what a page shows: the report with the page's filters, as ``GET /v1/reports/NAME``
    with ``Accept: text/csv`` answers it (same roles, same tenant scoping)."""
    session = session_of(request)
    if session is None:
        return sign_in_redirect()
    report = REPORTS.get(name)
    if report is None:
        raise NotFound(f"report: no report named {name[:60]!r}", field="report")
    check_role(session.principal, *report_roles(report))
    section = pages.report_section(services_of(request), session.principal, report, dict(request.query_params))
    assert section.answer is not None  # a report's own section always holds its read
    return Response(section.answer.csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{report.name}.csv"'})


def audit_data(services: Services, principal: Principal, query: Mapping[str, str],
               verified: Any = None) -> dict[str, Any]:
    from projections.audit import AuditChain

    check_role(principal, Role.auditor)
    ledger = services.ledger
    cursor = pages._cursor(query.get("cursor"), "cursor")
    limit = pages._cursor(query.get("limit"), "limit") or 50
    if not 1 <= limit <= 500:
        raise InvalidInput("limit: expected 1 to 500", field="limit")
    topic = (query.get("topic") or "").strip()
    if len(topic) > 200 or "\x00" in topic:
        raise InvalidInput("topic: at most 200 characters", field="topic")
    events = events_after(ledger, cursor, limit, [topic] if topic else [])
    aggregate = None
    if query.get("aggregate_id"):
        try:
            aggregate_id = UUID(query["aggregate_id"].strip())
        except ValueError:
            raise InvalidInput("aggregate_id: expected a UUID", field="aggregate_id") from None
        try:
            aggregate = aggregate_as_of(ledger, aggregate_id, (query.get("as_of") or "").strip() or None)
        except LedgerError:
            raise
        except (ValueError, TypeError) as error:
            raise InvalidInput(f"as_of: {error}", field="as_of") from None
    return {"head": str(AuditChain(ledger).head()), "log_head": ledger.recorder.max_notification_id() or 0,
            "events": events, "next_cursor": events[-1]["position"] if len(events) == limit else None,
            "cursor": cursor, "limit": limit, "topic": topic, "aggregate": aggregate, "verified": verified}


@ui.get("/audit")
def audit_page(request: Request) -> Response:
    return page(request, "audit.html", audit_data)


@ui.post("/audit/verify")
async def verify_now(request: Request) -> Response:
    form = await form_of(request)
    session = await run_in_threadpool(session_of, request)
    if session is None:
        return sign_in_redirect()
    if not same_secret(form.get("csrf"), session.csrf):
        return Response("CSRF check failed: reload the page and try again.", status_code=403,
                        media_type="text/plain")

    def run(services: Services, principal: Principal, query: Mapping[str, str]) -> dict[str, Any]:
        from projections.audit import AuditChain

        check_role(principal, Role.auditor)
        chain = AuditChain(services.ledger)
        chain.catch_up()
        return audit_data(services, principal, query, verified=chain.verify(None))

    return await run_in_threadpool(page, request, "audit.html", run)
