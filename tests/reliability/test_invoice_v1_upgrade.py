"""Invoices issued before carbon was billed (``Invoice.Issued`` version 1: no carbon totals, lines
without carbon) still load on both stores, with zero totals, and the billing projection rebuilt
over them equals its catch-up."""

from __future__ import annotations

import json
from decimal import Decimal

from eventsourcing.persistence import StoredEvent

from bootstrap import open_ledger, open_projections
from domain.aggregates import Invoice, invoice_id
from tests.builders import SimClock, fleet, hour, reserve


def test_version_1_invoices_load_with_zero_carbon_totals(database_url: str) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    try:
        f = fleet(ledger)
        reservation = reserve(f, 2, 0, 10)
        clock.set(hour(24 * 40))
        month = "2026-01"
        ident = invoice_id(f.tenant_id, month)
        state = {"originator_id": {"_type_": "uuid_hex", "_data_": ident.hex}, "originator_version": 1,
                 "timestamp": {"_type_": "datetime_iso", "_data_": "2026-02-10T00:00:00+00:00"},
                 "originator_topic": "ledger:Invoice",
                 "tenant_id": {"_type_": "uuid_hex", "_data_": f.tenant_id.hex}, "month": month, "currency": "USD",
                 "lines": [{"line_key": f"reservation:{reservation}", "kind": "reservation",
                            "reservation_id": str(reservation), "gpu_hours": {"_type_": "decimal_str", "_data_": "20"},
                            "rate": {"_type_": "decimal_str", "_data_": "2.50"},
                            "amount": {"_type_": "decimal_str", "_data_": "50.00"}}],
                 "total": {"_type_": "decimal_str", "_data_": "50.00"},
                 "issued_at": {"_type_": "datetime_iso", "_data_": "2026-02-10T00:00:00+00:00"},
                 "billed_through_position": ledger.max_position()}
        ledger.recorder.insert_events([StoredEvent(originator_id=ident, originator_version=1,
                                                   topic="ledger:Invoice.Issued", state=json.dumps(state).encode())])
        invoice = ledger.get_invoice(ident)
        assert isinstance(invoice, Invoice) and invoice.total == Decimal("50.00")
        assert (invoice.energy_kwh, invoice.location_kgco2e, invoice.market_kgco2e) == (0, 0, 0)
        assert Invoice.Issued.class_version == 3  # upcast v1 -> v2 -> v3: no number, no due date, net 30
        assert (invoice.number, invoice.due_date, invoice.payment_terms_days, invoice.status) == (None, None, 30,
                                                                                                  "issued")
        ledger.credit_invoice(ident, amount="1.00", reason="goodwill")  # the old invoice keeps working
        projections = open_projections(database_url)
        try:
            projections.catch_up()
            assert projections.verify("billing").ok
            assert [line["kind"] for line in projections.billing(tenant_id=f.tenant_id)] == ["reservation"]
            assert ledger.get_invoice(ident).credited == Decimal("1.00")
        finally:
            projections.close()
    finally:
        ledger.close()
