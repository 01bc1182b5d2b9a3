"""Export the event log as JSON Lines, and import such a file into an empty store.

One line per stored event, in position order::

    {"position": 7, "aggregate_id": "...", "aggregate_type": "SupplyOrder", "version": 2,
     "event_type": "ledger:SupplyOrder.Delivered", "timestamp": "2026-...+00:00",
     "data": {"quantity": 8, "delivered_at": "2026-01-01T00:00:00+00:00"},
     "state": "<base64 of the stored bytes>", "link": "<hex chain link or null>"}

``data`` is for people (decoded through the ledger's mapper, so upcasting applies: money as
decimal strings, UUIDs as strings, datetimes ISO 8601). ``state`` is the stored bytes, so the
file alone is enough to replay the log exactly and to recompute the hash chain offline; the
import refuses a line whose ``data`` disagrees with its ``state`` or whose ``link`` does not
follow from the previous one, so an edited export is caught too.

Both directions stream page by page: memory stays constant however long the log is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain import Ledger
from domain.errors import InvalidInput
from projections.audit.chain import CHAIN_TABLE, GENESIS, AuditChain, next_link
from projections.audit.store import DEFAULT_PAGE_SIZE, AuditStore, position_range

ENVELOPE = ("originator_id", "originator_version", "timestamp", "originator_topic")


def to_json_value(value: object) -> object:
    """json.dumps ``default``: the transcoded types as plain JSON (money stays exact)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot export a {type(value).__name__}")


def aggregate_type(topic: str) -> str:
    """'ledger:Reservation.Confirmed' -> 'Reservation' (the event's enclosing class)."""
    qualname = topic.rpartition(":")[2]
    return qualname.rpartition(".")[0] or qualname


def event_record(ledger: Ledger, event: Notification, link: bytes | None) -> dict[str, Any]:
    domain_event = ledger.mapper.to_domain_event(event)
    fields = vars(domain_event)
    return {
        "position": event.id,
        "aggregate_id": str(event.originator_id),
        "aggregate_type": aggregate_type(event.topic),
        "version": event.originator_version,
        "event_type": event.topic,
        "timestamp": to_json_value(fields["timestamp"]),
        "data": {k: v for k, v in fields.items() if k not in ENVELOPE},
        "state": base64.b64encode(event.state).decode("ascii"),
        "link": link.hex() if link is not None else None,
    }


