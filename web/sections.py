"""One report on a dashboard page: its rows, a chart of them, and the link to the CSV of exactly those rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    """The report's columns with a name column before each id it names (as in every answer)."""
    out: list[Column] = []
    for column in report.columns:
        if column.name in NAMED:
            out.append(Column(NAMED[column.name], "", f"{column.description} (name)", total=None))
        out.append(column)
    return tuple(out)


def csv_url(report: Report, raw: Mapping[str, Any]) -> str:
    given = {k: v for k, v in raw.items() if v}
    return f"/ui/csv/{report.name}" + (f"?{urlencode(given)}" if given else "")
