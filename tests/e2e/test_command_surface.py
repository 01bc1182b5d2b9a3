"""Every public ``Ledger`` command is reachable two ways: an HTTP route (found in
``app.openapi()`` by its ``x-ledger-command``) with a role and an Idempotency-Key, and `ledger
--help` lists the command groups."""

from __future__ import annotations

import inspect

import pytest

from bootstrap import create_app
from cli.commands import groups
from domain import Ledger
from tests.e2e.cli_process import ledger
from tests.e2e.conftest import settings_for

# Public methods of the service that are not commands: readers, lifecycle and plumbing.
NOT_COMMANDS = {
    "open",  # a constructor (classmethod)
    "close",  # lifecycle
    "now",  # the ledger's clock
    "max_position",  # the log's head, for read-your-writes
    "use_command_lock",  # wiring by the composition root
    "observe_group_commits",  # wiring: /metrics counts the group commits
    "start_demo_run", "complete_demo_run",  # `ledger demo`'s own record of itself (domain.aggregates.demo), no route
}


def ledger_commands() -> set[str]:
    """Public methods defined by the service's own classes (not the library's Application),
    minus readers (``get_*``) and ``NOT_COMMANDS``."""
    found = set()
    for cls in Ledger.__mro__:
        if not cls.__module__.startswith("domain.service"):
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") or name.startswith("get_") or name in NOT_COMMANDS:
                continue
            if inspect.isfunction(member):
                found.add(name)
    return found


@pytest.fixture(scope="module")
def operations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str, dict[str, object]]]]:
    """x-ledger-command -> [(method, path, operation)] from the app's OpenAPI document."""
    schema = create_app(settings_for(str(tmp_path_factory.mktemp("surface") / "l.db"))).openapi()
    found: dict[str, list[tuple[str, str, dict[str, object]]]] = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            named = operation.get("x-ledger-command", [])
            for command in [named] if isinstance(named, str) else named:
                found.setdefault(command, []).append((method, path, operation))
    return found


def test_the_introspection_finds_the_commands_and_only_them() -> None:
    commands = ledger_commands()
    assert {"register_site", "revise_site", "decommission", "confirm_reservation", "record_usage", "issue_invoice",
            "void_invoice", "credit_invoice", "suspend_tenant", "reinstate_tenant", "change_plan"} <= commands
    assert not {name for name in commands if name.startswith("get_")} and "save" not in commands


def test_every_command_has_exactly_one_write_route(operations: dict[str, list[tuple[str, str, dict[str, object]]]]
                                                   ) -> None:
    commands = ledger_commands()
    assert set(operations) == commands, (sorted(commands - set(operations)), sorted(set(operations) - commands))
    for command, routes in operations.items():
        assert len(routes) == 1, (command, routes)
        [(method, path, operation)] = routes
        assert method == "post", (command, path)
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}  # type: ignore[attr-defined]
        assert "Idempotency-Key" in headers, (command, path)
        assert operation.get("x-roles"), (command, path)


@pytest.mark.parametrize("command, roles", [
    ("revise_site", ["operator"]), ("decommission", ["operator"]),
    ("change_plan", ["finance", "operator"]), ("suspend_tenant", ["finance", "operator"]),
    ("reinstate_tenant", ["finance", "operator"]),
    ("void_invoice", ["finance"]), ("credit_invoice", ["finance"]), ("issue_invoice", ["finance"]),
])
def test_the_new_routes_admit_the_roles_of_their_neighbours(
        operations: dict[str, list[tuple[str, str, dict[str, object]]]], command: str, roles: list[str]) -> None:
    [(_, _, operation)] = operations[command]
    assert operation["x-roles"] == roles


@pytest.mark.slow  # runs `ledger` as a child process
def test_ledger_help_lists_the_groups() -> None:
    shown = ledger("--help", env={"COLUMNS": "200", "TERM": "dumb"})
    assert shown.returncode == 0, shown.stderr
    for group in groups():
        assert f" {group.NAME} " in shown.stdout, group.NAME
        sub = ledger(group.NAME, "--help", env={"COLUMNS": "200", "TERM": "dumb"})
        assert sub.returncode == 0 and f"Usage: ledger {group.NAME}" in sub.stdout
    assert {g.NAME for g in groups()} >= {"site", "pool", "tenant", "order", "funding", "invoice", "token"}


def test_every_recording_command_has_a_plain_help_page() -> None:
    """`ledger GROUP COMMAND --help` for every command of every group (from the typer apps):
    no Python type names, choices listed."""
    import io
    from contextlib import redirect_stdout

    from cli.main import run

    seen = 0
    for group in groups():
        for registered in group.app.registered_commands:
            name = registered.name or (registered.callback.__name__ if registered.callback else "")
            out = io.StringIO()
            with redirect_stdout(out):
                assert run([group.NAME, name, "--help"]) == 0, (group.NAME, name)
            text = out.getvalue()
            assert f"ledger {group.NAME} {name}" in text, text
            for python_type in ("<bool>", "<str>", "<int>", "<float>", "<list[str]>"):
                assert python_type not in text, (group.NAME, name, python_type)
            seen += 1
    assert seen >= 25
