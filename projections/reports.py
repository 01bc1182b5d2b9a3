"""Report queries. They read projection tables only, filtered in SQL, so their cost follows
the size of the answer, not the length of the history.

Conventions: ids are UUID strings, months 'YYYY-MM', days 'YYYY-MM-DD', hours ISO 8601 UTC
strings ('2026-02-01T00:00:00+00:00'); GPU-hours in service/booked are int, used GPU-hours,
money, kWh and kgCO2e are Decimal. Ratios (booking rate, utilisation) are Decimal rounded to 4
places (None when nothing was in service).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from domain.money import quantize
from projections.db import Database
from projections.events import (
    from_micro, hour_ceil, hour_floor, hour_start, month_of_hour, month_start_hour, next_month,
)

GRANULARITIES = ("hour", "day", "month")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
RATIO = Decimal("0.0001")


def _hour_bound(value: Any, *, ceil: bool) -> int | None:
    """A filter bound as an hour index: a datetime (aware) or ISO string (exclusive as an end),
    a date, or a 'YYYY-MM' month (an end month is included)."""
    if value is None:
        return None
    if isinstance(value, str) and MONTH.match(value):
        return month_start_hour(next_month(value) if ceil else value)
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, date):
        text = value.isoformat() + "T00:00:00+00:00"
    elif isinstance(value, str):
        text = value.replace("Z", "+00:00") if "T" in value else value + "T00:00:00+00:00"
    else:
        raise ValueError(f"start/end: expected a datetime or ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"start/end: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"start/end: {value!r} has no UTC offset")
    return hour_ceil(parsed.isoformat()) if ceil else hour_floor(parsed.isoformat())


def _period(granularity: str, hour: int) -> tuple[Any, int, int]:
    """(period key, first hour, end hour) of the period containing ``hour``."""
    if granularity == "hour":
        return hour, hour, hour + 1
    if granularity == "day":
        return hour // 24, hour // 24 * 24, hour // 24 * 24 + 24
    month = month_of_hour(hour)
    return month, month_start_hour(month), month_start_hour(next_month(month))


def _label(granularity: str, key: Any) -> tuple[str, str]:
    if granularity == "hour":
        return hour_start(key).isoformat(), hour_start(key).isoformat()
    if granularity == "day":
        start = hour_start(key * 24)
        return start.date().isoformat(), start.isoformat()
    return key, hour_start(month_start_hour(key)).isoformat()


def _in_service(changes: list[tuple[int, int]], first: int, end: int) -> int:
    """GPU-hours in service over [first, end) from the step function's (hour, delta) changes."""
    hours = [h for h, _ in changes]
    level = sum(d for h, d in changes if h <= first)
    total, at = 0, first
    for i in range(bisect_right(hours, first), len(changes)):
        h, delta = changes[i]
        if h >= end:
            break
        total += level * (h - at)
        level, at = level + delta, h
    return total + level * (end - at)


def _ratio(part: Decimal, whole: int) -> Decimal | None:
    return (part / whole).quantize(RATIO, rounding=ROUND_HALF_EVEN) if whole else None


def utilisation(db: Database, *, site_id: str | None = None, model: str | None = None, start: Any = None,
                end: Any = None, granularity: str = "month") -> list[dict[str, Any]]:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity: expected one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    lo, hi = _hour_bound(start, ceil=False), _hour_bound(end, ceil=True)
    where, params = ["1=1"], []
    if site_id is not None:
        where.append("site_id = ?"); params.append(str(site_id))  # noqa: E702
    if model is not None:
        where.append("model = ?"); params.append(model)  # noqa: E702
    changes: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for site, mdl, hour, delta in db.fetchall(
            f"SELECT site_id, model, hour, delta FROM utl_capacity WHERE {' AND '.join(where)} ORDER BY hour", params):
        changes[(site, mdl)].append((int(hour), int(delta)))
    table, column = {"hour": ("utl_hours", "hour"), "day": ("utl_days", "day"), "month": ("utl_months", "month")}[granularity]
    rwhere, rparams = list(where), list(params)
    if lo is not None:
        rwhere.append(f"{column} >= ?"); rparams.append(_period(granularity, lo)[0])  # noqa: E702
    if hi is not None:
        rwhere.append(f"{column} <= ?"); rparams.append(_period(granularity, hi - 1)[0])  # noqa: E702
    stored: dict[tuple[str, str], dict[Any, tuple[int, int]]] = defaultdict(dict)
    for site, mdl, key, booked, used in db.fetchall(
            f"SELECT site_id, model, {column}, booked, used_micro FROM {table} WHERE {' AND '.join(rwhere)}", rparams):
        stored[(site, mdl)][key] = (int(booked), int(used))
    out: list[dict[str, Any]] = []
    for pair in sorted(set(changes) | set(stored)):
        pair_changes, rows = changes.get(pair, []), stored.get(pair, {})
        if lo is not None and hi is not None:
            first, last = lo, hi
        else:
            known = [h for h, _ in pair_changes] + [_first_hour(granularity, k) for k in rows]
            first = lo if lo is not None else min(known)
            last = hi if hi is not None else max([h + 1 for h, _ in pair_changes] +
                                                 [_period(granularity, _first_hour(granularity, k))[2] for k in rows])
        key, p_start, p_end = _period(granularity, first)
        while p_start < last:
            in_service = _in_service(pair_changes, p_start, p_end) if pair_changes else 0
            booked, used_micro = rows.get(key, (0, 0))
            if in_service or key in rows:
                used = from_micro(used_micro)
                label, iso = _label(granularity, key)
                out.append({"site_id": pair[0], "model": pair[1], "granularity": granularity, "period": label,
                            "period_start": iso, "in_service_gpu_hours": in_service, "booked_gpu_hours": booked,
                            "used_gpu_hours": used, "idle_gpu_hours": Decimal(in_service) - used,
                            "booking_rate": _ratio(Decimal(booked), in_service),
                            "utilisation": _ratio(used, in_service)})
            key, p_start, p_end = _period(granularity, p_end)
    return out


