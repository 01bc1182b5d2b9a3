"""Help, version and completion: plain `ledger` prints its help once, `--version` the package's
version, completion is installable, enum options list their choices, no `<bool>`/`<str>`."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from access.tokens import Role
from cli.options import LogLevel
from tests.e2e.cli_process import ledger

pytestmark = pytest.mark.slow  # runs `ledger` as a child process

WIDE = {"COLUMNS": "200", "TERM": "dumb"}
COMMANDS = [(), ("demo",), ("init",), ("report",), ("project",), ("rebuild",), ("verify",), ("serve",),
            ("token", "create"), ("token", "revoke"), ("export", "events"), ("import", "events"), ("audit", "head"),
            ("audit", "verify"), ("audit", "replay"), ("audit", "aggregate"), ("config", "show")]


def test_plain_ledger_prints_its_help_once() -> None:
    result = ledger(env=WIDE)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.count("Usage: ledger") == 1
    for command in ("demo", "init", "report", "serve", "verify", "config", "audit"):
        assert f" {command} " in result.stdout


def test_version_is_the_package_version() -> None:
    result = ledger("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"ledger (gpu-ledger) {version('gpu-ledger')}"


def test_shell_completion_is_installable_and_completes() -> None:
    # Typer detects the user's shell from the parent processes; in CI there is none to detect, so
    # name it (typer's own switch for this makes --show-completion take the shell as its value).
    shown = ledger("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert shown.returncode == 0 and "_LEDGER_COMPLETE" in shown.stdout and "complete" in shown.stdout
    assert "--install-completion" in ledger("--help", env=WIDE).stdout
    completed = ledger(env={"_LEDGER_COMPLETE": "complete_bash", "COMP_WORDS": "ledger serve --log-level ",
                            "COMP_CWORD": "3"})
    assert completed.returncode == 0 and completed.stdout.split() == [level.value for level in LogLevel]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ledger")
def test_help_shows_no_python_type_names(command: tuple[str, ...]) -> None:
    result = ledger(*command, "--help", env=WIDE)
    assert result.returncode == 0, result.stderr
    for python_type in ("<bool>", "<str>", "<int>", "<float>", "<Path>", "<list[str]>"):
        assert python_type not in result.stdout, (python_type, result.stdout)


def test_enum_options_list_their_choices() -> None:
    token = ledger("token", "create", "--help", env=WIDE).stdout
    assert "<" + "|".join(role.value for role in Role) + ">" in token  # every role the API knows
    serve = ledger("serve", "--help", env=WIDE).stdout
    assert "<critical|error|warning|info|debug|trace>" in serve and "--create" in serve
    report = ledger("report", "--help", env=WIDE).stdout
    assert "<table|csv|json>" in report and "<hour|day|month>" in report
