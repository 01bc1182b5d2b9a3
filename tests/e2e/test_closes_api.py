"""The month close over HTTP: finance closes an ended month once (201, then 200 already closed,
the same key replaying the first answer), bad or future months are 422 naming ``month``, only
finance closes, and readers of reports read a close back."""

from __future__ import annotations

from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer

MONTH = "2026-01"  # ended long ago by the server's clock; nothing to bill in it


def test_finance_closes_an_ended_month_once(any_api: Api) -> None:
    c, finance = any_api.client, any_api.tokens["finance"]
    assert c.get(f"/v1/closes/{MONTH}", headers=bearer(finance)).status_code == 404
    first = c.post("/v1/closes", headers=bearer(finance, "close-1"), json={"month": MONTH})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["month"] == MONTH and not body["already_closed"] and body["balances"] == []
    assert first.headers["Ledger-Position"] == str(body["position"])
    assert c.post("/v1/closes", headers=bearer(finance, "close-1"), json={"month": MONTH}).json() == body
    again = c.post("/v1/closes", headers=bearer(finance, "close-2"), json={"month": MONTH})
    assert again.status_code == 200 and again.json()["already_closed"] and again.json()["position"] is None
    assert "Ledger-Position" not in again.headers
    read = c.get(f"/v1/closes/{MONTH}", headers=bearer(any_api.tokens["auditor"]))
    assert read.status_code == 200 and read.json()["closed_at"] == body["closed_at"]


def test_bad_or_future_months_are_422_naming_month_and_only_finance_closes(any_api: Api) -> None:
    c, finance = any_api.client, any_api.tokens["finance"]
    for index, month in enumerate(["2026-13", "26-01", "", "2099-01", 202601]):
        answer = c.post("/v1/closes", headers=bearer(finance, f"bad-{index}"), json={"month": month})
        assert answer.status_code == 422, (month, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "month" in answer.text
    extra = c.post("/v1/closes", headers=bearer(finance, "extra"), json={"month": MONTH, "force": True})
    assert extra.status_code == 422 and "force" in extra.text
    assert c.post("/v1/closes", headers=bearer(any_api.operator, "op"), json={"month": MONTH}).status_code == 403
    assert c.post("/v1/closes", json={"month": MONTH}).status_code == 401
    assert c.get("/v1/closes/2026-1", headers=bearer(finance)).status_code == 422


def test_the_journal_filters_by_account_and_refuses_an_unknown_one_naming_it(any_api: Api) -> None:
    c, finance = any_api.client, any_api.tokens["finance"]
    assert c.get("/v1/reports/journal?account=1100", headers=bearer(finance)).status_code == 200
    for bad in ("9999", "abc", "1100; drop", "1" * 20):
        answer = c.get("/v1/reports/journal", params={"account": bad}, headers=bearer(finance))
        assert answer.status_code == 422, (bad, answer.text)
        assert "account" in answer.text
