"""The API's operations as its own OpenAPI document lists them, with a valid request for each.

Tests take their route lists from here (``app.openapi()``), never from a hand-typed table, so a
new route is covered the day it is added. A request is built from the operation's schema: values
come from ``VALUES`` (by field name: what makes a body meaningful in the test world) or else from
the schema itself (an example, the first enum member, a type default); ids come from the world
the test built (``ids``: round, order, site, tenant, reservation, invoice).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from bootstrap import create_app
from config.settings import Settings
from tests.e2e.scenario import MODEL

T0 = "2025-01-01T00:00:00Z"
# Values by field name: what a body needs to make sense in the world tests build.
VALUES: dict[str, Any] = {
    "effective_from": T0, "opened_at": T0, "received_at": T0, "placed_at": T0, "delivered_at": T0,
    "commissioned_at": T0, "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z",
    "hour": "2027-01-01T00:00:00Z", "gpu_hours": "1", "month": "2025-02", "country": "GB", "currency": "USD",
    "billing_currency": "USD", "model": MODEL, "rates": {MODEL: "2"}, "quantity": 1, "gpus": 1, "amount": "10",
    "investor": "Fund X", "unit_price": "1", "grid_intensity_g_per_kwh": "200", "pue": "1.2",
    "carbon_free_share": "0.5", "earlier_head": "1:" + "0" * 64,
}
# An id field or path parameter -> the key of ``ids`` that holds it.
ID_OF = {"tenant_id": "tenant", "site_id": "site", "funding_round_id": "round", "round_id": "round",
         "order_id": "order", "reservation_id": "reservation", "invoice_id": "invoice", "aggregate_id": "tenant"}
# A path id the world has none of (e.g. a contract): well-formed, so the route is reached (404).
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Param:
    name: str
    location: str  # path | query | header
    schema: dict[str, Any]


@dataclass
class Operation:
    method: str
    path: str
    roles: list[str]
    params: list[Param] = field(default_factory=list)
    body: dict[str, Any] | None = None  # the resolved request-body schema

    @property
    def role(self) -> str:
        """A staff role that may call it (staff see every tenant), else the first allowed."""
        for role in ("operator", "finance", "auditor", "meter"):
            if role in self.roles:
                return role
        return self.roles[0]

    def url(self, ids: dict[str, str], **path_values: str) -> str:
        url = self.path
        for param in self.params:
            if param.location == "path":
                if param.name in path_values:
                    value = path_values[param.name]
                elif param.name in ID_OF:
                    value = ids.get(ID_OF[param.name], MISSING_ID)
                elif param.name in VALUES:  # a path parameter that is no id (a pool's GPU model)
                    value = str(VALUES[param.name])
                else:  # an id the world has none of (a contract): well-formed, so the route is reached
                    value = MISSING_ID
                url = url.replace("{" + param.name + "}", value)
        return url


@cache
def document() -> str:
    """The OpenAPI document as JSON text (built once; an app does not need a store to describe itself)."""
    app: FastAPI = create_app(Settings(database_url="unused.db"))
    return json.dumps(app.openapi())


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """``$ref`` followed, ``anyOf`` with null reduced to its other branch, recursively."""
    if "$ref" in schema:
        return resolve(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        if len(branches) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**resolve(branches[0], components), **merged}
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: resolve(v, components) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = resolve(out["items"], components)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = resolve(out["additionalProperties"], components)
    return out


def operations(*, methods: tuple[str, ...] = ("get", "post"), authenticated: bool = True) -> list[Operation]:
    """Every operation of the API (those needing a token when ``authenticated``)."""
    doc = json.loads(document())
    components = doc.get("components", {}).get("schemas", {})
    found: list[Operation] = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in methods or (authenticated and not op.get("x-roles")):
                continue
            params = [Param(p["name"], p["in"], resolve(p.get("schema", {}), components))
                      for p in op.get("parameters", [])]
            body = None
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content is not None:
                body = resolve(content["schema"], components)
            found.append(Operation(method, path, op.get("x-roles", []), params, body))
    return found


def value_for(name: str, schema: dict[str, Any], ids: dict[str, str], *, optional: bool) -> Any:
    if name == "record_id":
        return str(uuid4())
    if name in ID_OF:
        return ids[ID_OF[name]]
    if name in VALUES:
        return VALUES[name]
    return example_of(schema, ids, optional=optional)


def example_of(schema: dict[str, Any], ids: dict[str, str], *, optional: bool) -> Any:
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        return {name: value_for(name, sub, ids, optional=optional)
                for name, sub in schema.get("properties", {}).items()
                if optional or name in required or name in ID_OF}
    if kind == "array":
        return [example_of(schema["items"], ids, optional=optional)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return T0
    return "x"


def example_body(op: Operation, ids: dict[str, str], *, optional: bool = False) -> Any:
    """A valid body for ``op`` (None if it takes none); optional fields too when ``optional``."""
    if op.body is None:
        return None
    return example_of(op.body, ids, optional=optional)


def leaves(schema: dict[str, Any], path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every scalar field of a body schema as (path into the body, its schema); arrays at [0]."""
    if "properties" in schema:
        for name, sub in schema["properties"].items():
            yield from leaves(sub, (*path, name))
    elif schema.get("type") == "array":
        yield from leaves(schema["items"], (*path, 0))
    elif schema.get("type") == "object" or isinstance(schema.get("additionalProperties"), dict):
        return  # maps (rates): their keys and values are covered by the hostile-string test
    else:
        yield path, schema


def dotted(path: tuple[Any, ...]) -> str:
    """A body path as the problem's ``field`` names it: records[0].hour."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def with_value(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body
