"""Receivables over HTTP (SQLite, TestClient): invoices by number on every invoice route, payment
terms, payments (partial, full, over), idempotency, and refusals as problems naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from bootstrap import open_ledger
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, ok, register_tenant

POSITION = "Ledger-Position"


def issued(api: Api, tenant_id: str, month: str = "2025-01", amount: str = "100.00") -> str:
    """Issue an invoice for ``month`` straight through the ledger; returns its number."""
    ledger = open_ledger(api.url)
    try:
        written = ledger.issue_invoice(tenant_id=UUID(tenant_id), month=month, billed_through_position=0,
                                       lines=[{"kind": "reservation", "amount": Decimal(amount)}])
        number = ledger.get_invoice(written.id).number
        assert number is not None
        return number
    finally:
        ledger.close()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def pay(api: Api, invoice: str, amount: str, key: str | None = None, **change: Any) -> Any:
    body = {"invoice": invoice, "amount": amount, "currency": "USD", "received_on": today(), "reference": "BANK-1",
            **change}
    return api.client.post("/v1/payments", headers=bearer(api.tokens["finance"], key), json=body)


def test_invoices_are_found_by_number_on_every_route(sqlite_api: Api) -> None:
    c, op, finance = sqlite_api.client, sqlite_api.operator, sqlite_api.tokens["finance"]
    tenant, other = register_tenant(c, op), register_tenant(c, op, "Other")
    number = issued(sqlite_api, tenant["id"])
    shown = ok(c.get(f"/v1/invoices/{number}", headers=bearer(finance)), 200)
    assert (shown["number"], shown["status"], shown["outstanding"], shown["paid"]) == (number, "issued", "100.00",
                                                                                       "0")
    assert ok(c.get(f"/v1/invoices/{shown['id']}", headers=bearer(finance)), 200)["number"] == number
    html = c.get(f"/v1/invoices/{number}", headers={**bearer(finance), "Accept": "text/html"})
    assert html.status_code == 200 and f"Invoice {number}" in html.text and "Net 30, due" in html.text
    mine, theirs = sqlite_api.tenant_token(tenant["id"]), sqlite_api.tenant_token(other["id"])
    assert ok(c.get(f"/v1/invoices/{number}", headers=bearer(mine)), 200)["id"] == shown["id"]
    hidden, unknown = (c.get(f"/v1/invoices/{ref}", headers=bearer(theirs)) for ref in (number, "GL-2099-000001"))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace(number, "X") == unknown.json()["detail"].replace("GL-2099-000001", "X")
    credited = ok(c.post(f"/v1/invoices/{number}/credit-notes", headers=bearer(finance, "cn-1"),
                         json={"amount": "10.00", "reason": "SLA"}))
    assert credited["credit_notes"][0]["number"].startswith("CN-") and credited["outstanding"] == "90.00"
    second = issued(sqlite_api, other["id"])
    voided = ok(c.post(f"/v1/invoices/{second}/void", headers=bearer(finance), json={"reason": "wrong"}), 200)
    assert (voided["number"], voided["status"]) == (second, "void")


def test_payments_partial_full_and_over_with_idempotency(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    tenant = register_tenant(c, op)
    number = issued(sqlite_api, tenant["id"])
    first = pay(sqlite_api, number, "50.00", key="pay-1")
    half = ok(first)
    assert POSITION in first.headers
    assert (half["status"], half["paid"], half["outstanding"]) == ("partially_paid", "50.00", "50.00")
    assert [p["reference"] for p in half["payments"]] == ["BANK-1"]
    assert ok(pay(sqlite_api, number, "50.00", key="pay-1")) == half  # the key's answer, nothing recorded
    rest = ok(pay(sqlite_api, number, "80.00", key="pay-2", reference="BANK-2"))
    assert (rest["status"], rest["paid"], rest["outstanding"]) == ("paid", "100.00", "0.00")
    assert rest["payments"][-1]["excess"] == "30.00"
    wallet = ok(c.get(f"/v1/tenants/{tenant['id']}/wallet", headers=bearer(op)), 200)
    assert wallet["balance"] == "30.00"
    again = pay(sqlite_api, number, "1.00", key="pay-3")
    assert again.status_code == 409 and "already paid" in again.json()["detail"]
    refused = c.post(f"/v1/invoices/{number}/void", headers=bearer(sqlite_api.tokens["finance"]),
                     json={"reason": "oops"})
    assert refused.status_code == 409 and "issue a credit note instead" in refused.json()["detail"]


def test_refused_payments_are_problems_naming_the_field(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    tenant = register_tenant(c, op)
    number = issued(sqlite_api, tenant["id"])
    for change, status, field in (({"currency": "GBP"}, 422, "currency"), ({"amount": "0"}, 422, "amount"),
                                  ({"amount": "1.001"}, 422, "amount"), ({"received_on": "2999-01-01"}, 422,
                                                                         "received_on"),
                                  ({"invoice": "GL-2026-999999"}, 404, "invoice")):
        answer = pay(sqlite_api, change.pop("invoice", number), change.pop("amount", "10.00"), **change)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json") and field in answer.text
        assert POSITION not in answer.headers
    assert c.post("/v1/payments", headers=bearer(sqlite_api.tenant_token(tenant["id"])),
                  json={"invoice": number, "amount": "1.00", "currency": "USD", "received_on": today(),
                        "reference": "R"}).status_code == 403
    assert ok(c.get(f"/v1/invoices/{number}", headers=bearer(op)), 200)["payments"] == []


def test_payment_terms_set_the_due_date_of_invoices_issued_after(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    tenant = register_tenant(c, op)
    terms = ok(c.post(f"/v1/tenants/{tenant['id']}/payment-terms", headers=bearer(sqlite_api.tokens["finance"]),
                      json={"net_days": 45}), 200)
    assert terms["payment_terms_days"] == 45
    number = issued(sqlite_api, tenant["id"])
    shown = ok(c.get(f"/v1/invoices/{number}", headers=bearer(op)), 200)
    issue_day = datetime.fromisoformat(shown["issued_at"]).date()
    assert shown["payment_terms_days"] == 45 and (
        datetime.fromisoformat(shown["due_date"]).date() - issue_day).days == 45
    bad = c.post(f"/v1/tenants/{tenant['id']}/payment-terms", headers=bearer(op), json={"net_days": 400})
    assert bad.status_code == 422 and "net_days" in bad.text
