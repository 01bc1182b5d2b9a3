"""The dashboard over HTTP (no browser): sign-in and its cookie, CSRF on every writing form,
roles and tenant isolation exactly as in the API, redirects, refusals as pages, CSV equal to the
API's, and /docs and /redoc with local assets. On SQLite (TestClient) and PostgreSQL (uvicorn)."""

from __future__ import annotations

import re
import time
from typing import Any
from uuid import uuid4

import pytest

from access.tokens import revoke_token
from bootstrap import open_api_store
from projections.registry import REPORTS
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, build_capacity, ok, register_tenant, reserve
from web.session import LOGIN_CSRF_COOKIE, SESSION_COOKIE

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(api: Api, token: str) -> Any:
    api.client.cookies.clear()
    form = api.client.get("/ui/login")
    assert form.status_code == 200
    return api.client.post("/ui/login", data={"token": token, "csrf": csrf_of(form.text)}, follow_redirects=False)


def world(api: Api) -> dict[str, Any]:
    """Two tenants with a reservation and usage each; projections caught up."""
    c, op = api.client, api.operator
    site = build_capacity(c, op, gpus=8)["site"]
    tenants = {}
    for name in ("A", "B"):
        tenant = register_tenant(c, op, name)
        token = api.tenant_token(tenant["id"])
        booked = reserve(c, op, site["id"], gpus=1, day=1 if name == "A" else 2, tenant_id=tenant["id"],
                         backfill=True)  # hours of a closed month, to meter and invoice
        hour = "2025-03-01T00:00:00Z" if name == "A" else "2025-03-02T00:00:00Z"
        ok(c.post("/v1/usage", headers=bearer(api.tokens["meter"]), json={"records": [
            {"record_id": str(uuid4()), "reservation_id": booked["id"], "hour": hour, "gpu_hours": "1"}]}), 200)
        tenants[name] = {"id": tenant["id"], "token": token, "reservation": booked["id"]}
    head = c.get("/metrics").text
    position = int(re.search(r"^ledger_log_head_position ([0-9.e+]+)", head, re.M).group(1).split(".")[0])  # type: ignore[union-attr]
    ok(c.get(f"/v1/reports/billing?min_position={position}", headers=bearer(api.tokens["finance"])), 200)
    return {"site": site, **tenants}


def test_root_and_pages_redirect_to_sign_in(any_api: Api) -> None:
    c = any_api.client
    assert c.get("/", follow_redirects=False).headers["location"] == "/ui"
    for path in ("/ui", "/ui/finance", "/ui/tenant", "/ui/audit", "/ui/reports", "/ui/csv/billing"):
        answer = c.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login"), path


