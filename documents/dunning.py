"""The dunning reminder as a document: HTML (Jinja2, the invoice's stylesheet) and PDF (WeasyPrint).

Built from the ledger alone: the tenant's ``DunningCase`` step as recorded (the overdue invoices
on the run's day: number, due date, days overdue, outstanding), so the HTTP API
(``GET /v1/tenants/{id}/dunning`` with ``Accept: text/html|application/pdf``) and ``ledger
dunning show`` render the same page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from documents.model import Seller
from documents.render import MISSING, environment
from domain import Ledger
from domain.aggregates.dunning import step_title
from domain.errors import NotFound


@dataclass(frozen=True)
class ReminderLine:
    number: str
    due_date: str
    days_overdue: int
    outstanding: Decimal
    currency: str


@dataclass(frozen=True)
class ReminderDocument:
    title: str  # "Second reminder", "Suspension notice"
    step: int
    episode: int
    day: str
    tenant_id: str
    tenant_name: str
    seller: Seller
    lines: list[ReminderLine]
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> total overdue
    suspended: bool = False

    @property
    def filename(self) -> str:
        return f"dunning-{self.day}-step{self.step}"


def reminder_document(ledger: Ledger, tenant_id: object, step: int, *, seller: Seller | None = None,
                      episode: int | None = None) -> ReminderDocument:
    """The document of ``step`` as last recorded for the tenant (in ``episode``, if given);
    NotFound naming ``step`` if dunning never recorded it."""
    tenant = ledger.get_tenant(tenant_id)
    case = ledger.get_dunning_case(tenant.id)
    entry: Mapping[str, Any] | None = None if case is None else case.step_of(step, episode)
    if case is None or entry is None or entry["kind"] == "resolved":
        raise NotFound(f"step: dunning recorded no step {step} for tenant {tenant.name!r}", field="step")
    lines = [ReminderLine(str(i["number"]), str(i["due_date"]), int(i["days_overdue"]),
                          Decimal(str(i["outstanding"])), str(i["currency"])) for i in entry["invoices"]]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.currency] += line.outstanding
    return ReminderDocument(step_title(step, len(case.reminder_days)) if entry["kind"] == "reminder"
                            else "Suspension notice", step, int(entry["episode"]), str(entry["day"]),
                            str(tenant.id), tenant.name, seller or Seller(), lines, dict(sorted(totals.items())),
                            entry["kind"] == "suspension")


def render_reminder_html(doc: ReminderDocument) -> str:
    return environment().get_template("reminder.html.j2").render(doc=doc, missing=MISSING)


def render_reminder_pdf(doc: ReminderDocument) -> bytes:
    from weasyprint import HTML  # imported when a PDF is asked for: it takes a second or two to load

    pdf: bytes = HTML(string=render_reminder_html(doc)).write_pdf()
    return pdf
