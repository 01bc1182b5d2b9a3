"""Auditors read the whole log, look at any aggregate as it was, and verify the log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query
from pydantic import StringConstraints

from api.audit import aggregate_as_of, events_after
from api.deps import Auditor, LedgerDep, PageLimit
from api.routes import resource_router
from api.schemas.common import Page, Text, VersionOrTime
from api.schemas.reads import AggregateAsOfPublic, AuditEventPublic, VerifyCreate, VerifyPublic

audit = resource_router("/v1/audit", "audit")


@audit.get("/events")
def list_events(ledger: LedgerDep, _: Auditor, limit: PageLimit,
                cursor: Annotated[int, Query(ge=0, le=2**62, description="Log position to continue after")] = 0,
                topic: Annotated[list[Annotated[Text, StringConstraints(max_length=200)]] | None,
                                 Query(max_length=20, description="Only these event topics")] = None,
                ) -> Page[AuditEventPublic]:
    """The notification log in order of position, decoded."""
    events = events_after(ledger, cursor, limit, topic or [])
    items = [AuditEventPublic(**e) for e in events]
    return Page(items=items, next_cursor=items[-1].position if len(items) == limit else None)


@audit.get("/aggregates/{aggregate_id}")
def get_aggregate(aggregate_id: UUID, ledger: LedgerDep, _: Auditor,
                  as_of: Annotated[VersionOrTime | None, Query(description="A version number or a UTC timestamp")]
                  = None) -> AggregateAsOfPublic:
    """The aggregate rebuilt from its events up to `as_of` (default: now)."""
    return AggregateAsOfPublic(**aggregate_as_of(ledger, aggregate_id, as_of))


@audit.post("/verify")
def verify(ledger: LedgerDep, _: Auditor, body: VerifyCreate | None = None) -> VerifyPublic:
    """Extend the hash chain over the log, then recompute it from the stored events: an event
    altered, deleted or inserted is reported at its position. Then check the invoice and
    credit-note numbers from the log alone (what `ledger audit verify` checks too)."""
    from operations.numbering_audit import verify_numbering
    from projections.audit import AuditChain, Head

    earlier = Head.parse(body.earlier_head) if body and body.earlier_head else None
    chain = AuditChain(ledger)
    chain.catch_up()
    report = chain.verify(earlier)
    numbering = verify_numbering(ledger)
    ok, bad, reason = report.ok, report.first_bad_position, report.reason
    if ok and not numbering.ok:
        ok, bad, reason = False, numbering.position, f"document numbers: {numbering.reason}"
    return VerifyPublic(ok=ok, checked=report.checked, head=str(report.head), pending=report.pending,
                        first_bad_position=bad, reason=reason, document_numbers=numbering.numbers,
                        document_sequences=numbering.sequences)
