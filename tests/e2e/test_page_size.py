"""The lists' page size comes from the settings: ``LEDGER_PAGE_SIZE`` when a request names no
``limit``, ``LEDGER_MAX_PAGE_SIZE`` the most it may name (422 naming ``limit`` above it). The
lists are found in the app's own OpenAPI document (every GET that takes ``limit``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from bootstrap import create_app
from config.settings import Settings
from tests.e2e.conftest import Api, settings_for
from tests.e2e.scenario import bearer, build_capacity, register_tenant, reserve
from tests.e2e.test_errors import problem

PAGE, MAX = 2, 3


@pytest.fixture
def small_pages(sqlite_url: str) -> Iterator[tuple[Api, dict[str, str]]]:
    """A ledger whose lists page by 2 (at most 3), with a tenant holding four of each thing."""
    with TestClient(create_app(settings_for(sqlite_url, page_size=PAGE, max_page_size=MAX))) as client:
        api = Api(client, sqlite_url)
        site = build_capacity(client, api.operator)["site"]["id"]
        tenant = register_tenant(client, api.operator)["id"]
        for day in range(1, 9, 2):
            reserve(client, api.operator, site, tenant_id=tenant, day=day, backfill=True)
        yield api, {"tenant_id": tenant}


def list_paths(app: Any, ids: dict[str, str]) -> list[str]:
    """Every GET of the API that takes ``limit``, with its path parameters filled in."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        if any(p["name"] == "limit" and p["in"] == "query" for p in parameters):
            found.append(path.format(**ids))
    return found


def test_each_list_pages_by_the_settings(small_pages: tuple[Api, dict[str, str]]) -> None:
    api, ids = small_pages
    paths = list_paths(api.client.app, ids)  # type: ignore[union-attr]
    assert len(paths) >= 4 and "/v1/audit/events" in paths
    auth = bearer(api.tokens["auditor"])
    for path in paths:
        unnamed = api.client.get(path, headers=auth)
        assert unnamed.status_code == 200, (path, unnamed.text)
        if path.endswith("/reservations") or path.endswith("/events"):  # more than a page of them exists
            assert len(unnamed.json()["items"]) == PAGE and unnamed.json()["next_cursor"] is not None, path
        assert api.client.get(path, headers=auth, params={"limit": MAX}).status_code == 200, path
        body = problem(api.client.get(path, headers=auth, params={"limit": MAX + 1}), 422, "invalid-input")
        assert body["field"] == "limit" and "LEDGER_MAX_PAGE_SIZE" in body["detail"], (path, body)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.one_of(st.integers(min_value=-3, max_value=20_000), st.text(max_size=6),
                       st.sampled_from([" 2", "+3", "2.0", "4", "0", "\uff12", "1e0"])))
def test_any_limit_is_a_page_of_at_most_that_or_a_422_naming_it(small_pages: tuple[Api, dict[str, str]],
                                                                limit: int | str) -> None:
    api, _ = small_pages
    answer = api.client.get("/v1/audit/events", headers=bearer(api.tokens["auditor"]), params={"limit": limit})
    try:  # what the query parser makes of it (" 2", "+2" and "2.0" are 2): the bound is what is tested here
        wanted: int | None = TypeAdapter(int).validate_python(limit)
    except ValidationError:
        wanted = None
    if wanted is not None and 1 <= wanted <= MAX:
        assert answer.status_code == 200, answer.text
        assert 1 <= len(answer.json()["items"]) <= wanted
    else:
        assert problem(answer, 422, answer.json()["type"].rsplit("/", 1)[1])["field"] == "limit", answer.text


def test_a_largest_page_below_the_default_page_is_refused() -> None:
    with pytest.raises(ValueError, match="LEDGER_PAGE_SIZE"):
        Settings(page_size=50, max_page_size=20)
