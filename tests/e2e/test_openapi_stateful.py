"""schemathesis' stateful phase: chains of calls that follow the OpenAPI links (a POST's new id
fed to the operations that take it), against a live server. No 5xx, and every response as
documented (status, content type, body). Bounded: a fixed number of short scenarios, derandomized.

Each call carries a token of a role the operation admits (its ``x-roles`` in the document), so the
chains get past authorisation and reach the domain: sites, rounds, orders, tenants, reservations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
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

SCENARIOS = int(os.environ.get("LEDGER_STATEFUL_SCENARIOS", "40"))
STEPS = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PREFERENCE = ("operator", "finance", "meter", "auditor", "tenant")  # the first role an operation admits

DOCUMENT: dict[str, Any] = create_app(Settings(run_projector=False)).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Valid data only: the chains are to reach the domain; invalid input per operation is the stateless
# fuzzers' job (test_openapi_fuzz.py, tests/reliability/test_hostile_params.py).
schema.config.generation.update(modes=[GenerationMode.POSITIVE])


def role_for(method: str, path: str) -> str:
    admitted = DOCUMENT["paths"].get(path, {}).get(method.lower(), {}).get("x-roles", [])
    return next((role for role in PREFERENCE if role in admitted), "operator")


def test_links_come_from_the_routes() -> None:
    """Every POST that creates a resource links to each operation under its id (the state machine
    has something to follow)."""
    created = {path: item["post"]["responses"]["201"] for path, item in DOCUMENT["paths"].items()
               if "201" in item.get("post", {}).get("responses", {}) and "{" not in path}
    for path, response in created.items():
        takers = [p for p in DOCUMENT["paths"] if p.startswith(path + "/{")]
        linked = {link["operationId"] for link in response.get("links", {}).values()}
        expected = {op["operationId"] for p in takers for op in DOCUMENT["paths"][p].values()}
        assert linked == expected, path
    assert sum(len(r.get("links", {})) for r in created.values()) >= 10


@pytest.fixture(scope="module")
@spawns  # a uvicorn server
def stateful_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Api]]:
    url = str(tmp_path_factory.mktemp("stateful") / "ledger.db")
    with ServerThread(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        api = Api(client, url)
        build_capacity(client, api.operator, gpus=8)
        register_tenant(client, api.operator)
        yield base, api


def test_stateful_phase(stateful_server: tuple[str, Api]) -> None:
    base, api = stateful_server
    calls: list[tuple[str, int]] = []  # (path template, status)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:  # the case's own generated headers would win over kwargs
            role = role_for(case.method, case.path)
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {api.tokens[role]}"}
            if case.method == "POST":  # one key per call: a generated key reused with a new body is a 409
                case.headers["Idempotency-Key"] = uuid4().hex

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base}

        def after_call(self, response: Any, case: Any) -> None:
            calls.append((case.path, response.status_code))

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True,
                                   deadline=None, suppress_health_check=list(HealthCheck)))
    assert calls and all(status < 500 for _, status in calls)
    # Links were followed: an operation on a path id succeeds only with an id a previous call made.
    followed = [path for path, status in calls if "{" in path and status in (200, 201)]
    assert len(followed) >= 3, sorted(set(calls))
