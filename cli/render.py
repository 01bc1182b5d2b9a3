"""Render report rows (dicts of str / int / Decimal / datetime) as a rich table, CSV or JSON.

Tables are for people: numbers get thousands separators, shares become percentages and long
ids are shortened. CSV and JSON are for programs: every value is written exactly (Decimal as
its full text, datetimes in ISO 8601), so nothing is lost between the ledger and a spreadsheet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from projections.reports.serialise import columns_of, exact, to_csv  # the one serialiser (HTTP too)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


Row = Mapping[str, Any]

# Columns whose Decimal values are shares of one, shown as percentages in tables.
SHARE_WORDS = ("booking_rate", "utilisation", "utilization", "share", "ratio", "recovered")
ID_SUFFIX = "_id"


def is_share(column: str) -> bool:
    name = column.lower()
    return any(word in name for word in SHARE_WORDS) and "per_" not in name and "gpu_hours" not in name


def human(column: str, value: Any, *, whole: bool = False) -> str:
    """One cell of a table, for people (``whole``: every Decimal in the column is integral)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        if is_share(column) and abs(value) <= 10:
            return f"{value * 100:,.1f} %"
        if whole:
            return f"{value:,.0f}"
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(exact(value))
    text = str(value)
    if column.endswith(ID_SUFFIX) and len(text) == 36:
        return text[:8]
    return text


UNITS = {"kwh": "kWh", "kgco2e": "kgCO2e", "gco2e": "gCO2e", "gpu": "GPU", "gpus": "GPUs", "pue": "PUE",
         "usd": "USD", "co2e": "CO2e", "mwh": "MWh", "tco2e": "tCO2e"}


def label(column: str) -> str:
    """A column header: words, with units spelled the usual way."""
    words = [UNITS.get(word.lower(), word) for word in column.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def table_of(rows: Sequence[Row], *, title: str | None = None, columns: Sequence[str] | None = None,
             labels: Mapping[str, str] | None = None, caption: str | None = None) -> Table:
    names = columns_of(rows, columns)
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left", header_style="bold")
    sample = {name: next((row.get(name) for row in rows if row.get(name) is not None), None) for name in names}
    for name in names:
        numeric = isinstance(sample[name], (int, float, Decimal)) and not isinstance(sample[name], bool)
        table.add_column((labels or {}).get(name, label(name)), justify="right" if numeric else "left",
                         overflow="fold")
    whole = {name: isinstance(first := sample[name], Decimal) and abs(first) >= 1000
             and all(value == value.to_integral_value() for row in rows
                     if isinstance(value := row.get(name), Decimal)) for name in names}
    for row in rows:
        table.add_row(*(human(name, row.get(name), whole=whole[name]) for name in names))
    return table






def to_json(data: Any) -> str:
    return json.dumps(exact(data), indent=2, ensure_ascii=False)


def render(rows: Sequence[Row], fmt: Format | str, *, console: Console, title: str | None = None,
           columns: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
           caption: str | None = None, empty: str = "no rows") -> None:
    """Print ``rows`` in ``fmt`` on ``console`` (tables) or as plain text (csv/json)."""
    fmt = Format(fmt)
    if fmt is Format.csv:
        console.file.write(to_csv(rows, columns))
    elif fmt is Format.json:
        console.file.write(to_json([{k: row.get(k) for k in columns_of(rows, columns)} for row in rows]) + "\n")
    elif not rows:
        console.print(f"[bold]{title}[/bold]: {empty}" if title else empty)
    else:
        console.print(table_of(rows, title=title, columns=columns, labels=labels, caption=caption))


def render_sections(sections: Mapping[str, Sequence[Row]], fmt: Format | str, *, console: Console,
                    titles: Mapping[str, str] | None = None) -> None:
    """Several row sets (e.g. the capex report's rounds and pools): one table each; as CSV one
    file with a leading ``section`` column; as JSON an object of lists."""
    fmt = Format(fmt)
    if fmt is Format.json:
        console.file.write(to_json({name: list(rows) for name, rows in sections.items()}) + "\n")
    elif fmt is Format.csv:
        merged: list[dict[str, Any]] = [{"section": name, **row} for name, rows in sections.items() for row in rows]
        console.file.write(to_csv(merged))
    else:
        for name, rows in sections.items():
            render(rows, fmt, console=console, title=(titles or {}).get(name, name))


def group_sum(rows: Iterable[Row], keys: Sequence[str], values: Sequence[str]) -> list[dict[str, Any]]:
    """Sum ``values`` over rows sharing ``keys`` (first-seen order); None counts as nothing."""
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in keys)
        target = grouped.setdefault(key, {**{k: row.get(k) for k in keys}, **{v: None for v in values}})
        for value in values:
            amount = row.get(value)
            if amount is not None:
                target[value] = amount if target[value] is None else target[value] + amount
    return list(grouped.values())
