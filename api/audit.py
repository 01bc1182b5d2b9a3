"""The auditors' view of the log: decoded events, aggregates as of a past moment, verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from api.schemas.common import plain
from domain import Ledger
from projections.audit import asof

PRIVATE_FIELDS = {"originator_id", "originator_version", "timestamp"}


def describe(ledger: Ledger, notification: Any) -> dict[str, Any]:
    """One notification as JSON-safe fields (money and ids as strings)."""
    event = ledger.mapper.to_domain_event(notification)
    kind = notification.topic.split(":", 1)[-1]
    aggregate_type, _, event_name = kind.partition(".")
    fields = {k: plain(v) for k, v in vars(event).items() if k not in PRIVATE_FIELDS}
    return {"position": notification.id, "aggregate_id": str(notification.originator_id),
            "aggregate_type": aggregate_type, "event": event_name, "version": notification.originator_version,
            "topic": notification.topic, "timestamp": timestamp_of(event), "fields": fields}


def timestamp_of(event: object) -> datetime:
    """When an event was recorded (every ledger event is an aggregate event with a timestamp)."""
    moment: datetime = getattr(event, "timestamp")  # noqa: B009 - the protocol type does not declare it
    return moment


def events_after(ledger: Ledger, after: int, limit: int, topics: list[str]) -> list[dict[str, Any]]:
    notifications = ledger.recorder.select_notifications(start=after, limit=limit, topics=topics,
                                                         inclusive_of_start=False)
    return [describe(ledger, n) for n in notifications]


def aggregate_as_of(ledger: Ledger, aggregate_id: UUID, as_of: str | None) -> dict[str, Any]:
    """The aggregate as the ledger knew it at ``as_of`` (a version number or a UTC timestamp), as
    JSON-safe fields (the auditor's one replay: ``projections.audit.asof``)."""
    found = asof.aggregate_as_of(ledger, aggregate_id, asof.parse_as_of(as_of) if as_of else None)
    return {"id": str(found.id), "type": found.type, "version": found.version, "created_on": found.created_on,
            "modified_on": found.modified_on, "state": {k: plain(v) for k, v in found.state.items()}}
