"""Generated hostile values in every parameter of every operation, by input class, on both stores.

The operations and their parameters (path, query, header and every scalar body field) come from
``app.openapi()``; hypothesis generates the values. Each class was a 500 once:

- NUL anywhere in a text value (PostgreSQL refuses NUL in text);
- non-ASCII decimal digits where a number is read ("²".isdigit() is true, int() refuses it; "٣"
  is even accepted by int());
- aware times whose UTC conversion leaves the years 1-9999 (0001-01-01T00:00:00+14:00,
  9999-12-31T23:00:00-05:00) or falls where "the month after" does not exist (9999-12);
- months whose successor does not exist (9999-12) or that do not exist (0000-xx).

Each answer must be a 422 problem+json naming the parameter, and the log's head must not move.
A last test sends values from a general hostile alphabet to every parameter and asserts only:
never a 5xx, every refusal a problem, and a refusal records nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from bootstrap import create_app, open_ledger
from domain import Ledger
from tests.e2e.conftest import Api, settings_for
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant
from tests.reliability.openapi_routes import Operation, Param, dotted, example_body, leaves, operations, with_value

PROBLEM = "application/problem+json"
EXAMPLES = 120  # per class and store
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Target:
    """One place a value can go: a parameter (path, query, header) or a body field."""

    op: Operation
    location: str  # path | query | header | body
    name: str  # as the problem's ``field`` names it
    schema: dict[str, Any]
    body_path: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return f"{self.op.method.upper()} {self.op.path} {self.location}:{self.name}"


def targets(keep: Callable[[Target], bool]) -> list[Target]:
    found: list[Target] = []
    for op in operations():
        for param in op.params:
            if param.name == "Idempotency-Key":
                continue  # checked by its own rule (printable, <= 200); NUL covered in the general test
            found.append(Target(op, param.location, param.name, param.schema))
        if op.body is not None:
            for path, schema in leaves(op.body):
                found.append(Target(op, "body", dotted(path), schema, path))
    chosen = [t for t in found if keep(t)]
    assert chosen, "no parameter of this class in the OpenAPI document"
    return chosen


def is_time(t: Target) -> bool:
    """A time: a date-time, or a report range end (a month, a day or a time: its pattern says T)."""
    return t.schema.get("format") == "date-time" or "[T " in str(t.schema.get("pattern", ""))


def is_month(t: Target) -> bool:
    return str(t.schema.get("pattern", "")).startswith("^[0-9]{4}-")


def is_numeric(t: Target) -> bool:
    """Read as a number: integers, decimal strings, months, version numbers."""
    return (t.schema.get("type") == "integer" or "[0-9]" in str(t.schema.get("pattern", ""))
            or t.name == "as_of")


def is_text(t: Target) -> bool:
    return t.schema.get("type") in ("string", "array", None) or "enum" in t.schema


@dataclass
class World:
    api: Api
    ids: dict[str, str]
    ledger: Ledger

    def send(self, target: Target, value: Any) -> httpx.Response:
        op, c = target.op, self.api.client
        headers = bearer(self.api.tokens.get(op.role) or self.api.operator)
        path_values: dict[str, str] = {}
        params: dict[str, Any] = {}
        body = example_body(op, self.ids)
        if target.location == "path":
            path_values[target.name] = quote(str(value), safe="")
        elif target.location == "query":
            params[target.name] = value
        elif target.location == "header":
            headers[target.name] = str(value)
        else:
            body = with_value(body, target.body_path, value)
        url = op.url(self.ids, **path_values)
        if op.method == "get":
            return c.get(url, params=params, headers=headers)
        return c.post(url, params=params, headers=headers, json=body)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))
    with TestClient(create_app(settings_for(url))) as client:
        api = Api(client, url)
        c, op = client, api.operator
        capacity = build_capacity(c, op, gpus=8)
        tenant = register_tenant(c, op, "A")
        reservation = ok(c.post("/v1/reservations", headers=bearer(op), json={
            "tenant_id": tenant["id"], "site_id": capacity["site"]["id"], "model": MODEL, "gpus": 1,
            "start": "2025-02-01T00:00:00Z", "end": "2025-02-02T00:00:00Z", "backfill": True}))
        invoice = ok(c.post("/v1/invoices", headers=bearer(api.tokens["finance"]),
                            json={"tenant_id": tenant["id"], "month": "2025-02"}))
        ids = {"round": capacity["round"]["id"], "order": capacity["order"]["id"], "site": capacity["site"]["id"],
               "tenant": tenant["id"], "reservation": reservation["id"], "invoice": invoice["id"]}
        ledger = open_ledger(url)
        # Hostile min_position values up to the head must find the projections there, not wait on
        # the follower (a lagging follower answers 503 projection-lagging, a documented retry).
        head = ledger.max_position()
        assert c.get("/v1/reports/capex", headers=bearer(op), params={"min_position": head}).status_code == 200
        assert c.get(f"/v1/tenants/{tenant['id']}/invoices", headers=bearer(op),
                     params={"min_position": head}).status_code == 200
        try:
            yield World(api, ids, ledger)
        finally:
            ledger.close()


def refused_naming(world: World, target: Target, value: Any) -> None:
    """The request is a 422 problem naming ``target``, and the log's head did not move."""
    before = world.ledger.max_position()
    try:
        response = world.send(target, value)
    except (UnicodeEncodeError, httpx.InvalidURL, httpx.LocalProtocolError):
        reject()  # the client cannot send it (a header outside latin-1, say)
    assert response.status_code == 422, (target, value, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM), (target, value)
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("/invalid-input"), problem
    assert str(problem.get("field", "")).lower() == target.name.lower(), (target, value, problem)
    assert "ledger-position" not in response.headers
    assert world.ledger.max_position() == before, (target, value, "a refused request recorded something")


