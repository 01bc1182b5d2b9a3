"""Billing: per tenant / month, in the tenant's currency, one line per reservation per month.

Rules (stated in the README):
- A reservation line = GPU-hours booked in that calendar month (UTC) x the rate locked at
  confirmation, rounded to the currency's minor unit with banker's rounding *at the line*
  (domain.money.quantize), never on sums. Extensions add hours; a cancellation removes the
  released hours from their months and adds a ``cancellation_fee`` line (the fee the
  reservation computed) in the month of cancellation. A month's total is the sum of its lines.
- Invoices (Invoice aggregate events): when an invoice is issued, the month's lines are frozen
  as exactly the lines the invoice carries. Anything that later changes a frozen month — and
  any difference between the live lines and the invoiced ones, e.g. events between the
  invoice's ``billed_through_position`` and its issue — is billed as an ``adjustment`` line on
  the tenant's next month without an invoice. A credit note is a negative ``credit`` line on
  that next open month. A voided invoice keeps its month frozen (an issued month is never
  re-opened; its status shows ``void``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.money import quantize
from projections.base import Projection, Rows
from projections.db import Database, Table
from projections.events import Event, dec, hour_floor, hours_by_month, moment, next_month, uuid_str

T, B = "TEXT", "BIGINT"
ZERO = Decimal(0)
LINE_COLUMNS = ("tenant_id", "month", "line_key", "kind", "reservation_id", "origin_month", "currency",
                "gpu_hours", "rate", "amount")


class Billing(Projection):
    name = "billing"
    topics = ("ledger:Reservation.Confirmed", "ledger:Reservation.Extended", "ledger:Reservation.Cancelled",
              "ledger:Invoice.Issued", "ledger:Invoice.Voided", "ledger:Invoice.CreditNoteIssued")
    tables = (
        Table("bil_reservations", (("reservation_id", T), ("tenant_id", T), ("currency", T), ("gpus", B),
                                   ("rate", T)), ("reservation_id",)),
        Table("bil_invoices", (("tenant_id", T), ("month", T), ("invoice_id", T), ("currency", T), ("total", T),
                               ("credited", T), ("status", T), ("billed_through", B), ("issued_position", B)),
              ("tenant_id", "month"), indexes=(("invoice_id",),)),
        Table("bil_lines", tuple((c, T) for c in LINE_COLUMNS), ("tenant_id", "month", "line_key")),
    )

    def apply(self, db: Database, events: list[Event]) -> None:
        new = [(e.originator_id, uuid_str(e.data["tenant_id"]), e.data["currency"], int(e.data["gpus"]),
                str(dec(e.data["rate_per_gpu_hour"]))) for e in events if e.topic == "ledger:Reservation.Confirmed"]
        self.remember(db, "bil_reservations", new)
        reservations = self.lookup(db, "bil_reservations", {
            e.originator_id for e in events if e.topic.startswith("ledger:Reservation")})
        batch = _Batch(self, db, reservations)
        for e in events:
            batch.handle(e)
        batch.invoices.flush()
        batch.lines.flush()


class _Batch:
    """The state one batch works on, updated in log order."""

    def __init__(self, projection: Billing, db: Database, reservations: dict[str, tuple[Any, ...]]) -> None:
        self.db, self.reservations = db, reservations
        self.invoices: Rows = projection.rows(db, "bil_invoices")
        self.lines: Rows = projection.rows(db, "bil_lines")
        self.invoiced_months: dict[str, set[str]] = {}
        tenants = {v[0] for v in reservations.values()}
        for tenant in tenants:
            self._months_of(tenant)

    def _months_of(self, tenant: str) -> set[str]:
        months = self.invoiced_months.get(tenant)
        if months is None:
            months = {row[1] for row in self.invoices.where({"tenant_id": tenant})}
            self.invoiced_months[tenant] = months
        return months

    def open_month(self, tenant: str, month: str) -> str:
        """``month`` if it has no invoice, else the next month after it that has none."""
        invoiced = self._months_of(tenant)
        while month in invoiced:
            month = next_month(month)
        return month

    def handle(self, e: Event) -> None:
        data = e.data
        if e.topic == "ledger:Reservation.Confirmed":
            self.add_hours(e.originator_id, hour_floor(data["start"]), hour_floor(data["end"]), 1)
        elif e.topic == "ledger:Reservation.Extended":
            self.add_hours(e.originator_id, hour_floor(data["previous_end"]), hour_floor(data["end"]), 1)
        elif e.topic == "ledger:Reservation.Cancelled":
            self.add_hours(e.originator_id, hour_floor(data["released_from"]), hour_floor(data["released_until"]), -1)
            fee = dec(data["fee"])
            if fee:
                self.add_fee(e.originator_id, moment(data["cancelled_at"]), fee)
        elif e.topic == "ledger:Invoice.Issued":
            self.issue(e)
        elif e.topic == "ledger:Invoice.Voided":
            row = self.invoice_by_id(e.originator_id)
            row[6] = "void"
            self.invoices.put(row)
        elif e.topic == "ledger:Invoice.CreditNoteIssued":
            self.credit(e)

    # ---- reservation lines --------------------------------------------------------------

    def add_hours(self, reservation: str, first: int, last: int, sign: int) -> None:
        tenant, currency, gpus, rate_text = self.reservations[reservation]
        rate = Decimal(rate_text)
        for month, hours in hours_by_month(first, last):
            delta = Decimal(sign * gpus * hours)
            target = self.open_month(tenant, month)
            if target == month:
                key, kind, origin = f"reservation:{reservation}", "reservation", None
            else:
                key, kind, origin = f"adjustment:{reservation}:{month}", "adjustment", month
            row = self.lines.get((tenant, target, key)) or self._line(tenant, target, key, kind, reservation,
                                                                       origin, currency, rate_text)
            gpu_hours = Decimal(row[7]) + delta
            row[7], row[9] = str(gpu_hours), str(quantize(gpu_hours * rate, currency))
            self.lines.put(row)

    def add_fee(self, reservation: str, cancelled_at: Any, fee: Decimal) -> None:
        tenant, currency, _, _ = self.reservations[reservation]
        month = f"{cancelled_at.year:04d}-{cancelled_at.month:02d}"
        target = self.open_month(tenant, month)
        if target == month:
            key, kind, origin = f"fee:{reservation}", "cancellation_fee", None
        else:
            key, kind, origin = f"adjustment-fee:{reservation}:{month}", "adjustment", month
        row = self.lines.get((tenant, target, key)) or self._line(tenant, target, key, kind, reservation, origin,
                                                                   currency, None)
        row[9] = str(Decimal(row[9]) + fee)
        self.lines.put(row)

    @staticmethod
    def _line(tenant: str, month: str, key: str, kind: str, reservation: str | None, origin: str | None,
              currency: str, rate: str | None) -> list[Any]:
        return [tenant, month, key, kind, reservation, origin, currency, "0", rate, "0"]

    # ---- invoices -----------------------------------------------------------------------

    def invoice_by_id(self, invoice_id: str) -> list[Any]:
        found = [r for r in self.invoices.where({"invoice_id": invoice_id})]
        if not found:
            raise LookupError(f"billing: no Issued event seen for invoice {invoice_id}")
        return found[0]

    def issue(self, e: Event) -> None:
        data = e.data
        tenant, month, currency = uuid_str(data["tenant_id"]), data["month"], data["currency"]
        live = {r[2]: r for r in self.lines.where({"tenant_id": tenant, "month": month})}
        frozen: dict[str, list[Any]] = {}
        for i, line in enumerate(data.get("lines") or []):
            key = str(line.get("line_key") or f"invoice-line:{i}")
            reservation = line.get("reservation_id")
            frozen[key] = [tenant, month, key, str(line.get("kind") or "invoice"),
                           uuid_str(reservation) if reservation else None, line.get("origin_month"), currency,
                           str(dec(line["gpu_hours"])) if line.get("gpu_hours") is not None else "0",
                           str(dec(line["rate"])) if line.get("rate") is not None else None,
                           str(dec(line["amount"]))]
        self._months_of(tenant).add(month)
        self.invoices.put([tenant, month, e.originator_id, currency, str(dec(data["total"])), "0", "issued",
                           int(data["billed_through_position"]), e.position])
        target = self.open_month(tenant, month)
        for key in sorted(set(live) | set(frozen)):
            was, now = frozen.get(key), live.get(key)
            d_amount = Decimal(now[9] if now else 0) - Decimal(was[9] if was else 0)
            d_hours = Decimal(now[7] if now else 0) - Decimal(was[7] if was else 0)
            if d_amount or d_hours:
                source = now or was
                assert source is not None
                adj_key = f"reconciliation:{month}:{key}"
                row = self.lines.get((tenant, target, adj_key)) or self._line(
                    tenant, target, adj_key, "adjustment", source[4], month, currency, source[8])
                row[7], row[9] = str(Decimal(row[7]) + d_hours), str(Decimal(row[9]) + d_amount)
                self.lines.put(row)
        for key in live:
            if key not in frozen:
                self.lines.delete((tenant, month, key))
        for row in frozen.values():
            self.lines.put(row)

    def credit(self, e: Event) -> None:
        row = self.invoice_by_id(e.originator_id)
        amount = dec(e.data["amount"])
        row[5] = str(Decimal(row[5]) + amount)
        self.invoices.put(row)
        tenant, month, currency = row[0], row[1], row[3]
        target = self.open_month(tenant, month)
        key = f"credit:{e.originator_id}:{e.position}"
        line = self._line(tenant, target, key, "credit", None, month, currency, None)
        line[9] = str(-amount)
        self.lines.put(line)