def _first_hour(granularity: str, key: Any) -> int:
    if granularity == "hour":
        return int(key)
    if granularity == "day":
        return int(key) * 24
    return month_start_hour(key)


def _month_filters(column: str, tenant_id: Any, month_from: str | None, month_to: str | None
                   ) -> tuple[str, list[Any]]:
    where, params = ["1=1"], []
    if tenant_id is not None:
        where.append("tenant_id = ?"); params.append(str(tenant_id))  # noqa: E702
    if month_from is not None:
        where.append(f"{column} >= ?"); params.append(month_from)  # noqa: E702
    if month_to is not None:
        where.append(f"{column} <= ?"); params.append(month_to)  # noqa: E702
    return " AND ".join(where), params


def billing(db: Database, *, tenant_id: Any = None, month_from: str | None = None,
            month_to: str | None = None) -> list[dict[str, Any]]:
    where, params = _month_filters("month", tenant_id, month_from, month_to)
    rows = db.fetchall("SELECT tenant_id, month, line_key, kind, reservation_id, origin_month, currency, gpu_hours, "
                       f"rate, amount FROM bil_lines WHERE {where} ORDER BY tenant_id, month, line_key", params)
    return [{"tenant_id": r[0], "month": r[1], "line_key": r[2], "kind": r[3], "reservation_id": r[4],
             "origin_month": r[5], "currency": r[6], "gpu_hours": Decimal(r[7]),
             "rate": Decimal(r[8]) if r[8] is not None else None, "amount": Decimal(r[9])} for r in rows]


def billing_totals(db: Database, *, tenant_id: Any = None, month_from: str | None = None,
                   month_to: str | None = None) -> list[dict[str, Any]]:
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    where, params = _month_filters("month", tenant_id, month_from, month_to)
    for tenant, month, currency, amount, count in _line_sums(db, where, params):
        totals[(tenant, month)] = {
            "tenant_id": tenant, "month": month, "currency": currency, "total": amount, "lines": count,
            "invoice_status": "not_invoiced", "invoice_id": None, "invoice_total": None, "credited": None}
    for tenant, month, invoice, currency, total, credited, status in db.fetchall(
            f"SELECT tenant_id, month, invoice_id, currency, total, credited, status FROM bil_invoices WHERE {where}",
            params):
        row = totals.setdefault((tenant, month), {"tenant_id": tenant, "month": month, "currency": currency,
                                                  "total": Decimal(0), "lines": 0})
        row.update(invoice_status=status, invoice_id=invoice, invoice_total=Decimal(total), credited=Decimal(credited))
    for row in totals.values():
        row["total"] = quantize(row["total"], row["currency"])
    return [totals[k] for k in sorted(totals)]


def _line_sums(db: Database, where: str, params: list[Any]) -> list[tuple[str, str, str, Decimal, int]]:
    """(tenant, month, currency, exact sum of line amounts, line count) per tenant and month.
    PostgreSQL sums in ``numeric`` (exact) on the server, so only the totals cross the wire;
    SQLite has no exact decimal sum, so its rows are summed here as Decimals."""
    if db.kind == "postgres":
        return [(t, m, c, Decimal(a), int(n)) for t, m, c, a, n in db.fetchall(
            "SELECT tenant_id, month, MIN(currency), SUM(amount::numeric)::text, COUNT(*) FROM bil_lines "
            f"WHERE {where} GROUP BY tenant_id, month", params)]
    sums: dict[tuple[str, str], list[Any]] = {}
    for tenant, month, currency, amount in db.fetchall(
            f"SELECT tenant_id, month, currency, amount FROM bil_lines WHERE {where}", params):
        row = sums.setdefault((tenant, month), [currency, Decimal(0), 0])
        row[1] += Decimal(amount)
        row[2] += 1
    return [(t, m, c, a, n) for (t, m), (c, a, n) in sums.items()]


