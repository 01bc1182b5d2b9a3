"""Every report in the registry is served over HTTP with its declared columns, and every request
is bounded: a range beyond a report's limit is a 422 naming the field and the limit, never a
500 and never work that grows with the range asked."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.queries import columns_of, total_columns
from projections.registry import REPORTS
from projections.reports.base import MAX_MONTHS, MAX_SPAN_HOURS
from tests.e2e.conftest import Api
from tests.e2e.scenario import MODEL, bearer, build_capacity, register_tenant

UTC = UTC


def test_every_report_in_the_registry_has_a_route_with_its_filters(sqlite_api: Api) -> None:
    paths = sqlite_api.client.get("/openapi.json").json()["paths"]
    for name, report in REPORTS.items():
        route = paths.get(f"/v1/reports/{name}")
        assert route is not None and "get" in route, f"report {name} has no HTTP route"
        params = {p["name"] for p in route["get"].get("parameters", []) if p["in"] == "query"}
        assert {f.name for f in report.filters} <= params, name
        for column in report.columns:
            assert f"`{column.name}`" in route["get"]["description"], (name, column.name)


def test_every_report_answers_with_its_declared_columns(sqlite_api: Api) -> None:
    c, finance = sqlite_api.client, sqlite_api.tokens["finance"]
    site = build_capacity(c, sqlite_api.operator)["site"]["id"]
    tenant = register_tenant(c, sqlite_api.operator)["id"]
    booked = c.post("/v1/reservations", headers=bearer(sqlite_api.operator), json={
        "site_id": site, "tenant_id": tenant, "model": MODEL, "gpus": 2, "start": "2025-03-01T00:00:00Z",
        "end": "2025-03-03T00:00:00Z", "backfill": True})
    position = int(booked.headers["Ledger-Position"])
    for name, report in REPORTS.items():
        body = c.get(f"/v1/reports/{name}", headers=bearer(finance), params={"min_position": position})
        assert body.status_code == 200, (name, body.text)
        rows = body.json()["rows"]
        declared = columns_of(report)  # the declared columns, a name before each id it names
        assert set(declared) - {col.name for col in report.columns} <= {"site", "tenant"}, name
        assert all(list(row) == declared for row in rows), name
        schema = sqlite_api.client.app.openapi()["components"]["schemas"]  # type: ignore[union-attr]
        assert list(schema[f"{name.title().replace('_', '')}ReportRow"]["properties"]) == declared, name
        totalled = {"currency", "reporting_currency", "consolidated"} | {col.name for col in total_columns(report)}
        assert all(set(total) <= totalled for total in body.json()["totals"]), name
        as_csv = c.get(f"/v1/reports/{name}", headers={**bearer(finance), "Accept": "text/csv"})
        assert as_csv.text.splitlines()[0].split(",") == declared, name


moments = st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=moments, span_hours=st.integers(1, 24 * 365 * 60), granularity=st.sampled_from(["hour", "day", "month"]),
       name=st.sampled_from(sorted(n for n, r in REPORTS.items() if r.filter("from"))))
def test_any_range_is_answered_or_refused_by_its_bound_quickly(sqlite_api: Api, start: datetime, span_hours: int,
                                                                granularity: str, name: str) -> None:
    c, finance = sqlite_api.client, sqlite_api.tokens["finance"]
    end = start + timedelta(hours=span_hours)
    params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
    monthly = REPORTS[name].monthly
    if not monthly:
        params["granularity"] = granularity
    began = time.monotonic()
    response = c.get(f"/v1/reports/{name}", headers=bearer(finance), params=params)
    assert time.monotonic() - began < 2.0
    assert response.status_code in (200, 422), response.text
    too_long = (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_MONTHS \
        if monthly or granularity == "month" else span_hours > MAX_SPAN_HOURS[granularity]
    if response.status_code == 422:
        problem = response.json()
        assert problem["type"].endswith("/invalid-input")
        assert problem.get("field") in ("to", "from"), problem
    else:
        assert not too_long, f"{name} {granularity} over {span_hours} hours was answered"
