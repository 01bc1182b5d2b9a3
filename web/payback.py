"""The finance page's payback curve: revenue booked, consolidated into the capex's currency at the
documented FX rule and accumulated month by month, against the capex spent (the ``capex`` and
``revenue_consolidated`` reports; a page reads the projections only).

One curve per capex currency (all the demo's rounds are in USD). Revenue is per pool (site and
GPU model), not per funding round: a pool funded by several rounds is not split between them, so
the curve is the fleet's (or the filtered site's and model's), not a round's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from access.tokens import Principal
from api.services import Services
from projections.registry import REPORTS
from projections.reports.base import Report
from web.charts import chart_of
from web.reading import filters_of, plain_rows, read
from web.sections import Section, csv_url, display_columns


def payback(services: Services, principal: Principal, query: Mapping[str, str], report: Report) -> Section:
    where = {k: v for k, v in filters_of(report, query).items() if k in ("site_id", "model")}
    capex = REPORTS["capex"]
    # Capex spent per currency: the capex report's own totals (one object per currency).
    spent = {str(t["currency"]): Decimal(str(t.get("capex_spent") or 0))
             for t in read(services, principal, capex, {k: v for k, v in where.items()
                                                        if k in filters_of(capex, query)}).plain()["totals"]
             if t.get("currency")}
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    sums: dict[str, dict[str, Decimal]] = {}
    months: set[str] = set()
    raw: dict[str, Any] = dict(where)
    for currency in sorted(spent):
        raw = {**where, "currency": currency}
        answer = read(services, principal, report, raw)
        found = plain_rows(answer)
        rows.extend(found)
        totals.extend(answer.plain()["totals"])
        per_month: dict[str, Decimal] = {}
        for row in found:
            if row.get("revenue_reporting") is not None:  # a missing rate is missing, never 0 (fx_note)
                month = str(row["month"])
                per_month[month] = per_month.get(month, Decimal(0)) + Decimal(str(row["revenue_reporting"]))
        total = Decimal(0)
        cumulative: dict[str, Decimal] = {}
        for month in sorted(per_month):
            total += per_month[month]
            cumulative[month] = total
        months |= set(per_month)
        sums[f"Revenue booked, cumulative ({currency})"] = cumulative
        sums[f"Capex spent ({currency})"] = {m: spent[currency] for m in per_month}
    chart = chart_of("chart-payback", "Payback: cumulative consolidated revenue against capex spent", "line",
                     "Month", sorted(months), sums) if months else None
    return Section(report, "Payback: revenue (consolidated at the FX rule) against capex", rows,
                   display_columns(report), csv_url(report, raw), chart=chart, totals=totals)
