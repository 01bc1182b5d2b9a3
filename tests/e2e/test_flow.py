"""The whole story through HTTP only: capacity and money in, a tenant books and uses GPUs,
finance reads the reports and issues the invoice, an auditor reads the log."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, build_capacity, ok, register_tenant, reserve


def usage_batch(reservation_id: str, hours: int = 24) -> dict[str, Any]:
    return {"records": [{"record_id": f"00000000-0000-4000-8000-{h:012d}", "reservation_id": reservation_id,
                         "hour": f"2025-03-01T{h:02d}:00:00Z", "gpu_hours": "1.5"} for h in range(hours)]}


def test_full_flow(any_api: Api) -> None:
    c, op, finance, auditor = any_api.client, any_api.operator, any_api.tokens["finance"], any_api.tokens["auditor"]
    world = build_capacity(c, op, gpus=8)
    assert world["order"]["quantity"] == 8
    tenant = register_tenant(c, finance)
    me = any_api.tenant_token(tenant["id"])

    # March 2025 has passed: the operator records it as a backfill (a tenant could not book it).
    booked = reserve(c, op, world["site"]["id"], gpus=2, day=1, tenant_id=tenant["id"], backfill=True)
    assert booked["backfill"] is True
    assert (booked["tenant_id"], booked["rate_per_gpu_hour"], booked["gpu_hours_booked"]) == (tenant["id"], "2.50", 48)
    future = ok(c.post("/v1/reservations", headers=bearer(me), json={
        "site_id": world["site"]["id"], "model": "H100-SXM", "gpus": 1,
        "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}))
    extended = ok(c.post(f"/v1/reservations/{future['id']}/extension", headers=bearer(me),
                         json={"end": "2027-01-03T00:00:00Z"}), 200)
    assert extended["end"].startswith("2027-01-03")
    cancelled = c.post(f"/v1/reservations/{future['id']}/cancellation", headers=bearer(me))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    meter = bearer(any_api.tokens["meter"])
    receipt = ok(c.post("/v1/usage", headers=meter, json=usage_batch(booked["id"])), 200)
    assert (receipt["recorded"], receipt["duplicates"]) == (24, 0)
    again = c.post("/v1/usage", headers=meter, json=usage_batch(booked["id"]))
    assert (again.json()["recorded"], again.json()["duplicates"]) == (0, 24)
    position = int(c.get("/v1/audit/events?limit=1000", headers=bearer(auditor)).json()["items"][-1]["position"])
    assert receipt["position"] == position  # usage was the last write

    wait = {"min_position": position}
    utilisation = ok(c.get("/v1/reports/utilisation", headers=bearer(finance),
                           params={"site_id": world["site"]["id"], **wait}), 200)
    march = [row for row in utilisation["rows"] if str(row.get("period", row.get("month", ""))).startswith("2025-03")]
    assert march, utilisation
    billing = ok(c.get("/v1/reports/billing", headers=bearer(me), params={"from": "2025-03", "to": "2025-03", **wait}),
                 200)
    assert sum(Decimal(row["amount"]) for row in billing["rows"]) == Decimal("120.00")
    assert {row["tenant_id"] for row in billing["rows"]} == {tenant["id"]}
    carbon = ok(c.get("/v1/reports/sustainability", headers=bearer(me), params=wait), 200)
    assert carbon["rows"]
    capex = ok(c.get("/v1/reports/capex", headers=bearer(finance), params=wait), 200)
    every_line = ok(c.get("/v1/reports/billing", headers=bearer(finance), params=wait), 200)["rows"]
    [pool] = capex["rows"]
    assert pool["gpus_in_service"] == 8  # booked revenue is the sum of the bill lines, as invoiced
    assert Decimal(pool["revenue_booked"]) == sum(Decimal(row["amount"]) for row in every_line) > 120
    rounds = ok(c.get("/v1/reports/funding_rounds", headers=bearer(finance), params=wait), 200)
    assert [row["name"] for row in rounds["rows"]] == ["Series B"]
    as_csv = c.get("/v1/reports/billing", headers={**bearer(finance), "Accept": "text/csv"},
                   params={"tenant_id": tenant["id"], "from": "2025-03", "to": "2025-03"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(lines) == len(billing["rows"]) + len(billing["totals"])  # the rows, then a line per total
    assert [line["tenant"] for line in lines[len(billing["rows"]):]] == ["Total"]
    assert lines[-1]["amount"] == billing["totals"][0]["amount"] == "120.00"

    issued = c.post("/v1/invoices", headers=bearer(finance, "inv-2025-03"),
                    json={"tenant_id": tenant["id"], "month": "2025-03"})
    invoice, issued_at = ok(issued), int(issued.headers["Ledger-Position"])
    assert (invoice["total"], invoice["currency"], invoice["status"]) == ("120.00", "USD", "issued")
    assert c.post("/v1/invoices", headers=bearer(finance),
                  json={"tenant_id": tenant["id"], "month": "2025-03"}).status_code == 409

    mine = ok(c.get(f"/v1/tenants/{tenant['id']}/reservations", headers=bearer(me)), 200)
    assert [r["id"] for r in mine["items"]] == [booked["id"], future["id"]]
    pages, cursor = [], 0
    while cursor is not None:
        page = ok(c.get(f"/v1/tenants/{tenant['id']}/usage", headers=bearer(me),
                        params={"cursor": cursor, "limit": 10}), 200)
        pages.append(page["items"])
        cursor = page["next_cursor"]
    # One metering batch of 24 hourly records sits at one log position: a page never splits it.
    assert [len(p) for p in pages] == [24]
    assert len({u["record_id"] for p in pages for u in p}) == 24
    assert sum(Decimal(u["gpu_hours"]) for p in pages for u in p) == Decimal(36)
    # The tenant lists read the tenant-index projection: min_position waits for the invoice.
    invoices = ok(c.get(f"/v1/tenants/{tenant['id']}/invoices", headers=bearer(me),
                        params={"min_position": issued_at}), 200)
    assert [i["id"] for i in invoices["items"]] == [invoice["id"]]

    first = ok(c.get(f"/v1/audit/aggregates/{future['id']}", headers=bearer(auditor), params={"as_of": "1"}), 200)
    assert first["version"] == 1 and first["state"]["end"].startswith("2027-01-02")
    now = ok(c.get(f"/v1/audit/aggregates/{future['id']}", headers=bearer(auditor)), 200)
    assert now["version"] == 3 and now["state"]["cancelled_at"] is not None
    events = ok(c.get("/v1/audit/events", headers=bearer(auditor), params={"limit": 5}), 200)
    assert [e["position"] for e in events["items"]] == sorted(e["position"] for e in events["items"])
    assert events["items"][0]["fields"]["country"] == "GB"
    verified = ok(c.post("/v1/audit/verify", headers=bearer(auditor)), 200)
    assert verified["ok"] and verified["checked"] >= position
    assert (verified["document_numbers"], verified["document_sequences"]) == (1, 1)  # the one invoice, numbered
