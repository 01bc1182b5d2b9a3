"""schemathesis against /openapi.json: no 5xx, status codes, content types and bodies as documented.

Bounded (a few examples per operation) and derandomized, so CI runs the same cases every time.
The server runs on a SQLite store seeded with a site, a pool and a tenant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
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


def _operations() -> list[object]:
    """The app's own document (create_app opens no store until startup; the server serves it too).
    Loaded when the test runs, not at collection, which a fast-tier run (``-m "not slow"``) would
    otherwise pay for (~9 s). schemathesis' lazy ``from_fixture`` is not used: under pytest 9 it
    fails before any case runs (``'Function' object has no attribute '_nodeid'``)."""
    schema = schemathesis.openapi.from_dict(create_app(Settings(run_projector=False)).openapi())
    return [result.ok() for result in schema.get_all_operations()]


def _conformance_test(operation: object, base: str, headers: dict[str, str],
                      calls: list[str]) -> Callable[[], None]:
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def conforms(case: object) -> None:
        case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)  # type: ignore[attr-defined]
        calls.append(case.method)  # type: ignore[attr-defined]
    return conforms  # type: ignore[no-any-return]


def test_every_operation_conforms(fuzz_server: tuple[str, Api]) -> None:
    base, api = fuzz_server
    operations = _operations()
    assert len(operations) > 20, "the document lists the API's operations"
    failures: list[str] = []
    calls: list[str] = []
    for operation in operations:
        path = operation.path  # type: ignore[attr-defined]
        role = next((r for prefix, r in ROLE_BY_PREFIX if path.startswith(prefix)), "operator")
        conforms = _conformance_test(operation, base, {"Authorization": f"Bearer {api.tokens[role]}"},
                                     calls)
        try:
            conforms()
        except Exception as error:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {str(error)[:2000]}")  # type: ignore[attr-defined]
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= 2 * len(operations), f"{len(calls)} cases ran for {len(operations)} operations"
