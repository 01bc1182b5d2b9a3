"""Options that take a tenant, site, invoice or reservation take its name, its number (invoices),
its id or an id prefix of 8+ hex digits: one resolver (``cli.names.resolve``), and one line
naming the option when nothing or several match (exit 2, nothing recorded)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from bootstrap import open_ledger
from cli.main import run as ledger_cli
from cli.names import resolve
from domain.errors import InvalidInput, NotFound

NAMES = {"0d423e35-0000-4000-8000-000000000001": "Helixa AI",
         "0d423e36-0000-4000-8000-000000000002": "Helixa Bio",
         "7f000000-0000-4000-8000-000000000003": "Atlas Autonomy"}


def test_resolve_takes_an_id_a_name_a_part_or_a_prefix() -> None:
    assert resolve(None, NAMES, "tenant", "--tenant") is None
    assert resolve("helixa ai", NAMES, "tenant", "--tenant") == "0d423e35-0000-4000-8000-000000000001"
    assert resolve("atlas", NAMES, "tenant", "--tenant") == "7f000000-0000-4000-8000-000000000003"
    assert resolve("0d423e36", NAMES, "tenant", "--tenant") == "0d423e36-0000-4000-8000-000000000002"
    assert resolve("0D423E35-0000", NAMES, "tenant", "--tenant") == "0d423e35-0000-4000-8000-000000000001"
    ident = "12345678-1234-4234-8234-123456789abc"
    assert resolve(ident.upper(), NAMES, "tenant", "--tenant") == ident  # a full id as given


@pytest.mark.parametrize(("value", "error", "message"), [
    ("Helixx AI", NotFound, "--tenant: no tenant named 'Helixx AI' (did you mean 'Helixa AI'?)"),
    ("Helixa", InvalidInput, "--tenant: 'Helixa' matches 2 tenants ('Helixa AI', 'Helixa Bio')"),
    ("0d423e3", NotFound, "--tenant: no tenant named '0d423e3'"),  # 7 hex digits: too short for a prefix
    ("0d423e3f", NotFound, "--tenant: no tenant named '0d423e3f'"),
])
def test_unknown_or_ambiguous_is_one_line_naming_the_option(value: str, error: type[Exception],
                                                            message: str) -> None:
    with pytest.raises(error) as raised:
        resolve(value, NAMES, "tenant", "--tenant")
    assert str(getattr(raised.value, "message", raised.value)).startswith(message)
    assert "\n" not in str(raised.value)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ledger_cli(list(args))
    return code, out.getvalue(), err.getvalue()


def test_commands_take_names_and_prefixes(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run("init", "--db", sqlite_url)[0] == 0
    ledger = open_ledger(sqlite_url)
    try:
        tenant = str(ledger.register_tenant(name="Helixa AI", billing_currency="USD", rates={"H100-SXM": "2.5"}).id)
        ledger.register_tenant(name="Kestrel Games", billing_currency="USD", rates={"H100-SXM": "2.5"})
    finally:
        ledger.close()
    code, out, err = run("token", "create", "--role", "tenant", "--tenant", "Helixa AI", "--db", sqlite_url)
    assert code == 0 and out.startswith("lgr_"), (out, err)
    for given in ("Helixa AI", "helixa", tenant[:8], tenant):
        code, out, err = run("contract", "list", "--tenant", given, "--db", sqlite_url)
        assert (code, out.strip(), err) == (0, "Contracts: no contracts", ""), (given, out, err)
    code, out, err = run("credits", "grant", "--tenant", tenant[:8], "--amount", "1.00", "--db", sqlite_url)
    assert code == 0 and out.strip().endswith("balance 1.00"), (out, err)
    ledger = open_ledger(sqlite_url)
    before = ledger.max_position()
    ledger.close()
    for args, message in (
            (("token", "create", "--role", "tenant", "--tenant", "Helixa"), None),  # a unique part: accepted
            (("contract", "list", "--tenant", "Kestrel Gmes"),
             "error: --tenant: no tenant named 'Kestrel Gmes' (did you mean 'Kestrel Games'?)\n"),
            (("credits", "grant", "--tenant", "Nobody", "--amount", "1"), "error: --tenant: no tenant named 'Nobody'"),
            (("invoice", "show", "deadbeef"), "error: INVOICE: no invoice with an id starting 'deadbeef'\n"),
            (("reservation", "cancel", "deadbeef"),
             "error: RESERVATION: no reservation with an id starting 'deadbeef'\n")):
        code, out, err = run(*args, "--db", sqlite_url)
        if message is None:
            assert code == 0, err
            continue
        assert code == 2 and err.startswith(message) and err.count("\n") == 1, (args, err)
    ledger = open_ledger(sqlite_url)
    assert ledger.max_position() == before  # tokens are not events; the refusals recorded nothing
    ledger.close()
