"""What every `ledger` command shares: the ONE ``--db`` option, and how a command opens stores.

``--db`` is a SQLite path or a ``postgresql://`` URL (default: ``LEDGER_DATABASE_URL``, else
``./ledger.db``). The policy, the same for every command:

- a URL that makes no sense, ``memory:``, an unreachable server or a missing directory is
  refused with one line (exit 2, see ``cli.main.run``);
- a SQLite file that does not exist is refused too, except by the commands that create a
  ledger on purpose (``ledger init``, ``ledger demo``): pass ``create=True``;
- a store that fails to open becomes one :class:`bootstrap.DatabaseUnavailable` line.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bootstrap import (
    DEFAULT_DATABASE,
    DatabaseUnavailable,
    check_reachable,
    describe,
    one_line,
    open_ledger,
    open_projections,
    require_ledger,
)
from cli.render import Format
from domain import Ledger
from domain.errors import LedgerError
from domain.storage import StoreConfig

if TYPE_CHECKING:
    from projections import Projections

__all__ = ["DEFAULT_DATABASE", "DbOption", "FormatOption", "checked", "opened_ledger", "opened_projections",
           "progress_bar", "stderr_console", "stdout_console"]

DbOption = Annotated[str, typer.Option("--db", envvar="LEDGER_DATABASE_URL", show_envvar=False,
                                       help="SQLite path or postgresql:// URL (default: LEDGER_DATABASE_URL, "
                                            "else ./ledger.db)")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json")]


def checked(db: str, *, create: bool = False) -> StoreConfig:
    """The store behind ``--db``, reachable; unless ``create``, a ledger that exists."""
    return check_reachable(db) if create else require_ledger(db)


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


@contextmanager
def _opened(db: str, what: str, opener: Callable[[], C], *, create: bool) -> Iterator[C]:
    """``opener()`` on the store at ``--db`` (see the module's policy), closed afterwards; a
    driver's failure to open it is one line naming the store."""
    config = checked(db, create=create)
    try:
        opened = opener()
    except LedgerError:
        raise
    except Exception as error:  # drivers raise many types; the user needs one line
        raise DatabaseUnavailable(f"cannot open the {what} at {describe(config)}: {one_line(error)}",
                                  field="db") from None
    try:
        yield opened
    finally:
        opened.close()


def opened_ledger(db: str, *, create: bool = False, clock: Callable[[], datetime] | None = None,
                  extra_env: Mapping[str, str] | None = None) -> AbstractContextManager[Ledger]:
    """The ledger at ``--db`` (see the module's policy), closed afterwards."""
    return _opened(db, "ledger", lambda: open_ledger(db, clock=clock, extra_env=extra_env), create=create)


def opened_projections(db: str, *, create: bool = False) -> AbstractContextManager[Projections]:
    """The projections at ``--db`` (see the module's policy), closed afterwards."""
    return _opened(db, "projections", lambda: open_projections(db), create=create)


def stdout_console() -> Console:
    """Wide enough for the report tables even when stdout is a pipe or a file."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=max(shutil.get_terminal_size((200, 40)).columns, 200), soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True)


def progress_bar(console: Console) -> Progress:
    """A transient progress bar (nothing is left on the console once it is done)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)
