"""`service_start` on signing a contract, over HTTP (POST /v1/contracts) and the CLI (`ledger
contract sign --service-start`): optional (default the term's first day), recorded and shown; a
bad date is a 422 problem naming the field over HTTP and one line naming it on the CLI, and
records nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bootstrap import open_ledger
from cli.main import run
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, ok, register_tenant


def month(offset: int) -> str:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_http_service_start_default_explicit_and_problems(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    tenant, other = register_tenant(c, op), register_tenant(c, op, "Other")
    body = {"tenant_id": tenant["id"], "period": "quarter", "term_start": month(1), "term_end": month(3),
            "amount": "900.00"}
    for change in ({"service_start": f"{month(4)}-01"}, {"service_start": f"{month(0)}-28"},
                   {"service_start": f"{month(1)}-32"}, {"service_start": "soon"}, {"service_start": 20990101}):
        answer = c.post("/v1/contracts", headers=bearer(op), json={**body, **change})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "service_start" in answer.text and "Ledger-Position" not in answer.headers
    assert ok(c.get(f"/v1/tenants/{tenant['id']}/contracts", headers=bearer(op)), 200) == []
    default = ok(c.post("/v1/contracts", headers=bearer(op), json=body))
    assert default["service_start"] == f"{month(1)}-01"
    explicit = ok(c.post("/v1/contracts", headers=bearer(op),
                         json={**body, "tenant_id": other["id"], "service_start": f"{month(2)}-15"}))
    assert explicit["service_start"] == f"{month(2)}-15" and explicit["settled"] == []


def test_cli_service_start(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--db", database_url]) == 0
    ledger = open_ledger(database_url)
    try:
        tenant = str(ledger.register_tenant(name="Anchor", billing_currency="USD", rates={"H100-SXM": "2.5"}).id)
        before = ledger.max_position()
    finally:
        ledger.close()
    capsys.readouterr()
    sign = ["contract", "sign", "--db", database_url, "--tenant", tenant, "--period", "month", "--from", month(1),
            "--to", month(2), "--amount", "3100.00"]
    for bad in (f"{month(3)}-01", "2026-02-30", "tomorrow"):
        assert run([*sign, "--service-start", bad]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: service_start") and error.count("\n") == 1, error
    ledger = open_ledger(database_url)
    assert ledger.max_position() == before
    ledger.close()
    assert run([*sign, "--service-start", f"{month(2)}-11"]) == 0
    capsys.readouterr()
    assert run(["contract", "list", "--db", database_url, "--tenant", tenant, "--format", "json"]) == 0
    periods = json.loads(capsys.readouterr().out)
    first = periods[0]
    assert (first["period_start"], first["commitment"], first["served_days"]) == (month(1), "0.00", 0)
    assert periods[1]["served_days"] == periods[1]["period_days"] - 10
