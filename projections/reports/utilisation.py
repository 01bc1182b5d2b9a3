"""Utilisation per site, GPU model and hour, day or month."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from decimal import Decimal
from typing import Any

from domain.errors import InvalidInput
from projections.reports.base import MAX_SPAN_HOURS, Column, Filter, Params, Report, Row, check_span, ratio, where
from projections.timeaxis import from_micro, hour_start, month_of_hour, month_start_hour, next_month
from storage.database import Database

TABLES = {"hour": ("utl_hours", "hour"), "day": ("utl_days", "day"), "month": ("utl_months", "month")}


def _period(granularity: str, hour: int) -> tuple[Any, int, int]:
    """(period key, first hour, end hour) of the period containing ``hour``."""
    if granularity == "hour":
        return hour, hour, hour + 1
    if granularity == "day":
        return hour // 24, hour // 24 * 24, hour // 24 * 24 + 24
    month = month_of_hour(hour)
    return month, month_start_hour(month), month_start_hour(next_month(month))


def _first_hour(granularity: str, key: Any) -> int:
    if granularity == "hour":
        return int(key)
    if granularity == "day":
        return int(key) * 24
    return month_start_hour(str(key))


def _label(granularity: str, key: Any) -> tuple[str, str]:
    start = hour_start(_first_hour(granularity, key))
    if granularity == "hour":
        return start.isoformat(), start.isoformat()
    if granularity == "day":
        return start.date().isoformat(), start.isoformat()
    return str(key), start.isoformat()


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


def query(db: Database, params: Params, limit: int) -> list[Row]:
    granularity = params.granularity
    filters, values = where(params, month_column=None, site=True, model=True)
    changes: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for site, model, hour, delta in db.fetchall(
            f"SELECT site_id, model, hour, delta FROM utl_capacity WHERE {filters} ORDER BY hour", values):
        changes[(site, model)].append((int(hour), int(delta)))
    table, column = TABLES[granularity]
    lo, hi = params.start, params.end
    if lo is None or hi is None:
        # An open range ends where the data does; it must still fit the granularity's bound.
        known = [h for pair in changes.values() for h, _ in pair]
        row = db.fetchone(f"SELECT MIN({column}), MAX({column}) FROM {table} WHERE {filters}", values)
        if row is not None and row[0] is not None:
            known += [_first_hour(granularity, row[0]), _period(granularity, _first_hour(granularity, row[1]))[2] - 1]
        if not known:
            return []
        lo = lo if lo is not None else _period(granularity, min(known))[1]
        hi = hi if hi is not None else _period(granularity, max(known))[2]
        if hi <= lo:
            return []
        if granularity in MAX_SPAN_HOURS and hi - lo > MAX_SPAN_HOURS[granularity]:
            raise InvalidInput(f"to: at most {MAX_SPAN_HOURS[granularity] // 24} days per request at "
                               f"{granularity} granularity; give from and to", field="to")
        check_span(Params(start=lo, end=hi, granularity=granularity), monthly=granularity == "month")
    stored: dict[tuple[str, str], dict[Any, tuple[int, int]]] = defaultdict(dict)
    for site, model, key, booked, used in db.fetchall(
            f"SELECT site_id, model, {column}, booked, used_micro FROM {table} "
            f"WHERE {filters} AND {column} >= ? AND {column} <= ?",
            [*values, _period(granularity, lo)[0], _period(granularity, hi - 1)[0]]):
        stored[(site, model)][key] = (int(booked), int(used))
    out: list[Row] = []
    for pair in sorted(set(changes) | set(stored)):
        pair_changes, rows = changes.get(pair, []), stored.get(pair, {})
        key, p_start, p_end = _period(granularity, lo)
        while p_start < hi:
            in_service = _in_service(pair_changes, p_start, p_end) if pair_changes else 0
            booked, used_micro = rows.get(key, (0, 0))
            if in_service or key in rows:
                used = from_micro(used_micro)
                label, iso = _label(granularity, key)
                out.append({"site_id": pair[0], "model": pair[1], "granularity": granularity, "period": label,
                            "period_start": iso, "in_service_gpu_hours": in_service, "booked_gpu_hours": booked,
                            "used_gpu_hours": used, "idle_gpu_hours": Decimal(in_service) - used,
                            "booking_rate": ratio(Decimal(booked), in_service),
                            "utilisation": ratio(used, in_service)})
                if len(out) >= limit:
                    return out
            key, p_start, p_end = _period(granularity, p_end)
    return out


REPORT = Report(
    name="utilisation",
    title="Utilisation per site, GPU model and period",
    projections=("utilisation",),
    filters=(Filter("site", "Site id"), Filter("model", "GPU model code, e.g. GB300"),
             Filter("from", "First period: YYYY-MM, YYYY-MM-DD or an ISO 8601 time"),
             Filter("to", "Last period (a month or day is included; a time is excluded)"),
             Filter("granularity", "hour (<= 31 days), day (<= 3 years) or month (<= 120 months)")),
    columns=(Column("site_id", "", "Site"), Column("model", "", "GPU model"),
             Column("granularity", "", "hour, day or month"), Column("period", "", "The period's label"),
             Column("period_start", "UTC", "Start of the period"),
             Column("in_service_gpu_hours", "GPU-hours", "Commissioned and not decommissioned"),
             Column("booked_gpu_hours", "GPU-hours", "Reserved by tenants"),
             Column("used_gpu_hours", "GPU-hours", "Metered usage"),
             Column("idle_gpu_hours", "GPU-hours", "In service minus used"),
             Column("booking_rate", "ratio", "Booked / in service", total="ratio",
                    ratio_of=("booked_gpu_hours", "in_service_gpu_hours")),
             Column("utilisation", "ratio", "Used / in service", total="ratio",
                    ratio_of=("used_gpu_hours", "in_service_gpu_hours"))),
    query=query,
    monthly=False,
    order=("site", "model", "period_start"),
)
