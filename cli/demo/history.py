"""Build the demo history through the application service, hour by simulated hour.

A discrete-event simulation: every action (a tranche arriving, an order placed, a delivery, a
tenant booking a block, the metering agent's nightly batch, finance closing a month) is put on
one timeline; the simulated clock is moved to each action's time before the service is called,
so every event is recorded at the moment it happened, in the past. All choices come from one
``random.Random(seed)``: the same seed gives the same commands, hence the same reports, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any
from uuid import UUID

import cli.demo.fx_rates as fx_rates
from cli.demo.cast import (
    CAMPUSES,
    DIVISIONS,
    INVESTORS,
    LIST_RATES_USD,
    ORDERS,
    ROUND_CURRENCY,
    ROUND_NAME,
    TENANTS,
    USD_TO,
)
from cli.demo.ids import ScenarioIds
from cli.demo.payments import DemoPayments
from cli.demo.terms import DemoTerms, pricing_for, set_up_terms, sign_at_service_start
from cli.demo.timeline import (
    DAY,
    HOUR,
    USAGE_CHUNK,
    DemoSummary,
    InvoiceSource,
    Scale,
    SimReservation,
    SimulatedClock,
    TenantState,
    add_months,
    history_window,
    month_text,
)
from domain import Ledger, LedgerError, UsageRecord
from domain.errors import NotFound
from domain.reference import GRID_REFERENCES
from operations.closing import close_month
from operations.dunning import run_dunning
from operations.invoicing import ProjectionsBilling, issue_month


class DemoHistory:
    """Runs the simulation against ``ledger`` (whose clock must be ``clock``)."""

    def __init__(self, ledger: Ledger, clock: SimulatedClock, *, months: int, scale: Scale, seed: int,
                 invoices: InvoiceSource | None = None, start: datetime | None = None,
                 on_progress: Callable[[datetime], None] | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.rng = random.Random(seed)
        self.ids = ScenarioIds(seed)  # every new aggregate's id (cli.demo.ids)
        # Tenants paying (cli.demo.payments), on their own random stream: the rest of the history
        # draws the same numbers with or without them.
        self.payments = DemoPayments(ledger, random.Random(f"payments/{seed}"), self.ids, self.at)
        self.scale = scale
        self.start, self.end = history_window(months, start)
        self.invoices = invoices
        self.on_progress = on_progress
        self.summary = DemoSummary(self.start, self.end, months, scale.name, seed)
        self._timeline: list[tuple[datetime, int, Callable[[], None]]] = []
        self._sequence = 0
        self.tenants: list[TenantState] = []
        self.reservations: list[SimReservation] = []
        self.orders: dict[UUID, Any] = {}
        self.terms: DemoTerms | None = None  # commercial terms (cli.demo.terms), set up with the tenants

    # ---- the timeline ---------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        """Schedule ``action`` at ``moment``; actions after the end of the history are dropped
        (the last night's metering and month close run just after it)."""
        if moment <= self.end + 2 * HOUR:
            self._sequence += 1
            heapq.heappush(self._timeline, (moment, self._sequence, action))

    def run(self) -> DemoSummary:
        self.clock.advance_to(self.start)
        self._set_up()
        day = self.start
        every = timedelta(hours=self.scale.meter_every_hours)
        while day <= self.end:
            for batch in range(24 // self.scale.meter_every_hours):
                batch_end = day + batch * every
                self.at(batch_end + timedelta(minutes=5),
                        partial(self._meter, batch_end - every, batch_end))
            if day.day == 1 and day > self.start:
                self.at(day + HOUR, self._close_previous_month)
            if day < self.end:
                self.at(day + timedelta(hours=10), self._tenants_book)
                self.at(day + timedelta(hours=15), self._tenants_cancel)
            day += DAY
        last_reported = self.start
        while self._timeline:
            moment, _, action = heapq.heappop(self._timeline)
            self.clock.advance_to(moment)
            action()
            if self.on_progress and moment - last_reported >= DAY:
                last_reported = moment
                self.on_progress(moment)
        if self.on_progress:
            self.on_progress(self.end)
        return self.summary

    # ---- set-up: sites, the round, tenants --------------------------------------------------

    def _set_up(self) -> None:
        ledger, start = self.ledger, self.start
        for campus in CAMPUSES:
            ref = GRID_REFERENCES[campus.country]
            source = f"grid: {ref.grid_source}; PUE: {ref.pue_source}; carbon-free: {ref.carbon_free_source}"
            site = ledger.register_site(name=campus.name, country=campus.country,
                                        grid_intensity_g_per_kwh=ref.grid_intensity_g_per_kwh, pue=ref.pue,
                                        carbon_free_share=ref.carbon_free_share, effective_from=start,
                                        factor_source=source[:500], site_id=self.ids("site", campus.key))
            self.summary.site_ids[campus.key] = site.id
            # The yearly national figure is published ahead and in force from the month's start.
            in_force = add_months(start, max(1, self.summary.months // 2))
            if in_force < self.end:
                self.at(in_force - timedelta(days=10) + 9 * HOUR,
                        partial(self._revise_site, campus, site.id, in_force))
        for index in range(self.summary.months):  # finance records the month-end FX rates (cli.demo.fx_rates)
            fx_month = month_text(add_months(start, index))
            self.at(fx_rates.recorded_at(fx_month), fx_rates.recorder(ledger, fx_month, index))
        funding = ledger.open_funding_round(name=ROUND_NAME, currency=ROUND_CURRENCY, opened_at=start,
                                            round_id=self.ids("funding-round", ROUND_NAME))
        self.summary.round_id = funding.id
        for investor in INVESTORS:
            ledger.record_commitment(funding.id, investor=investor.name, amount=investor.amount_usd,
                                     currency=ROUND_CURRENCY, equity_percent=investor.equity_percent)
            for month, share in investor.tranches:
                amount = (investor.amount_usd * share).quantize(Decimal("0.01"))
                when = add_months(start, int(month)) + 8 * HOUR
                self.at(when, partial(self._tranche, investor.name, amount, when))
        for plan in ORDERS:
            when = start + timedelta(days=round(plan.month * 30.4)) + 9 * HOUR
            self.at(when, partial(self._place_order, plan))
        for copy in range(self.scale.copies):
            for profile in TENANTS:
                name = f"{profile.name} {DIVISIONS[copy]}".strip() if copy else profile.name
                demand = max(8, round(profile.demand_gpus / self.scale.copies / 8) * 8)
                state = TenantState(profile, name, demand, site_key=profile.campus)
                rates = {model: (LIST_RATES_USD[model] * (1 - profile.discount) * USD_TO[profile.currency])
                         .quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) for model in LIST_RATES_USD}
                written = ledger.register_tenant(name=name, billing_currency=profile.currency, rates=rates,
                                                 cancellation_fee_share=profile.cancellation_fee_share,
                                                 tenant_id=self.ids("tenant", name))
                state.tenant_id = written.id
                self.summary.tenant_ids[name] = written.id
                self.tenants.append(state)
                self.summary.bump("tenants")
                # Late joiners: a third of the tenants arrive during the first months.
                if self.rng.random() < 0.33:
                    state.paused_until = start + timedelta(days=self.rng.randint(20, 75))
        self.terms = set_up_terms(self)
        # A volume deal renegotiated mid-history (new rates apply to new reservations only).
        lab = self.tenants[0]
        self.at(add_months(start, 3) + timedelta(days=4, hours=11), lambda: self._renegotiate(lab))

    def _revise_site(self, campus: Any, site_id: UUID, in_force: datetime) -> None:
        self.ledger.revise_site(site_id, effective_from=in_force,
                                grid_intensity_g_per_kwh=campus.revised_grid_intensity, pue=campus.revised_pue,
                                carbon_free_share=campus.revised_carbon_free_share,
                                factor_source=campus.revision_source)
        self.summary.bump("site revisions")

    def _tranche(self, investor: str, amount: Decimal, when: datetime) -> None:
        assert self.summary.round_id is not None
        self.ledger.record_tranche(self.summary.round_id, investor=investor, amount=amount,
                                   currency=ROUND_CURRENCY, received_at=when)
        self.summary.bump("tranches")

    def _renegotiate(self, state: TenantState) -> None:
        profile = state.profile
        rates = {model: (LIST_RATES_USD[model] * (1 - profile.discount - Decimal("0.04")) * USD_TO[profile.currency])
                 .quantize(Decimal("0.01")) for model in LIST_RATES_USD}
        self.ledger.change_plan(state.tenant_id, rates=rates, cancellation_fee_share=profile.cancellation_fee_share)
        self.summary.bump("plan changes")

    # ---- supply: orders, deliveries, commissioning, failures ---------------------------------

    def _place_order(self, plan: Any) -> None:
        assert self.summary.round_id is not None
        site_id = self.summary.site_ids[plan.campus]
        order = self.ledger.place_supply_order(funding_round_id=self.summary.round_id, site_id=site_id,
                                               model=plan.model, quantity=plan.quantity,
                                               unit_price=plan.unit_price_usd, currency=ROUND_CURRENCY,
                                               placed_at=self.clock.now, supplier="NVIDIA",
                                               order_id=self.ids.next("supply-order"))
        self.summary.bump("supply orders")
        self.orders[order.id] = plan
        remaining, when = plan.quantity, self.clock.now + timedelta(days=self.rng.randint(12, 20))
        while remaining > 0:
            batch = min(plan.batch, remaining)
            remaining -= batch
            delivered_at = when.replace(hour=self.rng.randint(7, 16), minute=0)
            self.at(delivered_at, partial(self._deliver, order.id, batch, plan.campus, plan.model))
            when += timedelta(days=self.rng.randint(4, 9))

    def _deliver(self, order_id: UUID, quantity: int, campus: str, model: str) -> None:
        self.ledger.record_delivery(order_id, quantity=quantity, delivered_at=self.clock.now)
        self.summary.bump("deliveries")
        # Burn-in and acceptance take days to weeks: commission in two steps.
        first = quantity // 2
        for part, days in ((first, self.rng.randint(2, 5)), (quantity - first, self.rng.randint(6, 14))):
            when = (self.clock.now + timedelta(days=days)).replace(minute=0) + 2 * HOUR
            self.at(when, partial(self._commission, order_id, part, campus, model))

    def _commission(self, order_id: UUID, quantity: int, campus: str, model: str) -> None:
        self.ledger.commission(order_id, quantity=quantity, commissioned_at=self.clock.now)
        self.summary.bump("commissionings")
        if self.rng.random() < 0.3:  # a few GPUs fail in their first weeks (infant mortality)
            when = self.clock.now + timedelta(days=self.rng.randint(5, 50), hours=self.rng.randint(0, 23))
            failed = self.rng.randint(1, 3)
            self.at(when, partial(self._fail, campus, model, failed))

    def _fail(self, campus: str, model: str, quantity: int) -> None:
        reason = self.rng.choice(["GPU fell off the bus (XID 79); RMA to NVIDIA",
                                  "uncorrectable HBM ECC errors; RMA", "NVLink errors after burn-in; RMA"])
        try:
            self.ledger.decommission(site_id=self.summary.site_ids[campus], model=model, quantity=quantity,
                                     at=self.clock.now, reason=reason)
        except LedgerError:
            return  # every GPU is booked: the operator swaps it at the next gap instead
        self.summary.bump("GPUs decommissioned", quantity)

    # ---- tenants: book, extend, cancel -------------------------------------------------------

    def _free_gpus(self, site_key: str, model: str, start: datetime, end: datetime) -> int:
        try:
            pool = self.ledger.get_pool(self.summary.site_ids[site_key], model)
        except NotFound:
            return 0
        return pool.free_gpus(start, end)

    def _tenants_book(self) -> None:
        now = self.clock.now
        tomorrow = now.replace(hour=0) + DAY
        for state in self.tenants:
            if state.paused_until is not None and state.paused_until > now:
                continue
            live = [r for r in state.reservations if not r.cancelled and r.end > now]
            latest = max(live, key=lambda r: r.end, default=None)
            if latest is not None and latest.end > tomorrow + DAY:
                self._maybe_top_up(state, live, tomorrow)
                continue
            profile = state.profile
            if latest is not None and self.rng.random() < profile.extend_chance:
                if self._extend(latest):
                    continue
            elif latest is None and state.reservations and self.rng.random() < 0.15:
                state.paused_until = now + timedelta(days=self.rng.randint(1, 6))  # a gap between projects
                continue
            self._book(state, latest.end if latest is not None else tomorrow)

    def _demand(self, state: TenantState) -> int:
        months = (self.clock.now - self.start) / timedelta(days=30.4)
        grown = state.demand_gpus * (1 + state.profile.growth_per_month * months)
        return max(8, round(grown * self.rng.uniform(0.7, 1.15) / 8) * 8)

    def _book(self, state: TenantState, start: datetime, *, days: int | None = None, gpus: int | None = None) -> bool:
        profile = state.profile
        if days is None:
            days = self.rng.randint(profile.min_days, profile.max_days)
        wanted = gpus if gpus is not None else self._demand(state)
        for length in (days, max(1, days // 3)):
            end = start + timedelta(days=length)
            free = self._free_gpus(state.site_key, profile.model, start, end)
            size = min(wanted, int(free * 0.97) // 8 * 8)
            if size >= max(8, wanted // 4):
                break
        else:
            self.summary.bump("bookings deferred (no capacity)")
            return False
        sign_at_service_start(self, self.terms, state, size, start)  # an anchor signs when its capacity is ready
        reservation_id = self.ledger.confirm_reservation(
            tenant_id=state.tenant_id, site_id=self.summary.site_ids[state.site_key], model=profile.model,
            gpus=size, start=start, end=end, pricing=pricing_for(self.terms, state.tenant_id),
            reservation_id=self.ids.next("reservation")).id
        reservation = SimReservation(reservation_id, state, state.site_key, profile.model, size, start, end)
        state.reservations.append(reservation)
        self.reservations.append(reservation)
        self.summary.bump("reservations")
        return True

    def _maybe_top_up(self, state: TenantState, live: list[SimReservation], start: datetime) -> None:
        """A tenant that got less than it wanted (capacity was short when it booked) or whose needs
        grew adds a second block once GPUs are free: a deadline, an evaluation, a new model."""
        holding = sum(r.gpus for r in live if r.start <= start < r.end)
        wanted = self._demand(state)
        if holding < 0.6 * wanted and self.rng.random() < 0.25:
            days = max(2, self.rng.randint(state.profile.min_days, state.profile.max_days) // 2)
            if self._book(state, start, days=days, gpus=max(8, (wanted - holding) // 8 * 8)):
                self.summary.bump("top-up reservations")

    def _extend(self, reservation: SimReservation) -> bool:
        profile = reservation.tenant.profile
        new_end = reservation.end + timedelta(days=self.rng.randint(max(3, profile.min_days // 2), profile.max_days))
        if self._free_gpus(reservation.site_key, reservation.model, reservation.end, new_end) < reservation.gpus:
            return False
        self.ledger.extend_reservation(reservation.id, end=new_end)
        reservation.end = new_end
        self.summary.bump("extensions")
        return True

    def _tenants_cancel(self) -> None:
        now = self.clock.now
        for state in self.tenants:
            for reservation in state.reservations:
                if reservation.cancelled or reservation.start > now or reservation.end - now < 3 * DAY:
                    continue
                if self.rng.random() < state.profile.cancel_chance_per_day:
                    self.ledger.cancel_reservation(reservation.id)
                    reservation.cancelled = True
                    next_hour = now if now == now.replace(minute=0, second=0, microsecond=0) \
                        else now.replace(minute=0, second=0, microsecond=0) + HOUR
                    reservation.end = max(reservation.start, next_hour)
                    self.summary.bump("cancellations")

    # ---- metering and month close -------------------------------------------------------------

    def _meter(self, window_start: datetime, window_end: datetime) -> None:
        """The metering agent posts the usage of the hours [window_start, window_end) just ended."""
        if window_start < self.start or window_start >= self.end:
            return
        records: list[UsageRecord] = []
        for reservation in self.reservations:
            if reservation.end <= window_start or reservation.start >= window_end:
                continue
            first, last = max(reservation.start, window_start), min(reservation.end, window_end)
            hour = first
            while hour < last:
                used = self._gpu_hours_used(reservation, hour)
                if used > 0:
                    records.append(UsageRecord(UUID(int=self.rng.getrandbits(128), version=4), reservation.id,
                                               hour, used))
                hour += HOUR
        for offset in range(0, len(records), USAGE_CHUNK):
            receipt = self.ledger.record_usage(records[offset:offset + USAGE_CHUNK])
            self.summary.bump("usage records", receipt.recorded)

    def _gpu_hours_used(self, reservation: SimReservation, hour: datetime) -> Decimal:
        """Realistic usage: ramp-up after hand-over, day/night and weekday rhythm, noise, and idle
        stretches between jobs -- never above the GPUs reserved."""
        profile = reservation.tenant.profile
        reservation.hours_metered += 1
        if reservation.idle_left > 0:
            reservation.idle_left -= 1
            return Decimal(0)
        if self.rng.random() < 0.012:
            reservation.idle_left = self.rng.randint(0, 9)
            return Decimal(0)
        share = profile.utilisation * (1 + profile.diurnal * math.cos(2 * math.pi * (hour.hour - 14) / 24))
        if hour.weekday() >= 5:
            share *= 1 - profile.weekend_dip
        share *= self.rng.uniform(0.9, 1.08)
        if reservation.hours_metered <= 6:
            share *= 0.25 + 0.125 * reservation.hours_metered
        share = min(max(share, 0.0), 1.0)
        return Decimal(f"{reservation.gpus * share:.3f}")

    def _close_previous_month(self) -> None:
        month = month_text(self.clock.now - DAY)
        if self.invoices is None:
            self.summary.invoices_skipped = "projections are not available"
            return
        self.invoices.catch_up()
        # The one way invoices are issued (the route and `ledger invoice issue --month` too):
        # every tenant with billing lines in the month gets its invoice, and so does every tenant
        # with a committed-spend contract (a period may end this month with a true-up due).
        billing = ProjectionsBilling(self.invoices)
        issued = issue_month(self.ledger, billing, month)
        self.summary.bump("invoices", len(issued.issued))
        self.summary.months_invoiced.append(month)
        # Finance closes the month once its invoices are out (`ledger close`, the one check and
        # record): the projections have caught up, every tenant billed, the books balance.
        close_month(self.ledger, billing, month)
        self.summary.bump("months closed", 1)
        for invoice in issued.issued:  # each tenant pays its invoice on its own schedule
            self.payments.schedule(invoice.invoice_id)
        if self.clock.now >= self.end:  # finance's dunning run on the history's last day (`ledger dunning run`;
            # earlier, a suspension would refuse the tenant's later bookings): ids derive from the tenant
            self.summary.bump("dunning steps", sum(len(r.outcome.kinds) for r in run_dunning(self.ledger).recorded))
