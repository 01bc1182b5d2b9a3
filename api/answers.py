"""A write route's answer, in two steps: the command's result, then the response made from it.

A keyed write stores its command's RESULT in the ledger's own transaction (``api/idempotency.py``),
as canonical JSON: made from what the command is saving, before the commit (the saved
aggregates, their new events and the log position of the last one: :class:`Saved`). The
response is rendered AFTER the commit, from that stored result alone (:attr:`Answer.render`), so
a replay of the key renders the same bytes from the same row. A result that names an aggregate
names its version: the response shows the aggregate at that version, whatever happened to it
since.

Routes whose response is ``Model.of(aggregate)`` get that for free (:data:`SOURCES`: the result
is the aggregate's id and version); the others name their answer with :func:`answered_by` (the
result is the answer's JSON, rendered as it is). ``tests/e2e/test_keyed_writes.py`` checks that
every command route has one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

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


Explicit = Callable[[Saved], BaseModel]  # an answer named with answered_by
# An aggregate at a version (the saved copy right after the commit, else loaded from the store).
Lookup = Callable[[UUID, int], Aggregate]
Result = dict[str, Any]  # what a command's result is stored as: JSON values only


@dataclass(frozen=True)
class Answer:
    """A write route's answer: ``result`` (inside the ledger's transaction, from what the
    command saves: the JSON stored with the key) and ``render`` (after the commit, from that
    result and the aggregates it names, at their versions: the response's body)."""

    result: Callable[[Saved], Result]
    render: Callable[[Mapping[str, Any], Lookup], str]


def canonical(value: object) -> str:
    """The canonical JSON of a stored result: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def of_aggregate(model: type[BaseModel], source: type[Aggregate]) -> Answer:
    """``model.of(aggregate)`` of the one saved ``source``: the result is its id and version."""
    of: Callable[[Aggregate], BaseModel] = model.of  # type: ignore[attr-defined]

    def result(saved: Saved) -> Result:
        aggregate = saved.one(source)
        return {"id": str(aggregate.id), "version": aggregate.version}

    def render(found: Mapping[str, Any], lookup: Lookup) -> str:
        return of(lookup(UUID(str(found["id"])), int(found["version"]))).model_dump_json(by_alias=True)
    return Answer(result, render)


def as_given(answer: Explicit) -> Answer:
    """An explicit answer: its JSON is the result, and the response is that JSON."""
    def result(saved: Saved) -> Result:
        dumped: Result = answer(saved).model_dump(mode="json", by_alias=True)
        return dumped

    def render(found: Mapping[str, Any], lookup: Lookup) -> str:
        return json.dumps(found, separators=(",", ":"), ensure_ascii=False)
    return Answer(result, render)

# Response models made by ``Model.of(aggregate)`` from one saved aggregate of this class.
SOURCES: dict[type[BaseModel], type[Aggregate]] = {
    SitePublic: Site, FundingRoundPublic: FundingRound, SupplyOrderPublic: SupplyOrder, TenantPublic: Tenant,
    ContractPublic: Contract, WalletPublic: Wallet, InvoicePublic: Invoice, ReservationPublic: Reservation,
}


def answered_by(answer: Explicit) -> Callable[[F], F]:
    """Name the answer of a write route whose response is not ``Model.of(aggregate)``."""
    def mark(endpoint: F) -> F:
        endpoint.ledger_answer = answer  # type: ignore[attr-defined]
        return endpoint
    return mark


def answer_for(route: APIRoute) -> Answer | None:
    """The route's answer from saved aggregates, or None (a route that saves nothing)."""
    explicit: Explicit | None = getattr(route.endpoint, "ledger_answer", None)
    if explicit is not None:
        return as_given(explicit)
    model = route.response_model
    source = SOURCES.get(model) if isinstance(model, type) else None
    if source is None:
        return None
    return of_aggregate(model, source)


