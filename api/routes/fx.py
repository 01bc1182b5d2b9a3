"""Exchange rates: finance records them one by one (``POST /v1/fx-rates``); anyone who reads
reports lists them (``GET /v1/fx-rates``, from the fx projection)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from api.answers import Saved, answered_by
from api.deps import Finance, ReportReader, ServicesDep
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.common import Currency, Name, Strict, plain, text_of
from domain.aggregates.fx import FxRate

fx_rates = resource_router("/v1/fx-rates", "fx")

RateText = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,10})?$"), Field(examples=["1.0842"])]
DateText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), Field(examples=["2026-10-31"])]
MinPosition = Annotated[int | None, Query(ge=0, le=2**62, description="Wait until projections reach this position")]


class FxRateCreate(Strict):
    base: Currency
    quote: Currency
    rate: RateText = Field(description="1 base = rate quote (exact decimal, at most 10 places)")
    effective_date: DateText = Field(description="In force from this day (YYYY-MM-DD)")
    source: Name = Field(description="Where the rate comes from, e.g. 'ECB reference rate'")


class FxRatePublic(BaseModel):
    id: str
    base: str
    quote: str
    rate: str
    effective_date: str
    source: str
    status: str = Field(description="recorded (new), corrected (supersedes this date's earlier rate) or "
                                    "unchanged (the same rate and source were recorded already; nothing new)")
    position: int | None


class FxRatesPublic(BaseModel):
    position: int
    items: list[dict[str, object]]


def recorded_rate(saved: Saved) -> FxRatePublic:
    """A rate saved now: new (its Recorded event is among the saved) or a correction."""
    rate = saved.one(FxRate)
    status = "recorded" if saved.events_of(FxRate.Recorded) else "corrected"
    return FxRatePublic(id=str(rate.id), base=rate.base, quote=rate.quote, rate=text_of(rate.rate),
                        effective_date=rate.effective_date, source=rate.source, status=status,
                        position=saved.position)


@fx_rates.post("", status_code=201, openapi_extra=command("record_fx_rates"))
@answered_by(recorded_rate)
def record_fx_rate(body: FxRateCreate, services: ServicesDep, _: Finance, request: Request,
                   response: Response) -> FxRatePublic:
    """Record a rate for a pair and date; the same rate again records nothing; another rate for
    that date is a correction (a new event)."""
    receipt = services.ledger.record_fx_rates([{
        "base": body.base.value, "quote": body.quote.value, "rate": body.rate,
        "effective_date": body.effective_date, "source": body.source}], where=[""], context=command_context(request))
    mark_position(response, receipt.position)
    outcome = receipt.outcomes[0]
    fact = outcome.fact
    return FxRatePublic(id=str(fact.id), base=fact.base, quote=fact.quote, rate=text_of(fact.rate),
                        effective_date=fact.effective_date, source=fact.source, status=outcome.status,
                        position=receipt.position)


@fx_rates.get("")
def list_fx_rates(services: ServicesDep, _: ReportReader, min_position: MinPosition = None) -> FxRatesPublic:
    """Every pair's rates by effective date (the fx_rates report)."""
    services.readside.wait_for(min_position)
    rows, position = services.readside.projections.report_at("fx_rates", {})
    return FxRatesPublic(position=position, items=[plain(row) for row in rows])
