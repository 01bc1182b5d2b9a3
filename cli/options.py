"""What every `ledger` command shares: the ONE ``--db`` option, how a command opens stores, the
choices of enum options, name suggestions and progress bars.

``--db`` is a SQLite path or a ``postgresql://`` URL (default: ``LEDGER_DATABASE_URL`` from the
environment, else from ``.env``, else ``./ledger.db``). The policy, the same for every command:

- a URL that makes no sense, ``memory:``, an unreachable server or a missing directory is
  refused with one line (exit 2, see ``cli.main.run``);
- a store without a ledger (a SQLite file that does not exist or has no event table, a
  PostgreSQL schema without the ledger's tables) is refused too, except by the commands that
  create a ledger on purpose (``ledger init``, ``ledger demo``, ``serve``/``project --create``):
  pass ``create=True``. Nothing is created on the way to a refusal;
- a store that fails to open becomes one :class:`bootstrap.DatabaseUnavailable` line.

Progress bars go to stderr and only to a terminal: in pipes and files a command prints nothing
but its result (no ``\\r``).
"""

from __future__ import annotations

import calendar
import difflib
import errno
import os
import re
import shutil
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Protocol, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from access.tokens import Role as RoleName
from bootstrap import init_store, open_ledger, open_projections
from cli.render import Format
from config.view import configured_database
from domain import Ledger
from domain.errors import InvalidInput, LedgerError
from domain.storage import DEFAULT_DATABASE, StoreConfig
from storage.checks import check_reachable, describe, one_line, require_ledger
from storage.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from projections import Projections

__all__ = ["DEFAULT_DATABASE", "CreateOption", "DbOption", "FormatOption", "LogLevel", "RoleName", "checked",
           "closest", "counting", "listening_socket", "month_option", "opened_ledger", "opened_projections",
           "progress_bar", "stderr_console", "stdout_console", "unknown_name"]


def _database_default(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """``--db`` not given and no ``LEDGER_DATABASE_URL`` in the environment: the ``.env`` file's,
    else ``./ledger.db`` (the same order as the API's settings)."""
    source = ctx.get_parameter_source(param.name or "db")
    if getattr(source, "name", "") == "DEFAULT":
        return configured_database()
    return value


DbOption = Annotated[str, typer.Option("--db", envvar="LEDGER_DATABASE_URL", show_envvar=False, metavar="PATH|URL",
                                       callback=_database_default, show_default=False,
                                       help="SQLite path or postgresql:// URL (default: LEDGER_DATABASE_URL from "
                                            "the environment or .env, else ./ledger.db)")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json")]
CreateOption = Annotated[bool, typer.Option("--create", help="Create the ledger's tables at --db if they are "
                                                             "missing (as `ledger init` does); without it an "
                                                             "empty store is refused")]


_MONTH_OR_DAY = re.compile(r"^\s*([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?(?=$|[T ]|\s*$)", re.ASCII)


def month_option(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """The callback of every option that takes a month (``--from``, ``--to``, ``--month``,
    ``--start``): a YYYY-MM (or YYYY-MM-DD...) whose month or day does not exist is refused before
    anything runs, one line naming the option (``--from: month 13 is not a month (01-12)``);
    anything else is the command's to check (the ledger's ``check_month``, the reports' bounds)."""
    found = _MONTH_OR_DAY.match(value) if isinstance(value, str) else None
    if found is None:
        return value
    option = max(param.opts, key=len) if param.opts else f"--{param.name}"
    year, month, day = found.groups()
    if not 1 <= int(month) <= 12:
        raise InvalidInput(f"{option}: month {month} is not a month (01-12) in {str(value).strip()!r}", field=option)
    if day is not None and not 1 <= int(day) <= calendar.monthrange(max(int(year), 1), int(month))[1]:
        days = calendar.monthrange(max(int(year), 1), int(month))[1]
        raise InvalidInput(f"{option}: day {day} is not a day of {year}-{month} (01-{days})", field=option)
    return value


class LogLevel(StrEnum):
    """uvicorn's log levels."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


def checked(db: str, *, create: bool = False) -> StoreConfig:
    """The store behind ``--db``, reachable; unless ``create``, a ledger that exists."""
    return check_reachable(db) if create else require_ledger(db)


def ready(db: str, *, create: bool) -> StoreConfig:
    """For ``serve`` and ``project``: the ledger at ``--db``, its tables created first when
    ``--create`` was given (``ledger init``), else refused unless they are there."""
    if create:
        return init_store(db)[0]
    return require_ledger(db, create_flag="--create")


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to a mistyped one, if any is near."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_name(what: str, name: str, known: Iterable[str], *extra: str) -> str:
    """``unknown projection 'biling' (known: ...); did you mean 'billing'?``"""
    names = list(known)
    near = closest(name, names)
    hint = f"; did you mean {near!r}?" if near else ""
    return f"unknown {what} {name!r} (known: {', '.join([*names, *extra])}){hint}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (so that a port in use is one line, not uvicorn's log)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise typer.BadParameter(f"cannot resolve {host!r}: {error.strerror}", param_hint="--host") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise LedgerError(f"port {port} on {host} is already in use; stop the other server or pass another "
                              f"--port", field="port") from None
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {error.strerror or error}",
                                 param_hint="--host/--port") from None
    sock.set_inheritable(True)
    return sock


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
    """Wide enough for the report tables even when stdout is a pipe or a file (200 columns),
    unless ``COLUMNS`` says how wide (tables then fit it: see ``cli.render.table_of``)."""
    if sys.stdout.isatty():
        return Console()
    if os.environ.get("COLUMNS", "").strip().isdigit() and int(os.environ["COLUMNS"]) > 0:
        return Console(width=int(os.environ["COLUMNS"]), soft_wrap=False)
    return Console(width=max(shutil.get_terminal_size((200, 40)).columns, 200), soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True)


def progress_bar(console: Console | None = None) -> Progress:
    """A transient progress bar on stderr (nothing is left on the console once it is done),
    disabled unless the console is a terminal: pipes and files get no ``\\r`` and no blank lines."""
    console = console or stderr_console()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


@contextmanager
def counting(label: str, console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """A progress bar fed by ``(done, total)`` callbacks, as the projection engine gives them.

    ``done`` counts from where the work began, so a bar (and any rate) shows this run's work,
    not the absolute log position; a run with nothing to do is a full bar at once."""
    with progress_bar(console) as bar:
        task = bar.add_task(label, total=None)
        first: list[int] = []

        def advance(done: int, total: int) -> None:
            if not first:
                first.append(done)
            start = first[0]
            bar.update(task, completed=done - start, total=max(total - start, 0))
        yield advance
