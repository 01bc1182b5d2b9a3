"""`GET /v1/invoices/{id}` as a document: Accept negotiation, the PDF's figures, and tenant
isolation (another tenant gets exactly the JSON route's 404)."""

from __future__ import annotations

import io
from typing import Any
from uuid import uuid4

import pypdf

from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, build_capacity, ok, register_tenant, reserve


def invoiced(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Tenant A with 2 GPUs for a day in 2025-03 at USD 2.50 (48 GPU-hours, USD 120.00), invoiced."""
    c, op = api.client, api.operator
    world = build_capacity(c, op, gpus=8)
    tenant = register_tenant(c, op, "A")
    token = api.tenant_token(tenant["id"])
    reserve(c, op, world["site"]["id"], gpus=2, day=1, tenant_id=tenant["id"], backfill=True)  # a closed month
    invoice = ok(c.post("/v1/invoices", headers=bearer(api.tokens["finance"], str(uuid4())),
                        json={"tenant_id": tenant["id"], "month": "2025-03"}))
    return tenant, invoice, token


def get(api: Api, token: str, invoice_id: str, accept: str | None) -> Any:
    headers = bearer(token) | ({"Accept": accept} if accept is not None else {})
    return api.client.get(f"/v1/invoices/{invoice_id}", headers=headers)


def test_the_invoice_route_answers_json_html_or_pdf_as_asked(any_api: Api) -> None:
    tenant, invoice, token = invoiced(any_api)
    assert invoice["total"] == "120.00"
    for accept in (None, "*/*", "application/json", "image/png", "text/csv"):
        response = get(any_api, token, invoice["id"], accept)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        assert response.json() == invoice
    html = get(any_api, token, invoice["id"], "text/html")
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    for expected in (invoice["id"], tenant["name"], "2025-03", "120.00", "Total USD", "Audit-chain link at issue"):
        assert expected in html.text
    pdf = get(any_api, token, invoice["id"], "text/html;q=0.5, application/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "Accept" in pdf.headers.get("vary", "")
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages).split())
    for expected in (invoice["id"], tenant["name"], "Billing month 2025-03", "48", "2.50", "120.00",
                     "Total USD 120.00", "Balance due USD 120.00"):
        assert expected in text, (expected, text)
    staff = get(any_api, any_api.tokens["auditor"], invoice["id"], "application/pdf")
    assert staff.status_code == 200 and staff.content.startswith(b"%PDF")


def test_another_tenant_gets_the_json_routes_not_found_for_every_media_type(any_api: Api) -> None:
    tenant, invoice, token = invoiced(any_api)
    other = register_tenant(any_api.client, any_api.operator, "B")
    other_token = any_api.tenant_token(other["id"])
    for accept in (None, "text/html", "application/pdf"):
        theirs = get(any_api, other_token, invoice["id"], accept)
        missing = get(any_api, other_token, str(uuid4()), accept)
        assert theirs.status_code == missing.status_code == 404, theirs.text
        assert theirs.headers["content-type"].startswith("application/problem+json")
        assert theirs.json()["type"] == missing.json()["type"] and theirs.json()["type"].endswith("/not-found")
        assert tenant["name"] not in theirs.text and invoice["total"] not in theirs.text
    assert get(any_api, token, invoice["id"], "application/pdf").status_code == 200


def test_the_openapi_document_offers_the_documents(any_api: Api) -> None:
    spec = any_api.client.get("/openapi.json").json()
    content = spec["paths"]["/v1/invoices/{invoice_id}"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/html", "application/pdf"} <= set(content)
