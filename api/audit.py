"""The auditors' view of the log: decoded events, aggregates as of a past moment, verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from api.schemas.common import plain
from domain import Ledger
from domain.checks import ascii_int
from domain.errors import InvalidInput, NotFound
from domain.timeutil import check_utc

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
    """Replay the aggregate's events up to ``as_of`` (a version number or a UTC timestamp)."""
    stored = ledger.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound(f"aggregate_id: no aggregate with id {aggregate_id}", field="aggregate_id")
    version = stored[-1].originator_version
    if as_of is not None and as_of.strip().isdigit():
        version = min(version, ascii_int(as_of, field="as_of"))
        if version < 1:
            raise InvalidInput("as_of: versions start at 1", field="as_of")
    elif as_of is not None:
        moment = check_utc(as_of, field="as_of")
        events = [ledger.mapper.to_domain_event(s) for s in stored]
        earlier = [e.originator_version for e in events if timestamp_of(e) <= moment]
        if not earlier:
            raise NotFound(f"as_of: aggregate {aggregate_id} did not exist yet at {moment.isoformat()}",
                           field="as_of")
        version = earlier[-1]
    aggregate: Any = ledger.repository.get(aggregate_id, version=version)
    state = {k.lstrip("_"): plain(v) for k, v in vars(aggregate).items()
             if k not in ("_id", "_version", "_created_on", "_modified_on", "_pending_events")}
    return {"id": str(aggregate_id), "type": type(aggregate).__name__, "version": aggregate.version,
            "created_on": aggregate.created_on, "modified_on": aggregate.modified_on, "state": state}