# -- the classes ---------------------------------------------------------------------------------

def with_nul(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(text, text).map(lambda pair: pair[0] + "\x00" + pair[1])


def test_nul_in_any_text_parameter_is_a_422_naming_it(world: World) -> None:
    chosen = targets(is_text)

    @SETTINGS
    @given(target=st.sampled_from(chosen), value=with_nul(st.text(max_size=8)))
    def check(target: Target, value: str) -> None:
        if target.location == "path" and ("/" in value or value.strip(".") == ""):
            reject()  # a '/' makes it another URL, not another value
        if target.location == "query" and target.schema.get("type") == "array":
            value = [value]  # type: ignore[assignment]
        refused_naming(world, target, value)

    check()


# Superscripts (No: isdigit() but not int()), Arabic-Indic, NKo and fullwidth digits (Nd: int() takes them).
NON_ASCII_DIGITS = st.text(st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1,
                           max_size=6) | st.sampled_from(
    ["\u00b2", "\u00b3", "\u00b9", "\u0663", "\u07c0", "\uff11\uff12", "2\u00b2", "\u00b2025-01"])


def test_non_ascii_digits_in_any_numeric_parameter_are_a_422_naming_it(world: World) -> None:
    chosen = targets(is_numeric)

    @SETTINGS
    @given(target=st.sampled_from(chosen), value=NON_ASCII_DIGITS)
    def check(target: Target, value: str) -> None:
        refused_naming(world, target, value)

    check()


def offsets(low: int, high: int) -> st.SearchStrategy[timezone]:
    return st.integers(low, high).map(lambda minutes: timezone(timedelta(minutes=minutes)))


# Aware times whose UTC conversion leaves the years 1-9999 or lands within the margin at either
# end (the first day of year 1; from 9999-11 on, where "the month after the month after" is gone).
EXTREME_TIMES = st.one_of(
    st.builds(lambda local, tz: local.replace(tzinfo=tz),
              st.datetimes(datetime(1, 1, 1), datetime(1, 1, 1, 23, 59)), offsets(1, 23 * 60 + 59)),
    st.builds(lambda local, tz: local.replace(tzinfo=tz),
              st.datetimes(datetime(9999, 11, 1), datetime(9999, 12, 31, 23, 59)), offsets(-(23 * 60 + 59), 0)),
    st.datetimes(datetime(9999, 11, 1), datetime(9999, 12, 31, 23, 59, 59), timezones=st.just(UTC)),
).filter(lambda moment: moment.year != 1 or moment.utcoffset() != timedelta(0))


def test_times_outside_the_utc_years_are_a_422_naming_the_field(world: World) -> None:
    chosen = targets(is_time)
    assert {t.name for t in chosen} >= {"start", "end", "records[0].hour", "effective_from", "from", "to"}

    @SETTINGS
    @given(target=st.sampled_from(chosen), moment=EXTREME_TIMES)
    def check(target: Target, moment: datetime) -> None:
        refused_naming(world, target, moment.isoformat())

    check()


def test_the_month_after_9999_12_and_month_zero_are_a_422_naming_the_field(world: World) -> None:
    chosen = targets(lambda t: is_month(t) or is_time(t))
    months = st.sampled_from(["9999-12"]) | st.integers(1, 12).map(lambda m: f"0000-{m:02d}")
    last_month_times = st.datetimes(datetime(9999, 12, 1), datetime(9999, 12, 31, 23, 59, 59),
                                    timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))

    @SETTINGS
    @given(target=st.sampled_from(chosen), month=months, moment=last_month_times)
    def check(target: Target, month: str, moment: str) -> None:
        refused_naming(world, target, month if is_month(target) else moment)

    check()


