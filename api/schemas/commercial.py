"""Commercial terms in and out: contracts, credits wallets, on-demand rates."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from api.schemas.common import DecimalText, GpuModelCode, Id, Month, Strict, Text, UtcDateTime, text_of
from domain.aggregates import Contract, Wallet

# A calendar date; whether it exists (2026-02-30 does not) is the domain's check (a problem naming it).
Day = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), Field(examples=["2026-05-15"])]


class ContractCreate(Strict):
    tenant_id: Id
    period: Literal["month", "quarter", "year"] = Field(description="Commitment period, counted from term_start")
    term_start: Month = Field(description="First month of the term (this month or later)")
    term_end: Month = Field(description="Last month of the term (included): whole periods")
    amount: DecimalText = Field(description="Committed spend per period, in the tenant's billing currency")
    discount: DecimalText = Field("0", description="Discount on the plan's rates for reservations confirmed in "
                                                   "the term (0 to 0.9)")
    service_start: Day | None = Field(None, description="The date (YYYY-MM-DD, in the term) the commitment applies "
                                                        "from; a period partly before it is prorated by days, one "
                                                        "wholly before it commits nothing. Default: the term's "
                                                        "first day")


class ContractAmendment(Strict):
    effective_month: Month = Field(description="A future period start of the contract")
    amount: DecimalText
    discount: DecimalText = "0"


class ContractTermination(Strict):
    effective_month: Month = Field(description="A future period start: the term ends the month before")
    fee: DecimalText = Field("0", description="Early-termination fee, billed with the last period's true-up")


class SettlementPublic(BaseModel):
    period_start: str
    period_end: str
    commitment: str
    eligible_spend: str
    true_up: str
    termination_fee: str
    invoice_id: str
    served_days: int = Field(description="Days of the period from the service start (all its days if served)")
    period_days: int


class ContractPublic(BaseModel):
    id: str
    tenant_id: str
    currency: str
    period: str
    term_start: str
    term_end: str
    service_start: str = Field(description="The date the commitment applies from")
    last_month: str
    status: str
    terms: list[dict[str, str]] = Field(description="[effective_from, amount, discount] in force from each month")
    termination_fee: str
    settled: list[SettlementPublic]

    @classmethod
    def of(cls, contract: Contract) -> ContractPublic:
        return cls(id=str(contract.id), tenant_id=str(contract.tenant_id), currency=contract.currency,
                   period=contract.period, term_start=contract.term_start, term_end=contract.term_end,
                   service_start=contract.service_start, last_month=contract.last_month, status=contract.status,
                   terms=[{"effective_from": str(t[0]), "amount": str(t[1]), "discount": str(t[2])}
                          for t in contract.terms],
                   termination_fee=text_of(contract.termination_fee),
                   settled=[SettlementPublic(period_start=s.period.start, period_end=s.period.end,
                                             commitment=text_of(s.commitment), eligible_spend=text_of(s.eligible_spend),
                                             true_up=text_of(s.true_up), termination_fee=text_of(s.termination_fee),
                                             invoice_id=str(s.invoice_id), served_days=s.served_days,
                                             period_days=s.period_days)
                            for s in contract.settled.values()])


class CreditsCreate(Strict):
    kind: Literal["purchase", "grant"] = Field(description="purchase: paid credits (deferred revenue); "
                                                           "grant: free credits (a discount when consumed)")
    amount: DecimalText = Field(description="In the tenant's billing currency")
    priority: int = Field(50, ge=0, le=100, description="Lower is applied first")
    expires_at: UtcDateTime | None = Field(None, description="When unused credits expire (none: never)")
    note: Text = Field("credits", min_length=1, max_length=200)


class GrantPublic(BaseModel):
    grant_id: str
    paid: bool
    amount: str
    remaining: str
    expired: str
    priority: int
    expires_at: AwareDatetime | None
    added_at: AwareDatetime


class WalletPublic(BaseModel):
    id: str
    tenant_id: str
    currency: str
    balance: str
    paid_balance: str = Field(description="Paid credits left: deferred revenue")
    grants: list[GrantPublic] = Field(description="In the order credits are applied")

    @classmethod
    def of(cls, wallet: Wallet) -> WalletPublic:
        return cls(id=str(wallet.id), tenant_id=str(wallet.tenant_id), currency=wallet.currency,
                   balance=text_of(wallet.balance), paid_balance=text_of(wallet.paid_balance),
                   grants=[GrantPublic(grant_id=str(g.grant_id), paid=g.paid, amount=text_of(g.amount),
                                       remaining=text_of(g.remaining), expired=text_of(g.expired),
                                       priority=g.priority, expires_at=g.expires_at, added_at=g.added_at)
                           for g in sorted(wallet.grants.values(), key=lambda g: g.order())])


class OnDemandRates(Strict):
    rates: dict[GpuModelCode, DecimalText] = Field(min_length=1, description="On-demand rate per GPU-hour by model")


class OnDemandRatesPublic(BaseModel):
    tenant_id: str
    on_demand_rates: dict[str, str]
