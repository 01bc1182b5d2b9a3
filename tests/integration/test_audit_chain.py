"""Tamper evidence on both stores: alter, delete or insert an event directly with SQL and the
verification names the first bad position; an untouched log passes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bootstrap import open_ledger
from domain import Ledger
from domain.errors import InvalidInput
from projections.audit import AuditChain, Head
from projections.audit.store import AuditStore
from tests.builders import SimClock, fleet, reserve


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    f = fleet(ledger)
    for start in range(1, 4):
        reserve(f, 1, start, start + 2)
    clock.advance(timedelta(hours=1))
    yield ledger
    ledger.close()


def execute(ledger: Ledger, statement: str, params: tuple[object, ...] = ()) -> None:
    store = AuditStore(ledger)
    with store.transaction(commit=True) as cursor:
        cursor.execute(store.sql(statement.format(events=store.events_table, pos=store.position_column)), params)


def state_at(ledger: Ledger, position: int) -> bytes:
    return bytes(ledger.recorder.select_notifications(position, 1)[0].state)


def test_an_untouched_log_verifies_and_the_head_is_stable(ledger: Ledger) -> None:
    chain = AuditChain(ledger, page_size=4)  # small pages: the merge crosses page boundaries
    head = chain.catch_up()
    assert head.position == ledger.max_position()
    report = chain.verify()
    assert report.ok and report.checked == head.position and report.pending == 0
    assert AuditChain(ledger).catch_up() == head  # idempotent: nothing new, same head


def test_an_altered_event_is_named_at_its_position(ledger: Ledger) -> None:
    chain = AuditChain(ledger, page_size=4)
    chain.catch_up()
    tampered = state_at(ledger, 6).replace(b"200000.00", b"100000.00")
    assert tampered != state_at(ledger, 6)
    execute(ledger, "UPDATE {events} SET state = ? WHERE {pos} = 6", (tampered,))
    report = chain.verify()
    assert not report.ok and report.first_bad_position == 6 and report.reason.startswith("altered")
    assert report.checked == 5


@pytest.mark.parametrize("victim", ["middle", "last"])
def test_a_deleted_event_is_named_at_its_position(ledger: Ledger, victim: str) -> None:
    chain = AuditChain(ledger)
    head = chain.catch_up()
    position = 7 if victim == "middle" else head.position
    execute(ledger, "DELETE FROM {events} WHERE {pos} = ?", (position,))
    report = chain.verify()
    assert not report.ok and report.first_bad_position == position and report.reason.startswith("deleted")


def test_a_forged_event_shifted_into_the_middle_is_named_at_its_position(ledger: Ledger) -> None:
    chain = AuditChain(ledger)
    chain.catch_up()
    # The forger makes room at position 5 and inserts a copy of event 2 as a new version.
    execute(ledger, "UPDATE {events} SET {pos} = -{pos} WHERE {pos} >= 5")
    execute(ledger, "UPDATE {events} SET {pos} = 1 - {pos} WHERE {pos} < 0")
    forged = ledger.recorder.select_notifications(2, 1)[0]
    execute(ledger, "INSERT INTO {events} ({pos}, originator_id, originator_version, topic, state) "
                    "VALUES (?, ?, ?, ?, ?)", (5, _id(ledger, forged.originator_id), 99, forged.topic, forged.state))
    report = chain.verify()
    assert not report.ok and report.first_bad_position == 5


def test_a_forged_event_in_an_unused_position_is_named_as_inserted(ledger: Ledger) -> None:
    last = ledger.max_position()
    # A position the ledger never used inside the chained range (PostgreSQL leaves such holes
    # when a write rolls back): move the last event up by one before chaining.
    execute(ledger, "UPDATE {events} SET {pos} = ? WHERE {pos} = ?", (last + 1, last))
    chain = AuditChain(ledger)
    assert chain.catch_up().position == last + 1 and chain.verify().ok
    forged = ledger.recorder.select_notifications(1, 1)[0]
    execute(ledger, "INSERT INTO {events} ({pos}, originator_id, originator_version, topic, state) "
                    "VALUES (?, ?, ?, ?, ?)", (last, _id(ledger, forged.originator_id), 99, forged.topic, forged.state))
    report = chain.verify()
    assert not report.ok and report.first_bad_position == last and report.reason.startswith("inserted")


def test_an_earlier_head_catches_a_rewritten_chain(ledger: Ledger) -> None:
    chain = AuditChain(ledger)
    earlier = chain.catch_up()
    ledger.register_tenant(name="Later", billing_currency="EUR", rates={"H100-SXM": "2.10"})
    chain.catch_up()
    assert chain.verify(earlier).ok
    # A forger with database access alters event 3 and rebuilds the whole chain to match.
    forged = state_at(ledger, 3).replace(b"Fund A", b"Fund Z")
    execute(ledger, "UPDATE {events} SET state = ? WHERE {pos} = 3", (forged,))
    execute(ledger, "DELETE FROM " + AuditStore(ledger).table("audit_chain"))
    execute(ledger, "DELETE FROM " + AuditStore(ledger).table("audit_chain_tracking"))
    chain.catch_up()
    assert chain.verify().ok  # the rewritten chain is self-consistent...
    report = chain.verify(earlier)  # ...but the published head no longer matches
    assert not report.ok and report.first_bad_position == earlier.position and "not a prefix" in report.reason


def test_events_after_the_head_are_pending_not_broken(ledger: Ledger) -> None:
    chain = AuditChain(ledger)
    head = chain.catch_up(upto=5)
    assert head.position == 5
    report = chain.verify()
    assert report.ok and report.checked == 5 and report.pending == ledger.max_position() - 5


def test_a_head_parses_from_its_printed_form() -> None:
    head = Head(12, bytes(range(32)))
    assert Head.parse(str(head)) == head
    for text in ("12", "x:00", "12:abcd", "-1:" + "00" * 32):
        with pytest.raises(InvalidInput):
            Head.parse(text)


def _id(ledger: Ledger, originator_id: object) -> object:
    # SQLite stores ids as hex text, PostgreSQL as uuid.
    return originator_id if AuditStore(ledger).is_postgres else originator_id.hex  # type: ignore[attr-defined]


def test_a_follower_chains_new_events_until_stopped(ledger: Ledger) -> None:
    import threading

    chain = AuditChain(ledger)
    stop = threading.Event()
    worker = threading.Thread(target=chain.follow, args=(stop,), kwargs={"poll_interval": 0.02})
    worker.start()
    try:
        written = ledger.register_tenant(name="Live", billing_currency="USD", rates={"H100-SXM": "3"})
        for _ in range(200):
            if chain.head().position >= written.position:  # type: ignore[operator]
                break
            threading.Event().wait(0.02)
    finally:
        stop.set()
        worker.join(5)
    assert chain.head().position == written.position and chain.verify().ok
