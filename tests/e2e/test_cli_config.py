"""Settings: a `.env` file is read (after the environment), `ledger config show` prints every
setting with its default, value and source (secrets masked), and docs/operators.md lists them all."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from config.settings import Settings
from tests.e2e.cli_process import ledger, one_line

OPERATORS_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def shown(cwd: Path, env: dict[str, str] | None = None, *args: str) -> dict[str, dict[str, str]]:
    result = ledger("config", "show", "--format", "json", *args, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {row["setting"]: row for row in json.loads(result.stdout)}


@pytest.mark.slow  # runs `ledger` as a child process
def test_config_show_lists_every_setting_with_default_value_and_source(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LEDGER_DATABASE_URL=postgresql://ledger:hunter2@db.example:5432/ledger"
                                   "?schema=prod\nLEDGER_MAX_BODY_BYTES=2048\nLEDGER_PAGE_SIZE=50\nUNRELATED=1\n")
    rows = shown(tmp_path, {"LEDGER_PAGE_SIZE": "70", "LEDGER_RUN_PROJECTOR": "false"})
    expected = {f"LEDGER_{name.upper()}" for name in Settings.model_fields} | {"LEDGER_DEBUG"}
    assert set(rows) == expected
    database = rows["LEDGER_DATABASE_URL"]
    assert database["value"] == "postgresql://ledger:***@db.example:5432/ledger?schema=prod"
    assert database["source"] == ".env" and database["default"] == "./ledger.db"
    assert rows["LEDGER_MAX_BODY_BYTES"] == {"setting": "LEDGER_MAX_BODY_BYTES", "value": "2048",
                                             "default": str(10 * 1024 * 1024), "source": ".env"}
    assert rows["LEDGER_PAGE_SIZE"]["value"] == "70" and rows["LEDGER_PAGE_SIZE"]["source"] == "environment"
    assert rows["LEDGER_RUN_PROJECTOR"]["value"] == "false"
    assert rows["LEDGER_READ_WAIT_SECONDS"] == {"setting": "LEDGER_READ_WAIT_SECONDS", "value": "5", "default": "5",
                                                "source": "default"}
    table = ledger("config", "show", cwd=tmp_path, env={"COLUMNS": "200"})
    assert table.returncode == 0 and "hunter2" not in table.stdout and "LEDGER_MAX_BODY_BYTES" in table.stdout


@pytest.mark.slow  # runs `ledger` as a child process
def test_config_show_masks_passwords_given_on_the_command_line(tmp_path: Path) -> None:
    rows = shown(tmp_path, None, "--db", "postgresql://u:s3cret@h:5432/d?password=other&schema=s")
    assert rows["LEDGER_DATABASE_URL"]["value"] == "postgresql://u:***@h:5432/d?password=***&schema=s"
    assert rows["LEDGER_DATABASE_URL"]["source"] == "command line"


@pytest.mark.slow  # runs `ledger` as a child process
def test_every_command_uses_the_database_of_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LEDGER_DATABASE_URL=from-dotenv.db\n")
    assert "no ledger at SQLite from-dotenv.db" in one_line(ledger("report", "billing", cwd=tmp_path))
    # the environment wins over .env, and --db over both
    assert "SQLite from-env.db" in one_line(ledger("report", "billing", cwd=tmp_path,
                                                   env={"LEDGER_DATABASE_URL": "from-env.db"}))
    assert "SQLite given.db" in one_line(ledger("report", "billing", "--db", "given.db", cwd=tmp_path,
                                                env={"LEDGER_DATABASE_URL": "from-env.db"}))
    assert ledger("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "from-dotenv.db").exists()


def test_the_operators_guide_lists_every_setting_in_one_table() -> None:
    text = OPERATORS_GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):text.index("\n## ", text.index("## Configuration") + 1)]
    rows = re.findall(r"^\| `([^`]+)`(?: / `([^`]+)`)? \|", section, flags=re.MULTILINE)
    listed = {second or first for first, second in rows}
    expected = {f"LEDGER_{name.upper()}" for name in Settings.model_fields} | {"LEDGER_DEBUG"}
    assert expected <= listed, f"missing from docs/operators.md's Configuration table: {sorted(expected - listed)}"
