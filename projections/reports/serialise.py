"""Report rows for programs: CSV and JSON with every value exact (Decimal as its full text,
datetimes in ISO 8601, ids as strings). The one serialiser of the HTTP API and the command line.

**The JSON representation** (README, *Projections*), one per kind of column, whatever the value:

- exact decimal quantities -- money, GPU-hours, kWh, kgCO2e, ratios, unit prices (a column whose
  unit is not a count or a label, ``Column.is_decimal``) -- are JSON **strings** holding the
  decimal in plain notation, never an exponent (``"2984998.50"``, ``"720"``, ``"0.0000"``), so no
  client parses them into a float by accident; a whole number of GPU-hours is a string too;
- counts (units ``count`` and ``GPUs``) are JSON **numbers** (integers);
- labels, ids, months and times are strings (times in ISO 8601); a missing value is ``null``.

``typed_rows`` puts each declared column into its representation; ``exact`` writes it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.reports.base import Column


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation with every digit it has (``Decimal("1E+3")`` -> ``"1000"``)."""
    return format(value, "f")


def exact(value: Any) -> Any:
    """A JSON-safe, exact form of a value."""
    if isinstance(value, Decimal):
        return decimal_text(value)
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


def typed_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """Rows with every declared column in its one representation (module docstring): decimal
    quantities as ``Decimal`` (an ``int`` such as whole GPU-hours becomes one), counts as ``int``.
    Columns not declared (names added next to ids) are left as they are."""
    decimals = {c.name for c in columns if c.is_decimal}
    counts = {c.name for c in columns if c.is_count}
    out = []
    for row in rows:
        typed = dict(row)
        for name, value in row.items():
            if name in decimals and isinstance(value, int) and not isinstance(value, bool):
                typed[name] = Decimal(value)
            elif name in counts and isinstance(value, Decimal) and value == value.to_integral_value():
                typed[name] = int(value)
        out.append(typed)
    return out
