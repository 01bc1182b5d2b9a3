"""The `ledger` command line (typer). Sub-commands live in modules next to this one and
register themselves here, so that each concern keeps its own file.

Every command takes ``--db`` (a SQLite path or a ``postgresql://`` URL; default: the
``LEDGER_DATABASE_URL`` environment variable, else ``./ledger.db``). A refused command, a bad
option or an unusable database prints ONE line on stderr and exits 2 -- never a traceback
(set ``LEDGER_DEBUG=1`` to see one for an unexpected failure, which exits 1).
"""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from api import cli_audit, cli_projections, cli_server
from api.demo.database import DatabaseUnavailable
from api.reporting import Format
from domain.errors import LedgerError
from domain.storage import DEFAULT_DATABASE

try:  # typer >= 0.20 ships its own copy of click; older ones use click itself
    from typer._click import exceptions as usage
except ImportError:  # pragma: no cover
    from click import exceptions as usage  # type: ignore[no-redef]

EXITS = tuple({typer.Exit, getattr(usage, "Exit", typer.Exit)})
ABORTS = tuple({typer.Abort, getattr(usage, "Abort", typer.Abort)})

app = typer.Typer(no_args_is_help=True, add_completion=False, help="GPU capacity and billing ledger.",
                  pretty_exceptions_enable=False)

DbOption = Annotated[str, typer.Option("--db", envvar="LEDGER_DATABASE_URL", show_envvar=False,
                                       help="SQLite path or postgresql:// URL (default: LEDGER_DATABASE_URL, "
                                            "else ./ledger.db)")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, csv or json")]


class ScaleName(str, Enum):
    small = "small"
    medium = "medium"
    large = "large"


class ReportName(str, Enum):
    utilisation = "utilisation"
    billing = "billing"
    sustainability = "sustainability"
    capex = "capex"


class Granularity(str, Enum):
    hour = "hour"
    day = "day"
    month = "month"


def stdout_console() -> Console:
    """Wide enough for the report tables even when stdout is a pipe or a file."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=max(shutil.get_terminal_size((200, 40)).columns, 200), soft_wrap=False)


def stderr_console() -> Console:
    return Console(stderr=True)


@app.command()
def demo(
    months: Annotated[Optional[int], typer.Option(min=1, max=36, help="Length of the history in months "
                                                  "(default: 6 small, 12 medium, 18 large)")] = None,
    scale: Annotated[ScaleName, typer.Option(help="small (~25k events, seconds), medium (~300k), "
                                                  "large (>= 1M events, for PostgreSQL benchmarks)")] = ScaleName.small,
    db: DbOption = DEFAULT_DATABASE,
    seed: Annotated[int, typer.Option(help="Same seed, same history")] = 42,
    reset: Annotated[bool, typer.Option("--reset", help="Remove the ledger's existing data at --db first")] = False,
) -> None:
    """Load a realistic AI-cloud history (funding, GPUs, tenants, usage, invoices) and print the reports."""
    from api.demo.runner import DemoOptions, run_demo

    code = run_demo(DemoOptions(db=db, months=months, scale=scale.value, seed=seed, reset=reset),
                    out=stdout_console(), err=stderr_console())
    raise typer.Exit(code)


@app.command()
def report(
    name: Annotated[ReportName, typer.Argument(help="utilisation, billing, sustainability or capex")],
    site: Annotated[Optional[str], typer.Option(help="Site id or name")] = None,
    model: Annotated[Optional[str], typer.Option(help="GPU model, e.g. GB300")] = None,
    tenant: Annotated[Optional[str], typer.Option(help="Tenant id or name")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="First month YYYY-MM (or day YYYY-MM-DD)")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Last month YYYY-MM (or day YYYY-MM-DD), inclusive")] = None,
    granularity: Annotated[Granularity, typer.Option(help="Utilisation: hour, day or month")] = Granularity.month,
    fmt: FormatOption = Format.table,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Print a report from the projections (brought up to date first)."""
    from api.report_command import ReportQuery, run_report

    query = ReportQuery(name=name.value, site=site, model=model, tenant=tenant, start=from_, end=to,
                        granularity=granularity.value, fmt=fmt)
    raise typer.Exit(run_report(db, query, out=stdout_console(), err=stderr_console()))


cli_projections.register(app)
cli_server.register(app)
cli_audit.register(app)


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
    except DatabaseUnavailable as error:
        return fail(str(error))
    except BrokenPipeError:
        return 1
    except Exception as error:  # noqa: BLE001 -- the last line of defence: one line, not a trace
        if os.environ.get("LEDGER_DEBUG") == "1":
            traceback.print_exc()
        text = " ".join(str(error).split())
        return fail(f"unexpected {type(error).__name__}: {text} (LEDGER_DEBUG=1 shows the traceback)", 1)
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
