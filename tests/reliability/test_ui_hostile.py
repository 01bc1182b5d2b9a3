"""Hostile query strings and form bodies on every dashboard route never get a 5xx and never move
the log. The routes come from the app (every GET and POST under /ui), the parameter names from the
registry's filters and the pages' own; values are drawn by hypothesis (NUL, digits of other
scripts, huge numbers, times with extreme offsets, plain garbage)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import create_app
from projections.registry import REPORTS
from tests.e2e.conftest import Api, settings_for
from tests.e2e.test_ui import sign_in

PAGE_PARAMETERS = ["cursor", "limit", "topic", "aggregate_id", "as_of", "usage_after", "reservations_after", "csrf",
                   "token"]
NAMES = sorted({f.name for r in REPORTS.values() for f in r.filters} | set(PAGE_PARAMETERS))
VALUES = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(["\x00", "٣", "2025-13", "9999-12", "0001-01-01T00:00:00+14:00", "-1", "1e309",
                     "99999999999999999999", "00000000-0000-0000-0000-000000000000", "hour", "../../etc/passwd",
                     "%00"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = str(tmp_path_factory.mktemp("hostile") / "ledger.db")
    from bootstrap import init_store

    init_store(url)
    app = create_app(settings_for(url))
    with TestClient(app) as client:
        api = Api(client, url)
        routes = [(method, context.path_format) for context in iter_route_contexts(app.routes)
                  if context.path_format.startswith("/ui") for method in sorted(context.methods or ())]
        assert routes
        yield {"api": api, "routes": routes, "client": client}


def concrete(path: str, name: str) -> str:
    return path.replace("{name}", name)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_hostile_parameter_gets_a_5xx(signed: dict[str, Any], data: st.DataObject) -> None:
    api: Api = signed["api"]
    role = data.draw(st.sampled_from(["finance", "auditor", "operator"]))
    sign_in(api, api.tokens[role])
    method, path = data.draw(st.sampled_from(signed["routes"]))
    path = concrete(path, data.draw(st.sampled_from([*REPORTS, "nope", "x" * 300])))
    params = data.draw(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
    ledger = signed["client"].app.state.services.ledger
    before = ledger.recorder.max_notification_id()
    if method == "GET":
        answer = api.client.get(path, params=params, follow_redirects=False)
    else:
        answer = api.client.post(path, data=params, follow_redirects=False)
    assert answer.status_code < 500, (method, path, params, answer.text[:300])
    assert ledger.recorder.max_notification_id() == before
