"""Bulk metering from CSV: a file of usage records, streamed in batches through ``record_usage``.

The file has a header row naming the four columns (in any order; no others)::

    record_id,reservation_id,hour,gpu_hours
    6f1c...,9a2e...,2026-10-01T13:00:00Z,3.875

- ``record_id``: a UUID chosen by the meter; a record already recorded with the same id and value
  is a duplicate, counted and skipped, so importing a file twice records nothing the second time;
- ``reservation_id``: the reservation metered;
- ``hour``: the start of the metered hour, ISO 8601 with a UTC offset, on a whole hour;
- ``gpu_hours``: GPU-hours used in that hour, a decimal (at most the reservation's GPUs, at most
  6 decimal places).

Records are read ``batch_size`` at a time (default 5,000; at most ``MAX_USAGE_BATCH``); each
batch is checked whole -- its fields here, then reservations, windows and duplicates by the
ledger -- before anything is written, and is recorded in one transaction (``record_usage``: all
or nothing). The first bad row stops the import: its batch records nothing, the batches before it
stay committed, and the result names the row's line number and field.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar
from uuid import UUID

from domain.checks import uuid_of
from domain.errors import InvalidInput, LedgerError
from domain.money import to_decimal
from domain.service.receipts import MAX_USAGE_BATCH, UsageReceipt, UsageRecord
from domain.timeutil import check_on_the_hour

COLUMNS = ("record_id", "reservation_id", "hour", "gpu_hours")
DEFAULT_BATCH = 5_000
T = TypeVar("T")
RECORD_FIELD = re.compile(r"^records\[(\d+)\]\.?(.*)$")


class UsageRecorder(Protocol):
    def record_usage(self, records: list[UsageRecord]) -> UsageReceipt: ...


@dataclass(frozen=True)
class BatchResult:
    number: int  # 1, 2, ...
    first_line: int
    last_line: int
    records: int
    recorded: int
    duplicates: int
    position: int | None  # log position of the batch's last event (None: nothing new recorded)


@dataclass(frozen=True)
class RowError:
    """The first bad row and the batch it stopped (which recorded nothing)."""

    line: int
    field: str
    message: str
    batch: int
    first_line: int
    last_line: int  # the last line read into the batch


@dataclass
class ImportResult:
    committed: list[BatchResult] = field(default_factory=list)
    error: RowError | None = None
    dry_run: bool = False

    @property
    def records(self) -> int:
        return sum(b.records for b in self.committed)

    @property
    def recorded(self) -> int:
        return sum(b.recorded for b in self.committed)

    @property
    def duplicates(self) -> int:
        return sum(b.duplicates for b in self.committed)

    @property
    def position(self) -> int | None:
        return max((b.position for b in self.committed if b.position is not None), default=None)


class _BadRow(Exception):
    def __init__(self, line: int, field_name: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field_name, message


@dataclass
class _Batch:
    number: int
    first_line: int
    last_line: int = 0
    records: list[UsageRecord] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def import_usage(ledger: UsageRecorder, lines: Iterable[str], *, batch_size: int = DEFAULT_BATCH,
                 dry_run: bool = False, on_batch: Callable[[BatchResult], None] | None = None) -> ImportResult:
    """Import CSV ``lines`` (a text file, opened with ``newline=""``); see the module docstring.
    ``dry_run`` checks the rows' fields only and records nothing (reservations are not looked up)."""
    if not 1 <= batch_size <= MAX_USAGE_BATCH:
        raise InvalidInput(f"batch_size: must be between 1 and {MAX_USAGE_BATCH:,}, got {batch_size}",
                           field="batch_size")
    result = ImportResult(dry_run=dry_run)
    reader = csv.reader(lines)
    parse = _RowParser()
    try:
        order = _header(reader)
        for batch in _batches(reader, order, parse, batch_size):
            committed = _commit(ledger, batch, dry_run)
            result.committed.append(committed)
            if on_batch is not None:
                on_batch(committed)
    except _Stopped as stopped:
        result.error = stopped.error
    return result


