"""`ledger export events`, `ledger import events`, `ledger audit head|verify|replay|aggregate`.

Exit codes: 0 fine; 1 the check failed (a broken chain, a projection that differs); 2 the
command could not run (bad input, no database) -- always one line on stderr, no traceback
(``cli.main.run``). Every command reads an existing ledger: ``import events`` fills one that
``ledger init`` created.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from cli.interrupts import interrupted, terminated_as_interrupt
from cli.options import DEFAULT_DATABASE, DbOption, counting, opened_ledger, opened_projections, progress_bar
from domain import LedgerError
from storage.checks import describe

T = TypeVar("T")

err = Console(stderr=True)


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


def export_events_command(
    db: DbOption = DEFAULT_DATABASE,
    start: Annotated[int | None, typer.Option("--from", help="First position (inclusive)")] = None,
    stop: Annotated[int | None, typer.Option("--to", help="Last position (inclusive)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE (default: stdout)")] = None,
    allow_unchained: Annotated[bool, typer.Option(
        "--allow-unchained", help="Do not chain first: events not chained yet are exported with a null link")] = False,
) -> None:
    """Write the log (or a position range) as JSON Lines, streaming in constant memory. The hash
    chain is extended to the range's end first, so every line carries its link."""
    from projections.audit.export import chain_for_export, export_events, export_range_total
    from projections.audit.store import position_range

    position_range(start, stop)  # a bad range is refused before anything is chained
    with opened_ledger(db) as ledger:
        if not allow_unchained:
            stop = chain_for_export(ledger, stop)
        total = export_range_total(ledger, start, stop)
        after = position_range(start, stop)[0]
        target = out.open("w", encoding="utf-8") if out else sys.stdout
        try:
            with _progress(total, "exporting") as advance:
                count = export_events(ledger, target, start=start, stop=stop,
                                      on_progress=lambda position: advance(position - after),
                                      require_links=not allow_unchained)
        finally:
            if out:
                target.close()
    typer.echo(f"exported {count} events" + (f" to {out}" if out else ""), err=True)  # one line, never wrapped


