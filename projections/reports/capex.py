"""Capex per site and GPU model: GPUs ordered, delivered and in service, capex committed and
spent, and the booked revenue there in every billing currency, consolidated into the orders'
currency by the FX rule (``projections.consolidation``: per line, the rate in force on the last
day of its month, rounded at the line). A missing rate leaves revenue and payback null and names
the rate in ``fx_note`` -- never counted as 0."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from domain.money import quantize
from projections.capex import POOL_MONEY, POOLS
from projections.consolidation import RevenueLine, consolidate, revenue_lines
from projections.fx import rate_book
from projections.reports.base import RATIO, Column, Filter, Params, Report, Row, where
from storage.database import Database

ZERO = Decimal(0)


def query(db: Database, params: Params, limit: int) -> list[Row]:
    filters, values = where(params, month_column=None, site=True, model=True)
    counts = {(p.site_id, p.model): p for p in map(POOLS.from_db, db.fetchall(
        f"SELECT {', '.join(POOLS.column_names)} FROM cap_pools WHERE {filters} LIMIT ?", [*values, limit]))}
    money: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for m in map(POOL_MONEY.from_db, db.fetchall(
            f"SELECT {', '.join(POOL_MONEY.column_names)} FROM cap_pool_money WHERE {filters} "
            "ORDER BY currency LIMIT ?", [*values, limit])):
        money[(m.site_id, m.model)].append(m)
    book = rate_book(db)
    revenue: dict[tuple[str, str], list[RevenueLine]] = defaultdict(list)
    for line in revenue_lines(db, params, months=False):
        revenue[(line.site_id, line.model)].append(line)
    out: list[Row] = []
    for pair in sorted(set(counts) | set(money)):
        pool = counts.get(pair)
        ordered = pool.ordered if pool else 0
        delivered = pool.delivered if pool else 0
        in_service = (pool.commissioned - pool.decommissioned) if pool else 0
        for entry in money.get(pair) or [None]:
            currency = entry.currency if entry else None
            committed = entry.capex_committed if entry else ZERO
            spent = entry.spent if entry else ZERO
            lines = revenue.get(pair, [])
            gpu_hours = sum((line.gpu_hours for line in lines), ZERO)
            total = consolidate(lines, currency, book) if currency else None
            booked = total.amount if total else None

            def cash(value: Decimal, currency: str | None = currency) -> Decimal:
                return quantize(value, currency) if currency else value

            out.append({
                "site_id": pair[0], "model": pair[1], "currency": currency, "gpus_ordered": ordered,
                "gpus_delivered": delivered, "gpus_in_service": in_service,
                "capex_committed": cash(committed), "capex_spent": cash(spent),
                "capex_per_gpu": cash(committed / ordered) if currency and ordered else None,
                "booked_gpu_hours": gpu_hours, "revenue_booked": booked,
                "revenue_per_booked_gpu_hour": cash(booked / gpu_hours) if booked is not None and gpu_hours else None,
                "capex_recovered": (booked / spent).quantize(RATIO, rounding=ROUND_HALF_EVEN)
                if booked is not None and spent else None,
                "fx_note": total.note if total else "",
            })
    return out[:limit]


REPORT = Report(
    name="capex",
    title="Capex per site and GPU model",
    projections=("capex", "billing", "fx"),
    filters=(Filter("site", "Site id"), Filter("model", "GPU model code")),
    columns=(Column("site_id", "", "Site"), Column("model", "", "GPU model"),
             Column("currency", "ISO 4217", "Currency of the supply orders"),
             Column("gpus_ordered", "GPUs", "Ordered from Nvidia"), Column("gpus_delivered", "GPUs", "Delivered"),
             Column("gpus_in_service", "GPUs", "Commissioned minus decommissioned"),
             Column("capex_committed", "currency", "Orders placed (quantity x unit price)"),
             Column("capex_spent", "currency", "Delivered units x unit price"),
             Column("capex_per_gpu", "currency per GPU", "Capex committed / GPUs ordered", total="ratio",
                    ratio_of=("capex_committed", "gpus_ordered")),
             Column("booked_gpu_hours", "GPU-hours", "Booked GPU-hours billed here, in every currency"),
             Column("revenue_booked", "currency",
                    "Billing lines in every currency, each converted by the FX rule and rounded at the line; "
                    "null if a rate is missing"),
             Column("revenue_per_booked_gpu_hour", "currency per GPU-hour", "Revenue / booked GPU-hours", total="ratio",
                    ratio_of=("revenue_booked", "booked_gpu_hours")),
             Column("capex_recovered", "ratio", "Revenue booked (consolidated) / capex spent", total="ratio",
                    ratio_of=("revenue_booked", "capex_spent")),
             Column("fx_note", "", "Missing rates, e.g. 'no rate for NOK->USD on 2026-10-31' (empty: none)")),
    query=query,
    order=("site", "model", "currency"),
)
