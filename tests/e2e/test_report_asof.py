"""Reports as of a past point over HTTP (`?as_of=`) and the CLI (`--as-of`): finance and auditor
only, the report as it stood then, bad values refused naming `as_of`."""

from __future__ import annotations

import pytest

from projections.registry import REPORTS
from tests.e2e.cli_process import ledger, one_line
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, build_capacity, register_tenant, reserve


def test_a_report_as_of_a_past_position_is_what_it_was_then(any_api: Api) -> None:
    c, finance, auditor = any_api.client, any_api.tokens["finance"], any_api.tokens["auditor"]
    site = build_capacity(c, any_api.operator)["site"]["id"]
    tenant = register_tenant(c, any_api.operator)["id"]
    before = int(c.get("/ready").json()["head"])
    booked = c.post("/v1/reservations", headers=bearer(any_api.operator, "r-1"), json={
        "site_id": site, "tenant_id": tenant, "model": "H100-SXM", "gpus": 2, "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-02T00:00:00Z", "backfill": True})
    after = int(booked.headers["Ledger-Position"])
    now = c.get("/v1/reports/billing", headers=bearer(finance), params={"min_position": after}).json()
    assert now["rows"], now
    then = c.get("/v1/reports/billing", headers=bearer(finance), params={"as_of": str(before)})
    assert then.status_code == 200, then.text
    assert then.json()["rows"] == [] and then.json()["position"] == before
    at = c.get("/v1/reports/billing", headers=bearer(auditor), params={"as_of": str(after)}).json()
    assert at["rows"] == now["rows"] and at["position"] == after
    as_csv = c.get("/v1/reports/billing", headers={**bearer(auditor), "Accept": "text/csv"}, params={"as_of": after})
    assert as_csv.text.splitlines()[0].split(",") == list(now["rows"][0])  # names beside ids, then the columns
    assert set(as_csv.text.splitlines()[0].split(",")) == {"tenant"} | {col.name for col in REPORTS["billing"].columns}
    assert len(as_csv.text.splitlines()) == 1 + len(now["rows"]) + len(now["totals"])  # rows, then a line per total
    assert at["totals"] == now["totals"]
    # every report of the registry answers as of a position
    for name in REPORTS:
        assert c.get(f"/v1/reports/{name}", headers=bearer(finance), params={"as_of": after}).status_code == 200, name


def test_as_of_is_for_finance_and_auditors_only(sqlite_api: Api) -> None:
    c = sqlite_api.client
    site = build_capacity(c, sqlite_api.operator)["site"]["id"]
    tenant = register_tenant(c, sqlite_api.operator)["id"]
    reserve(c, sqlite_api.operator, site, tenant_id=tenant)
    tenant_token = sqlite_api.tenant_token(tenant)
    for token in (tenant_token, sqlite_api.operator):
        refused = c.get("/v1/reports/billing", headers=bearer(token), params={"as_of": "1"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("/forbidden")
        assert c.get("/v1/reports/billing", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("bad", ["yesterday", "-1", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "1.5", "٣",
                                 "99999999", "x" * 65])
def test_a_bad_as_of_is_a_422_naming_it(sqlite_api: Api, bad: str) -> None:
    c = sqlite_api.client
    build_capacity(c, sqlite_api.operator)
    refused = c.get("/v1/reports/billing", headers=bearer(sqlite_api.tokens["finance"]), params={"as_of": bad})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"].endswith("/invalid-input") and problem["field"] == "as_of", problem


@pytest.mark.slow  # runs `ledger` as a child process
@pytest.mark.slow  # runs `ledger` as a child process
def test_the_cli_prints_a_report_as_of_a_position_or_refuses_in_one_line(sqlite_url: str) -> None:
    from bootstrap import open_ledger
    from tests.builders import SimClock, fleet
    from tests.builders import reserve as book

    store = open_ledger(sqlite_url, clock=SimClock())
    try:
        f = fleet(store)
        before = store.max_position()
        book(f, 2, 10, 20)
        after = store.max_position()
    finally:
        store.close()
    empty = ledger("report", "billing", "--as-of", str(before), "--format", "csv", "--db", sqlite_url)
    assert empty.returncode == 0, empty.stderr
    assert len(empty.stdout.splitlines()) == 1 and f"as of log position {before}" in empty.stderr
    full = ledger("report", "billing", "--as-of", str(after), "--format", "csv", "--db", sqlite_url)
    assert len(full.stdout.splitlines()) == 3, full.stdout  # header, the line, its total
    assert full.stdout.splitlines()[2].startswith("Total,"), full.stdout
    by_time = ledger("report", "billing", "--as-of", "2030-01-01T00:00:00Z", "--format", "csv", "--db", sqlite_url)
    assert by_time.stdout == full.stdout
    for bad in ("yesterday", "2026-01-01T00:00:00", str(after + 1)):
        assert "as_of" in one_line(ledger("report", "billing", "--as-of", bad, "--db", sqlite_url))
