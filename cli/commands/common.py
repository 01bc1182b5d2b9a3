"""What the recording commands share: finding sites, tenants, rounds, invoices and reservations
by id, name, number or id prefix (the one resolver, ``cli.names.resolve``), and printing what a
command wrote."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import typer

from cli.names import is_id_prefix, resolve
from cli.readable import money
from domain import Ledger, Written
from domain.aggregates import FundingRound, Invoice, Reservation, Site, Tenant

PAGE = 1000

TimeOption = Annotated[str | None, typer.Option(help="UTC time, e.g. 2026-10-01T00:00Z (default: now)",
                                                show_default=False)]


def registered(ledger: Ledger, *topics: str) -> Iterator[UUID]:
    """Ids of the aggregates created by events of ``topic``, in log order (read from the log:
    the read side keeps no list of every site, tenant or round)."""
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, PAGE, topics=list(topics))
        for notification in page:
            yield UUID(str(notification.originator_id))
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def sites(ledger: Ledger) -> list[Site]:
    return [ledger.get_site(ident) for ident in registered(ledger, Site.Registered.TOPIC)]


def tenants(ledger: Ledger) -> list[Tenant]:
    return [ledger.get_tenant(ident) for ident in registered(ledger, Tenant.Registered.TOPIC)]


def rounds(ledger: Ledger) -> list[FundingRound]:
    return [ledger.get_funding_round(ident) for ident in registered(ledger, FundingRound.Opened.TOPIC)]


def _ref(value: str, names: Callable[[], dict[str, str]], what: str, option: str, *, named: bool = True) -> UUID:
    """An id as given, else the id of the one ``what`` with that name (or a unique part of it),
    or whose id starts with these 8+ hex digits (``cli.names.resolve``)."""
    try:
        return UUID(value.strip())
    except ValueError:
        found = resolve(value, names(), what, option, named=named)
        assert found is not None
        return UUID(found)


def site_id(ledger: Ledger, value: str, option: str = "SITE") -> UUID:
    return _ref(value, lambda: {str(s.id): s.name for s in sites(ledger)}, "site", option)


def tenant_id(ledger: Ledger, value: str, option: str = "TENANT") -> UUID:
    return _ref(value, lambda: {str(t.id): t.name for t in tenants(ledger)}, "tenant", option)


def round_id(ledger: Ledger, value: str, option: str = "ROUND") -> UUID:
    return _ref(value, lambda: {str(r.id): r.name for r in rounds(ledger)}, "funding round", option)


def invoice_ref(ledger: Ledger, value: str, option: str = "INVOICE") -> str:
    """An invoice's number (GL-2026-000123) or id as given (``Ledger.get_invoice`` takes both),
    or the id of the one invoice whose id starts with these 8+ hex digits."""
    if not is_id_prefix(value) or len(value.strip().replace("-", "")) == 32:
        return value
    ids = {str(i): "" for i in registered(ledger, Invoice.Issued.TOPIC)}
    return str(_ref(value, lambda: ids, "invoice", option, named=False))


def reservation_id(ledger: Ledger, value: str, option: str = "RESERVATION") -> str:
    """A reservation's id, or the id of the one reservation whose id starts with these 8+ hex digits."""
    if not is_id_prefix(value) or len(value.strip().replace("-", "")) == 32:
        return value
    ids = {str(i): "" for i in registered(ledger, Reservation.Confirmed.TOPIC)}
    return str(_ref(value, lambda: ids, "reservation", option, named=False))


def when(ledger: Ledger, value: str | None) -> object:
    """A time option as given (the ledger checks it), or the ledger's now."""
    return ledger.now() if value is None else value


def written(what: str, receipt: Written, **extra: object) -> None:
    """``site registered: id=... position=57`` on stdout: what a write command did."""
    words = " ".join(f"{k}={money(v) if isinstance(v, Decimal) else v}" for k, v in extra.items())
    typer.echo(f"{what}: id={receipt.id} position={receipt.position}" + (f" {words}" if words else ""))


def rates_of(values: list[str], option: str = "--rate") -> dict[str, str]:
    """``--rate H100-SXM=2.50`` (repeated) as {model: rate}; the ledger checks models and rates."""
    from domain.errors import InvalidInput

    rates: dict[str, str] = {}
    for value in values:
        model, sep, rate = value.partition("=")
        if not sep or not model.strip() or not rate.strip():
            raise InvalidInput(f"{option}: expected MODEL=RATE (e.g. H100-SXM=2.50), got {value!r}", field=option)
        rates[model.strip()] = rate.strip()
    return rates
