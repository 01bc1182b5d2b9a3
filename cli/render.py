"""Render report rows (dicts of str / int / Decimal / datetime) as a rich table, CSV or JSON.

Tables are for people: numbers get thousands separators, shares become percentages and long
ids are shortened. CSV and JSON are for programs: every value is written exactly (Decimal as
its full text, datetimes in ISO 8601), so nothing is lost between the ledger and a spreadsheet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
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
SHARE_WORDS = ("booking_rate", "utilisation", "utilization", "share", "ratio", "recovered", "discount", "tax_rate")
ID_SUFFIX = "_id"
# Box edges and padding of a rich table: each column takes its width + 3, the table 1 more.
COLUMN_OVERHEAD, TABLE_OVERHEAD = 3, 1
# The narrowest a text column (names, labels) is squeezed to before columns are dropped; a
# column of single words (invoice numbers GL-2026-000123, dates, codes) up to WHOLE_WORD_WIDTH
# long is never split inside a word.
MIN_TEXT_WIDTH = 12
WHOLE_WORD_WIDTH = 16

Formatter = Callable[[Any], str]


def is_share(column: str) -> bool:
    name = column.lower()
    return any(word in name for word in SHARE_WORDS) and "per_" not in name and "gpu_hours" not in name


def unsigned_zero(text: str) -> str:
    """``-0.00`` (a negative zero, or a tiny negative rounded away) reads ``0.00``."""
    return text[1:] if text.startswith("-") and not text.strip("-0.,% ") else text


def is_rate(column: str) -> bool:
    """A price per unit (``rate``, ``rate_per_gpu_hour``): shown at the precision it is stored with."""
    return "rate" in column.lower() and not is_share(column)


def plain(value: Decimal, minimum: int = 0) -> str:
    """A Decimal in positional notation, thousands grouped, never an exponent (``0E-10``,
    ``1E+3``): at least ``minimum`` decimals, more only where its digits need them; no ``-0``."""
    if not value.is_finite():
        return str(value)
    if value == 0:
        value = abs(value)
    exponent = value.normalize().as_tuple().exponent
    places = max(minimum, -exponent if isinstance(exponent, int) else 0)
    return unsigned_zero(f"{value:,.{places}f}")


def rate(value: Any) -> str:
    """A rate per GPU-hour as stored, at least 2 decimals: ``4.1515`` -> ``4.1515``, ``2.5`` -> ``2.50``."""
    if value is None:
        return "-"
    try:
        return plain(Decimal(str(value)), 2)
    except InvalidOperation:
        return str(value)


def is_percent(column: str) -> bool:
    """A column already in percent (``equity_percent``: 9.3 means 9.3 %)."""
    return "percent" in column.lower()


def percent(share: Decimal) -> str:
    """The one percentage style of every table: one decimal, a space, ``%`` (``12.3 %``)."""
    return unsigned_zero(f"{share * 100:,.1f} %")


def is_kg_co2e(column: str) -> bool:
    """Emissions kept in kg (``location_kgco2e``): tables show them in tonnes."""
    return column.lower().endswith("kgco2e")


def tonnes(kg: Any) -> str:
    """kgCO2e as tCO2e with 3 decimals, rounded half-even (``1234.5675`` -> ``1.235``)."""
    if kg is None:
        return "-"
    if isinstance(kg, str):
        return kg
    with localcontext() as context:  # a huge amount has more digits than the default 28
        context.prec = max(28, Decimal(kg).adjusted() + 8)
        value = (Decimal(kg) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return unsigned_zero(f"{value:,.3f}")


def human(column: str, value: Any, *, whole: bool = False) -> str:
    """One cell of a table, for people (``whole``: every Decimal in the column is integral)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int) and is_percent(column):
        return unsigned_zero(f"{value:,.1f} %")
    if isinstance(value, Decimal | int) and is_kg_co2e(column):
        return tonnes(value)
    if isinstance(value, Decimal):
        if is_share(column) and abs(value) <= 10:
            return percent(value)
        if is_rate(column):
            return rate(value)
        return unsigned_zero(f"{value:,.0f}" if whole else f"{value:,.2f}")
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
         "usd": "USD", "co2e": "CO2e", "mwh": "MWh", "tco2e": "tCO2e", "gpu-hours": "GPU-hours",
         "gpu-hour": "GPU-hour"}


def label(column: str) -> str:
    """A column header: words, with units spelled the usual way (``rate_per_gpu_hour`` -> ``Rate per GPU-hour``)."""
    hyphened = column.replace("gpu_hours", "gpu-hours").replace("gpu_hour", "gpu-hour")
    words = [UNITS.get(word.lower(), word) for word in hyphened.split("_")]
    text = " ".join(words).replace("kgCO2e", "tCO2e")  # tables show emissions in tonnes (``human``)
    return text[:1].upper() + text[1:]


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


@dataclass(frozen=True)
class Layout:
    """The columns of a table that fit, their widths (without padding), and those dropped."""

    columns: list[str]
    widths: dict[str, int]
    dropped: list[str]


def _text_least(cells: Sequence[str], header: str) -> int:
    """The least width of a text column: its longest word, cut to MIN_TEXT_WIDTH -- unless every
    cell is one word no longer than WHOLE_WORD_WIDTH (an identifier: kept whole)."""
    longest = max([_longest_word(c) for c in [*cells, header]] + [1])
    if all(" " not in c.strip() for c in cells) and max([len(c) for c in cells] + [1]) <= WHOLE_WORD_WIDTH:
        return min(longest, WHOLE_WORD_WIDTH)
    return min(longest, MIN_TEXT_WIDTH)


