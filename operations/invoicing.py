"""Issuing invoices: the ONE place that turns the billing projection's lines into an invoice.

``POST /v1/invoices`` and ``ledger invoice issue --tenant T --month M`` call :func:`issue_invoice`;
``ledger invoice issue --month M`` calls :func:`issue_month`, which calls :func:`issue_invoice` for
each tenant. Whatever issuing an invoice comes to do (credits, true-ups), it is done here.

Policy for a whole month (:func:`issue_month`): every tenant with at least one billing line in
the month (bookings, cancellation fees, adjustments, credits) gets its invoice; a tenant with no
line gets none, as the demo's month close does (nothing to bill, nothing issued). Asked for one
tenant, :func:`issue_invoice` issues even an invoice with no lines (what the route has always
done: finance asked for it by name). Running either again issues nothing: a month already
invoiced is counted as already issued (the ledger holds one invoice per tenant and month).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from domain import Ledger, Written
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import InvalidInput, InvoiceAlreadyIssued
from domain.timeutil import check_month, month_bounds

__all__ = ["BillingReads", "MonthIssued", "ProjectionReads", "ProjectionsBilling", "check_closed", "issue_invoice",
           "issue_month"]


class BillingReads(Protocol):
    """What issuing needs from the billing projection."""

    def wait_for(self, position: int) -> None:
        """Return once the billing projection has processed the log through ``position``."""
        ...

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        """The month's lines for the tenant and the billing position they are computed through."""
        ...

    def month_totals(self, month: str) -> list[dict[str, Any]]:
        """The ``billing_totals`` report's rows for ``month`` (one per tenant with lines or an invoice)."""
        ...

    def contract_tenants(self) -> list[UUID]:
        """Tenants with a committed-spend contract (the ``contracts`` report; one per contract)."""
        ...


def check_closed(ledger: Ledger, month: object) -> str:
    """``month`` as YYYY-MM, refused (naming ``month``) unless it has ended by the ledger's clock."""
    text = check_month(month)
    if month_bounds(text)[1] > ledger.now():
        raise InvalidInput(f"month: {text} has not ended yet", field="month")
    return text


def issue_invoice(ledger: Ledger, billing: BillingReads, *, tenant_id: object, month: object,
                  context: CommandContext = NO_CONTEXT) -> Written:
    """Issue ``tenant_id``'s invoice for the closed ``month`` from the billing projection, once it
    has caught up with the log. Refused with InvoiceAlreadyIssued (409) if there is one.
    ``context``: the command's (``domain.attachments.CommandContext``), as the API passes it."""
    tenant = ledger.get_tenant(tenant_id)
    month_text = check_month(month)
    billing.wait_for(ledger.max_position())
    lines, through = billing.invoice_lines(str(tenant.id), month_text)
    return ledger.issue_invoice(tenant_id=tenant.id, month=month_text, lines=lines, billed_through_position=through,
                                context=context)


@dataclass(frozen=True)
class TenantIssued:
    tenant_id: UUID
    invoice_id: UUID
    position: int | None


@dataclass
class MonthIssued:
    """What :func:`issue_month` did: the invoices issued now, and the tenants that had one."""

    month: str
    issued: list[TenantIssued] = field(default_factory=list)
    already_issued: list[UUID] = field(default_factory=list)

    @property
    def position(self) -> int | None:
        """The log position of the last invoice issued (None: nothing was issued)."""
        positions = [i.position for i in self.issued if i.position is not None]
        return max(positions) if positions else None

    def summary(self) -> str:
        return (f"{self.month}: {len(self.issued)} issued, {len(self.already_issued)} already issued "
                f"(tenants without billing lines get no invoice)")


def issue_month(ledger: Ledger, billing: BillingReads, month: object, *,
                on_tenant: Callable[[int, int], None] | None = None) -> MonthIssued:
    """Issue the invoice of every tenant with billing lines in the closed ``month`` that has none
    yet (see the module's policy), and of every tenant with a committed-spend contract even
    without lines (a period may end this month with a true-up due). Idempotent: a second run
    issues nothing. ``on_tenant(done, total)`` reports progress."""
    month_text = check_closed(ledger, month)
    billing.wait_for(ledger.max_position())
    rows = billing.month_totals(month_text)
    result = MonthIssued(month_text)
    invoiced = {UUID(str(r["tenant_id"])) for r in rows if r.get("invoice_id") is not None}
    candidates = [UUID(str(r["tenant_id"])) for r in rows
                  if r.get("invoice_id") is None and int(r.get("lines") or 0) > 0]
    candidates += [t for t in dict.fromkeys(billing.contract_tenants()) if t not in invoiced and t not in candidates]
    result.already_issued.extend(invoiced)
    for done, tenant in enumerate(candidates, 1):
        try:
            written = issue_invoice(ledger, billing, tenant_id=tenant, month=month_text)
        except InvoiceAlreadyIssued:  # issued meanwhile by someone else (the route, another run)
            result.already_issued.append(tenant)
        else:
            result.issued.append(TenantIssued(tenant, written.id, written.position))
        if on_tenant is not None:
            on_tenant(done, len(candidates))
    return result


class ProjectionReads(Protocol):
    """The calls of ``projections.Projections`` that :class:`ProjectionsBilling` makes."""

    def wait_for(self, position: int, timeout: float, *, names: list[str] | None = None,
                 assist: bool = True) -> bool: ...

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]: ...

    def report(self, name: str, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def position(self, name: str | None = None) -> int: ...


class ProjectionsBilling:
    """:class:`BillingReads` on a process's own ``projections.Projections`` (the command line,
    the demo): waiting is catching the billing projection up, here and now."""

    def __init__(self, projections: ProjectionReads, *, timeout_seconds: float = 600.0) -> None:
        self.projections = projections
        self.timeout_seconds = timeout_seconds

    def wait_for(self, position: int) -> None:
        names = ["billing", "commercial"]  # the lines, and the contracts (the month close reads both)
        if position > 0 and not self.projections.wait_for(position, self.timeout_seconds, names=names):
            raise InvalidInput(f"the billing projection did not reach position {position} within "
                               f"{self.timeout_seconds:g} s", field="month")

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        return self.projections.invoice_lines(tenant_id, month)

    def month_totals(self, month: str) -> list[dict[str, Any]]:
        return self.projections.report("billing_totals", {"from": month, "to": month})

    def contract_tenants(self) -> list[UUID]:
        return [UUID(str(r["tenant_id"])) for r in self.projections.report("contracts")]

    # operations.closing.CloseReads
    def caught_up(self, position: int, names: list[str]) -> int:
        if position > 0:
            self.projections.wait_for(position, self.timeout_seconds, names=names)
        return min(self.projections.position(name) for name in names)

    def trial_balance(self, month: str) -> list[dict[str, Any]]:
        return self.projections.report("trial_balance", {"to": month})
