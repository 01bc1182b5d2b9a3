"""Report rows for programs: CSV and JSON with every value exact (Decimal as its full text,
datetimes in ISO 8601, ids as strings). The one serialiser of the HTTP API and the command line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def exact(value: Any) -> Any:
    """A JSON-safe, exact form of a value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exact(v) for v in value]
    return value


def columns_of(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    """``columns`` if given, else the union of the rows' keys in first-seen order."""
    if columns:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    names = columns_of(rows, columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        cells = []
        for name in names:
            value = row.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, list | dict):
                cells.append(json.dumps(exact(value)))
            else:
                cells.append(exact(value))
        writer.writerow(cells)
    return buffer.getvalue()


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps([exact(dict(row)) for row in rows], indent=2)
