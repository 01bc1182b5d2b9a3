"""`ledger project`, `ledger rebuild`, `ledger verify` (owned by the projections work).

Bad input (unknown projection, unusable --db) prints one line and exits 2 (``cli.main.run``);
`verify` exits 1 with a diff when a fresh rebuild differs from the live tables.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import ExitStack
from typing import Annotated

import typer

from cli.options import (
    DEFAULT_DATABASE,
    CreateOption,
    DbOption,
    counting,
    opened_ledger,
    opened_projections,
    ready,
    unknown_name,
)
from domain.errors import InvalidInput


def _names(names: list[str] | None, *, allow_all: bool) -> list[str]:
    from projections import PROJECTION_NAMES

    chosen = list(names or [])
    if allow_all and (not chosen or chosen == ["all"]):
        return list(PROJECTION_NAMES)
    unknown = [n for n in chosen if n not in PROJECTION_NAMES]
    if unknown:
        raise InvalidInput(unknown_name("projection", unknown[0], PROJECTION_NAMES, *(["all"] if allow_all else [])),
                           field="name")
    return chosen


def project(names: Annotated[list[str] | None, typer.Argument(help="Projections to run (default: all)")] = None,
            follow: Annotated[bool, typer.Option("--follow",
                                                 help="Keep following new events until interrupted")] = False,
            batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction")] = 5000,
            db: DbOption = DEFAULT_DATABASE, create: CreateOption = False) -> None:
    """Catch the projections up with the event log (and keep following with --follow)."""
    from projections.audit.chain import AuditChain

    chosen = _names(names, allow_all=True)
    ready(db, create=create)
    with ExitStack() as stack:
        projections = stack.enter_context(opened_projections(db))
        # With no names, the audit hash chain is kept too (it is maintained like a projection).
        chain = AuditChain(stack.enter_context(opened_ledger(db))) if not names else None
        with counting("catching up") as progress:
            reached = projections.catch_up(chosen, batch_size=batch_size, progress=progress)
        typer.echo(f"{', '.join(chosen)}: at position {reached}")
        if chain is not None:
            head = chain.catch_up()
            typer.echo(f"audit chain: at position {head.position}")
        if follow:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            typer.echo("following new events (Ctrl-C to stop)", err=True)
            chain_thread = None
            if chain is not None:
                chain_thread = threading.Thread(target=chain.follow, args=(stop,), daemon=True, name="audit-chain")
                chain_thread.start()
            try:
                projections.follow(stop, chosen)
            except KeyboardInterrupt:
                stop.set()
            if chain_thread is not None:
                chain_thread.join(timeout=5)


def rebuild(name: Annotated[str, typer.Argument(help="A projection name, or 'all'")],
            db: DbOption = DEFAULT_DATABASE) -> None:
    """Rebuild a projection from position 0 (into scratch tables, then swapped in atomically)."""
    chosen = _names([name], allow_all=True)
    with opened_projections(db) as projections:
        started = time.monotonic()
        # Several projections are rebuilt in one shared pass over the log and swapped in together.
        label = ", ".join(chosen) if len(chosen) <= 3 else f"{len(chosen)} projections"
        with counting(f"rebuilding {label}") as progress:
            reached = projections.rebuild(chosen, progress=progress)
        seconds = time.monotonic() - started
        typer.echo(f"{', '.join(chosen)}: rebuilt through position {reached} in {seconds:.2f}s "
                   f"({reached / max(seconds, 1e-9):,.0f} log positions/s)")


def verify(name: Annotated[str, typer.Argument(help="A projection name, or 'all'")],
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Rebuild into scratch tables and compare row for row with the live tables (exit 1 on a difference)."""
    chosen = _names([name], allow_all=True)
    failed = False
    with opened_projections(db) as projections:
        for n in chosen:
            with counting(f"verifying {n}") as progress:
                result = projections.verify(n, progress=progress)
            if result.ok:
                typer.echo(f"{n}: OK ({result.rows_compared} rows compared at position {result.position})")
            else:
                failed = True
                typer.echo(f"{n}: DIFFERS ({len(result.differences)} differences at position {result.position})")
                for line in result.differences:
                    typer.echo(f"  {line}")
    if failed:
        sys.stdout.flush()
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("project")(project)
    app.command("rebuild")(rebuild)
    app.command("verify")(verify)
