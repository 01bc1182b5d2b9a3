"""One read operation, every edge: for every report of the registry, on a small demo history, the
command line's JSON (``ledger report NAME --format json``), ``GET /v1/reports/NAME`` live, the same
as of the head (``as_of=<position>``) and the dashboard's CSV (``/ui/csv/NAME``) are equal -- the
same rows in the same order with the same values, and the same totals.

The CSV is compared as it renders the JSON values (``str`` of each, null empty; a totals line per
totals object, ``Total`` -- ``Consolidated`` for a consolidated total -- in its first empty
cell). No report may be left out: the test fails if the registry has a report it did not read,
or one whose answer has no rows (an empty answer proves nothing)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bootstrap import create_app
from cli.demo.runner import build_history
from cli.main import app as cli_app
from projections.registry import REPORT_NAMES, REPORTS
from tests.conftest import postgres_admin_url
from tests.e2e.conftest import Api, settings_for
from tests.e2e.test_ui import sign_in
from tests.postgres_server import schema_url, scratch_schema

MONTHS, SEED = 2, 7
READ: set[tuple[str, str]] = set()  # (store, report) the parity test compared


@dataclass
class Demo:
    store: str
    api: Api
    cli: dict[str, dict[str, Any]] = field(default_factory=dict)  # report -> the CLI's JSON answer


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo history on SQLite, and on PostgreSQL (where a replay's decimal sums may carry
    another scale than the live tables': the answers must still be equal)."""
    if request.param == "sqlite":
        yield from _demo(str(tmp_path_factory.mktemp("parity") / "ledger.db"))
        return
    admin = postgres_admin_url()
    with scratch_schema(admin, "t_parity_") as schema:
        yield from _demo(schema_url(admin, schema))


def _demo(url: str) -> Iterator[Demo]:
    build_history(url, months=MONTHS, scale="small", seed=SEED)
    runner = CliRunner()
    # dunning today (after the demo's calendar): its invoices not yet paid are overdue by now
    assert runner.invoke(cli_app, ["dunning", "run", "--db", url]).exit_code == 0
    answers: dict[str, dict[str, Any]] = {}
    for name in REPORT_NAMES:  # before the server starts: nothing moves while the CLI reads
        result = runner.invoke(cli_app, ["report", name, "--db", url, "--format", "json"])
        assert result.exit_code == 0, (name, result.output)
        answers[name] = json.loads(result.stdout)
    with TestClient(create_app(settings_for(url))) as client:
        api = Api(client, url)
        assert sign_in(api, api.tokens["finance"]).status_code == 303
        yield Demo("sqlite" if "://" not in url else "postgres", api, answers)


def text(value: Any) -> str:
    """A JSON value as the CSV writes it."""
    return "" if value is None else str(value)


def csv_of(answer: dict[str, Any]) -> list[list[str]]:
    """The CSV lines the JSON answer stands for: header, rows, a totals line per totals object."""
    columns = list(answer["rows"][0])
    lines = [columns] + [[text(row.get(c)) for c in columns] for row in answer["rows"]]
    for total in answer["totals"]:
        line = [text(total.get(c)) for c in columns]
        label = "Consolidated" if total.get("consolidated") else "Total"
        lines.append([label, *line[1:]] if line[0] == "" else line)
    return lines


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in ("report", "position", "rows", "totals")}


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_edge_gives_the_same_answer(demo: Demo, name: str) -> None:
    c, finance = demo.api.client, {"Authorization": f"Bearer {demo.api.tokens['finance']}"}
    cli = demo.cli[name]
    assert cli["rows"], f"{name}: the demo history gives no rows; the parity proves nothing"
    live = c.get(f"/v1/reports/{name}", headers=finance)
    assert live.status_code == 200, live.text
    assert comparable(live.json()) == comparable(cli), name
    assert live.json()["provenance"]["read"] == "live"
    at_head = c.get(f"/v1/reports/{name}", params={"as_of": cli["position"]}, headers=finance)
    assert at_head.status_code == 200, at_head.text
    assert comparable(at_head.json()) == comparable(cli), name
    assert at_head.json()["provenance"]["read"] == "as_of"
    dashboard = c.get(f"/ui/csv/{name}")
    assert dashboard.status_code == 200 and dashboard.headers["content-type"].startswith("text/csv"), dashboard.text
    assert list(csv.reader(io.StringIO(dashboard.text))) == csv_of(cli), name
    READ.add((demo.store, name))


def test_no_report_is_left_out() -> None:
    """Runs after the parametrized test (file order): every report of the registry was compared
    on every store the run had."""
    assert set(REPORT_NAMES) == set(REPORTS)
    stores = {store for store, _ in READ} or {"sqlite"}
    missing = sorted((store, name) for store in stores for name in REPORTS if (store, name) not in READ)
    assert not missing, f"reports not compared on every edge: {missing}"