def import_events_command(
    source: Annotated[Path, typer.Argument(help="A JSON Lines file made by `ledger export events`")],
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Replay an export into an empty store: identical events at identical positions."""
    from projections.audit.export import import_events

    if not source.is_file():
        raise LedgerError(f"source: no file {source}", field="source")
    try:
        with terminated_as_interrupt(), opened_ledger(db) as ledger, source.open(encoding="utf-8") as lines, \
                _progress(source.stat().st_size, "importing", unit="bytes") as advance:
            report = import_events(ledger, _read(lines, advance))
    except KeyboardInterrupt:  # SIGINT or SIGTERM: exit 130, one line (cli.interrupts)
        raise typer.Exit(_interrupted_import(db)) from None
    typer.echo(f"imported {report.events} events; head {report.last_position}:{report.head_hex}")


def _interrupted_import(db: str) -> int:
    try:
        with opened_ledger(db) as ledger:
            events: int | None = ledger.max_position()
            where = describe(ledger.store_config)
    except Exception:  # the database went with the interrupt: say so without a count
        events, where = None, db
    return interrupted(events, where)


def head_command(db: DbOption = DEFAULT_DATABASE) -> None:
    """Chain any new events and print the head as POS:HEX (publish it; verify against it later)."""
    from projections.audit import AuditChain

    with opened_ledger(db) as ledger:
        typer.echo(str(AuditChain(ledger).catch_up()))


def verify_command(
    db: DbOption = DEFAULT_DATABASE,
    head: Annotated[str | None, typer.Option("--head", help="An earlier head POS:HEX that must be a prefix")] = None,
) -> None:
    """Recompute the hash chain from the stored events, and check the invoice and credit-note
    numbers (each sequence 1..n, each number naming a document issued with it); exit 1 naming
    the first bad position."""
    from operations.numbering_audit import verify_numbering
    from projections.audit import AuditChain, Head
    from projections.audit.chain import verify_streams

    earlier = Head.parse(head) if head else None
    with opened_ledger(db) as ledger, _progress(ledger.max_position() or 0, "verifying the chain") as advance:
        chain = AuditChain(ledger)
        # AuditChain.verify, with the events counted for the progress bar on the way through.
        stored_head = chain.head()
        events = _counted(chain.store.notifications(page_size=chain.page_size), advance)
        report = verify_streams(events, chain._links(), stored_head, earlier)
        numbering = verify_numbering(ledger)
    if not report.ok:
        typer.echo(f"BROKEN at position {report.first_bad_position}: {report.reason}", err=True)
        raise typer.Exit(1)
    if not numbering.ok:
        where = f" at position {numbering.position}" if numbering.position is not None else ""
        typer.echo(f"BROKEN document numbers{where}: {numbering.reason}", err=True)
        raise typer.Exit(1)
    message = f"ok: {report.checked} events verified up to head {report.head}"
    if earlier:
        message += f"; earlier head {earlier.position} is a prefix"
    if report.pending:
        message += f"; {report.pending} newer events not chained yet (`ledger audit head` chains them)"
    sequences = f"{numbering.sequences} sequence" + ("" if numbering.sequences == 1 else "s")
    message += f"; {numbering.numbers} document numbers in {sequences}, gapless"
    typer.echo(message)


def replay_command(db: DbOption = DEFAULT_DATABASE) -> None:
    """Rebuild every projection from position 0 into scratch tables and compare with the live ones."""
    from projections import PROJECTION_NAMES, VerifyResult

    results: list[VerifyResult] = []
    with opened_projections(db) as projections:  # projections.audit.replay.replay_all, with progress bars
        for name in PROJECTION_NAMES:
            with counting(f"replaying {name}", err) as progress:
                results.append(projections.verify(name, progress=progress))
    table = Table("projection", "position", "rows compared", "differences", title="replay")
    failed = False
    for result in results:
        table.add_row(result.name, str(result.position), str(result.rows_compared), str(len(result.differences)))
        failed = failed or bool(result.differences)
        for difference in result.differences:
            err.print(f"  {result.name}: {difference}", markup=False, highlight=False, soft_wrap=True)
    Console().print(table)
    if failed:
        typer.echo("replay: the live projections differ from a rebuild", err=True)
        raise typer.Exit(1)


def aggregate_command(
    aggregate_id: Annotated[str, typer.Argument(help="The aggregate's id")],
    db: DbOption = DEFAULT_DATABASE,
    as_of: Annotated[str | None, typer.Option("--as-of", help="A version number or an ISO 8601 time")] = None,
) -> None:
    """Print an aggregate as it was at a version or a recorded time, as JSON."""
    from projections.audit.asof import aggregate_as_of, parse_as_of
    from projections.audit.export import to_json_value

    with opened_ledger(db) as ledger:
        found = aggregate_as_of(ledger, aggregate_id, parse_as_of(as_of) if as_of else None)
    typer.echo(json.dumps({"id": found.id, "type": found.type, "version": found.version,
                           "recorded_at": found.recorded_at, "state": found.state},
                          default=to_json_value, indent=2, sort_keys=True))


@contextmanager
def _progress(total: int, label: str, unit: str = "positions") -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (a terminal only), so that stdout can carry the export itself."""
    with progress_bar(err) as bar:
        task = bar.add_task(f"{label} ({unit})", total=total)
        yield lambda done: bar.update(task, completed=done)


def _counted(items: Iterable[T], advance: Callable[[int], None], every: int = 1000) -> Iterator[T]:
    """``items``, telling ``advance`` how many went by (every ``every`` and at the end)."""
    done = 0
    for item in items:
        yield item
        done += 1
        if done % every == 0:
            advance(done)
    advance(done)


def _read(lines: Iterable[str], advance: Callable[[int], None]) -> Iterator[str]:
    """The lines of a file, telling ``advance`` how many bytes (about) were read."""
    done = 0
    for number, line in enumerate(lines, start=1):
        done += len(line.encode("utf-8")) if not line.isascii() else len(line)
        if number % 1000 == 0:
            advance(done)
        yield line
    advance(done)