# -- everything at once: only "no 5xx, and a refusal records nothing" ------------------------------

HOSTILE = st.one_of(
    st.text(),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Nd", "No", "Zs", "Cf"])),
    NON_ASCII_DIGITS,
    EXTREME_TIMES.map(datetime.isoformat),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["\x00", "'; DROP TABLE stored_events; --", "9" * 400, "1e309", "NaN", "-0", "", " ",
                     "\ud800", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0000-00", "9999-12"]),
)


def test_hostile_values_in_every_parameter_never_get_a_5xx(world: World) -> None:
    chosen = targets(lambda t: True) + [
        Target(op, "header", p.name, p.schema) for op in operations() for p in op.params
        if p.name == "Idempotency-Key"]
    counts = {"sent": 0, "refused": 0}

    @settings(SETTINGS, max_examples=EXAMPLES * 3)
    @given(target=st.sampled_from(chosen), value=HOSTILE)
    def check(target: Target, value: str) -> None:
        if target.location == "path" and ("/" in value or value.strip(".") == ""):
            reject()
        before = world.ledger.max_position()
        try:
            response = world.send(target, value)
        except (UnicodeEncodeError, httpx.InvalidURL, httpx.LocalProtocolError):
            reject()
        counts["sent"] += 1
        assert response.status_code < 500, (target, value, response.status_code, response.text[:300])
        if response.status_code >= 400:
            counts["refused"] += 1
            assert response.headers["content-type"].startswith(PROBLEM), (target, value, response.text[:200])
            assert world.ledger.max_position() == before, (target, value, "a refused request recorded something")

    check()
    print(f"hostile parameters: {counts['sent']} requests over {len(chosen)} parameters, "
          f"{counts['refused']} refused, no 5xx")


def test_every_operation_has_parameters_under_test() -> None:
    """The targets cover every operation of the document (a new route is fuzzed the day it lands)."""
    covered = {(t.op.method, t.op.path) for t in targets(lambda t: True)}
    allowed_without = {("post", "/v1/reservations/{reservation_id}/cancellation")}  # path id only: covered
    everything = {(op.method, op.path) for op in operations()}
    assert everything - covered <= allowed_without | covered
    assert len(everything) >= 25, sorted(everything)


_ = Param  # re-exported for readers of this module's targets
