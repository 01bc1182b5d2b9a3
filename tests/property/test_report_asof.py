"""A report as of any past position equals the report a fresh rebuild of the log up to that
position gives, whichever checkpoints exist; the live tables are never touched; as of a time
means as of the last event recorded at or before it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger, open_projections
from domain.errors import InvalidInput
from projections import checkpoints
from projections.asof import parse_as_of, report_as_of, resolve
from projections.audit.asof import projections_as_of
from projections.checkpoints import Checkpointer
from projections.registry import REPORT_NAMES, checkpointed_names
from tests.builders import SimClock, fleet, reserve
from tests.property.test_projections_properties import History, dump

LIVE_EVERY = 9  # the live engine's checkpoint interval in these tests (50,000 in production)


def history_steps(seed: int, count: int) -> list[tuple[Any, ...]]:
    """A deterministic mix of the commands the projection properties use."""
    rng = random.Random(seed)
    steps: list[tuple[Any, ...]] = []
    for _ in range(count):
        kind = rng.choice(["reserve", "reserve", "use", "use", "extend", "cancel", "revise", "invoice"])
        if kind == "reserve":
            steps.append((kind, rng.randint(1, 3), rng.randint(0, 24 * 60), rng.randint(1, 24 * 40),
                          rng.choice(["H100-SXM", "GB300"]), rng.randint(0, 1)))
        elif kind == "use":
            steps.append((kind, rng.randint(0, 30), rng.randint(0, 24 * 30), rng.choice(["0.5", "1", "2.25"])))
        elif kind == "extend":
            steps.append((kind, rng.randint(0, 30), rng.randint(1, 200)))
        elif kind == "cancel":
            steps.append((kind, rng.randint(0, 30), rng.randint(0, 24 * 60)))
        elif kind == "revise":
            steps.append((kind, rng.randint(0, 1), rng.randint(1, 100), rng.randint(0, 24 * 60)))
        else:
            steps.append((kind, rng.randint(0, 1), rng.choice(["2026-01", "2026-02"])))
    return steps


def test_a_report_as_of_any_position_equals_a_rebuild_of_the_prefix(database_url: str) -> None:
    history = History(database_url)
    try:
        history.projections.engine.checkpoints = Checkpointer(LIVE_EVERY, checkpointed_names())
        for step in history_steps(seed=11, count=45):
            if step[0] == "use":
                step = (*step[:3], Decimal(step[3]))
            history.run(step)
            if step[0] == "revise":
                history.projections.catch_up()  # the live engine passes checkpoint boundaries
        history.projections.catch_up()
        ledger, live = history.ledger, history.projections
        head = ledger.max_position()
        assert checkpoints.listed(live.db), "the live engine took no checkpoint"
        before = dump(live), live.engine.positions(list(live.engine.live))

        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
        @given(position=st.integers(0, head), name=st.sampled_from(REPORT_NAMES), every=st.sampled_from([4, 9, 1000]))
        def as_of_equals_rebuild(position: int, name: str, every: int) -> None:
            answer = report_as_of(database_url, ledger, name, {}, position, every=every)
            with projections_as_of(ledger, position) as rebuilt:
                assert answer.rows == rebuilt.report(name, {}), (name, position)
            assert answer.position == position
            again = report_as_of(database_url, ledger, name, {}, position, every=every)
            assert again.rows == answer.rows
            assert again.replayed < every, "a second request replays at most one checkpoint interval"

        as_of_equals_rebuild()
        assert (dump(live), live.engine.positions(list(live.engine.live))) == before, "the live tables changed"
    finally:
        history.close()


def test_as_of_a_time_is_as_of_the_last_event_recorded_at_or_before_it(database_url: str) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    try:
        f = fleet(ledger)
        marks: list[tuple[datetime, int]] = []  # (a moment, the head then)
        for i in range(6):
            clock.advance(timedelta(hours=1))
            reserve(f, 1, 10 * i + 3, 10 * i + 5)  # hours ahead of the clock
            marks.append((clock.now + timedelta(minutes=30), ledger.max_position()))
            clock.advance(timedelta(hours=1))
        assert resolve(ledger, "2025-12-31T23:59:59+00:00") == 0
        assert resolve(ledger, clock.now.isoformat()) == ledger.max_position()
        for moment, position in marks:
            assert resolve(ledger, moment.isoformat()) == position
            assert resolve(ledger, moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00") == position
            by_time = report_as_of(database_url, ledger, "billing", {}, moment.isoformat())
            by_position = report_as_of(database_url, ledger, "billing", {}, position)
            assert (by_time.position, by_time.rows) == (position, by_position.rows)
        exact = marks[2][0] - timedelta(minutes=30)  # exactly the time of that reservation's events
        assert resolve(ledger, exact.isoformat()) == marks[2][1]
    finally:
        ledger.close()


@pytest.mark.parametrize("bad", ["", "yesterday", "-1", "1.5", "2026-13-01T00:00:00Z", "٣", "²",
                                 "2026-01-01T00:00:00", "12\x00"])
def test_a_bad_as_of_is_invalid_input_naming_as_of(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_as_of(bad)
    assert caught.value.field == "as_of"


def test_a_position_beyond_the_head_is_refused(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url, clock=SimClock())
    try:
        fleet(ledger)
        head = ledger.max_position()
        with pytest.raises(InvalidInput) as caught:
            report_as_of(sqlite_url, ledger, "billing", {}, head + 1)
        assert caught.value.field == "as_of" and str(head) in caught.value.message
    finally:
        ledger.close()


def test_a_rebuild_discards_the_projections_checkpoints(sqlite_url: str) -> None:
    ledger = open_ledger(sqlite_url, clock=SimClock())
    live = open_projections(sqlite_url)
    try:
        live.engine.checkpoints = Checkpointer(5, checkpointed_names())
        f = fleet(ledger)
        for i in range(4):
            reserve(f, 1, 10 * i + 3, 10 * i + 5)  # hours ahead of the clock
        live.catch_up()
        assert {c.name for c in checkpoints.listed(live.db)} >= {"billing"}
        live.rebuild("billing")
        assert "billing" not in {c.name for c in checkpoints.listed(live.db)}
        assert report_as_of(sqlite_url, ledger, "billing", {}, ledger.max_position()).rows == live.report("billing")
    finally:
        live.close()
        ledger.close()


def test_demo_reset_knows_the_checkpoint_tables() -> None:
    from cli.demo.database import is_ledger_table

    assert all(is_ledger_table(name) for name in ("read_checkpoints", "ck50000_bil_lines", "ck100_utl_hours"))
    assert not any(is_ledger_table(name) for name in ("ck_notes", "checkpoints", "ckx_bil_lines"))
