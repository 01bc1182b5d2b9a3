"""`ledger usage import FILE.csv`: batches all or nothing, idempotent by record_id, the first bad
row named by line and field with the batches committed before it."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain.service.usage_import import COLUMNS, import_usage
from tests.builders import T0, SimClock, fleet, reserve
from tests.e2e.cli_process import ledger, one_line

HOURS = 40


def usage_rows(reservations: list[uuid.UUID], count: int) -> list[list[str]]:
    return [[str(uuid.UUID(int=i + 1)), str(reservations[i % len(reservations)]),
             (T0 + timedelta(hours=i // len(reservations))).isoformat(), "1.5"] for i in range(count)]


def csv_text(rows: list[list[str]]) -> str:
    return "\n".join([",".join(COLUMNS), *(",".join(r) for r in rows)]) + "\n"


def booked(url: str) -> list[uuid.UUID]:
    """Two reservations of 2 GPUs over hours [0, HOURS) after T0, on a clock past them."""
    clock = SimClock()
    store = open_ledger(url, clock=clock)
    try:
        f = fleet(store)
        found = [reserve(f, 2, 0, HOURS), reserve(f, 2, 0, HOURS)]
        clock.set(datetime(2027, 1, 1, tzinfo=T0.tzinfo))
        return found
    finally:
        store.close()


def head(url: str) -> int:
    store = open_ledger(url)
    try:
        return store.max_position()
    finally:
        store.close()


@pytest.mark.slow  # runs `ledger` as a child process
def test_a_file_is_imported_in_batches_and_a_second_import_records_nothing(database_url: str,
                                                                           tmp_path: Path) -> None:
    file = tmp_path / "usage.csv"
    file.write_text(csv_text(usage_rows(booked(database_url), 23)))
    first = ledger("usage", "import", str(file), "--batch-size", "5", "--db", database_url)
    assert first.returncode == 0, first.stderr
    assert "batches 1-5 committed (23 records: 23 recorded, 0 duplicates)" in first.stdout
    assert first.stderr == ""  # no progress bar off a terminal
    before = head(database_url)
    again = ledger("usage", "import", str(file), "--db", database_url)
    assert "batch 1 committed (23 records: 0 recorded, 23 duplicates)" in again.stdout, again.stdout
    assert head(database_url) == before


@pytest.mark.slow  # runs `ledger` as a child process
def test_a_bad_value_names_its_line_and_field_and_rolls_back_its_batch(database_url: str, tmp_path: Path) -> None:
    rows = usage_rows(booked(database_url), 20)
    rows[12][3] = "lots"  # line 14 (the header is line 1)
    file = tmp_path / "usage.csv"
    file.write_text(csv_text(rows))
    before = head(database_url)
    result = ledger("usage", "import", str(file), "--batch-size", "5", "--db", database_url)
    line = one_line(result)
    assert line.startswith("error: line 14, gpu_hours: "), line
    assert "batches 1-2 committed (10 records: 10 recorded, 0 duplicates)" in result.stdout
    assert "batch 3 (lines 12-14) rolled back" in result.stdout
    assert head(database_url) > before
    # the ledger checks what a row cannot: an hour outside the reservation, in the second batch
    rows[12][3] = "1.5"
    rows[7][2] = (T0 + timedelta(hours=HOURS + 5)).isoformat()  # line 9
    file.write_text(csv_text(rows))
    at = head(database_url)
    result = ledger("usage", "import", str(file), "--batch-size", "5", "--db", database_url)
    line = one_line(result)
    assert line.startswith("error: line 9, hour: ") and "outside the reservation" in line, line
    assert "batch 1 committed (5 records: 0 recorded, 5 duplicates)" in result.stdout
    assert "batch 2 (lines 7-11) rolled back" in result.stdout
    assert head(database_url) == at


@pytest.mark.parametrize("text, expected", [
    ("", "line 1, header: the file is empty"),
    ("record_id,reservation_id,hour\n", "line 1, header: missing column 'gpu_hours'"),
    ("record_id,reservation_id,hour,gpu_hours,site\n", "line 1, header: unknown column 'site'"),
    ("record_id,reservation_id,hour,gpu_hours\nnot-an-id,x,y,z\n", "line 2, record_id: "),
    (f"record_id,reservation_id,hour,gpu_hours\n{uuid.uuid4()},{uuid.uuid4()},2026-01-01T00:30:00Z,1\n",
     "line 2, hour: "),
    (f"record_id,reservation_id,hour,gpu_hours\n{uuid.uuid4()},{uuid.uuid4()},2026-01-01T00:00:00Z\n",
     "line 2, row: expected 4 fields"),
    (f"record_id,reservation_id,hour,gpu_hours\n{uuid.uuid4()},{uuid.uuid4()},2026-01-01T00:00:00Z,1\n",
     "line 2, reservation_id: "),
])
@pytest.mark.slow  # runs `ledger` as a child process
def test_bad_files_are_one_line_errors(sqlite_url: str, tmp_path: Path, text: str, expected: str) -> None:
    booked(sqlite_url)
    file = tmp_path / "usage.csv"
    file.write_text(text)
    assert one_line(ledger("usage", "import", str(file), "--db", sqlite_url)).startswith(f"error: {expected}")


@pytest.mark.slow  # runs `ledger` as a child process
def test_a_missing_file_is_a_one_line_error(sqlite_url: str, tmp_path: Path) -> None:
    booked(sqlite_url)
    assert "file" in one_line(ledger("usage", "import", str(tmp_path / "nope.csv"), "--db", sqlite_url))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 30), batch=st.integers(1, 12), bad=st.none() | st.integers(0, 29))
def test_batches_before_the_bad_row_commit_and_none_after(count: int, batch: int, bad: int | None) -> None:
    clock = SimClock()
    store = open_ledger("memory:", clock=clock)
    try:
        f = fleet(store)
        reservations = [reserve(f, 2, 0, HOURS)]
        clock.set(datetime(2027, 1, 1, tzinfo=T0.tzinfo))
        rows = usage_rows(reservations, count)
        if bad is not None and bad < count:
            rows[bad][3] = "-1"
        else:
            bad = None
        result = import_usage(store, io.StringIO(csv_text(rows)), batch_size=batch)
        committed = count if bad is None else (bad // batch) * batch
        assert result.records == result.recorded == committed
        usage: Any = store.get_reservation(reservations[0]).usage
        assert len(usage) == committed
        if bad is not None:
            assert result.error is not None and (result.error.line, result.error.field) == (bad + 2, "gpu_hours")
            assert result.error.batch == bad // batch + 1
        again = import_usage(store, io.StringIO(csv_text(rows[:committed])), batch_size=batch)
        assert (again.recorded, again.duplicates) == (0, committed)
    finally:
        store.close()
