"""Gapless numbering under concurrent issuing: two Ledger instances on one PostgreSQL database,
issuing invoices for many tenants from threads, take the numbers n+1..n+k exactly once each, and
`ledger audit verify`'s number check holds on the log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain import Ledger
from domain.aggregates import DocumentSequence, sequence_id
from operations.numbering_audit import verify_numbering
from tests.builders import SimClock, register_tenant

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def last_number(ledger: Ledger) -> int:
    try:
        sequence = ledger.repository.get(sequence_id("GL", "invoice", 2026))
    except Exception:
        return 0
    assert isinstance(sequence, DocumentSequence)
    return sequence.last


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tenants=st.integers(min_value=6, max_value=16), threads=st.integers(min_value=2, max_value=4))
def test_numbers_are_gapless_and_unique_under_concurrent_issuing(postgres_url: str, tenants: int,
                                                                 threads: int) -> None:
    clock = SimClock(datetime(2026, 2, 10, tzinfo=UTC))
    ledgers = [open_ledger(postgres_url, clock=clock), open_ledger(postgres_url, clock=clock)]
    try:
        ids = [register_tenant(ledgers[0], name=f"Lab {i}") for i in range(tenants)]
        start = last_number(ledgers[0])
        issued: list[UUID] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def issue(worker: int) -> None:
            ledger = ledgers[worker % 2]
            for tenant in ids[worker::threads]:
                try:
                    written = ledger.issue_invoice(tenant_id=tenant, month="2026-01", billed_through_position=0,
                                                   lines=[{"kind": "reservation", "amount": Decimal("10.00")}])
                except BaseException as error:  # reported below
                    errors.append(error)
                    return
                with lock:
                    issued.append(written.id)

        workers = [threading.Thread(target=issue, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, errors
        numbers = sorted(ledgers[1].get_invoice(i).number or "" for i in issued)
        assert numbers == [f"GL-2026-{n:06d}" for n in range(start + 1, start + tenants + 1)]
        assert last_number(ledgers[1]) == start + tenants
        report = verify_numbering(ledgers[1])
        assert report.ok, report.reason
    finally:
        for ledger in ledgers:
            ledger.close()
