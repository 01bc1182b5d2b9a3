"""Booked revenue per site, GPU model and currency: the billing lines (rounded at the line, as
invoiced) of reservations there, cancellation fees included and credit notes excluded."""

from __future__ import annotations

from projections.reports.base import Column, Filter, Params, Report, Row, exact_sums, where
from storage.database import Database


def revenue_sums(db: Database, params: Params, limit: int) -> list[tuple[str, str, str, object, object]]:
    filters, values = where(params, month_column=None, site=True, model=True, alias="t")
    rows = exact_sums(db, group=["t.site_id", "t.model", "l.currency"], sums=["l.gpu_hours", "l.amount"],
                      source="bil_lines l JOIN bil_reservations t ON t.reservation_id = l.reservation_id",
                      where_sql=filters, params=values, limit=limit)
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from decimal import Decimal

    from domain.money import quantize

    out: list[Row] = []
    for site, model, currency, gpu_hours, amount in revenue_sums(db, params, limit):
        hours, booked = Decimal(str(gpu_hours)), Decimal(str(amount))
        out.append({"site_id": site, "model": model, "currency": currency, "booked_gpu_hours": hours,
                    "revenue_booked": booked,
                    "revenue_per_gpu_hour": quantize(booked / hours, currency) if hours else None})
    return out


REPORT = Report(
    name="site_revenue",
    title="Booked revenue per site, GPU model and currency",
    projections=("billing",),
    filters=(Filter("site", "Site id"), Filter("model", "GPU model code")),
    columns=(Column("site_id", "", "Site"), Column("model", "", "GPU model"),
             Column("currency", "ISO 4217", "The tenants' billing currency"),
             Column("booked_gpu_hours", "GPU-hours", "Booked GPU-hours billed"),
             Column("revenue_booked", "currency", "Sum of the billing lines (rounded at the line)"),
             Column("revenue_per_gpu_hour", "currency per GPU-hour", "Revenue / booked GPU-hours", total="ratio",
                    ratio_of=("revenue_booked", "booked_gpu_hours"))),
    query=query,
    order=("site", "model", "currency"),
)
