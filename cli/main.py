"""The `ledger` command line (typer): the app, ``ledger init`` and ``ledger demo``, and the ONE
error policy. Each command group lives in its own module next to this one (``projections``,
``serve``, ``audit``, ``report``, ...) and is registered by :func:`register_all`.

Every command takes the same ``--db`` (``cli.options.DbOption``: a SQLite path or a
``postgresql://`` URL; default: ``LEDGER_DATABASE_URL`` from the environment or ``.env``, else
``./ledger.db``); only ``init`` and ``demo`` (and ``serve``/``project`` with ``--create``) may
create a ledger. Exit codes (the README's *Command line* lists them too):

- 0: done; 1: a check failed (``verify``, ``audit verify``, ``audit replay``), or an
  unexpected error (``LEDGER_DEBUG=1`` shows its traceback);
- 2: the command could not run (a bad option, an invalid setting, an unusable or empty
  database, a port in use) -- always ONE line on stderr saying what to do, never a traceback;
- 130: interrupted (Ctrl-C); 141: stdout was closed early (``ledger export events | head``),
  quietly, like any program killed by SIGPIPE.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer

from bootstrap import init_store
from cli.options import DEFAULT_DATABASE, DbOption, month_option, stderr_console, stdout_console
from config.view import settings_problem
from domain.errors import LedgerError
from storage.checks import describe, one_line
from storage.errors import is_database_error

try:  # typer >= 0.20 ships its own copy of click; older ones use click itself
    from typer._click import exceptions as usage
except ImportError:  # pragma: no cover
    from click import exceptions as usage  # type: ignore[no-redef]

EXITS = tuple({typer.Exit, getattr(usage, "Exit", typer.Exit)})
ABORTS = tuple({typer.Abort, getattr(usage, "Abort", typer.Abort)})

EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a program killed by a closed pipe

app = typer.Typer(no_args_is_help=True, add_completion=True, help="GPU capacity and billing ledger.",
                  pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"ledger (gpu-ledger) {version('gpu-ledger')}")
        except PackageNotFoundError:  # run from a checkout that was never installed
            typer.echo("ledger (gpu-ledger), not installed: `pip install -e .` gives it a version")
        raise typer.Exit(0)


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the version and exit")] = False) -> None:
    """GPU capacity and billing ledger."""


class ScaleName(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


@app.command()
def demo(
    months: Annotated[int | None, typer.Option(min=1, max=36, help="Length of the history in months "
                                                  "(default: 6 small, 12 medium, 18 large)")] = None,
    scale: Annotated[ScaleName, typer.Option(help="small (~25k events, seconds), medium (~300k), "
                                                  "large (>= 1M events, for PostgreSQL benchmarks)")] = ScaleName.small,
    db: DbOption = DEFAULT_DATABASE,
    seed: Annotated[int, typer.Option(help="Same seed, same history")] = 42,
    reset: Annotated[bool, typer.Option("--reset", help="Remove the ledger's existing data at --db first")] = False,
    start: Annotated[str | None, typer.Option(
        "--start", metavar="YYYY-MM", callback=month_option,
        help="First month of the history (default: the months ending 2026-10, whatever today's date)")] = None,
) -> None:
    """Load a realistic AI-cloud history (funding, GPUs, tenants, usage, invoices) and print the reports.

    The same --seed and --start write the same event log, byte for byte (ids, times, payloads,
    audit chain head), on any fresh store. Interrupted (Ctrl-C, SIGTERM), it exits 130 and the
    store is marked partial: a later demo refuses it until --reset."""
    from cli.demo.runner import DemoOptions, run_demo  # the simulation is only imported when it runs

    code = run_demo(DemoOptions(db=db, months=months, scale=scale.value, seed=seed, reset=reset, start=start),
                    out=stdout_console(), err=stderr_console())
    raise typer.Exit(code)


@app.command()
def init(db: DbOption = DEFAULT_DATABASE) -> None:
    """Create an empty ledger at --db (its event, projection, audit and API tables); safe to repeat."""
    config, events = init_store(db)
    where = describe(config)
    if events:
        typer.echo(f"the ledger at {where} already holds {events} events; its tables are all there")
    else:
        typer.echo(f"an empty ledger is ready at {where}")


def register_all(target: typer.Typer) -> None:
    """Each module of this package with a ``register(app)`` adds its commands (a new command group
    is found by being here, not by a list): ``report``, ``serve``, ``audit``, ``commands`` (the
    recording commands, one group per noun), ..."""
    import cli

    for found in sorted(pkgutil.iter_modules(cli.__path__), key=lambda module: module.name):
        if found.name in ("main", "__main__"):
            continue
        module = importlib.import_module(f"cli.{found.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(target)


register_all(app)


def tidy_help(command: Any, ctx: Any = None) -> None:
    """Plain metavars in every help page: nothing for flags, TEXT / INTEGER / NUMBER for values
    (typer would show ``<bool>``, ``<str>``); choices stay listed (``<table|csv|json>``)."""
    plain = {"<str>": "TEXT", "<int>": "INTEGER", "<float>": "NUMBER", "<Path>": "PATH", "<bool>": "",
             "<list[str]>": "TEXT..."}
    context = ctx or command.context_class(command, info_name=command.name)
    help_option = command.get_help_option(context)
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        kind = getattr(param, "param_type_name", "")
        if kind == "option" and param.metavar is None:
            shown = "<bool>" if getattr(param, "is_flag", False) else param.display_type(context)
            if shown in plain:
                param.metavar = plain[shown]
        elif kind == "argument" and hasattr(param, "display_type_rich"):
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()  # the usage line says NAME, not {name}
            shown = param.display_type(context)
            if shown in plain:  # an argument's name is its metavar; only its type column changes
                param.display_type_rich = lambda ctx, text=plain[shown]: text
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub, sub.context_class(sub, info_name=sub.name, parent=context))


def fail(message: str, code: int = 2) -> int:
    message = " ".join(message.replace("Value error, ", "").split())  # typer's validation says it twice
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    return code


def closed_pipe() -> int:
    """stdout was closed by its reader: stop quietly (no message, nothing more written)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail either
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests capture it)
        pass
    return EXIT_CLOSED_PIPE


