"""Report tables for people (`ledger report NAME`, table format), generic over every report of the
registry: numbers never split at 100 (or 60, 80) columns, one percentage style, tCO2e with 3
decimals, rates per GPU-hour, totals per currency, tenants by name, open and future periods."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from cli.readable import cell_text, header, report_table, totals_rows
from cli.render import render
from projections.queries import LIVE, Names, Provenance, ReportAnswer, answer_of, totals
from projections.registry import REPORTS
from projections.reports.base import Column, Report

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
PERCENT = re.compile(r"^-?[0-9]{1,3}(,[0-9]{3})*\.[0-9] %$")
TENANTS = ("Zephyr Quantum Research Laboratories", "atlas autonomy", "Meridian Legal AI")


def value_for(column: Column, index: int) -> Any:
    """A large but plausible value of the column's unit (the widest cells a table meets)."""
    if column.name in ("month", "origin_month", "period"):
        return ("2026-09", "2026-11", "2027-02")[index % 3]
    if column.name == "period_start":
        return ("2026-09-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00")[index % 3]
    if column.name == "granularity":
        return "month"
    if column.unit == "ISO 4217":
        return ("USD", "EUR", "NOK")[index % 3]
    if column.unit == "ratio":
        return (Decimal("0.8734"), Decimal(0), Decimal("12.5"))[index % 3]
    if column.unit in ("count", "GPUs"):
        return 1_234_567 + index
    if column.unit == "kgCO2e":
        return Decimal("98765432.123456") + index
    if column.unit:  # money, GPU-hours, kWh, unit prices
        return Decimal("298499812.375") + index
    if column.name.endswith("_id"):
        return f"3fa85f64-5717-4562-b3fc-2c963f66a{index:03d}"
    return "cancellation_fee" if column.name == "kind" else f"label {index}"


def synthetic(report: Report, count: int = 6) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        row = {c.name: value_for(c, index) for c in report.columns}
        if "tenant_id" in row:
            row["tenant"] = TENANTS[index % len(TENANTS)]
        if "site_id" in row:
            row["site"] = "Thames Estuary AI Campus"
        rows.append(row)
    return rows


def shown_columns(report: Report, rows: list[dict[str, Any]]) -> list[str]:
    from cli.report import TABLE_HIDDEN

    named = [c for c in ("tenant", "site") if c in rows[0]]
    return named + [c.name for c in report.columns if c.name not in TABLE_HIDDEN]


def answered(report: Report, rows: list[dict[str, Any]]) -> ReportAnswer:
    """The rows as the read operation answers them (names, order, representation, totals)."""
    names = Names(sites={str(r["site_id"]): r["site"] for r in rows if "site" in r},
                  tenants={str(r["tenant_id"]): r["tenant"] for r in rows if "tenant" in r})
    return answer_of(report, rows, 0, Provenance(LIVE), names)


def table(report: Report, rows: list[dict[str, Any]], shown: list[str]) -> Any:
    answer = answered(report, rows)
    return report_table(report, answer.rows, shown, now=NOW, totals=answer.totals)


def printed(report: Report, rows: list[dict[str, Any]], width: int) -> tuple[str, Any]:
    view = table(report, rows, shown_columns(report, rows))
    console = Console(width=width, file=io.StringIO(), color_system=None)
    render(view.rows, "table", console=console, title=report.title, labels=view.labels, columns=view.columns,
           formats=view.formats, numeric=view.numeric, totals=view.totals, drop_order=view.drop_order)
    return console.file.getvalue(), view  # type: ignore[attr-defined]


def dropped_labels(text: str) -> list[str]:
    """The column headers the note under a table names as not shown."""
    flat = " ".join(text.split())
    match = re.search(r"Not shown at [0-9]+ columns: (.*?) \(a wider terminal", flat)
    return match.group(1).split(", ") if match else []


def assert_numbers_whole(text: str, view: Any, width: int) -> None:
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    dropped = dropped_labels(text)
    cell = cell_text(view)
    for column in view.numeric:
        if " ".join(view.labels[column].split()) in dropped:
            continue
        for row in [*view.rows, *view.totals]:
            shown = cell(column, row.get(column))
            assert any(shown in line for line in lines), (column, shown)  # whole, on one line


