"""`ledger project`, `ledger rebuild`, `ledger verify` (owned by the projections work).

Bad input (unknown projection, unusable --db) prints one line and exits 2; `verify` exits 1
with a diff when a fresh rebuild differs from the live tables.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated, NoReturn, Optional

import typer

DbOption = Annotated[Optional[str], typer.Option("--db", help="SQLite path or postgresql:// URL "
                                                "(default: LEDGER_DATABASE_URL, else ./ledger.db)")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _names(names: list[str] | None, *, allow_all: bool) -> list[str]:
    from projections import PROJECTION_NAMES

    chosen = list(names or [])
    if allow_all and (not chosen or chosen == ["all"]):
        return list(PROJECTION_NAMES)
    unknown = [n for n in chosen if n not in PROJECTION_NAMES]
    if unknown:
        _fail(f"unknown projection {unknown[0]!r} (known: {', '.join(PROJECTION_NAMES)}, all)")
    return chosen


def _open(db: str | None):  # type: ignore[no-untyped-def]
    from domain.errors import LedgerError
    from projections import Projections

    url = db or os.environ.get("LEDGER_DATABASE_URL") or "./ledger.db"
    try:
        return Projections.open(url)
    except LedgerError as error:
        _fail(error.message)
    except Exception as error:  # driver errors: unreachable server, unreadable file, ...
        _fail(f"cannot open {url!r}: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}")


def _progress(label: str) -> Callable[[int, int], None]:
    started = time.monotonic()
    last = [0.0]

    def show(position: int, top: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or position >= top:
            last[0] = now
            rate = position / max(now - started, 1e-9)
            typer.echo(f"\r{label}: {position}/{top} ({rate:,.0f} events/s)", nl=position >= top, err=True)
    return show


def project(names: Annotated[Optional[list[str]], typer.Argument(help="Projections to run (default: all)")] = None,
            follow: Annotated[bool, typer.Option("--follow", help="Keep following new events until interrupted")] = False,
            batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction")] = 5000,
            db: DbOption = None) -> None:
    """Catch the projections up with the event log (and keep following with --follow)."""
    chosen = _names(names, allow_all=True)
    projections = _open(db)
    # With no names, the audit hash chain is kept too (it is maintained like a projection).
    chain_ledger = _chain_ledger(db) if not names else None
    chain = _audit_chain(chain_ledger) if chain_ledger is not None else None
    try:
        reached = projections.catch_up(chosen, batch_size=batch_size, progress=_progress("catch up"))
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
    finally:
        projections.close()
        if chain_ledger is not None:
            chain_ledger.close()


def _chain_ledger(db: str | None):  # type: ignore[no-untyped-def]
    from domain import Ledger

    return Ledger.open(db or os.environ.get("LEDGER_DATABASE_URL") or "./ledger.db")


def _audit_chain(ledger):  # type: ignore[no-untyped-def]
    from projections.audit.chain import AuditChain

    return AuditChain(ledger)


def rebuild(name: Annotated[str, typer.Argument(help="A projection name, or 'all'")], db: DbOption = None) -> None:
    """Rebuild a projection from position 0 (into scratch tables, then swapped in atomically)."""
    chosen = _names([name], allow_all=True)
    projections = _open(db)
    try:
        for n in chosen:
            started = time.monotonic()
            reached = projections.rebuild(n, progress=_progress(f"rebuild {n}"))
            typer.echo(f"{n}: rebuilt through position {reached} in {time.monotonic() - started:.2f}s")
    finally:
        projections.close()


def verify(name: Annotated[str, typer.Argument(help="A projection name, or 'all'")], db: DbOption = None) -> None:
    """Rebuild into scratch tables and compare row for row with the live tables (exit 1 on a difference)."""
    chosen = _names([name], allow_all=True)
    projections = _open(db)
    failed = False
    try:
        for n in chosen:
            result = projections.verify(n)
            if result.ok:
                typer.echo(f"{n}: OK ({result.rows_compared} rows compared at position {result.position})")
            else:
                failed = True
                typer.echo(f"{n}: DIFFERS ({len(result.differences)} differences at position {result.position})")
                for line in result.differences:
                    typer.echo(f"  {line}")
    finally:
        projections.close()
    if failed:
        sys.stdout.flush()
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("project")(project)
    app.command("rebuild")(rebuild)
    app.command("verify")(verify)