def _pipe_was_closed() -> bool:
    # typer answers EPIPE with sys.exit(1), having wrapped the streams in PacifyFlushWrapper
    return type(sys.stdout).__name__ == "PacifyFlushWrapper"


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (for ``main`` and for tests)."""
    command = typer.main.get_command(app)
    tidy_help(command)
    try:
        result: Any = command.main(args=list(argv) if argv is not None else None, prog_name="ledger",
                                   standalone_mode=False)
    except usage.NoArgsIsHelpError as error:
        shown = error.format_message()  # typer's rich help printed itself while the error was made
        if shown.strip():
            print(shown)
        return 0
    except SystemExit as stop:  # typer's own exits: shell completion, a closed pipe
        if _pipe_was_closed():
            return closed_pipe()
        return stop.code if isinstance(stop.code, int) else fail(str(stop.code), 1) if stop.code else 0
    except usage.UsageError as error:
        return fail(error.format_message())
    except usage.ClickException as error:
        return fail(error.format_message(), error.exit_code or 2)
    except EXITS as error:
        return int(error.exit_code)
    except ABORTS:
        return fail("aborted", 130)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except LedgerError as error:
        return fail(error.message)
    except BrokenPipeError:
        return closed_pipe()
    except Exception as error:  # the last line of defence: one line, not a trace
        if is_database_error(error):  # lost, refused or locked mid-command: the database's fault, not ours
            return fail(f"database unavailable: {one_line(error)}")
        problem = settings_problem(error)
        if problem is not None:
            return fail(problem)
        if os.environ.get("LEDGER_DEBUG") == "1":
            traceback.print_exc()
        return fail(f"unexpected {type(error).__name__}: {one_line(error)} (LEDGER_DEBUG=1 shows the traceback)", 1)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())

