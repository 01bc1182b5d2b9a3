"""The `ledger` command line (typer): the app, ``ledger init`` and ``ledger demo``, and the ONE
error policy. Each command group lives in its own module next to this one (``projections``,
``serve``, ``audit``, ``report``) and registers itself here.

Every command takes the same ``--db`` (``cli.options.DbOption``: a SQLite path or a
``postgresql://`` URL; default: the ``LEDGER_DATABASE_URL`` environment variable, else
``./ledger.db``); only ``init`` and ``demo`` may create a ledger. A refused command, a bad
option or an unusable database prints ONE line on stderr and exits 2 -- never a traceback
(set ``LEDGER_DEBUG=1`` to see one for an unexpected failure, which exits 1).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer

from bootstrap import describe, init_store, is_database_error, one_line
from cli import audit, projections, report, serve
from cli.options import DEFAULT_DATABASE, DbOption, stderr_console, stdout_console
from domain.errors import LedgerError

try:  # typer >= 0.20 ships its own copy of click; older ones use click itself
    from typer._click import exceptions as usage
except ImportError:  # pragma: no cover
    from click import exceptions as usage  # type: ignore[no-redef]

EXITS = tuple({typer.Exit, getattr(usage, "Exit", typer.Exit)})
ABORTS = tuple({typer.Abort, getattr(usage, "Abort", typer.Abort)})

app = typer.Typer(no_args_is_help=True, add_completion=False, help="GPU capacity and billing ledger.",
                  pretty_exceptions_enable=False)


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
) -> None:
    """Load a realistic AI-cloud history (funding, GPUs, tenants, usage, invoices) and print the reports."""
    from cli.demo.runner import DemoOptions, run_demo  # the simulation is only imported when it runs

    code = run_demo(DemoOptions(db=db, months=months, scale=scale.value, seed=seed, reset=reset),
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


report.register(app)
projections.register(app)
serve.register(app)
audit.register(app)


def fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    sys.stderr.flush()
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (for ``main`` and for tests)."""
    command = typer.main.get_command(app)
    try:
        result: Any = command.main(args=list(argv) if argv is not None else None, prog_name="ledger",
                                   standalone_mode=False)
    except usage.NoArgsIsHelpError as error:
        print(error.ctx.get_help() if error.ctx is not None else error.format_message())
        return 0
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
        return 1
    except Exception as error:  # the last line of defence: one line, not a trace
        if is_database_error(error):  # lost, refused or locked mid-command: the database's fault, not ours
            return fail(f"database unavailable: {one_line(error)}")
        if os.environ.get("LEDGER_DEBUG") == "1":
            traceback.print_exc()
        return fail(f"unexpected {type(error).__name__}: {one_line(error)} (LEDGER_DEBUG=1 shows the traceback)", 1)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())

