"""Billing: per tenant / month, in the tenant's currency, one line per reservation per month.

Rules (stated in the README):
- A reservation line = GPU-hours booked in that calendar month (UTC) x the rate locked at
  confirmation, rounded to the currency's minor unit with banker's rounding *at the line*
  (domain.money.quantize), never on sums. Extensions add hours; a cancellation removes the
  released hours from their months and adds a ``cancellation_fee`` line (the fee the
  reservation computed) in the month of cancellation. A month's total is the sum of its lines.
  A line that comes to zero GPU-hours and zero amount is removed: bills carry no empty lines.
- Invoices: when an invoice is issued, the month's lines are frozen as exactly the lines the
  invoice carries. Anything that later changes a frozen month -- and any difference between the
  live lines and the invoiced ones, e.g. events between the invoice's ``billed_through_position``
  and its issue -- is billed as an ``adjustment`` line on the tenant's next month without an
  invoice. A credit note lowers what its own invoice owes (``credited``; the receivables
  report) and is not carried onto a later invoice. A voided invoice
  keeps its month frozen (an issued month is never re-opened; its status shows ``void``).
- Carbon: a reservation's line also carries the energy kWh and location- and market-based kgCO2e
  of the GPU-hours it USED (metered) at its site in that month, by the carbon method
  (``projections.billing_carbon``, ``projections.carbon``). Usage (or a factor revision
  re-pricing it) after its month was invoiced goes on the ``adjustment`` line of that
  reservation and month, like hours. Credit notes carry none.
- On-demand reservations (``pricing`` ``on_demand``) are billed on metered GPU-hours: one
  ``on_demand`` line per reservation per month (the same ``reservation:<id>`` key), metered
  GPU-hours x the on-demand rate locked at confirmation, rounded at the line; booked hours make
  no line. Usage metered after the month's invoice is an ``adjustment`` line, as above.
- Lines an invoice gets from its commercial terms at issue (``true_up``, ``termination_fee``,
  ``credits_applied``: domain.service.commercial) are frozen with it but are never reconciled
  into adjustments: they are not computed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import singledispatchmethod

from domain.aggregates import Invoice, Reservation, Site
from domain.money import quantize
from domain.service.commercial import TERMS_LINE_KINDS
from projections.billing_carbon import FACTORS, USAGE, LineCarbon
from projections.billing_rows import (
    BOOKING_EVENTS,
    CARBON_COLUMNS,
    INVOICES,
    LINES,
    TERMS,
    ZERO,
    InvoiceRow,
    LineRow,
    ReservationTerms,
    booked_hours,
    invoiced_line,
    terms_confirmed,
)
from projections.carbon import PRECISION, Carbon
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from projections.timeaxis import (
    hour_floor,
    hour_of_iso,
    hours_by_month,
    micro,
    micro_of_text,
    month_of,
    month_of_hour,
    next_month,
)
from storage.database import Database
from storage.tables import Key


@dataclass
class BillingBatch(Batch):
    terms: RowSet[ReservationTerms]
    invoices: RowSet[InvoiceRow]
    lines: RowSet[LineRow]
    carbon: LineCarbon
    invoiced_months: dict[str, set[str]] = field(default_factory=dict)

    def flush(self) -> None:
        self.settle()
        self.carbon.flush()
        self.terms.flush()
        self.invoices.flush()
        self.lines.flush()

    def months_of(self, tenant: str) -> set[str]:
        months = self.invoiced_months.get(tenant)
        if months is None:
            months = self.invoiced_months[tenant] = {row.month for row in self.invoices.where(tenant_id=tenant)}
        return months

    def open_month(self, tenant: str, month: str) -> str:
        """``month`` if it has no invoice, else the first later month that has none."""
        invoiced = self.months_of(tenant)
        while month in invoiced:
            month = next_month(month)
        return month

    def line(self, tenant: str, month: str, key: str, kind: str, reservation: str | None, origin: str | None,
             currency: str, rate: Decimal | None) -> LineRow:
        return self.lines.get((tenant, month, key)) or LineRow(
            tenant, month, key, kind, reservation, origin, currency, ZERO, rate, ZERO)

    def save(self, line: LineRow) -> None:
        if line.empty:
            self.lines.delete((line.tenant_id, line.month, line.line_key))
        else:
            self.lines.put(line)

    def invoice_by_id(self, invoice_id: str) -> InvoiceRow:
        found = self.invoices.where(invoice_id=invoice_id)
        if not found:
            raise LookupError(f"billing: no Invoice.Issued seen for invoice {invoice_id}")
        return found[0]

    def terms_of(self, reservation: object) -> ReservationTerms:
        return self.terms.require((text_id(reservation),), f"billing: no Reservation.Confirmed seen for {reservation}")

    def target(self, terms: ReservationTerms, month: str) -> tuple[str, str, str, str | None]:
        """(month billed, line key, kind, origin month) of a reservation's hours or usage in ``month``:
        its own line, or an adjustment on the next open month once ``month`` is invoiced."""
        target = self.open_month(terms.tenant_id, month)
        if target == month:
            kind = "on_demand" if terms.pricing == "on_demand" else "reservation"
            return target, f"reservation:{terms.reservation_id}", kind, None
        return target, f"adjustment:{terms.reservation_id}:{month}", "adjustment", month

    def booked_lines(self, terms: ReservationTerms, first: int,
                     last: int) -> Iterator[tuple[int, str, str, str, str | None]]:
        """(hours, month billed, line key, kind, origin month) for each month of a reservation's
        booked hours [first, last); none for an on-demand one (billed on metered hours)."""
        if terms.pricing == "on_demand":
            return
        for month, hours in hours_by_month(first, last):
            yield (hours, *self.target(terms, month))

    def add_carbon(self, reservation: str, month: str, carbon: Carbon) -> None:
        terms = self.terms_of(reservation)
        target, key, kind, origin = self.target(terms, month)
        line = self.line(terms.tenant_id, target, key, kind, terms.reservation_id, origin, terms.currency,
                         terms.rate)
        line.add_carbon(carbon)
        self.save(line)

    def model_of(self, reservation: str) -> str:
        return self.terms_of(reservation).model

    def settle(self) -> None:
        """Price the usage gathered so far onto the lines (before anything reads or freezes them)."""
        self.carbon.settle(self.model_of, self.add_carbon)


class Billing(Projection):
    name = "billing"
    title = "Bill lines and invoices per tenant and month, in the tenant's currency"
    tables = (TERMS, INVOICES, LINES, FACTORS, USAGE)

    def begin(self, db: Database, events: Sequence[Positioned]) -> BillingBatch:
        batch = BillingBatch(self.rows(db, TERMS), self.rows(db, INVOICES), self.rows(db, LINES),
                             LineCarbon(db, self.prefix))
        batch.terms.prefetch({(text_id(e.originator_id),) for _, e in events if not isinstance(e, Invoice.Event)})
        batch.lines.prefetch(self._booked_lines(batch, events))
        return batch

    @staticmethod
    def _booked_lines(batch: BillingBatch, events: Sequence[Positioned]) -> set[Key]:
        """The keys of the lines the batch's booked hours land on, read in one query rather than
        one per booking. Worked out as things stand at the batch's start: a line an invoice issued
        within the batch moves the later hours to is read when met (reads are never wrong, only
        more or fewer)."""
        keys: set[Key] = set()
        for _, event in events:
            if not isinstance(event, BOOKING_EVENTS):
                continue
            terms = (terms_confirmed(event) if isinstance(event, Reservation.Confirmed)
                     else batch.terms.get((text_id(event.originator_id),)))
            if terms is None:  # confirmed within this batch: its lines are new ones
                continue
            for _hours, target, key, _kind, _origin in batch.booked_lines(terms, *booked_hours(event)):
                keys.add((terms.tenant_id, target, key))
        return keys

    def apply(self, db: Database, events: Sequence[Positioned]) -> None:
        with localcontext() as ctx:
            ctx.prec = PRECISION  # carbon: products of several factors stay exact
            super().apply(db, events)

    @singledispatchmethod
    def handle(self, event: object, batch: BillingBatch) -> None:
        """Events without a handler are ignored."""

    # ---- reservation lines --------------------------------------------------------------------

    @handle.register(Reservation.Confirmed)
    def _confirmed(self, event: Reservation.Confirmed, batch: BillingBatch) -> None:
        terms = batch.terms.put(terms_confirmed(event))
        self._hours(batch, terms, *booked_hours(event), 1)

    @handle.register(Reservation.Extended)
    def _extended(self, event: Reservation.Extended, batch: BillingBatch) -> None:
        self._hours(batch, batch.terms_of(event.originator_id), *booked_hours(event), 1)

    @handle.register(Reservation.Cancelled)
    def _cancelled(self, event: Reservation.Cancelled, batch: BillingBatch) -> None:
        terms = batch.terms_of(event.originator_id)
        self._hours(batch, terms, *booked_hours(event), -1)
        fee = Decimal(event.fee)
        if not fee:
            return
        month = month_of(event.cancelled_at)
        target = batch.open_month(terms.tenant_id, month)
        if target == month:
            key, kind, origin = f"fee:{terms.reservation_id}", "cancellation_fee", None
        else:
            key, kind, origin = f"adjustment-fee:{terms.reservation_id}:{month}", "adjustment", month
        line = batch.line(terms.tenant_id, target, key, kind, terms.reservation_id, origin, terms.currency, None)
        line.amount += fee
        batch.save(line)

    @staticmethod
    def _hours(batch: BillingBatch, terms: ReservationTerms, first: int, last: int, sign: int) -> None:
        for hours, target, key, kind, origin in batch.booked_lines(terms, first, last):  # none when on demand
            line = batch.line(terms.tenant_id, target, key, kind, terms.reservation_id, origin, terms.currency,
                              terms.rate)
            line.gpu_hours += sign * terms.gpus * hours
            line.amount = quantize(line.gpu_hours * terms.rate, terms.currency)
            batch.save(line)

    # ---- metered usage: its carbon on every line, and the on-demand lines' GPU-hours ----------

    @handle.register(Reservation.UsageBatchRecorded)
    def _usage_batch(self, event: Reservation.UsageBatchRecorded, batch: BillingBatch) -> None:
        terms = batch.terms_of(event.originator_id)
        on_demand: dict[str, Decimal] = {}
        for _record, hour_text, gpu_hours in event.records:
            hour = hour_of_iso(hour_text)
            batch.carbon.use(terms.reservation_id, terms.site_id, hour, micro_of_text(gpu_hours))
            if terms.pricing == "on_demand":
                month = month_of_hour(hour)
                on_demand[month] = on_demand.get(month, ZERO) + Decimal(gpu_hours)
        for month, metered in sorted(on_demand.items()):
            self._metered(batch, terms, month, metered)

    @handle.register(Reservation.UsageRecorded)
    def _usage(self, event: Reservation.UsageRecorded, batch: BillingBatch) -> None:
        terms = batch.terms_of(event.originator_id)
        batch.carbon.use(terms.reservation_id, terms.site_id, hour_floor(event.hour), micro(event.gpu_hours))
        if terms.pricing == "on_demand":
            self._metered(batch, terms, month_of(event.hour), Decimal(event.gpu_hours))

    @staticmethod
    def _metered(batch: BillingBatch, terms: ReservationTerms, month: str, gpu_hours: Decimal) -> None:
        target, key, kind, origin = batch.target(terms, month)
        line = batch.line(terms.tenant_id, target, key, kind, terms.reservation_id, origin, terms.currency, terms.rate)
        line.gpu_hours += gpu_hours
        line.amount = quantize(line.gpu_hours * terms.rate, terms.currency)
        batch.save(line)

    @handle.register(Site.Registered)
    def _site_registered(self, event: Site.Registered, batch: BillingBatch) -> None:
        self._site_factors(event, batch)

    @handle.register(Site.Revised)
    def _site_revised(self, event: Site.Revised, batch: BillingBatch) -> None:
        self._site_factors(event, batch)

    @staticmethod
    def _site_factors(event: Site.Registered | Site.Revised, batch: BillingBatch) -> None:
        batch.settle()  # usage so far is priced with the factors in force before this revision
        batch.carbon.revise(event, text_id(event.originator_id), batch.model_of, batch.add_carbon)

    # ---- invoices -----------------------------------------------------------------------------

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: BillingBatch) -> None:
        batch.settle()  # usage recorded before the invoice belongs to the lines it freezes
        tenant, month, currency = text_id(event.tenant_id), event.month, event.currency
        live = {line.line_key: line for line in batch.lines.where(tenant_id=tenant, month=month)}
        frozen = {line.line_key: line for line in (
            invoiced_line(tenant, month, currency, i, data) for i, data in enumerate(event.lines or []))}
        batch.months_of(tenant).add(month)
        batch.invoices.put(InvoiceRow(tenant, month, text_id(event.originator_id), currency, Decimal(event.total), ZERO,
                                      "issued", int(event.billed_through_position), batch.position, event.number))
        target = batch.open_month(tenant, month)
        for key in sorted(set(live) | set(frozen)):
            now, was = live.get(key), frozen.get(key)
            if now is None and was is not None and was.kind in TERMS_LINE_KINDS:
                continue  # the invoice's own terms lines: never live, nothing to reconcile
            d_amount = (now.amount if now else ZERO) - (was.amount if was else ZERO)
            d_hours = (now.gpu_hours if now else ZERO) - (was.gpu_hours if was else ZERO)
            d_carbon = Carbon(*((getattr(now, c) if now else ZERO) - (getattr(was, c) if was else ZERO)
                                for c in CARBON_COLUMNS))
            if not (d_amount or d_hours or d_carbon.energy_kwh or d_carbon.location_kg or d_carbon.market_kg):
                continue
            source = now or was
            assert source is not None
            line = batch.line(tenant, target, f"reconciliation:{month}:{key}", "adjustment", source.reservation_id,
                              month, currency, source.rate)
            line.gpu_hours += d_hours
            line.amount += d_amount
            line.add_carbon(d_carbon)
            batch.save(line)
        for key in live:
            if key not in frozen:
                batch.lines.delete((tenant, month, key))
        for line in frozen.values():
            batch.lines.put(line)

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: BillingBatch) -> None:
        invoice = batch.invoice_by_id(text_id(event.originator_id))
        invoice.status = "void"
        batch.invoices.changed(invoice)

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: BillingBatch) -> None:
        invoice = batch.invoice_by_id(text_id(event.originator_id))
        amount = Decimal(event.amount)
        invoice.credited += amount
        batch.invoices.changed(invoice)
        # A credit note settles against its own invoice (it lowers what that invoice still owes:
        # receivables), so it is not carried onto a later invoice as well: the tenant would get it
        # twice. (Stores from before receivables may hold invoices with such ``credit`` lines; the
        # journal and revenue recognition never count those lines.)
