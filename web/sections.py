"""One report on a dashboard page: its rows, a chart of them, and the link to the CSV of exactly those rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from projections.reports.base import Column, Report
from web.charts import Chart
from web.reading import Heatmap


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


def csv_url(report: Report, raw: Mapping[str, Any]) -> str:
    given = {k: v for k, v in raw.items() if v}
    return f"/ui/csv/{report.name}" + (f"?{urlencode(given)}" if given else "")
