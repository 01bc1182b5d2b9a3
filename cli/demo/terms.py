"""The demo's commercial terms: an anchor tenant's multi-year committed contract, a start-up's
prepaid wallet, and tenants on on-demand pricing. All through the ledger's commands, on the
simulation's timeline (so every event is recorded when it happened); no randomness is drawn,
so the rest of the history (its random choices) is the same with or without them.

- The anchor ("Helixa AI") signs a two-year monthly commitment, with a 5 % discount on its plan
  rates, when its capacity is ready: just before its first reservation is confirmed, with the
  term from that month and the service start on the day that reservation starts (the first
  month, served only from then, is prorated by days; docs/finance.md, *Committed spend*). It
  commits what a tenant of its size signs: three quarters of a month (730 h) of GPUs at its
  contracted rate, rounded to the thousand, ramped as capacity is handed over: the first month
  on the GPUs its first booking gets, then on its planned block (small scale: 2,304 GB300 x
  4.3605 x 730 x 0.75 = 5,501,000.00 USD a month, an amendment from the second month). That is
  below its typical consumption, so a true-up is occasional and modest (e.g. a month of
  cancellations). Monthly periods, so that even a short demo settles some.
- The start-up ("Meridian Legal AI") prepays credits (paid: deferred revenue), gets a
  start-up-programme grant, and later a promotional grant that expires unused mid-history
  (its expiry is recorded on the day); a small paid pilot pack, applied last, lapses unused
  (breakage).
- Two tenants ("Sable Media Studios", "Kestrel Games") rent on demand: capacity held the same
  way, billed on metered GPU-hours at on-demand rates 35 % above their plan rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any
from uuid import UUID

from cli.demo.tax import set_up_tax
from cli.demo.timeline import TenantState, Timeline, month_text
from domain.service.commercial import discounted
from domain.timeutil import next_month

ANCHOR = "Helixa AI"
START_UP = "Meridian Legal AI"
ON_DEMAND = ("Sable Media Studios", "Kestrel Games")
ON_DEMAND_MARKUP = Decimal("1.35")
ANCHOR_DISCOUNT = Decimal("0.05")
# The anchor commits this share of a month of its planned block at its contracted rate.
ANCHOR_COMMITTED_SHARE = Decimal("0.75")
HOURS_PER_MONTH = 730  # 8,760 / 12
TERM_MONTHS = 24


@dataclass
class DemoTerms:
    """Which tenants have which terms (ids), for the month close and the printed sections."""

    contracts: dict[UUID, UUID] = field(default_factory=dict)  # tenant -> contract
    anchors: set[UUID] = field(default_factory=set)  # tenants that sign when their capacity is ready
    wallets: set[UUID] = field(default_factory=set)
    on_demand: set[UUID] = field(default_factory=set)



def set_up_terms(history: Timeline) -> DemoTerms:
    """Sign, prepay and price at the start of the history; schedule the later grants and expiry."""
    terms = DemoTerms()
    set_up_tax(history)  # tax treatments before the first invoice (cli/demo/tax.py)
    ledger, copies = history.ledger, history.scale.copies
    for state in history.tenants:
        base = state.profile.name
        if state.tenant_id is None:
            continue
        if base == ANCHOR and state.name == base:
            terms.anchors.add(state.tenant_id)  # signs at its first booking: sign_at_service_start
        elif base == START_UP and state.name == base:
            _prepay(history, state.tenant_id, copies)
            terms.wallets.add(state.tenant_id)
        elif base in ON_DEMAND:
            tenant = ledger.get_tenant(state.tenant_id)
            rates = {model: (rate * ON_DEMAND_MARKUP).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
                     for model, rate in tenant.rates.items()}
            ledger.set_on_demand_rates(state.tenant_id, rates=rates)
            terms.on_demand.add(state.tenant_id)
    return terms


def sign_at_service_start(history: Timeline, terms: DemoTerms | None, state: TenantState, gpus: int,
                          service_start: datetime) -> None:
    """Just before an anchor's first reservation (of ``gpus``) is confirmed: sign its contract,
    the term from this month, the commitment applying from the day the reservation starts. A
    ramped commitment, as capacity is handed over in tranches: the first month commits on the
    GPUs it gets now (prorated by days from the service start), each later month on its planned
    block (``demand_gpus``), recorded as an amendment from the next month."""
    tenant_id = state.tenant_id
    if terms is None or tenant_id is None or tenant_id not in terms.anchors or tenant_id in terms.contracts:
        return
    ledger, now = history.ledger, history.ledger.now()
    rate = discounted(ledger.get_tenant(tenant_id).rates[state.profile.model], ANCHOR_DISCOUNT)
    last = now.year * 12 + now.month - 1 + TERM_MONTHS - 1
    written = ledger.sign_contract(tenant_id=tenant_id, period="month", term_start=month_text(now),
                                   term_end=f"{last // 12:04d}-{last % 12 + 1:02d}",
                                   amount=committed(gpus, rate), discount=ANCHOR_DISCOUNT,
                                   service_start=service_start.date().isoformat(),
                                   contract_id=history.ids("contract", state.name))
    if state.demand_gpus > gpus:
        ledger.amend_contract(written.id, effective_month=next_month(month_text(now)),
                              amount=committed(state.demand_gpus, rate), discount=ANCHOR_DISCOUNT)
    terms.contracts[tenant_id] = written.id
    history.summary.bump("contracts")


def committed(gpus: int, rate: Decimal) -> Decimal:
    """A month (730 h) of ``gpus`` at ``rate`` x the committed share, to the thousand."""
    return (gpus * HOURS_PER_MONTH * rate * ANCHOR_COMMITTED_SHARE).quantize(
        Decimal("1E3"), rounding=ROUND_HALF_EVEN).quantize(Decimal("0.01"))


def _prepay(history: Timeline, tenant_id: UUID, copies: int) -> None:
    ledger, start = history.ledger, history.start

    def amount(value: str) -> Decimal:
        return (Decimal(value) / copies).quantize(Decimal("0.01"))

    ledger.purchase_credits(tenant_id, amount=amount("1250000"), priority=50, note="prepaid compute (annual plan)",
                            grant_id=history.ids("grant", tenant_id, "annual plan"))
    ledger.grant_credits(tenant_id, amount=amount("25000"), priority=10, note="start-up programme",
                         grant_id=history.ids("grant", tenant_id, "start-up programme"))
    # Paid, applied last and expiring after three months: it lapses unused (breakage, recognised
    # at expiry; the next invoice's issue records the expiry).
    ledger.purchase_credits(tenant_id, amount=amount("20000"), priority=90, expires_at=start + timedelta(days=85),
                            note="pilot pack (expires after 85 days)",
                            grant_id=history.ids("grant", tenant_id, "pilot pack"))
    history.summary.bump("credit grants", 3)
    promotion_at = start + timedelta(days=35, hours=9)
    expires_at = start + timedelta(days=56)
    history.at(promotion_at, partial(_grant, history, tenant_id, amount("30000"), expires_at))
    history.at(expires_at + timedelta(hours=1), partial(_expire, history, tenant_id))


def _grant(history: Timeline, tenant_id: UUID, value: Decimal, expires_at: datetime) -> None:
    history.ledger.grant_credits(tenant_id, amount=value, priority=5, expires_at=expires_at,
                                 note="conference promotion (use within three weeks)",
                                 grant_id=history.ids("grant", tenant_id, "conference promotion"))
    history.summary.bump("credit grants")


def _expire(history: Timeline, tenant_id: UUID) -> None:
    history.ledger.expire_credits(tenant_id)
    history.summary.bump("credit expiries")


def pricing_for(terms: DemoTerms | None, tenant_id: Any) -> str:
    return "on_demand" if terms is not None and tenant_id in terms.on_demand else "reserved"
