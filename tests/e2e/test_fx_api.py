"""Exchange rates over HTTP: finance records them (idempotent, corrections as new events),
readers list them, the consolidated revenue report takes a reporting currency (both stores)."""

from __future__ import annotations

from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer

RATE = {"base": "EUR", "quote": "USD", "rate": "1.0842", "effective_date": "2026-10-30",
        "source": "ECB reference rate"}


def test_finance_records_rates_once_corrects_them_and_anyone_who_reads_reports_lists_them(any_api: Api) -> None:
    c, finance = any_api.client, any_api.tokens["finance"]
    first = c.post("/v1/fx-rates", headers=bearer(finance, "fx-1"), json=RATE)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "recorded" and first.headers["Ledger-Position"] == str(first.json()["position"])
    # Another key, the same fact: nothing new is recorded (no position).
    same = c.post("/v1/fx-rates", headers=bearer(finance, "fx-2"), json=RATE)
    assert same.status_code == 201 and same.json()["status"] == "unchanged" and same.json()["position"] is None
    assert "Ledger-Position" not in same.headers
    # The same key replays the first answer.
    replay = c.post("/v1/fx-rates", headers=bearer(finance, "fx-1"), json=RATE)
    assert replay.json() == first.json()
    corrected = c.post("/v1/fx-rates", headers=bearer(finance, "fx-3"), json={**RATE, "rate": "1.0850"})
    assert corrected.json()["status"] == "corrected" and corrected.json()["id"] == first.json()["id"]
    position = corrected.json()["position"]
    assert position == first.json()["position"] + 1

    listed = c.get(f"/v1/fx-rates?min_position={position}", headers=bearer(any_api.tokens["auditor"]))
    assert listed.status_code == 200
    [row] = listed.json()["items"]
    assert (row["base"], row["quote"], row["rate"], row["effective_date"], row["corrections"]) == \
        ("EUR", "USD", "1.0850", "2026-10-30", 1)


def test_only_finance_records_rates_and_bad_input_is_422_naming_the_field(any_api: Api) -> None:
    c = any_api.client
    assert c.post("/v1/fx-rates", headers=bearer(any_api.operator, "fx-op"), json=RATE).status_code == 403
    assert c.post("/v1/fx-rates", json=RATE).status_code == 401
    finance = any_api.tokens["finance"]
    for body, field in (({**RATE, "quote": "EUR"}, "quote"), ({**RATE, "rate": "0"}, "rate"),
                        ({**RATE, "effective_date": "2026-02-30"}, "effective_date"),
                        ({**RATE, "base": "XYZ"}, "base")):
        answer = c.post("/v1/fx-rates", headers=bearer(finance, f"bad-{field}"), json=body)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    assert c.get("/v1/fx-rates", headers=bearer(finance)).json()["items"] == []


def test_the_consolidated_report_takes_a_reporting_currency(any_api: Api) -> None:
    c, finance = any_api.client, any_api.tokens["finance"]
    answer = c.get("/v1/reports/revenue_consolidated?currency=EUR", headers=bearer(finance))
    assert answer.status_code == 200 and answer.json()["rows"] == []
    assert c.get("/v1/reports/revenue_consolidated?currency=XYZ", headers=bearer(finance)).status_code == 422
