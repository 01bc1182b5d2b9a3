"""Commercial terms, hand-computed, on SQLite and PostgreSQL: on-demand pricing, committed spend
with true-up (amendment, termination fee), prepaid credits (order, expiry, breakage), revenue
recognition, and two invoices racing for one wallet."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from domain.timeutil import UTC
from tests.builders import T0, SimClock, fleet, hour, refused, reserve
from tests.commercial_helpers import amount_of, check_recognition, check_wallet, line, opened

D = Decimal


def at(month: int, day: int = 1, hours: int = 1) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


def meter(store: object, reservation: object, hours: range, gpu_hours: str) -> None:
    store.ledger.record_usage([{"record_id": uuid4(), "reservation_id": reservation, "hour": hour(h),  # type: ignore[attr-defined]
                                "gpu_hours": gpu_hours} for h in hours])


def test_on_demand_is_billed_on_metered_hours_and_late_usage_is_an_adjustment(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        s.ledger.set_on_demand_rates(f.tenant_id, rates={"H100-SXM": "4.00"})
        on_demand = reserve(f, 2, 0, 48, pricing="on_demand")
        booked = reserve(f, 1, 0, 10)
        assert s.ledger.get_reservation(on_demand).rate_per_gpu_hour == D("4.00")
        s.clock.set(hour(30))
        meter(s, on_demand, range(0, 10), "1.5")  # 15 GPU-hours x 4.00 = 60.00
        lines = {row["kind"]: row for row in s.report("billing", tenant_id=str(f.tenant_id))}
        assert lines["on_demand"]["line_key"] == f"reservation:{on_demand}"
        assert (lines["on_demand"]["gpu_hours"], lines["on_demand"]["amount"]) == (D("15.0"), D("60.00"))
        assert (lines["reservation"]["gpu_hours"], lines["reservation"]["amount"]) == (10, D("25.00"))
        s.clock.set(at(2))
        january = s.issue(f.tenant_id, "2026-01")
        assert january.total == D("85.00")
        meter(s, on_demand, range(20, 22), "1")  # late: 2 GPU-hours x 4.00 on February's bill
        february = s.report("billing", tenant_id=str(f.tenant_id), **{"from": "2026-02", "to": "2026-02"})
        assert [(r["kind"], r["origin_month"], r["amount"]) for r in february] == [("adjustment", "2026-01", D("8.00"))]
        s.clock.set(at(2, 1, 2))
        assert s.ledger.get_reservation(on_demand).cancellation_fee == 0
        with refused(s.ledger, InvalidInput, "pricing"):
            reserve(f, 1, 2000, 2010, pricing="spot")
        del booked


def test_on_demand_needs_an_on_demand_rate(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger)
        with refused(s.ledger, InvalidInput, "pricing"):
            reserve(f, 1, 0, 10, pricing="on_demand")


def test_quarterly_commitment_true_up_amendment_and_discount(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        contract = s.ledger.sign_contract(tenant_id=f.tenant_id, period="quarter", term_start="2026-01",
                                          term_end="2026-06", amount="1000.00", discount="0.10").id
        s.ledger.amend_contract(contract, effective_month="2026-04", amount="400.00", discount="0.10")
        january = reserve(f, 2, 0, 100)  # 200 GPU-hours x 2.25 (2.50 less 10 %) = 450.00
        assert s.ledger.get_reservation(january).rate_per_gpu_hour == D("2.25")
        s.clock.set(at(2))
        assert s.issue(f.tenant_id, "2026-01").total == D("450.00")
        s.clock.set(at(3))
        assert s.issue(f.tenant_id, "2026-02").total == 0
        s.clock.set(at(4))
        march = s.issue(f.tenant_id, "2026-03")  # Q1: 1000.00 committed, 450.00 spent
        true_up = line(march, "true_up")
        assert true_up is not None and true_up["amount"] == D("550.00")
        assert (true_up["commitment"], true_up["eligible_spend"]) == (D("1000.00"), D("450.00"))
        assert march.total == D("550.00")
        reserve(f, 1, 24 * 92, 24 * 92 + 200)  # April: 200 x 2.25 = 450.00 >= 400.00
        for month in ("2026-04", "2026-05"):
            s.clock.set(at(int(month[5:]) + 1))
            s.issue(f.tenant_id, month)
        s.clock.set(at(7))
        june = s.issue(f.tenant_id, "2026-06")
        assert line(june, "true_up") is None
        settled = s.ledger.get_contract(contract).settled
        assert [(p, x.commitment, x.eligible_spend, x.true_up) for p, x in settled.items()] == [
            ("2026-01", D("1000.00"), D("450.00"), D("550.00")), ("2026-04", D("400.00"), D("450.00"), 0)]
        rows = s.report("commitments", tenant_id=str(f.tenant_id))
        assert [(r["period_start"], r["true_up"]) for r in rows] == [("2026-01", D("550.00")), ("2026-04", 0)]
        revenue = {r["month"]: r for r in s.report("revenue", tenant_id=str(f.tenant_id))}
        assert revenue["2026-03"]["true_up"] == D("550.00") and revenue["2026-03"]["recognised"] == D("550.00")
        # After the term: no discount, and nothing to amend.
        with refused(s.ledger, InvalidInput, "effective_month"):
            s.ledger.amend_contract(contract, effective_month="2026-04", amount="1", discount="0")


def test_termination_fee_and_true_up_on_the_last_remaining_period(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        contract = s.ledger.sign_contract(tenant_id=f.tenant_id, period="month", term_start="2026-01",
                                          term_end="2026-12", amount="300.00").id
        with refused(s.ledger, Conflict, "term_start"):
            s.ledger.sign_contract(tenant_id=f.tenant_id, period="month", term_start="2026-06",
                                   term_end="2026-06", amount="1")
        reserve(f, 1, 0, 100)  # 250.00 in January
        s.ledger.terminate_contract(contract, effective_month="2026-03", fee="1000.00")
        with refused(s.ledger, InvalidTransition):
            s.ledger.terminate_contract(contract, effective_month="2026-04", fee="0")
        s.clock.set(at(2))
        assert amount_of(s.issue(f.tenant_id, "2026-01"), "true_up") == D("50.00")
        s.clock.set(at(3))
        february = s.issue(f.tenant_id, "2026-02")
        assert (amount_of(february, "true_up"), amount_of(february, "termination_fee")) == (D("300.00"), D("1000.00"))
        assert february.total == D("1300.00")
        s.clock.set(at(4))
        assert s.issue(f.tenant_id, "2026-03").lines == []  # the contract has ended
        # Billing freezes the terms lines with the invoice and never reconciles them away.
        march = s.report("billing", tenant_id=str(f.tenant_id), **{"from": "2026-03", "to": "2026-03"})
        assert march == []


def test_contract_refusals_record_nothing(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger)
        for fields, name in (({"period": "week"}, "period"), ({"term_end": "2026-02"}, "term_end"),
                             ({"amount": "-5"}, "amount"), ({"discount": "0.95"}, "discount"),
                             ({"term_start": "2025-12", "term_end": "2026-02"}, "term_start"),
                             ({"amount": "1.001"}, "amount")):
            terms = {"period": "quarter", "term_start": "2026-01", "term_end": "2026-03", "amount": "100",
                     **fields}
            with refused(s.ledger, InvalidInput, name):
                s.ledger.sign_contract(tenant_id=f.tenant_id, **terms)
        with refused(s.ledger, NotFound, "contract_id"):
            s.ledger.amend_contract(uuid4(), effective_month="2026-04", amount="1")


def test_credits_apply_by_priority_then_expiry_then_age_and_expire_with_breakage(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        s.ledger.purchase_credits(f.tenant_id, amount="100.00", priority=50)  # paid, no expiry
        s.ledger.grant_credits(f.tenant_id, amount="30.00", priority=10, expires_at=at(1, 20, 0))  # lapses unused
        s.ledger.grant_credits(f.tenant_id, amount="50.00", priority=50, expires_at=at(3, 1, 0))
        s.ledger.purchase_credits(f.tenant_id, amount="40.00", priority=90, expires_at=at(1, 15, 0))  # breakage
        s.ledger.purchase_credits(f.tenant_id, amount="500.00", priority=99)  # last in line: stays deferred
        reserve(f, 4, 0, 20)  # 80 GPU-hours x 2.50 = 200.00
        s.clock.set(at(1, 16, 0))
        s.ledger.expire_credits(f.tenant_id)  # the paid 40.00 lapsed on the 15th
        s.clock.set(at(2))
        january = s.issue(f.tenant_id, "2026-01")  # expires the 30.00 grant, then 50.00 granted + 100.00 paid
        applied = line(january, "credits_applied")
        assert applied is not None and applied["amount"] == D("-200.00")
        assert (applied["granted_credits"], applied["paid_credits"]) == (D("50.00"), D("150.00"))
        assert january.total == 0
        wallet = s.ledger.get_wallet(f.tenant_id)
        check_wallet(wallet)
        assert wallet.balance == D("450.00") and wallet.paid_balance == D("450.00")
        trace = s.report("credits", tenant_id=str(f.tenant_id))
        assert [(t["kind"], t["amount"], t["balance"]) for t in trace] == [
            ("purchased", D("100.00"), D("100.00")), ("granted", D("30.00"), D("130.00")),
            ("granted", D("50.00"), D("180.00")), ("purchased", D("40.00"), D("220.00")),
            ("purchased", D("500.00"), D("720.00")), ("expired", D("-40.00"), D("680.00")),
            ("expired", D("-30.00"), D("650.00")), ("applied", D("-200.00"), D("450.00"))]
        [jan] = s.report("revenue", tenant_id=str(f.tenant_id))
        assert (jan["billed"], jan["granted_credits_applied"], jan["paid_credits_applied"], jan["amount_due"],
                jan["breakage"], jan["credits_purchased"]) == (D("200.00"), D("50.00"), D("150.00"), 0, D("40.00"),
                                                               D("640.00"))
        assert jan["recognised"] == D("190.00")  # 150.00 consumed + 40.00 breakage
        assert jan["deferred_closing"] == D("450.00")
        check_recognition(s, f.tenant_id, [january], D("640.00"))


def test_credits_never_exceed_the_invoice_and_refusals_record_nothing(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        s.ledger.purchase_credits(f.tenant_id, amount="1000.00")
        reserve(f, 1, 0, 10)  # 25.00
        s.clock.set(at(2))
        january = s.issue(f.tenant_id, "2026-01")
        assert amount_of(january, "credits_applied") == D("-25.00") and january.total == 0
        assert s.ledger.get_wallet(f.tenant_id).balance == D("975.00")
        s.clock.set(at(3))
        assert line(s.issue(f.tenant_id, "2026-02"), "credits_applied") is None  # nothing due, nothing taken
        for fields, name in (({"amount": "0"}, "amount"), ({"amount": "1.001"}, "amount"),
                             ({"priority": 101}, "priority"), ({"expires_at": at(1)}, "expires_at"),
                             ({"note": ""}, "note")):
            with refused(s.ledger, InvalidInput, name):
                s.ledger.grant_credits(f.tenant_id, **{"amount": "5", **fields})  # type: ignore[arg-type]
        with refused(s.ledger, NotFound, "tenant_id"):
            s.ledger.purchase_credits(uuid4(), amount="5")


def test_two_invoices_racing_for_one_wallet_never_spend_the_same_credits(database_url: str) -> None:
    """The first invoice's save loses to the second (issued between its load and its save): it
    retries on the fresh wallet and takes only what is left."""
    clock = SimClock()
    with opened(database_url, clock) as s, opened(database_url, clock) as other:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        s.ledger.purchase_credits(f.tenant_id, amount="100.00")
        reserve(f, 4, 0, 8)  # January: 32 x 2.50 = 80.00
        reserve(f, 4, 24 * 31, 24 * 31 + 8)  # February: 80.00
        clock.set(at(3))
        s.projections.catch_up()
        other.projections.catch_up()
        s.ledger.get_wallet(f.tenant_id)  # warm the first ledger's cache with the wallet
        original = s.ledger._invoice_terms
        raced = []

        def racing(*args: object, **kwargs: object) -> object:
            if not raced:
                raced.append(other.issue(f.tenant_id, "2026-02"))  # wins the wallet first
            return original(*args, **kwargs)  # type: ignore[arg-type]

        s.ledger._invoice_terms = racing  # type: ignore[method-assign]
        january = s.issue(f.tenant_id, "2026-01")
        [february] = raced
        spent = -(amount_of(january, "credits_applied") + amount_of(february, "credits_applied"))
        assert amount_of(february, "credits_applied") == D("-80.00")
        assert amount_of(january, "credits_applied") == D("-20.00") and january.total == D("60.00")
        assert spent == D("100.00")
        wallet = other.ledger.get_wallet(f.tenant_id)
        assert wallet.balance == 0
        check_wallet(wallet)
        check_recognition(s, f.tenant_id, [january, february], D("100.00"))


def test_old_events_load_as_reserved(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger)
        reservation = reserve(f, 1, 0, 10)
        stored = s.ledger.get_reservation(reservation)
        assert stored.pricing == "reserved"
        assert T0 + timedelta(hours=10) == stored.end


def test_the_month_close_invoices_a_contract_tenant_without_usage(database_url: str) -> None:
    """`ledger invoice issue --month` / the demo's month close: a committed tenant that booked
    nothing that month still gets its invoice, carrying the true-up; a second run issues nothing."""
    from operations.invoicing import ProjectionsBilling, issue_month

    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        idle = s.ledger.register_tenant(name=f"Idle Committed {uuid4().hex[:6]}", billing_currency="USD",
                                        rates={f.model: "2.50"}, cancellation_fee_share="0.5").id
        s.ledger.sign_contract(tenant_id=idle, period="month", term_start="2026-01", term_end="2026-03",
                               amount="400.00")
        reserve(f, 1, 1, 11)  # the other tenant: 10 GPU-hours in January (a line)
        s.clock.set(at(2))
        first = issue_month(s.ledger, ProjectionsBilling(s.projections), "2026-01")
        assert {i.tenant_id for i in first.issued} == {f.tenant_id, idle}
        invoice = s.ledger.get_invoice(next(i.invoice_id for i in first.issued if i.tenant_id == idle))
        assert amount_of(invoice, "true_up") == D("400.00") and invoice.total == D("400.00")
        again = issue_month(s.ledger, ProjectionsBilling(s.projections), "2026-01")
        assert again.issued == [] and set(again.already_issued) == {f.tenant_id, idle}