def iter_event_records(ledger: Ledger, *, start: int | None = None, stop: int | None = None,
                       page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
    """The events with start <= position <= stop as dicts (for the API's paged endpoint too)."""
    after, upto = position_range(start, stop)
    chain = AuditChain(ledger, page_size=page_size)
    store = chain.store
    while True:
        page = store.recorder.select_notifications(after, page_size, stop=upto, inclusive_of_start=False)
        if not page:
            return
        rows = store.query(f"SELECT position, link FROM {store.table(CHAIN_TABLE)} WHERE position BETWEEN ? AND ?",
                           (page[0].id, page[-1].id))
        links = {int(r["position"]): bytes(r["link"]) for r in rows}
        for event in page:
            yield event_record(ledger, event, links.get(event.id))
        after = page[-1].id
        if len(page) < page_size:
            return


def chain_for_export(ledger: Ledger, stop: int | None) -> int:
    """Extend the hash chain through ``stop`` (default: the log's end now) so that an export of
    the range carries every link; returns the export's last position. Events appended after this
    call are not exported (the range ends at the chained head)."""
    head = AuditChain(ledger).catch_up(upto=stop)
    return head.position if stop is None else stop


def export_events(ledger: Ledger, out: IO[str], *, start: int | None = None, stop: int | None = None,
                  on_progress: Callable[[int], None] | None = None, page_size: int = DEFAULT_PAGE_SIZE,
                  require_links: bool = False) -> int:
    """Write the events in [start, stop] to ``out`` as JSON Lines; return how many.
    ``on_progress`` gets the position of each page's last event (for a progress bar).
    ``require_links``: an event without a chain link is refused (InvalidInput) instead of being
    written with ``"link": null`` (chain first: ``chain_for_export``)."""
    count = 0
    dumps = json.JSONEncoder(default=to_json_value, separators=(",", ":"), ensure_ascii=False).encode
    buffer: list[str] = []
    for record in iter_event_records(ledger, start=start, stop=stop, page_size=page_size):
        if require_links and record["link"] is None:
            raise InvalidInput(f"position {record['position']}: not chained yet; run `ledger audit head` first, "
                               "or export with --allow-unchained", field="link")
        buffer.append(dumps(record))
        count += 1
        if len(buffer) >= page_size:
            out.write("\n".join(buffer) + "\n")
            buffer.clear()
            if on_progress:
                on_progress(record["position"])
    if buffer:
        out.write("\n".join(buffer) + "\n")
        if on_progress:
            on_progress(int(json.loads(buffer[-1])["position"]))
    return count


def export_range_total(ledger: Ledger, start: int | None, stop: int | None) -> int:
    """How many positions an export of [start, stop] spans (the progress bar's total)."""
    after, upto = position_range(start, stop)
    last = AuditStore(ledger).max_position() if upto is None else upto
    return max(0, last - after)


@dataclass(frozen=True)
class ImportReport:
    events: int
    last_position: int
    head_hex: str  # the chain link after the last imported event, recomputed from the file


def import_events(ledger: Ledger, lines: Iterable[str], *, batch_size: int = DEFAULT_PAGE_SIZE) -> ImportReport:
    """Replay an export into an empty store: the same events (ids, versions, topics, state
    bytes) at the same positions, so projections and the hash chain come out identical."""
    store = AuditStore(ledger)
    if store.max_position():
        raise InvalidInput("db: the import needs an empty store; this one already has events", field="db")
    link, last, count = GENESIS, 0, 0
    batch: list[Notification] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        event, link = _parse_line(ledger, line, number, previous=link, after=last)
        batch.append(event)
        last, count = event.id, count + 1
        if len(batch) >= batch_size:
            insert_events(store, batch)
            batch.clear()
    if batch:
        insert_events(store, batch)
    return ImportReport(count, last, link.hex())


def _parse_line(ledger: Ledger, line: str, number: int, *, previous: bytes,
                after: int) -> tuple[Notification, bytes]:
    where = f"line {number}"
    try:
        record = json.loads(line)
        event = Notification(id=int(record["position"]), originator_id=UUID(record["aggregate_id"]),
                             originator_version=int(record["version"]), topic=str(record["event_type"]),
                             state=base64.b64decode(record["state"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise InvalidInput(f"{where}: not an exported event ({error})", field="lines") from None
    if event.id <= after:
        raise InvalidInput(f"{where}: position {event.id} does not follow {after}", field="lines")
    try:
        decoded = event_record(ledger, event, None)
    except Exception as error:
        raise InvalidInput(f"{where}: the state cannot be decoded ({error})", field="lines") from None
    if _normal(decoded["data"]) != _normal(record.get("data")) or decoded["timestamp"] != record.get("timestamp"):
        raise InvalidInput(f"{where}: position {event.id}: 'data' does not match the stored state", field="lines")
    link = next_link(previous, event)
    if record.get("link") is not None and record["link"] != link.hex():
        raise InvalidInput(f"{where}: position {event.id}: the chain link does not follow from the previous line "
                           "(edited, reordered, or a range export that does not start the log)", field="lines")
    return event, link


def _normal(data: object) -> str:
    return json.dumps(data, default=to_json_value, sort_keys=True)


def insert_events(store: AuditStore, events: list[Notification]) -> None:
    with store.transaction(commit=True) as cursor:
        if store.is_postgres:  # one set-oriented statement per batch
            cursor.execute(f"INSERT INTO {store.events_table} (notification_id, originator_id, originator_version, "
                           "topic, state) SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::text[], "
                           "%s::bytea[])",
                           ([e.id for e in events], [_uuid(e.originator_id) for e in events],
                            [e.originator_version for e in events], [e.topic for e in events],
                            [e.state for e in events]))
        else:
            cursor.executemany(f"INSERT INTO {store.events_table} (rowid, originator_id, originator_version, topic, "
                               "state) VALUES (?, ?, ?, ?, ?)",
                               [(e.id, _uuid(e.originator_id).hex, e.originator_version, e.topic, e.state)
                                for e in events])
        if store.is_postgres:
            # Later writes must continue after the inserted positions, not collide with them.
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{store.events_table}', 'notification_id'), %s)",
                           (events[-1].id,))


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


__all__ = ["ImportReport", "aggregate_type", "chain_for_export", "event_record", "export_events", "export_range_total",
           "import_events", "insert_events", "iter_event_records", "to_json_value"]