@pytest.mark.parametrize("width", [60, 80, 100])
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_numbers_are_never_split_and_dropped_columns_are_named(name: str, width: int) -> None:
    report = REPORTS[name]
    text, view = printed(report, synthetic(report), width)
    assert_numbers_whole(text, view, width)
    if width == 100 and name in ("billing", "utilisation"):
        assert dropped_labels(text)  # these do not fit 100 columns whole: something is dropped, and said so


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_ratios_are_percentages_in_one_style_and_emissions_are_tonnes(name: str) -> None:
    report = REPORTS[name]
    view = table(report, synthetic(report), shown_columns(report, synthetic(report)))
    cell = cell_text(view)
    for column in report.columns:
        if column.name not in view.columns:
            continue
        values = [cell(column.name, row.get(column.name)) for row in view.rows]
        if column.unit == "ratio":
            assert all(PERCENT.match(v) or v == "future" for v in values), (name, column.name, values)
            assert "1,250.0 %" in values  # a share above 10 is a percentage too, never "12.50"
        if column.unit == "kgCO2e":
            assert "tCO2e" in view.labels[column.name] and "kg" not in view.labels[column.name]
            assert all(re.fullmatch(r"[0-9,]+\.[0-9]{3}", v) for v in values), values
        if column.unit.startswith("currency per GPU-hour"):
            assert view.labels[column.name].endswith("per GPU-hour"), view.labels[column.name]


def test_a_rate_is_labelled_per_gpu_hour_and_tonnes_are_converted_exactly() -> None:
    assert header(Column("rate", "currency per GPU-hour", "")) == "Rate per GPU-hour"
    assert header(Column("revenue_per_gpu_hour", "currency per GPU-hour", "")) == "Revenue per GPU-hour"
    assert header(Column("location_kgco2e", "kgCO2e", "")) == "Location tCO2e"
    assert header(Column("energy_kwh", "kWh", "")) == "Energy kWh"
    view = report_table(REPORTS["sustainability"], [
        {"tenant_id": "t", "tenant": "A", "site_id": "s", "site": "S", "month": "2026-01",
         "used_gpu_hours": Decimal(1), "energy_kwh": Decimal(1), "location_kgco2e": Decimal("1234.5675"),
         "market_kgco2e": Decimal("0.0004999")}], ["tenant", "site", "month", "location_kgco2e", "market_kgco2e"],
        now=NOW)
    cell = cell_text(view)
    assert cell("location_kgco2e", Decimal("1234.5675")) == "1.235"
    assert cell("market_kgco2e", Decimal("0.0004999")) == "0.000"


def test_totals_per_currency_sum_the_summable_columns() -> None:
    report = REPORTS["billing"]
    rows = [{"tenant_id": "b", "tenant": "B", "month": "2026-01", "currency": "USD", "gpu_hours": Decimal("10.5"),
             "rate": Decimal(2), "amount": Decimal("21.00")},
            {"tenant_id": "a", "tenant": "A", "month": "2026-01", "currency": "EUR", "gpu_hours": Decimal("4"),
             "rate": Decimal(3), "amount": Decimal("12.00")},
            {"tenant_id": "a", "tenant": "A", "month": "2026-02", "currency": "USD", "gpu_hours": Decimal("1.25"),
             "rate": Decimal(2), "amount": Decimal("2.50")}]
    shown = ["tenant", "month", "currency", "gpu_hours", "rate", "amount"]
    found = totals_rows(totals(report, rows), shown, rows=len(rows))  # the report's own totals, as table rows
    assert [(t["currency"], t["gpu_hours"], t["amount"], t["rate"], t["tenant"]) for t in found] == [
        ("EUR", Decimal(4), Decimal("12.00"), "", "Total"), ("USD", Decimal("11.75"), Decimal("23.50"), "", "Total")]
    text, _ = printed(report, rows, 100)
    assert re.search(r"Total .* USD .* 11\.75 .* 23\.50", text) and re.search(r"Total .* EUR .* 4\.00 .* 12\.00", text)
    assert totals_rows(totals(report, rows[:1]), shown, rows=1) == []  # one row needs no total


