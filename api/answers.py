"""A write route's answer, rendered from what its command saves.

A keyed write stores its response in the ledger's own transaction (``api/idempotency.py``), so
the response has to be made from what the command is saving, before the commit: the saved
aggregates, their new events and the log position of the last one (:class:`Saved`). Routes
whose response is ``Model.of(aggregate)`` get that for free (:data:`SOURCES`); the others name
their answer with :func:`answered_by`. ``tests/e2e/test_keyed_writes.py`` checks that every
command route has one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.schemas.capacity import FundingRoundPublic, SitePublic, SupplyOrderPublic
from api.schemas.commercial import ContractPublic, WalletPublic
from api.schemas.tenancy import InvoicePublic, ReservationPublic, TenantPublic
from domain.aggregates import Contract, FundingRound, Invoice, Reservation, Site, SupplyOrder, Tenant, Wallet

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Saved:
    """What one save of a command holds: its aggregates, their new events, the last event's log
    position, and the request's body (parsed only by an answer that reads it)."""

    aggregates: tuple[Aggregate, ...]
    events: tuple[object, ...]
    position: int
    raw: bytes = b""

    @functools.cached_property
    def body(self) -> Mapping[str, Any]:
        """The request's JSON object ({} when the body is not one)."""
        try:
            parsed = json.loads(self.raw) if self.raw else {}
        except (ValueError, RecursionError):
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def one(self, cls: type[A]) -> A:
        found = [a for a in self.aggregates if isinstance(a, cls)]
        if len(found) != 1:
            raise LookupError(f"expected one {cls.__name__} among the saved aggregates, found {len(found)}")
        return found[0]

    def events_of(self, cls: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, cls)]


Answer = Callable[[Saved], BaseModel]

# Response models made by ``Model.of(aggregate)`` from one saved aggregate of this class.
SOURCES: dict[type[BaseModel], type[Aggregate]] = {
    SitePublic: Site, FundingRoundPublic: FundingRound, SupplyOrderPublic: SupplyOrder, TenantPublic: Tenant,
    ContractPublic: Contract, WalletPublic: Wallet, InvoicePublic: Invoice, ReservationPublic: Reservation,
}


def answered_by(answer: Answer) -> Callable[[F], F]:
    """Name the answer of a write route whose response is not ``Model.of(aggregate)``."""
    def mark(endpoint: F) -> F:
        endpoint.ledger_answer = answer  # type: ignore[attr-defined]
        return endpoint
    return mark


def answer_for(route: APIRoute) -> Answer | None:
    """The route's answer from saved aggregates, or None (a route that saves nothing)."""
    explicit: Answer | None = getattr(route.endpoint, "ledger_answer", None)
    if explicit is not None:
        return explicit
    model = route.response_model
    source = SOURCES.get(model) if isinstance(model, type) else None
    if source is None:
        return None
    of: Callable[[Aggregate], BaseModel] = model.of
    return lambda saved: of(saved.one(source))


