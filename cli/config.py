"""`ledger config show`: every setting, its default, its current value and where that came from.

The settings are the API's (``config.settings.Settings``: ``LEDGER_*`` from the environment, then
a ``.env`` file in the working directory, then the defaults; ``config.view.settings_view``) and
the command line's own (``LEDGER_DEBUG``). Passwords in URLs and secret values are masked.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.options import FormatOption, stdout_console
from cli.render import Format, render
from config.view import SettingView, settings_view

# Read by the command line itself, not by the API's settings (so not from .env either).
CLI_SETTINGS = {"LEDGER_DEBUG": ("0", "1: an unexpected error prints its traceback")}


def cli_settings() -> list[SettingView]:
    rows = []
    for name, (default, _) in CLI_SETTINGS.items():
        value = os.environ.get(name)
        rows.append(SettingView(name, default, value if value is not None else default,
                                "environment" if value is not None else "default"))
    return rows


def show(db: Annotated[str | None, typer.Option("--db", metavar="PATH|URL", show_default=False,
                                                help="Show the settings as a command given this --db sees them")
                       ] = None,
         fmt: FormatOption = Format.table) -> None:
    """Print every setting with its default, its current value and its source (secrets masked)."""
    overrides = {"database_url": db} if db is not None else {}
    rows = [*settings_view(**overrides), *cli_settings()]
    records = [{"setting": r.name, "value": r.value, "default": r.default, "source": r.source} for r in rows]
    render(records, fmt, console=stdout_console(), title="Settings (environment, then .env, then the default)",
           columns=["setting", "value", "default", "source"])


def register(app: typer.Typer) -> None:
    """Add `config show` to the `ledger` app."""
    config = typer.Typer(no_args_is_help=True, help="The settings: LEDGER_* variables and .env.")
    config.command("show")(show)
    app.add_typer(config, name="config")
