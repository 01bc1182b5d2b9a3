"""A client generated from the ledger's /openapi.json books a reservation and reads a typed report.

    pip install openapi-python-client
    curl -s http://127.0.0.1:8000/openapi.json > openapi.json
    openapi-python-client generate --path openapi.json --meta none --output-path ledger_client
    BASE=http://127.0.0.1:8000 TOKEN=<a tenant token> TENANT=<its tenant id> SITE=<a site id> \\
        python examples/generated_client.py

The functions are the API's operationIds (``confirm_reservation``, ``report_billing``) and the
report comes back as ``BillingReport``, whose ``rows`` are ``BillingReportRow`` objects.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from ledger_client import AuthenticatedClient  # type: ignore[import-not-found]
from ledger_client.api.reports import report_billing  # type: ignore[import-not-found]
from ledger_client.api.reservations import confirm_reservation  # type: ignore[import-not-found]
from ledger_client.models import (  # type: ignore[import-not-found]
    BillingReport,
    GpuModelCode,
    ReservationCreate,
    ReservationPublic,
)


def main() -> None:
    client = AuthenticatedClient(base_url=os.environ["BASE"], token=os.environ["TOKEN"])
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    booked = confirm_reservation.sync(
        client=client, idempotency_key=str(uuid.uuid4()),
        body=ReservationCreate(site_id=os.environ["SITE"], model=GpuModelCode("H100-SXM"), gpus=2, start=start,
                               end=start + timedelta(days=1), tenant_id=os.environ["TENANT"]))
    assert isinstance(booked, ReservationPublic), booked
    print(f"reservation {booked.id}: {booked.gpus} x {booked.model} from {booked.start:%Y-%m-%d}")
    report = report_billing.sync(client=client, from_="2026-10", to="2026-10")
    assert isinstance(report, BillingReport), report
    for row in report.rows[:3]:
        print(f"{row.month} {row.tenant}: {row.gpu_hours} GPU-hours, {row.amount} {row.currency}")
    for total in report.totals:
        print(f"total {total.currency}: {total.amount}")


if __name__ == "__main__":
    main()
