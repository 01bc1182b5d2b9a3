"""The demo's commercial terms: an anchor tenant's multi-year committed contract, a start-up's
prepaid wallet, and tenants on on-demand pricing. All through the ledger's commands, on the
simulation's timeline (so every event is recorded when it happened); no randomness is drawn,
so the rest of the history (its random choices) is the same with or without them.

- The anchor ("Helixa AI") signs a two-year commitment of a monthly amount at the start of the
  history, with a 5 % discount on its plan rates. Its first months are a ramp-up while GPUs
  arrive, so they fall short and a ``true_up`` is billed; later months clear the commitment.
  (Monthly periods, so that even a two-month demo settles some.)
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

from cli.demo.timeline import Timeline, month_text

ANCHOR = "Helixa AI"
START_UP = "Meridian Legal AI"
ON_DEMAND = ("Sable Media Studios", "Kestrel Games")
ON_DEMAND_MARKUP = Decimal("1.35")
# Per month, in USD, for the small scale (larger scales split each tenant into copies).
ANCHOR_COMMITMENT_USD = Decimal("4500000")
ANCHOR_DISCOUNT = Decimal("0.05")
TERM_MONTHS = 24


@dataclass
class DemoTerms:
    """Which tenants have which terms (ids), for the month close and the printed sections."""

    contracts: dict[UUID, UUID] = field(default_factory=dict)  # tenant -> contract
    wallets: set[UUID] = field(default_factory=set)
    on_demand: set[UUID] = field(default_factory=set)



def set_up_terms(history: Timeline) -> DemoTerms:
    """Sign, prepay and price at the start of the history; schedule the later grants and expiry."""
    terms = DemoTerms()
    ledger, start, copies = history.ledger, history.start, history.scale.copies
    for state in history.tenants:
        base = state.profile.name
        if state.tenant_id is None:
            continue
        if base == ANCHOR and state.name == base:
            last = start.year * 12 + start.month - 1 + TERM_MONTHS - 1
            amount = (ANCHOR_COMMITMENT_USD / copies).quantize(Decimal("1000"), rounding=ROUND_HALF_EVEN).quantize(
                Decimal("0.01"))
            written = ledger.sign_contract(tenant_id=state.tenant_id, period="month", term_start=month_text(start),
                                           term_end=f"{last // 12:04d}-{last % 12 + 1:02d}", amount=amount,
                                           discount=ANCHOR_DISCOUNT)
            terms.contracts[state.tenant_id] = written.id
            history.summary.bump("contracts")
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


def _prepay(history: Timeline, tenant_id: UUID, copies: int) -> None:
    ledger, start = history.ledger, history.start

    def amount(value: str) -> Decimal:
        return (Decimal(value) / copies).quantize(Decimal("0.01"))

    ledger.purchase_credits(tenant_id, amount=amount("1250000"), priority=50, note="prepaid compute (annual plan)")
    ledger.grant_credits(tenant_id, amount=amount("25000"), priority=10, note="start-up programme")
    # Paid, applied last and expiring after three months: it lapses unused (breakage, recognised
    # at expiry; the next invoice's issue records the expiry).
    ledger.purchase_credits(tenant_id, amount=amount("20000"), priority=90, expires_at=start + timedelta(days=85),
                            note="pilot pack (expires after 85 days)")
    history.summary.bump("credit grants", 3)
    promotion_at = start + timedelta(days=35, hours=9)
    expires_at = start + timedelta(days=56)
    history.at(promotion_at, partial(_grant, history, tenant_id, amount("30000"), expires_at))
    history.at(expires_at + timedelta(hours=1), partial(_expire, history, tenant_id))


def _grant(history: Timeline, tenant_id: UUID, value: Decimal, expires_at: datetime) -> None:
    history.ledger.grant_credits(tenant_id, amount=value, priority=5, expires_at=expires_at,
                                 note="conference promotion (use within three weeks)")
    history.summary.bump("credit grants")


def _expire(history: Timeline, tenant_id: UUID) -> None:
    history.ledger.expire_credits(tenant_id)
    history.summary.bump("credit expiries")


def pricing_for(terms: DemoTerms | None, tenant_id: Any) -> str:
    return "on_demand" if terms is not None and tenant_id in terms.on_demand else "reserved"
