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
from web.reading import filters_of, read
from web.sections import Section, csv_url


def payback(services: Services, principal: Principal, query: Mapping[str, str], report: Report) -> Section:
    where = {k: v for k, v in filters_of(report, query).items() if k in ("site_id", "model")}
    capex = REPORTS["capex"]
    spent: dict[str, Decimal] = {}
    for row in read(services, principal, capex, {k: v for k, v in where.items() if k in filters_of(capex, query)}):
        currency = str(row["currency"])
        spent[currency] = spent.get(currency, Decimal(0)) + Decimal(str(row["capex_spent"] or 0))
    rows: list[dict[str, Any]] = []
    sums: dict[str, dict[str, Decimal]] = {}
    months: set[str] = set()
    raw: dict[str, Any] = dict(where)
    for currency in sorted(spent):
        raw = {**where, "currency": currency}
        found = read(services, principal, report, raw)
        rows.extend(found)
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
        sums[f"revenue booked, cumulative ({currency})"] = cumulative
        sums[f"capex spent ({currency})"] = {m: spent[currency] for m in per_month}
    chart = chart_of("chart-payback", "Payback: cumulative consolidated revenue against capex spent", "line",
                     "month", sorted(months), sums) if months else None
    return Section(report, "Payback: revenue (consolidated at the FX rule) against capex", rows, report.columns,
                   csv_url(report, raw), chart=chart)
