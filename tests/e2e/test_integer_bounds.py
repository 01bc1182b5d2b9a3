"""Every integer parameter of the API (and ``as_of``), found in ``app.openapi()``, is bounded to
what storage holds: huge, negative and non-ASCII-digit values answer 422 naming the parameter,
never a 5xx (an unbounded int reached SQLite as OverflowError: 500)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Api

MAX = 2**63 - 1
OUT_OF_RANGE = ["9" * 64, str(MAX + 1), "-1", str(-(2**63) - 1)]
ODD = ["\uff11\uff12\uff13", "1e9", "٣", "²", " 7 ", "0x10", "", "+5"]


def is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(is_integer(s) for s in schema.get("anyOf", []))


def integer_parameters(document: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) for every integer path/query parameter, and ``as_of``."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query") and (
                        is_integer(parameter.get("schema", {})) or parameter["name"] == "as_of"):
                    found.append((method, path, parameter["in"], parameter["name"]))
    return sorted(found)


def call(api: Api, method: str, path: str, where: str, name: str, value: str) -> Any:
    url = path
    for piece in path.split("/"):
        if piece.startswith("{"):
            key = piece[1:-1]
            url = url.replace(piece, value if (where == "path" and key == name) else str(uuid4()))
    params = {name: value} if where == "query" else {}
    response = None
    for token in api.tokens.values():  # the first role the route lets in
        response = api.client.request(method.upper(), url, params=params, headers={"Authorization": f"Bearer {token}"},
                                      json={} if method in ("post", "put", "patch") else None)
        if response.status_code not in (401, 403):
            break
    return response


def test_the_document_has_integer_parameters(sqlite_api: Api) -> None:
    found = integer_parameters(sqlite_api.client.app.openapi())  # type: ignore[attr-defined]
    names = {name for *_, name in found}
    assert {"limit", "as_of"} <= names, names


def test_every_integer_parameter_is_bounded(sqlite_api: Api) -> None:
    found = integer_parameters(sqlite_api.client.app.openapi())  # type: ignore[attr-defined]

    @given(target=st.sampled_from(found),
           value=st.sampled_from(OUT_OF_RANGE) | st.integers(min_value=MAX + 1).map(str)
           | st.integers(max_value=-1).map(str))
    @settings(max_examples=max(60, 4 * len(found)), derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def bounded(target: tuple[str, str, str, str], value: str) -> None:
        method, path, where, name = target
        response = call(sqlite_api, method, path, where, name, value)
        assert response.status_code == 422, (target, value, response.status_code, response.text[:300])
        assert name in response.text, (target, value, response.text[:300])

    @given(target=st.sampled_from(found), value=st.sampled_from(ODD) | st.text(max_size=12))
    @settings(max_examples=max(60, 4 * len(found)), derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def never_a_server_error(target: tuple[str, str, str, str], value: str) -> None:
        method, path, where, name = target
        response = call(sqlite_api, method, path, where, name, value)
        assert response.status_code < 500, (target, value, response.status_code, response.text[:300])

    bounded()
    never_a_server_error()
