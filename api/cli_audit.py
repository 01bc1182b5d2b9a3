"""`ledger export events`, `ledger import events`, `ledger audit head|verify|replay|aggregate`.

Exit codes: 0 fine; 1 the check failed (a broken chain, a projection that differs); 2 the
command could not run (bad input, no database) -- always one line on stderr, no traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from domain import Ledger, LedgerError
from domain.storage import parse_database_url

DbOption = Annotated[str, typer.Option("--db", envvar="LEDGER_DATABASE_URL",
                                       help="SQLite path or postgresql:// URL (default: LEDGER_DATABASE_URL, "
                                            "else ./ledger.db)")]
DEFAULT_DB = "./ledger.db"
F = TypeVar("F", bound=Callable[..., Any])
err = Console(stderr=True)


def one_line_errors(command: F) -> F:
    """Turn any failure into one line on stderr and exit 2: auditors get a reason, not a trace."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except LedgerError as error:
            message = error.message
        except Exception as error:  # noqa: BLE001 -- drivers raise many types; none deserves a traceback
            message = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)
    return wrapper  # type: ignore[return-value]


@contextmanager
def open_ledger(db: str) -> Iterator[Ledger]:
    """Open an existing ledger; a SQLite path that does not exist is an error, not a new file."""
    config = parse_database_url(db or DEFAULT_DB)
    if config.kind == "sqlite" and config.sqlite_path != ":memory:" and not os.path.exists(config.sqlite_path):
        raise LedgerError(f"db: no ledger at {config.sqlite_path}", field="db")
    ledger = Ledger.open(db or DEFAULT_DB)
    try:
        yield ledger
    finally:
        ledger.close()


def register(app: typer.Typer) -> None:
    """Add `export`, `import` and `audit` to the `ledger` app."""
    export_app = typer.Typer(no_args_is_help=True, help="Export the event log.")
    import_app = typer.Typer(no_args_is_help=True, help="Import an exported event log into an empty store.")
    audit_app = typer.Typer(no_args_is_help=True, help="Auditors: hash chain, verification, replay, as-of.")
    app.add_typer(export_app, name="export")
    app.add_typer(import_app, name="import")
    app.add_typer(audit_app, name="audit")
    export_app.command("events")(export_events_command)
    import_app.command("events")(import_events_command)
    audit_app.command("head")(head_command)
    audit_app.command("verify")(verify_command)
    audit_app.command("replay")(replay_command)
    audit_app.command("aggregate")(aggregate_command)


@one_line_errors
def export_events_command(
    db: DbOption = DEFAULT_DB,
    start: Annotated[int | None, typer.Option("--from", help="First position (inclusive)")] = None,
    stop: Annotated[int | None, typer.Option("--to", help="Last position (inclusive)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE (default: stdout)")] = None,
) -> None:
    """Write the log (or a position range) as JSON Lines, streaming in constant memory."""
    from projections.audit.export import export_events, export_range_total
    from projections.audit.store import position_range

    with open_ledger(db) as ledger:
        total = export_range_total(ledger, start, stop)
        after = position_range(start, stop)[0]
        target = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            with _progress(total, "exporting") as advance:
                count = export_events(ledger, target, start=start, stop=stop,
                                      on_progress=lambda position: advance(position - after))
        finally:
            if out:
                target.close()
    err.print(f"exported {count} events" + (f" to {out}" if out else ""))


@one_line_errors
def import_events_command(
    source: Annotated[Path, typer.Argument(help="A JSON Lines file made by `ledger export events`")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Replay an export into an empty store: identical events at identical positions."""
    from projections.audit.export import import_events

    if not source.is_file():
        raise LedgerError(f"source: no file {source}", field="source")
    ledger = Ledger.open(db or DEFAULT_DB)
    try:
        with source.open(encoding="utf-8") as lines:
            report = import_events(ledger, lines)
    finally:
        ledger.close()
    typer.echo(f"imported {report.events} events; head {report.last_position}:{report.head_hex}")


@one_line_errors
def head_command(db: DbOption = DEFAULT_DB) -> None:
    """Chain any new events and print the head as POS:HEX (publish it; verify against it later)."""
    from projections.audit import AuditChain

    with open_ledger(db) as ledger:
        typer.echo(str(AuditChain(ledger).catch_up()))


@one_line_errors
def verify_command(
    db: DbOption = DEFAULT_DB,
    head: Annotated[str | None, typer.Option("--head", help="An earlier head POS:HEX that must be a prefix")] = None,
) -> None:
    """Recompute the hash chain from the stored events; exit 1 naming the first bad position."""
    from projections.audit import AuditChain, Head

    earlier = Head.parse(head) if head else None
    with open_ledger(db) as ledger:
        report = AuditChain(ledger).verify(earlier)
    if not report.ok:
        typer.echo(f"BROKEN at position {report.first_bad_position}: {report.reason}", err=True)
        raise typer.Exit(1)
    message = f"ok: {report.checked} events verified up to head {report.head}"
    if earlier:
        message += f"; earlier head {earlier.position} is a prefix"
    if report.pending:
        message += f"; {report.pending} newer events not chained yet (`ledger audit head` chains them)"
    typer.echo(message)


@one_line_errors
def replay_command(db: DbOption = DEFAULT_DB) -> None:
    """Rebuild every projection from position 0 into scratch tables and compare with the live ones."""
    from projections.audit.replay import replay_all

    with open_ledger(db):
        pass  # only to refuse a missing database with a clear message
    table = Table("projection", "position", "rows compared", "differences", title="replay")
    failed = False
    for result in replay_all(db or DEFAULT_DB):
        table.add_row(result.name, str(result.position), str(result.rows_compared), str(len(result.differences)))
        failed = failed or bool(result.differences)
        for difference in result.differences:
            err.print(f"  {result.name}: {difference}", markup=False, highlight=False)
    Console().print(table)
    if failed:
        typer.echo("replay: the live projections differ from a rebuild", err=True)
        raise typer.Exit(1)


@one_line_errors
def aggregate_command(
    aggregate_id: Annotated[str, typer.Argument(help="The aggregate's id")],
    db: DbOption = DEFAULT_DB,
    as_of: Annotated[str | None, typer.Option("--as-of", help="A version number or an ISO 8601 time")] = None,
) -> None:
    """Print an aggregate as it was at a version or a recorded time, as JSON."""
    from projections.audit.asof import aggregate_as_of, parse_as_of
    from projections.audit.export import to_json_value

    with open_ledger(db) as ledger:
        found = aggregate_as_of(ledger, aggregate_id, parse_as_of(as_of) if as_of else None)
    typer.echo(json.dumps({"id": found.id, "type": found.type, "version": found.version,
                           "recorded_at": found.recorded_at, "state": found.state},
                          default=to_json_value, indent=2, sort_keys=True))


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr, so that stdout can carry the export itself."""
    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total} positions"),
                  TimeRemainingColumn(), console=err, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