def sustainability(db: Database, *, tenant_id: Any = None, site_id: Any = None, month_from: str | None = None,
                   month_to: str | None = None) -> list[dict[str, Any]]:
    where, params = _month_filters("month", tenant_id, month_from, month_to)
    if site_id is not None:
        where += " AND site_id = ?"
        params.append(str(site_id))
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for tenant, site, month, used, kwh, loc, mkt in db.fetchall(
            "SELECT tenant_id, site_id, month, used_micro, energy_kwh, location_kg, market_kg FROM sus_months "
            f"WHERE {where}", params):
        row = out.setdefault((tenant, site, month), {
            "tenant_id": tenant, "site_id": site, "month": month, "used_gpu_hours": Decimal(0),
            "energy_kwh": Decimal(0), "location_kgco2e": Decimal(0), "market_kgco2e": Decimal(0)})
        row["used_gpu_hours"] += from_micro(int(used))
        row["energy_kwh"] += Decimal(kwh)
        row["location_kgco2e"] += Decimal(loc)
        row["market_kgco2e"] += Decimal(mkt)
    return [out[k] for k in sorted(out)]


def _money(value: Decimal, currency: str) -> Decimal:
    return quantize(value, currency)


def capex(db: Database) -> dict[str, list[dict[str, Any]]]:
    rounds = [{"round_id": r[0], "name": r[1], "currency": r[2], "committed": _money(Decimal(r[3]), r[2]),
               "received": _money(Decimal(r[4]), r[2]), "capex_committed": _money(Decimal(r[5]), r[2]),
               "spent": _money(Decimal(r[6]), r[2])}
              for r in db.fetchall("SELECT round_id, name, currency, committed, received, capex_committed, spent "
                                   "FROM cap_rounds ORDER BY name, round_id")]
    counts = {(r[0], r[1]): [int(x) for x in r[2:]] for r in db.fetchall(
        "SELECT site_id, model, ordered, delivered, commissioned, decommissioned FROM cap_pools")}
    money: dict[tuple[str, str], list[tuple[str, Decimal, Decimal]]] = defaultdict(list)
    for site, model, currency, committed, spent in db.fetchall(
            "SELECT site_id, model, currency, capex_committed, spent FROM cap_pool_money ORDER BY currency"):
        money[(site, model)].append((currency, Decimal(committed), Decimal(spent)))
    revenue_rows = []
    revenue: dict[tuple[str, str, str], tuple[int, Decimal]] = {}
    for site, model, currency, gpu_hours, amount in db.fetchall(
            "SELECT site_id, model, currency, booked_gpu_hours, revenue FROM cap_revenue ORDER BY site_id, model, currency"):
        revenue[(site, model, currency)] = (int(gpu_hours), Decimal(amount))
        revenue_rows.append({"site_id": site, "model": model, "currency": currency, "booked_gpu_hours": int(gpu_hours),
                             "revenue_booked": _money(Decimal(amount), currency),
                             "revenue_per_gpu_hour": _money(Decimal(amount) / int(gpu_hours), currency)
                             if int(gpu_hours) else None})
    pools = []
    for pair in sorted(set(counts) | set(money)):
        ordered, delivered, commissioned, decommissioned = counts.get(pair, [0, 0, 0, 0])
        for currency, committed, spent in money.get(pair) or [(None, Decimal(0), Decimal(0))]:
            gpu_hours, booked = revenue.get((pair[0], pair[1], currency or ""), (0, Decimal(0)))
            pools.append({
                "site_id": pair[0], "model": pair[1], "currency": currency, "gpus_ordered": ordered,
                "gpus_delivered": delivered, "gpus_in_service": commissioned - decommissioned,
                "capex_committed": _money(committed, currency) if currency else committed,
                "capex_spent": _money(spent, currency) if currency else spent,
                "capex_per_gpu": _money(committed / ordered, currency) if currency and ordered else None,
                "booked_gpu_hours": gpu_hours,
                "revenue_booked": _money(booked, currency) if currency else booked,
                "revenue_per_booked_gpu_hour": _money(booked / gpu_hours, currency) if currency and gpu_hours else None,
                "capex_recovered": (booked / spent).quantize(RATIO, rounding=ROUND_HALF_EVEN) if spent else None,
            })
    return {"rounds": rounds, "pools": pools, "revenue": revenue_rows}