@pytest.mark.parametrize("name", sorted(n for n, r in REPORTS.items() if any(c.name == "tenant_id" for c in r.columns)))
def test_tenants_are_listed_by_name(name: str) -> None:
    report = REPORTS[name]
    rows = synthetic(report)
    view = table(report, rows, shown_columns(report, rows))  # the read operation orders them (Report.order)
    names = [row["tenant"] for row in view.rows]
    assert names == sorted(names, key=str.casefold) and names[0] == "atlas autonomy"


def test_open_and_future_periods_are_marked() -> None:
    report = REPORTS["utilisation"]
    base = {"site_id": "s", "site": "S", "model": "GB300", "granularity": "month", "in_service_gpu_hours": 720,
            "booked_gpu_hours": 0, "used_gpu_hours": Decimal(0), "idle_gpu_hours": Decimal(720)}
    rows = [{**base, "period": p, "period_start": f"{p}-01T00:00:00+00:00", "booking_rate": b, "utilisation": u}
            for p, b, u in (("2026-10", Decimal("0.5"), Decimal("0.25")), ("2026-11", Decimal("0.5"), Decimal(0)),
                            ("2026-12", Decimal("0.5"), Decimal(0)))]
    view = report_table(report, rows, ["site", "model", "period", "booking_rate", "utilisation"], now=NOW)
    cell = cell_text(view)
    assert [r["period"] for r in view.rows] == ["2026-10", "2026-11 (open)", "2026-12 (future)"]
    assert [cell("utilisation", r["utilisation"]) for r in view.rows] == ["25.0 %", "0.0 %", "future"]
    assert [cell("booking_rate", r["booking_rate"]) for r in view.rows] == ["50.0 %"] * 3  # booked ahead: shown
    months = report_table(REPORTS["billing_totals"], [{"tenant_id": "t", "tenant": "A", "month": m} for m in
                                                      ("2026-10", "2026-11", "2027-01")], ["tenant", "month"], now=NOW)
    assert [r["month"] for r in months.rows] == ["2026-10", "2026-11 (open)", "2027-01 (future)"]
    hours = report_table(report, [{**base, "granularity": "hour", "period": "h", "period_start": NOW.isoformat(),
                                   "booking_rate": None, "utilisation": None}], ["period"], now=NOW)
    assert hours.rows[0]["period"] == "h (open)"


@settings(max_examples=60, deadline=None)
@given(width=st.integers(min_value=40, max_value=220), count=st.integers(min_value=1, max_value=8),
       name=st.sampled_from(sorted(REPORTS)))
def test_any_width_keeps_every_shown_number_whole(width: int, count: int, name: str) -> None:
    report = REPORTS[name]
    text, view = printed(report, synthetic(report, count), width)
    assert_numbers_whole(text, view, width)


amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False,
                      allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(st.sampled_from(["USD", "EUR", "JPY"]), amounts, amounts), min_size=2, max_size=15))
def test_the_totals_rows_are_the_exact_sums_per_currency(lines: list[tuple[str, Decimal, Decimal]]) -> None:
    report = REPORTS["billing"]
    rows = [{"tenant": f"T{i}", "month": "2026-01", "currency": c, "gpu_hours": h, "rate": Decimal(1), "amount": a}
            for i, (c, h, a) in enumerate(lines)]
    found = totals_rows(totals(report, rows), ["tenant", "month", "currency", "gpu_hours", "rate", "amount"],
                        rows=len(rows))
    expected = {c: (sum((h for cc, h, _ in lines if cc == c), Decimal(0)),
                    sum((a for cc, _, a in lines if cc == c), Decimal(0))) for c, _, _ in lines}
    assert {t["currency"]: (t["gpu_hours"], t["amount"]) for t in found} == expected
    assert all(t["tenant"] == "Total" and t["rate"] == "" for t in found)
