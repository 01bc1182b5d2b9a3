"""`ledger usage import FILE.csv`: bulk metering from a CSV file (``domain.service.usage_import``).

Prints what was committed on stdout; a bad row stops the import with one line on stderr
(``error: line 1234, gpu_hours: ...``) and exit 2, after saying which batches committed and
which one was rolled back. A progress bar on stderr on a terminal only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import typer

from cli.options import DEFAULT_DATABASE, DbOption, checked, opened_ledger, progress_bar, stderr_console
from domain.errors import InvalidInput
from domain.service.receipts import MAX_USAGE_BATCH
from domain.service.usage_import import COLUMNS, DEFAULT_BATCH, BatchResult, ImportResult, RowError, import_usage


def register(app: typer.Typer) -> None:
    """Add the `usage` group to the `ledger` app."""
    usage_app = typer.Typer(no_args_is_help=True, help="Metering: usage records in bulk.")
    app.add_typer(usage_app, name="usage")
    usage_app.command("import")(import_command)


def import_command(
    file: Annotated[Path, typer.Argument(help=f"A CSV file with the header {','.join(COLUMNS)}",
                                         show_default=False)],
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=MAX_USAGE_BATCH,
                                            help="Records per transaction")] = DEFAULT_BATCH,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row's fields; record nothing "
                                                             "(reservations are not looked up)")] = False,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Record usage from a CSV file in batches, each all or nothing; idempotent by record_id."""
    if not file.is_file():
        raise InvalidInput(f"file: no such file {str(file)!r}", field="file")
    checked(db)
    size = os.path.getsize(file)
    with opened_ledger(db) as ledger, file.open(newline="", encoding="utf-8", errors="strict") as source, \
            progress_bar(stderr_console()) as bar:
        task = bar.add_task(f"Importing {file.name}", total=size or None)

        def advanced(_: BatchResult) -> None:
            bar.update(task, completed=min(size, read[0]))

        read = [0]
        try:
            result = import_usage(ledger, _counted(source, read), batch_size=batch_size, dry_run=dry_run,
                                  on_batch=advanced)
        except UnicodeDecodeError as error:
            raise InvalidInput(f"file: not UTF-8 text ({error.reason} at byte {error.start})", field="file") from None
    typer.echo(summary(result, file))
    if result.error is not None:
        typer.echo(error_line(result.error), err=True)
        raise typer.Exit(2)


def _counted(source: IO[str], read: list[int]) -> Iterator[str]:
    for line in source:
        read[0] += len(line)
        yield line


def summary(result: ImportResult, file: Path) -> str:
    """One line: what was committed (and what was rolled back)."""
    batches = result.committed
    if result.dry_run:
        done = f"dry run: {result.records:,} records in {len(batches)} batch(es) checked, nothing recorded"
    elif not batches:
        done = "no batch committed"
    else:
        span = f"batch {batches[0].number}" if len(batches) == 1 else \
            f"batches {batches[0].number}-{batches[-1].number}"
        done = (f"{span} committed ({result.records:,} records: {result.recorded:,} recorded, "
                f"{result.duplicates:,} duplicates)")
        if result.position is not None:
            done += f"; log position {result.position}"
    if result.error is not None:
        error = result.error
        done += (f"; batch {error.batch} (lines {error.first_line:,}-{error.last_line:,}) "
                 f"{'stopped' if result.dry_run else 'rolled back'}")
    return f"{file.name}: {done}"


def error_line(error: RowError) -> str:
    return f"error: line {error.line}, {error.field}: {error.message}"