def test_sign_in_gives_a_signed_httponly_strict_cookie_without_the_token(any_api: Api) -> None:
    token = any_api.tokens["finance"]
    answer = sign_in(any_api, token)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/finance")
    cookies = [v for k, v in answer.headers.multi_items() if k.lower() == "set-cookie"]
    session = next(v for v in cookies if v.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in session and "SameSite=strict" in session.replace("Strict", "strict")
    assert token not in session and token[4:20] not in session
    page = any_api.client.get("/ui/finance")
    assert page.status_code == 200 and token not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # a tampered cookie is no session
    value = any_api.client.cookies.get(SESSION_COOKIE)
    any_api.client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert any_api.client.get("/ui/finance", follow_redirects=False).status_code == 303


def test_sign_in_refuses_a_bad_token_or_a_missing_csrf(any_api: Api) -> None:
    c = any_api.client
    bad = sign_in(any_api, "lgr_not-a-token")
    assert bad.status_code == 401 and SESSION_COOKIE not in bad.headers.get("set-cookie", "")
    c.cookies.clear()
    c.get("/ui/login")
    forged = c.post("/ui/login", data={"token": any_api.tokens["finance"], "csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    c.cookies.delete(LOGIN_CSRF_COOKIE)
    none = c.post("/ui/login", data={"token": any_api.tokens["finance"], "csrf": "x"}, follow_redirects=False)
    assert none.status_code == 403


def test_sign_out_needs_csrf_and_clears_the_session(any_api: Api) -> None:
    c = any_api.client
    sign_in(any_api, any_api.tokens["auditor"])
    page = c.get("/ui/audit")
    assert c.post("/ui/logout", data={"csrf": "wrong"}, follow_redirects=False).status_code == 403
    assert c.get("/ui/audit").status_code == 200
    out = c.post("/ui/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/ui/login")
    assert c.get("/ui/audit", follow_redirects=False).status_code == 303


def test_a_revoked_token_ends_its_session(any_api: Api) -> None:
    sign_in(any_api, any_api.tokens["finance"])
    assert any_api.client.get("/ui/reports").status_code == 200
    store = open_api_store(any_api.url)
    try:
        revoke_token(store, any_api.tokens["finance"])
    finally:
        store.close()
    import time

    deadline = time.monotonic() + 5
    while any_api.client.get("/ui/reports", follow_redirects=False).status_code != 303:
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("role, allowed, refused", [
    ("finance", ["/ui/finance", "/ui/reports", "/ui/tenant"], ["/ui/audit"]),
    ("operator", ["/ui/finance", "/ui/reports"], ["/ui/audit"]),
    ("auditor", ["/ui/finance", "/ui/audit", "/ui/reports"], []),
    ("meter", ["/ui/reports"], ["/ui/finance", "/ui/audit", "/ui/tenant"]),
])
def test_roles_are_the_apis(sqlite_api: Api, role: str, allowed: list[str], refused: list[str]) -> None:
    world(sqlite_api)
    sign_in(sqlite_api, sqlite_api.tokens[role])
    for path in allowed:
        assert sqlite_api.client.get(path).status_code == 200, path
    for path in refused:
        assert sqlite_api.client.get(path).status_code == 403, path


def test_a_tenant_sees_only_itself(any_api: Api) -> None:
    w = world(any_api)
    a, b = w["A"], w["B"]
    assert sign_in(any_api, a["token"]).headers["location"] == "/ui/tenant"
    c = any_api.client
    mine = c.get("/ui/tenant")
    assert mine.status_code == 200 and a["id"] in mine.text and a["reservation"] in mine.text
    assert b["id"] not in mine.text and b["reservation"] not in mine.text
    assert "2025-03-01" in mine.text and "2025-03-02" not in mine.text  # usage per day: A's day only
    for path in (f"/ui/tenant?tenant_id={b['id']}", f"/ui/csv/billing?tenant_id={b['id']}",
                 f"/ui/reports/billing?tenant_id={b['id']}"):
        assert c.get(path).status_code == 404, path
    for name, report in REPORTS.items():
        answer = c.get(f"/ui/reports/{name}")
        assert answer.status_code == (200 if report.tenant_scoped else 403), name
        assert b["id"] not in answer.text
        csv = c.get(f"/ui/csv/{name}")
        if report.tenant_scoped:
            assert csv.status_code == 200 and b["id"] not in csv.text
    for path in ("/ui/finance", "/ui/audit"):
        assert c.get(path).status_code == 403


def test_csv_links_equal_the_apis_csv(any_api: Api) -> None:
    world(any_api)
    sign_in(any_api, any_api.tokens["finance"])
    for name in REPORTS:
        page = any_api.client.get(f"/ui/reports/{name}")
        assert page.status_code == 200, name
        assert f'href="/ui/csv/{name}"' in page.text
        ours = any_api.client.get(f"/ui/csv/{name}")
        theirs = any_api.client.get(f"/v1/reports/{name}", headers={**bearer(any_api.tokens["finance"]),
                                                                     "Accept": "text/csv"})
        assert ours.status_code == theirs.status_code == 200
        assert ours.text == theirs.text, name


def test_bad_filters_are_refused_pages_naming_the_field(sqlite_api: Api) -> None:
    sign_in(sqlite_api, sqlite_api.tokens["finance"])
    c = sqlite_api.client
    for path, field in (("/ui/reports/utilisation?from=garbage", "from"), ("/ui/finance?site_id=x%00", "site_id"),
                        ("/ui/reports/billing?to=2025-01&from=2025-03", "to"), ("/ui/reports/nope", "report"),
                        ("/ui/tenant?tenant_id=nope", "tenant_id")):
        answer = c.get(path)
        assert answer.status_code in (404, 422), path
        assert f"<code>{field}</code>" in answer.text, path
    sign_in(sqlite_api, sqlite_api.tokens["auditor"])
    for path, field in (("/ui/audit?cursor=-1", "cursor"), ("/ui/audit?limit=9999", "limit"),
                        ("/ui/audit?aggregate_id=zz", "aggregate_id"),
                        (f"/ui/audit?aggregate_id={uuid4()}", "aggregate_id")):
        answer = c.get(path)
        assert answer.status_code in (404, 422), path
        assert f"<code>{field}</code>" in answer.text, path


def test_verify_now_needs_csrf_and_reports_the_chain(any_api: Api) -> None:
    world(any_api)
    sign_in(any_api, any_api.tokens["auditor"])
    c = any_api.client
    page = c.get("/ui/audit")
    assert c.post("/ui/audit/verify", data={"csrf": "nope"}).status_code == 403
    done = c.post("/ui/audit/verify", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Verified:" in done.text
    head = ok(c.post("/v1/audit/verify", headers=bearer(any_api.tokens["auditor"], "v-1")), 200)["head"]
    assert head.split(":")[0] in c.get("/ui/audit").text


def test_docs_and_redoc_load_nothing_from_outside(sqlite_api: Api) -> None:
    c = sqlite_api.client
    for path in ("/docs", "/redoc"):
        page = c.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(r"url: *'([^']+)'", page.text)
        assert sources, path
        for source in sources:
            assert source.startswith("/"), (path, source)
            assert c.get(source).status_code == 200, source
        assert "cdn." not in page.text and "fonts.googleapis" not in page.text


def test_a_non_ascii_csrf_value_is_refused_not_a_crash(sqlite_api: Api) -> None:
    sign_in(sqlite_api, sqlite_api.tokens["auditor"])
    for path in ("/ui/audit/verify", "/ui/logout"):
        assert sqlite_api.client.post(path, data={"csrf": "\x80é"}, follow_redirects=False).status_code == 403
    sqlite_api.client.cookies.clear()
    sqlite_api.client.get("/ui/login")
    answer = sqlite_api.client.post("/ui/login", data={"token": "x", "csrf": "\u00e9"}, follow_redirects=False)
    assert answer.status_code == 403


def test_invoice_documents_behind_the_session(any_api: Api) -> None:
    """The billing totals page links each invoice's document; a tenant gets its own PDF, and
    another tenant's invoice is a 404, as over /v1."""
    w = world(any_api)
    c = any_api.client
    invoice = ok(c.post("/v1/invoices", headers=bearer(any_api.tokens["finance"], str(uuid4())),
                        json={"tenant_id": w["A"]["id"], "month": "2025-03"}))
    assert sign_in(any_api, w["A"]["token"]).status_code == 303
    pdf = c.get(f"/ui/invoices/{invoice['id']}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    html = c.get(f"/ui/invoices/{invoice['id']}?format=html")
    assert html.status_code == 200 and "INVOICE" in html.text.upper()
    assert c.get(f"/ui/invoices/{invoice['id']}?format=docx").status_code == 422
    assert sign_in(any_api, w["B"]["token"]).status_code == 303
    assert c.get(f"/ui/invoices/{invoice['id']}").status_code == 404
    assert sign_in(any_api, any_api.tokens["finance"]).status_code == 303
    link = f"/ui/invoices/{invoice['id']}?format=pdf"
    deadline = time.monotonic() + 10  # pages read the projections, which follow the log
    while link not in (page := c.get("/ui/reports/billing_totals?from=2025-03&to=2025-03")).text:
        assert page.status_code == 200 and time.monotonic() < deadline, page.text[:300]
        time.sleep(0.1)
