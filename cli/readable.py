"""A report's rows as a table a finance person reads (``ledger report NAME``, table format only;
CSV and JSON stay machine-exact).

- rows come in the report's own order (``Report.order``: tenants and sites by name);
- a period that has not ended is marked: ``2026-11 (open)``; one that has not begun,
  ``2027-01 (future)``, and its zero ratios read ``future`` instead of ``0.0 %`` (a booking
  rate already booked ahead still shows);
- ratios are percentages in the one style of every table (``12.3 %``);
- emissions are tonnes with 3 decimals (``tCO2e``; CSV and JSON keep exact kg);
- a rate's header says what it is per (``Rate per GPU-hour``);
- the report's own totals (``projections.queries.totals``) are a Total row per currency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from cli.render import Formatter, human, label, percent, plain, rate, tonnes, unsigned_zero
from domain.timeutil import to_utc
from projections.queries import CONSOLIDATED_LABEL, TOTAL_LABEL
from projections.reports.base import LABEL_UNITS, Column, Report

OPEN, FUTURE = "open", "future"
# Columns that name what a row is about: never dropped when a narrow terminal drops columns,
# and the totals row's label goes in the first of them that is shown.
KEY_COLUMNS = ("tenant", "site", "name", "model", "month", "period", "currency")
PERIOD_COLUMNS = ("period", "month")


@dataclass
class ReportTable:
    rows: list[dict[str, Any]]
    columns: list[str]
    labels: dict[str, str]
    formats: dict[str, Formatter]
    numeric: set[str]
    totals: list[dict[str, Any]] = field(default_factory=list)
    drop_order: list[str] = field(default_factory=list)  # first dropped first when the terminal is narrow


def header(column: Column) -> str:
    """A column's header with its unit: ``Energy (kWh)``, ``Rate per GPU-hour``, ``Location tCO2e``."""
    if column.label is not None:
        return column.label
    name = label(column.name)
    unit = column.unit
    if unit == "kgCO2e":
        return name if "tCO2e" in name else f"{name} (tCO2e)"
    if unit.startswith("currency per "):
        per = unit.removeprefix("currency ")
        return name if per.lower() in name.lower() else f"{name} {per}"
    if unit in ("ratio", "count", "currency") or unit in LABEL_UNITS:
        return name
    named = unit.lower().replace("-", "_") in column.name.lower() or unit.lower() in name.lower()
    return name if named else f"{name} ({unit})"


