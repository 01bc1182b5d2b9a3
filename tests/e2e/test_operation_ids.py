"""operationIds are the names a client calls (``confirm_reservation``, ``report_billing``), not
FastAPI's defaults (``confirm_reservation_v1_reservations_post``): unique, snake_case, with no
path or method in them; each report's route declares its own typed rows and totals."""

from __future__ import annotations

import re
from typing import Any

from bootstrap import create_app
from config.settings import Settings
from projections.queries import columns_of, total_columns
from projections.registry import REPORTS

DOCUMENT: dict[str, Any] = create_app(Settings(run_projector=False)).openapi()
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
METHODS = ("get", "post", "put", "patch", "delete")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]


def test_every_operation_id_is_unique_snake_case_and_names_no_path_or_method() -> None:
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for identifier in ids:
        assert SNAKE.match(identifier), identifier
        assert "_v1_" not in identifier and not identifier.endswith(tuple(f"_{m}" for m in METHODS)), identifier
    by_route = {(path, method): op["operationId"] for path, method, op in operations()}
    assert by_route[("/v1/reservations", "post")] == "confirm_reservation"
    for name in REPORTS:
        assert by_route[(f"/v1/reports/{name}", "get")] == f"report_{name}"


def test_each_report_declares_its_own_rows_and_totals() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name, report in REPORTS.items():
        answer = DOCUMENT["paths"][f"/v1/reports/{name}"]["get"]["responses"]["200"]["content"]["application/json"]
        model = schemas[answer["schema"]["$ref"].rsplit("/", 1)[1]]
        assert set(model["properties"]) == {"report", "position", "provenance", "rows", "totals"}, name
        row = schemas[model["properties"]["rows"]["items"]["$ref"].rsplit("/", 1)[1]]
        assert list(row["properties"]) == columns_of(report), name
        totals = schemas[model["properties"]["totals"]["items"]["$ref"].rsplit("/", 1)[1]]
        assert {c.name for c in total_columns(report)} <= set(totals["properties"]), name
        for column in report.columns:
            kinds = {t.get("type") for t in row["properties"][column.name].get("anyOf", [])}
            assert kinds == ({"integer", "null"} if column.is_count else {"string", "null"}), (name, column.name)
