"""schemathesis against /openapi.json: no 5xx, status codes, content types and bodies as documented.

Bounded (a few examples per operation) and derandomized, so CI runs the same cases every time.
The server runs on a SQLite store seeded with a site, a pool and a tenant.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bootstrap import create_app  # noqa: E402
from config.settings import Settings  # noqa: E402
from tests.conftest import spawns  # noqa: E402
from tests.e2e.conftest import Api, ServerThread  # noqa: E402
from tests.e2e.scenario import build_capacity, register_tenant  # noqa: E402

EXAMPLES = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLE_BY_PREFIX = [("/v1/audit", "auditor"), ("/v1/usage", "meter"), ("/v1/invoices", "finance"),
                  ("/v1/reports", "finance")]


pytestmark = pytest.mark.slow  # a uvicorn server (the fuzz_server fixture) and ~100 generated cases


@pytest.fixture(scope="module")
@spawns  # a uvicorn server
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Api]]:
    url = str(tmp_path_factory.mktemp("fuzz") / "ledger.db")
    with ServerThread(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        api = Api(client, url)
        build_capacity(client, api.operator, gpus=8)
        register_tenant(client, api.operator)
        yield base, api


@pytest.fixture(scope="module")
def fuzz_schema() -> object:
    """The document is the app's own (create_app opens no store until startup); the server serves
    it too. Loaded by a fixture, so the cases are made when the test runs, not at collection (which
    a fast-tier run, ``-m "not slow"``, would otherwise pay for: ~9 s)."""
    return schemathesis.openapi.from_dict(create_app(Settings(run_projector=False)).openapi())


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: object, fuzz_server: tuple[str, Api]) -> None:
    base, api = fuzz_server
    path = case.path  # type: ignore[attr-defined]
    role = next((r for prefix, r in ROLE_BY_PREFIX if path.startswith(prefix)), "operator")
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {api.tokens[role]}"},  # type: ignore[attr-defined]
                           checks=CHECKS)
