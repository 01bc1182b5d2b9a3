"""`ledger contract ...` and `ledger credits ...` in-process, on SQLite and PostgreSQL: what they
print, the one-line refusals naming the field (exit 2), and that a refusal records nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bootstrap import open_ledger
from cli.main import run


def month(offset: int) -> str:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_contract_and_credits_commands(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--db", database_url]) == 0
    ledger = open_ledger(database_url)
    try:
        tenant = str(ledger.register_tenant(name="Anchor", billing_currency="USD", rates={"H100-SXM": "2.5"}).id)
    finally:
        ledger.close()
    capsys.readouterr()
    assert run(["contract", "sign", "--db", database_url, "--tenant", tenant, "--period", "quarter",
                "--from", month(1), "--to", month(6), "--amount", "90000.00", "--discount", "0.05"]) == 0
    contract = capsys.readouterr().out.split()[2]
    assert run(["contract", "amend", contract, "--db", database_url, "--from", month(4), "--amount", "120000"]) == 0
    assert run(["contract", "terminate", contract, "--db", database_url, "--from", month(4), "--fee", "5000"]) == 0
    capsys.readouterr()
    assert run(["contract", "list", "--db", database_url, "--tenant", tenant, "--format", "json"]) == 0
    periods = json.loads(capsys.readouterr().out)
    assert [(p["period_start"], p["commitment"], p["status"]) for p in periods] == [
        (month(1), "90000.00", "terminated")]
    assert run(["credits", "purchase", "--db", database_url, "--tenant", tenant, "--amount", "500.00"]) == 0
    assert run(["credits", "grant", "--db", database_url, "--tenant", tenant, "--amount", "100.00", "--priority", "1",
                "--expires-at", "2099-01-01T00:00:00", "--note", "start-up programme"]) == 0
    assert capsys.readouterr().out.strip().endswith("balance 600.00")
    assert run(["credits", "show", "--db", database_url, "--tenant", tenant, "--format", "json"]) == 0
    grants = json.loads(capsys.readouterr().out)
    assert [(g["kind"], g["remaining"]) for g in grants] == [("granted", "100.00"), ("purchased", "500.00")]

    ledger = open_ledger(database_url)
    before = ledger.max_position()
    ledger.close()
    for args, field in ((["credits", "grant", "--tenant", tenant, "--amount", "1.001"], "amount"),
                        (["contract", "sign", "--tenant", tenant, "--from", month(1), "--to", month(2),
                          "--amount", "1"], "term_end"),
                        (["contract", "amend", contract, "--from", month(7), "--amount", "1"], "terminated"),
                        (["credits", "show", "--tenant", "not-an-id"], "--tenant: no tenant named")):
        assert run([*args, "--db", database_url]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and error.count("\n") == 1 and field in error, error
    ledger = open_ledger(database_url)
    assert ledger.max_position() == before
    ledger.close()