def layout(names: Sequence[str], headers: Mapping[str, str], cells: Mapping[str, Sequence[str]],
           numeric: Collection[str], width: int | None, drop_order: Sequence[str] | None = None) -> Layout:
    """Widths such that no number is ever split: a numeric column is as wide as its widest cell
    (its header wraps between words); text columns (names, labels) share what is left, down to
    ``MIN_TEXT_WIDTH`` (or their longest word, if shorter), wrapping between words. Columns that
    still do not fit are dropped in ``drop_order`` (default: from the right, never the first)."""
    least = {name: max([len(c) for c in cells[name]] + [_longest_word(headers[name]), 1]) if name in numeric
             else _text_least(cells[name], headers[name])
             for name in names}
    natural = {name: max([least[name], len(headers[name])] + [len(c) for c in cells[name]]) for name in names}
    order = [n for n in (drop_order if drop_order is not None else list(reversed(names[1:]))) if n in names]
    kept, dropped = list(names), []

    def room() -> int:
        return (width or 0) - TABLE_OVERHEAD - sum(COLUMN_OVERHEAD for _ in kept)

    while width is not None and sum(least[n] for n in kept) > room() and order:
        victim = order.pop(0)
        kept.remove(victim)
        dropped.append(victim)
    widths = {name: natural[name] for name in kept}
    if width is not None and sum(widths.values()) > room():
        # Each column keeps its least width (a number whole, text to MIN_TEXT_WIDTH) plus a share
        # of what is left, in proportion to how much more it would like (long names, headers).
        spare = max(0, room() - sum(least[n] for n in kept))
        wants = {n: natural[n] - least[n] for n in kept}
        total_wants = sum(wants.values()) or 1
        widths = {n: least[n] + spare * wants[n] // total_wants for n in kept}
    return Layout(kept, widths, [n for n in names if n in dropped])


def table_of(rows: Sequence[Row], *, title: str | None = None, columns: Sequence[str] | None = None,
             labels: Mapping[str, str] | None = None, caption: str | None = None,
             formats: Mapping[str, Formatter] | None = None, numeric: Collection[str] | None = None,
             totals: Sequence[Row] = (), width: int | None = None, drop_order: Sequence[str] | None = None) -> Table:
    """A table for people. Numbers are right-aligned and never split or wrapped: columns that
    do not fit ``width`` are dropped (``drop_order``, default from the right) with a note under
    the table. ``formats`` overrides a column's cell text; ``totals`` rows follow a rule, bold."""
    names = columns_of(rows, columns)
    sample = {name: next((row.get(name) for row in rows if row.get(name) is not None), None) for name in names}
    if numeric is None:
        numeric = {name for name in names
                   if isinstance(sample[name], (int, float, Decimal)) and not isinstance(sample[name], bool)}
    # A column of whole numbers, some of them large (GPU-hours), prints without decimals.
    whole = {name: isinstance(sample[name], Decimal)
             and any(abs(value) >= 1000 for row in rows if isinstance(value := row.get(name), Decimal))
             and all(value == value.to_integral_value() for row in rows
                     if isinstance(value := row.get(name), Decimal)) for name in names}

    def cell(name: str, value: Any) -> str:
        if formats and name in formats:
            return formats[name](value)
        return human(name, value, whole=whole[name])

    every = [*rows, *totals]
    cells = {name: [cell(name, row.get(name)) for row in every] for name in names}
    headers = {name: (labels or {}).get(name, label(name)) for name in names}
    fitted = layout(names, headers, cells, numeric, width, drop_order)
    if fitted.dropped:
        note = (f"Not shown at {width} columns: {', '.join(headers[n] for n in fitted.dropped)} "
                "(a wider terminal, or --format csv|json, shows every column).")
        caption = f"{caption}\n{note}" if caption else note
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left", header_style="bold")
    for name in fitted.columns:
        table.add_column(headers[name], justify="right" if name in numeric else "left", overflow="fold",
                         width=fitted.widths[name] if width is not None else None,
                         no_wrap=name in numeric and width is None)
    for index, _ in enumerate(rows):
        table.add_row(*(cells[name][index] for name in fitted.columns),
                      end_section=bool(totals) and index == len(rows) - 1)
    for index in range(len(rows), len(every)):
        table.add_row(*(cells[name][index] for name in fitted.columns), style="bold")
    return table


def to_json(data: Any) -> str:
    return json.dumps(exact(data), indent=2, ensure_ascii=False)


def render(rows: Sequence[Row], fmt: Format | str, *, console: Console, title: str | None = None,
           columns: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
           caption: str | None = None, empty: str = "no rows", formats: Mapping[str, Formatter] | None = None,
           numeric: Collection[str] | None = None, totals: Sequence[Row] = (),
           drop_order: Sequence[str] | None = None) -> None:
    """Print ``rows`` in ``fmt`` on ``console`` (tables, fitted to its width: see ``table_of``)
    or as plain text (csv/json)."""
    fmt = Format(fmt)
    if fmt is Format.csv:
        console.file.write(to_csv(rows, columns))
    elif fmt is Format.json:
        console.file.write(to_json([{k: row.get(k) for k in columns_of(rows, columns)} for row in rows]) + "\n")
    elif not rows:
        console.print(f"[bold]{title}[/bold]: {empty}" if title else empty)
    else:
        console.print(table_of(rows, title=title, columns=columns, labels=labels, caption=caption, formats=formats,
                               numeric=numeric, totals=totals, width=console.width, drop_order=drop_order))


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