def share(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value  # "future"
    return percent(Decimal(value))


def words(value: Any) -> str:
    """An enumeration value for people: ``cancellation_fee`` -> ``cancellation fee``."""
    return "-" if value is None else str(value).replace("_", " ")


# Columns holding a value from a fixed set spelled with underscores.
ENUMERATIONS = ("kind", "invoice_status", "status")


def money(value: Any) -> str:
    """An amount as the answer gives it (at its currency's minor unit), with thousands grouped:
    ``305856.00`` -> ``305,856.00`` (never cut to a whole number because it happens to be one)."""
    if value is None:
        return "-"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:  # a word in a money column (a rate that is missing): as it is
        return str(value)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -3 <= exponent <= 0:
        return plain(amount, -exponent)  # as the answer gives it: 305,856.00, 1,000 (JPY), 1.250 (KWD)
    return plain(amount, 2)  # 0E-10 -> 0.00; 1E+3 -> 1,000.00; 1.23456789 keeps its digits


# Units of exchange-rate columns: shown at up to 6 decimals in tables (JSON and CSV keep every
# stored or derived digit).
FX_RATE_UNITS = ("quote per base", "reporting currency per currency unit")
FX_TABLE_PLACES = Decimal("0.000001")


def fx_rate(value: Any) -> str:
    """An exchange rate for people: ``0.09779134342278...`` -> ``0.097791``; ``1`` -> ``1``."""
    if value is None:
        return "-"
    try:
        exact = Decimal(str(value))
        with localcontext() as context:  # a huge rate has more digits than the default 28
            context.prec = max(28, exact.adjusted() + 10) if exact.is_finite() else 28
            rounded = exact.quantize(FX_TABLE_PLACES, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return str(value)
    text = f"{rounded:f}".rstrip("0")
    return unsigned_zero(text.removesuffix("."))


def formats_for(columns: Sequence[Column]) -> dict[str, Formatter]:
    out: dict[str, Formatter] = {}
    for column in columns:
        if column.unit == "currency":
            out[column.name] = money
        elif column.unit.startswith("currency per "):
            out[column.name] = rate
        elif column.name in ENUMERATIONS:
            out[column.name] = words
        elif column.unit == "kgCO2e":
            out[column.name] = tonnes
        elif column.unit == "ratio":
            out[column.name] = share
        elif column.unit in FX_RATE_UNITS:
            out[column.name] = fx_rate
        elif column.unit == "UTC":
            out[column.name] = utc_time
    return out


def utc_time(value: Any) -> str:
    """A moment (ISO 8601) to the minute, in UTC: ``2026-12-07T23:55:18.36+00:00`` ->
    ``2026-12-07 23:55``; anything else as it is."""
    if value is None:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M}"


def period_bounds(row: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """[start, end) of the row's period: utilisation's ``period_start`` + ``granularity``, or a
    ``month`` (YYYY-MM)."""
    start_text, granularity = row.get("period_start"), row.get("granularity")
    if start_text and granularity in ("hour", "day", "month"):
        start = to_utc(datetime.fromisoformat(str(start_text)), field="period_start")
        if granularity == "hour":
            return start, start + timedelta(hours=1)
        if granularity == "day":
            return start, start + timedelta(days=1)
        return start, _next_month(start)
    month = row.get("month")
    if isinstance(month, str) and len(month) == 7 and month[4] == "-":
        start = to_utc(datetime.fromisoformat(f"{month}-01T00:00:00+00:00"), field="month")
        return start, _next_month(start)
    return None


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def period_state(row: Mapping[str, Any], now: datetime) -> str | None:
    """None for a closed period (or a row without one), else ``open`` or ``future``."""
    bounds = period_bounds(row)
    if bounds is None or bounds[1] <= now:
        return None
    return OPEN if bounds[0] <= now else FUTURE


def mark_periods(rows: Sequence[dict[str, Any]], columns: Sequence[Column], now: datetime) -> list[dict[str, Any]]:
    ratios = [c.name for c in columns if c.unit == "ratio"]
    out = []
    for row in rows:
        state = period_state(row, now)
        if state is None:
            out.append(row)
            continue
        marked = dict(row)
        for name in PERIOD_COLUMNS:
            if marked.get(name) is not None:
                marked[name] = f"{marked[name]} ({state})"
                break
        if state == FUTURE:  # nothing has happened yet: a zero share means "not yet", not 0 %
            marked.update({name: FUTURE for name in ratios if marked.get(name) == 0})
        out.append(marked)
    return out


def by_name(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ordered by tenant name, then site name (case-insensitive); otherwise as they came."""
    def key(row: Mapping[str, Any]) -> tuple[str, str]:
        return (str(row.get("tenant", "")).casefold(), str(row.get("site", "")).casefold())
    return sorted(rows, key=key)


def totals_rows(totals: Sequence[Mapping[str, Any]], shown: Sequence[str], *, rows: int = 2) -> list[dict[str, Any]]:
    """The report's own totals (``projections.queries.totals``: one object per currency) as table
    rows: ``Total`` in the first shown key column the total leaves empty, the totalled values under
    their columns, the rest blank. A table of one row shows no totals (they would repeat it)."""
    if rows < 2 or not totals:
        return []
    place = next((c for c in shown if c in KEY_COLUMNS and c != "currency"), shown[0] if shown else "")
    out = []
    for total in totals:
        row: dict[str, Any] = {name: "" for name in shown}
        row[place] = CONSOLIDATED_LABEL if total.get("consolidated") else TOTAL_LABEL
        row.update({name: value for name, value in total.items() if name in shown})
        out.append(row)
    return out


def report_table(report: Report, rows: Sequence[Mapping[str, Any]], shown: Sequence[str], *,
                 now: datetime, totals: Sequence[Mapping[str, Any]] = ()) -> ReportTable:
    """The rows as the answer orders them (``Report.order``) and its ``totals``."""
    declared = {c.name: c for c in report.columns}
    columns = [declared[name] for name in shown if name in declared]
    listed = [dict(row) for row in rows]
    marked = mark_periods(listed, columns, now)
    numeric = {c.name for c in columns if c.unit not in LABEL_UNITS}
    labels = {c.name: header(c) for c in columns}
    return ReportTable(rows=marked, columns=list(shown), labels=labels, formats=formats_for(columns),
                       numeric=numeric, totals=totals_rows(totals, shown, rows=len(listed)),
                       drop_order=drop_order(shown, columns))


def drop_order(shown: Sequence[str], columns: Sequence[Column]) -> list[str]:
    """Which columns a narrow terminal loses first: details (ids, unit prices, statuses) from the
    right, then summable figures from the right, then ratios (the headline: utilisation, capex
    recovered); never the key columns that say what a row is."""
    sums = {c.name for c in columns if c.sums}
    ratios = {c.name for c in columns if c.unit == "ratio"}
    kept = {c.name for c in columns if c.keep}
    # A report that names the columns people need (``Column.keep``) says what its rows are: the
    # other key columns (a posting month beside the date) may go too, before those it keeps.
    keys = [n for n in KEY_COLUMNS if n in ("tenant", "site", "name", "currency")] if kept else list(KEY_COLUMNS)
    candidates = [n for n in reversed(shown) if n not in keys]
    rest = [n for n in candidates if n not in kept]
    return ([n for n in rest if n not in sums and n not in ratios] + [n for n in rest if n in sums]
            + [n for n in rest if n in ratios] + [n for n in candidates if n in kept])


def cell_text(table: ReportTable) -> Callable[[str, Any], str]:
    """How a cell of ``table`` is printed (for tests: the same text the table shows)."""
    def text(name: str, value: Any) -> str:
        formatter = table.formats.get(name)
        return formatter(value) if formatter else human(name, value)
    return text
