"""Every command option that takes a month (found from the typer app's params, not listed by
hand) refuses a month that does not exist -- ``--from 2026-13``, ``--to 2026-00`` -- with one
line naming the option and saying so, exit 2, before anything is recorded."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace
from typing import Any, cast

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from cli.main import app, run
from cli.options import month_option
from domain.errors import InvalidInput

TAKES_A_MONTH = re.compile(r"YYYY-MM(?!-DD)")  # in its help or metavar; a day (YYYY-MM-DD) alone is not


def month_options() -> Iterator[tuple[tuple[str, ...], str]]:
    """(command path, option) for every option of the app whose help or metavar says YYYY-MM."""
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
        for param in command.params:
            said = f"{param.metavar or ''} {getattr(param, 'help', '') or ''}"
            if param.param_type_name == "option" and TAKES_A_MONTH.search(said):
                yield path, max(param.opts, key=len)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, (*path, name))
    yield from walk(typer.main.get_command(app), ())


FOUND = sorted(month_options())


def test_the_month_options_are_found_and_checked() -> None:
    paths = {(" ".join(path), opt) for path, opt in FOUND}
    assert {("report", "--from"), ("report", "--to"), ("close", "--month"), ("invoice issue", "--month"),
            ("invoice list", "--from"), ("contract sign", "--to"),
            ("contract terminate", "--from"), ("demo", "--start")} <= paths, paths
    command: Any = typer.main.get_command(app)
    for path, opt in FOUND:
        found = command
        for name in path:
            found = found.commands[name]
        param = next(p for p in found.params if opt in p.opts)
        assert param.callback is not None, (path, opt)  # typer wraps it: the test below runs it


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = str(tmp_path_factory.mktemp("months") / "ledger.db")
    assert run(["init", "--db", db]) == 0
    return db


def head(db: str) -> int:
    ledger = open_ledger(db)
    try:
        return ledger.max_position()
    finally:
        ledger.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(FOUND), year=st.integers(0, 9999),
       month=st.sampled_from([0, *range(13, 100)]), day=st.none() | st.integers(1, 28))
def test_a_month_that_does_not_exist_is_one_line_naming_the_option(ledger_db: str, where: tuple[tuple[str, ...], str],
                                                                   year: int, month: int, day: int | None) -> None:
    path, opt = where
    value = f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")
    before = head(ledger_db)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run([*path, opt, value, "--db", ledger_db])
    assert code == 2, (path, opt, value, out.getvalue(), err.getvalue())
    assert err.getvalue() == f"error: {opt}: month {month:02d} is not a month (01-12) in {value!r}\n"
    assert out.getvalue() == ""
    assert head(ledger_db) == before


def test_the_callback_leaves_other_values_to_the_command() -> None:
    param: Any = SimpleNamespace(opts=["--from"], name="from_")
    for value in (None, "2026-12", "2026-02-28", "2026-10-01T00:00Z", "last month", "2026-1"):
        assert month_option(cast(Any, None), param, value) == value
    with pytest.raises(InvalidInput, match=r"^--from: day 30 is not a day of 2026-02 \(01-28\)$"):
        month_option(cast(Any, None), param, "2026-02-30")
