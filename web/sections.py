"""One report on a dashboard page: its rows, a chart of them, and the link to the CSV of exactly those rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from projections.queries import NAMED, ReportAnswer
from projections.reports.base import Column, Report
from web.charts import Chart
from web.reading import Heatmap, plain_rows


@dataclass
class Section:
    """One report on a page: its rows (the table), a chart of them, and the CSV of exactly those rows."""

    report: Report
    title: str
    rows: list[dict[str, Any]]
    columns: tuple[Column, ...]
    csv_url: str
    chart: Chart | None = None
    heatmap: Heatmap | None = None
    extra_tables: list[Chart] = field(default_factory=list)
    totals: list[dict[str, Any]] = field(default_factory=list)  # the report's own totals (JSON values)
    answer: ReportAnswer | None = None  # the read the section shows (its CSV is this answer's)


def section_of(answer: ReportAnswer, title: str, raw: Mapping[str, Any], **more: Any) -> Section:
    """A section showing ``answer``: its rows with names beside ids, its totals, its CSV link."""
    report = answer.report
    return Section(report, title, plain_rows(answer), display_columns(report), csv_url(report, raw),
                   totals=answer.plain()["totals"], answer=answer, **more)


def display_columns(report: Report) -> tuple[Column, ...]:
    """The report's columns for people: a name column in place of each id it names (the id stays
    in the CSV and JSON, as in every answer)."""
    out: list[Column] = []
    linked = any(c.name == "invoice_id" for c in report.columns)
    for column in report.columns:
        if linked and column.name in ("invoice_number", "number"):
            continue  # the invoice's link (its id's column) shows its number
        if column.name in NAMED:
            out.append(Column(NAMED[column.name], "", column.description, total=None))
            continue
        out.append(column)
    return tuple(out)


MONEY_UNITS = ("currency", "reporting currency")


def cell_text(value: Any, column: Column) -> str:
    """A cell as people read it: money grouped by thousands at its minor unit (1,234,567.89),
    counts grouped (25,103); the rest as the answer has it."""
    if value is None:
        return ""
    if column.unit in MONEY_UNITS or column.unit.startswith("currency per "):
        try:
            return f"{Decimal(str(value)):,}"
        except InvalidOperation:
            return str(value)
    if column.unit in ("count", "GPUs") and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def header_text(column: Column) -> str:
    """A column's header: its label, else its name in words (``days_overdue`` -> Days overdue)."""
    if column.label:
        return column.label
    text = column.name.replace("_", " ")
    return text[:1].upper() + text[1:]


def csv_url(report: Report, raw: Mapping[str, Any]) -> str:
    given = {k: v for k, v in raw.items() if v}
    return f"/ui/csv/{report.name}" + (f"?{urlencode(given)}" if given else "")
