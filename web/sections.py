"""One report on a dashboard page: its rows, a chart of them, and the link to the CSV of exactly those rows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
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
    """The report's columns for people: a name column in place of each id it names, and no other
    id (a UUID is for the CSV and JSON, and the invoice's link, which shows its number)."""
    out: list[Column] = []
    linked = any(c.name == "invoice_id" for c in report.columns)
    for column in report.columns:
        if linked and column.name in ("invoice_number", "number"):
            continue  # the invoice's link (its id's column) shows its number
        if column.name in NAMED:
            out.append(Column(NAMED[column.name], "", column.description, total=None))
            continue
        if column.name == "invoice_id":
            out.append(replace(column, label="Invoice"))  # its link shows the invoice's number
            continue
        if column.name.endswith("_id"):
            continue
        out.append(column)
    return tuple(out)


MONEY_UNITS = ("currency", "reporting currency")
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
FILTER_LABELS = {"site": "Site", "tenant": "Tenant", "model": "Model", "from": "From", "to": "To",
                 "granularity": "Granularity", "currency": "Reporting currency", "account": "Account",
                 "on": "Aging day"}


def percent(value: Any) -> str:
    """A ratio as a percentage, one decimal (``0.8105`` -> ``81.1 %``), the CLI's style."""
    share = Decimal(str(value)) * 100
    return f"{share.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN):,} %"


def tonnes(kg: Any) -> str:
    """kgCO2e as tCO2e with 3 decimals, rounded half-even (``1234.5675`` -> ``1.235``): the CLI's
    rule; CSV and JSON keep the exact kilograms."""
    value = (Decimal(str(kg)) / 1000).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return f"{value:,.3f}"


def cell_text(value: Any, column: Column) -> str:
    """A cell as people read it: money grouped by thousands at its minor unit (1,234,567.89),
    counts grouped (25,103), ratios as percentages (81.1 %), emissions in tonnes (tCO2e, 3
    decimals); an id inside a text shortened to its first 8 digits (the CSV has it whole)."""
    if value is None:
        return ""
    try:
        if column.unit in MONEY_UNITS or column.unit.startswith("currency per "):
            return f"{Decimal(str(value)):,}"
        if column.unit == "ratio":
            return percent(value)
        if column.unit == "kgCO2e":
            return tonnes(value)
    except InvalidOperation:
        return str(value)
    if column.unit in ("count", "GPUs") and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return short_ids(str(value))


def grouped(value: Any, series: str = "") -> str:
    """A chart table's figure grouped by thousands (``1234567.5`` -> ``1,234,567.5``); tonnes of
    CO2e (a series headed ``tCO2e``) at 3 decimals, as in the report tables."""
    if value is None:
        return ""
    try:
        if "tCO2e" in series:
            return f"{Decimal(str(value)).quantize(Decimal('0.001'), rounding=ROUND_HALF_EVEN):,.3f}"
        return f"{Decimal(str(value)):,}"
    except InvalidOperation:
        return str(value)


def short_ids(text: str) -> str:
    """``e8fe747c-...`` for each UUID in ``text``."""
    return UUID_TEXT.sub(lambda m: m.group(0)[:8] + "\u2026", text)


def header_text(column: Column) -> str:
    """A column's header: words with its unit (``Column.header``: In service (GPU-hours))."""
    return column.header


def filter_label(kind: str) -> str:
    return FILTER_LABELS.get(kind, kind.replace("_", " ").capitalize())


def csv_url(report: Report, raw: Mapping[str, Any]) -> str:
    given = {k: v for k, v in raw.items() if v}
    return f"/ui/csv/{report.name}" + (f"?{urlencode(given)}" if given else "")