class _Stopped(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def _header(reader: Iterator[list[str]]) -> list[int]:
    """The index of each of COLUMNS in the header row."""
    header = next(reader, None)
    if header is None:
        raise _Stopped(RowError(1, "header", f"the file is empty; expected the header {','.join(COLUMNS)}", 1, 1, 1))
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names]
    if unknown or missing or len(names) != len(set(names)):
        what = f"unknown column {unknown[0]!r}" if unknown else \
            f"missing column {missing[0]!r}" if missing else "a column appears twice"
        raise _Stopped(RowError(1, "header", f"{what}; expected the columns {','.join(COLUMNS)}", 1, 1, 1))
    return [names.index(c) for c in COLUMNS]


def _batches(reader: Iterator[list[str]], order: list[int], parse: _RowParser,
             batch_size: int) -> Iterator[_Batch]:
    number, batch = 1, None
    line = getattr(reader, "line_num", 1)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            line = getattr(reader, "line_num", line)
            where = batch or _Batch(number, line)
            raise _Stopped(RowError(line, "row", f"not valid CSV ({error})", where.number, where.first_line,
                                    line)) from None
        line = getattr(reader, "line_num", line + 1)
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if batch is None:
            batch = _Batch(number, line)
        batch.last_line = line
        try:
            batch.records.append(parse(row, order, line))
        except _BadRow as bad:
            raise _Stopped(RowError(bad.line, bad.field, bad.message, batch.number, batch.first_line,
                                    line)) from None
        batch.lines.append(line)
        if len(batch.records) >= batch_size:
            yield batch
            number, batch = number + 1, None
    if batch is not None:
        yield batch


class _RowParser:
    """One CSV row as a UsageRecord, each field checked by the domain's own checks. Reservation
    ids, hours and amounts repeat on many rows: each distinct text is parsed once (bounded memos)."""

    MEMO = 100_000

    def __init__(self) -> None:
        self.reservations: dict[str, UUID] = {}
        self.hours: dict[str, datetime] = {}
        self.amounts: dict[str, Decimal] = {}

    def __call__(self, row: list[str], order: list[int], line: int) -> UsageRecord:
        if len(row) != len(COLUMNS):
            raise _BadRow(line, "row", f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), got {len(row)}")
        record_text, reservation_text = row[order[0]].strip(), row[order[1]].strip()
        hour_text, amount_text = row[order[2]].strip(), row[order[3]].strip()
        try:
            record_id = uuid_of(record_text, field="record_id")
            reservation_id = self.reservations.get(reservation_text)
            if reservation_id is None:
                reservation_id = _remember(self.reservations, reservation_text,
                                           uuid_of(reservation_text, field="reservation_id"))
            hour = self.hours.get(hour_text)
            if hour is None:
                hour = _remember(self.hours, hour_text, check_on_the_hour(hour_text, field="hour"))
            gpu_hours = self.amounts.get(amount_text)
            if gpu_hours is None:
                if not amount_text.isascii():
                    raise InvalidInput(f"gpu_hours: {amount_text[:40]!r} is not a decimal number", field="gpu_hours")
                gpu_hours = _remember(self.amounts, amount_text, to_decimal(amount_text, field="gpu_hours"))
        except LedgerError as error:
            raise _BadRow(line, error.field or "row", _without_field(error.message, error.field)) from None
        return UsageRecord(record_id, reservation_id, hour, gpu_hours)


def _remember(memo: dict[str, T], text: str, value: T) -> T:
    if len(memo) >= _RowParser.MEMO:
        memo.clear()
    memo[text] = value
    return value


def _commit(ledger: UsageRecorder, batch: _Batch, dry_run: bool) -> BatchResult:
    records = len(batch.records)
    if dry_run:
        return BatchResult(batch.number, batch.first_line, batch.last_line, records, 0, 0, None)
    try:
        receipt = ledger.record_usage(batch.records)
    except LedgerError as error:
        line, name = batch.first_line, error.field or "records"
        found = RECORD_FIELD.match(name)
        if found is not None:
            line = batch.lines[int(found.group(1))]
            name = found.group(2) or "row"
        message = _without_field(error.message, error.field)  # "records[3].hour: ..." -> "..."
        raise _Stopped(RowError(line, name, message, batch.number, batch.first_line, batch.last_line)) from None
    return BatchResult(batch.number, batch.first_line, batch.last_line, records, receipt.recorded,
                       receipt.duplicates, receipt.position)


def _without_field(message: str, field_name: str | None) -> str:
    """'gpu_hours: must be ...' -> 'must be ...' (the line says the field already)."""
    if field_name and message.startswith(f"{field_name}: "):
        return message[len(field_name) + 2:]
    return message
