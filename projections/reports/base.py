"""What a report declares: its name, filters (with types and bounds), columns (with units) and query.

The command line (``ledger report NAME``), the HTTP routes (``GET /v1/reports/NAME``), their
OpenAPI description, and the tests that loop over reports are all built from these
declarations (``projections.registry.REPORTS``). Raw filter values -- strings from a URL or a
command line, or typed values from Python -- are checked in one place, ``Report.parse``, which
raises ``InvalidInput`` naming the filter and the limit.

Bounds, so that a request's cost follows its answer, never the history or the range asked:
- utilisation ranges: at most 31 days hourly, 1,096 days (3 years) daily, 120 months monthly;
- month-based reports (billing, sustainability, ...): at most 120 months;
- every report: at most ``MAX_ROWS`` rows (narrow the filters beyond that).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from domain.money import check_currency
from domain.reference import gpu_model
from domain.timeutil import MONTH_PATTERN, check_month, to_utc
from projections.timeaxis import hour_ceil, hour_floor, month_of_hour, month_start_hour, months_between, next_month
from storage.database import Database
from storage.tables import Table

MAX_ROWS = 20_000
MAX_MONTHS = 120
MAX_SPAN_HOURS = {"hour": 31 * 24, "day": 1096 * 24}
GRANULARITIES = ("hour", "day", "month")
MONTH = MONTH_PATTERN
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
RATIO = Decimal("0.0001")

Row = dict[str, Any]


@dataclass(frozen=True)
class Filter:
    """A report filter. ``kind``: site | tenant | model | from | to | granularity | currency | account
    (an account code of the journal's chart, ``projections.journal.CHART``) | on (the day
    receivables are aged at, YYYY-MM-DD; default today, UTC: independent of ``as_of``)."""

    kind: str
    description: str

    @property
    def name(self) -> str:
        """The parameter's name in URLs and Python (``from``/``to`` for the range)."""
        return {"site": "site_id", "tenant": "tenant_id"}.get(self.kind, self.kind)

    @property
    def option(self) -> str:
        """The command line option."""
        return f"--{self.kind}"


# Units whose values are counts (JSON numbers) or labels; every other unit is an exact decimal
# quantity (money, GPU-hours, kWh, kgCO2e, ratios: JSON strings). See serialise.py.
COUNT_UNITS = frozenset({"count", "GPUs"})
LABEL_UNITS = frozenset({"", "ISO 4217", "UTC"})
# How a column's values make the report's totals (``projections.queries.totals``, one row per
# currency): "sum" -- a flow (billed, recognised, credits applied, energy, GPU-hours) adds up over
# the rows; "last" -- a balance (deferred revenue, a wallet's balance) is taken from each entity's
# last period in the range (``Report.balance_of``, ``Report.period``) and those are added across
# entities, never across periods; "ratio" -- recomputed from the summed parts (``Column.ratio_of``);
# None -- not additive (labels, unit prices, counts of entries): left out of the totals.
TOTAL_RULES = ("sum", "last", "ratio")
# The default rule by unit, for a column that declares none: amounts and quantities are flows.
SUMMABLE_UNITS = frozenset({"currency", "reporting currency", "GPU-hours", "GPUs", "kWh", "kgCO2e", "tCO2e"})
AUTO = "auto"


# How units and initialisms are spelled in headers (``Column.header``).
HEADER_WORDS = {"kwh": "kWh", "kgco2e": "tCO2e", "tco2e": "tCO2e", "gco2e": "gCO2e", "gpu": "GPU", "gpus": "GPUs",
                "pue": "PUE", "usd": "USD", "co2e": "CO2e", "mwh": "MWh", "gpu-hours": "GPU-hours",
                "gpu-hour": "GPU-hour", "fx": "FX", "id": "ID"}


def header_words(name: str) -> str:
    """A field's name in words, units spelled the usual way (``rate_per_gpu_hour`` -> ``Rate per
    GPU-hour``; emissions in tonnes, as tables show them)."""
    hyphened = name.replace("gpu_hours", "gpu-hours").replace("gpu_hour", "gpu-hour")
    text = " ".join(HEADER_WORDS.get(word.lower(), word) for word in hyphened.split("_") if word)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Column:
    name: str
    unit: str  # "" for labels and ids; "currency" for money in the row's currency column
    description: str
    # The totals rule (TOTAL_RULES or None); "auto": "sum" for SUMMABLE_UNITS, else None.
    total: str | None = AUTO
    ratio_of: tuple[str, str] | None = None  # total="ratio": (numerator column, denominator column)
    # Decimal quantities: the fewest decimal places written (more if the value has them; see
    # ``Column.min_scale``). None: by unit.
    scale: int | None = None
    # The header people read (tables, the dashboard); None: made from the name (``days_1_30``
    # would read "Days 1 30").
    label: str | None = None
    # A column people need to read a row (an invoice number, a due date, an account): a narrow
    # table drops it last, after every other column.
    keep: bool = False

    def __post_init__(self) -> None:
        if self.rule not in (*TOTAL_RULES, None):
            raise ValueError(f"column {self.name}: total must be one of {TOTAL_RULES} or None, not {self.total!r}")
        if (self.rule == "ratio") != (self.ratio_of is not None):
            raise ValueError(f"column {self.name}: total='ratio' goes with ratio_of=(numerator, denominator)")

    @property
    def header(self) -> str:
        """The header people read: the label, else the name in words with its unit in brackets
        (``in_service_gpu_hours`` -> ``In service (GPU-hours)``, ``location_kgco2e`` -> ``Location
        (tCO2e)``: tables show emissions in tonnes), a rate saying what it is per (``Rate per
        GPU-hour``); money, ratios and counts carry no unit (the currency column, ``%``)."""
        if self.label is not None:
            return self.label
        text = header_words(self.name)
        unit = "tCO2e" if self.unit == "kgCO2e" else self.unit
        if unit.startswith("currency per "):
            per = unit.removeprefix("currency ")
            return text if per.removeprefix("per ").lower() in text.lower() else f"{text} {per}"
        if unit in ("ratio", "count", "currency", "reporting currency") or unit in LABEL_UNITS:
            return text
        if text.lower().endswith(" " + unit.lower()):
            return f"{text[:-len(unit) - 1]} ({unit})"
        return text if unit.lower() in text.lower() else f"{text} ({unit})"

    @property
    def rule(self) -> str | None:
        """The totals rule in force (the declared one, or the unit's default)."""
        if self.total == AUTO:
            return "sum" if self.unit in SUMMABLE_UNITS else None
        return self.total

    @property
    def sums(self) -> bool:
        """The column has a total (summed, a last balance or a recomputed ratio)."""
        return self.rule is not None

    @property
    def is_count(self) -> bool:
        return self.unit in COUNT_UNITS

    @property
    def is_decimal(self) -> bool:
        """An exact decimal quantity (a JSON string), as opposed to a count or a label."""
        return self.unit not in COUNT_UNITS and self.unit not in LABEL_UNITS

    @property
    def money_of(self) -> str | None:
        """The row's column naming this money's currency: ``currency`` for amounts and unit prices
        in it, ``reporting_currency`` for consolidated amounts; None if not money."""
        if self.unit == "currency" or self.unit.startswith("currency per "):
            return "currency"
        if self.unit == "reporting currency":
            return "reporting_currency"
        return None


@dataclass(frozen=True)
class Params:
    """Checked filter values. ``start``/``end`` are hour indexes, [start, end)."""

    site_id: str | None = None
    tenant_id: str | None = None
    model: str | None = None
    start: int | None = None
    end: int | None = None
    granularity: str = "month"
    currency: str | None = None  # the reporting currency of consolidated reports
    account: str | None = None  # an account code of the journal's chart of accounts
    on: date | None = None  # the aging date of receivables (None: today, UTC)

    @property
    def aging_date(self) -> date:
        """The day receivables are aged at: ``on``, else today (UTC)."""
        return self.on if self.on is not None else datetime.now(UTC).date()

    @property
    def month_from(self) -> str | None:
        return None if self.start is None else month_of_hour(self.start)

    @property
    def month_to(self) -> str | None:
        return None if self.end is None else month_of_hour(self.end - 1)


Query = Callable[[Database, Params, int], list[Row]]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    projections: tuple[str, ...]  # the projections whose tables it reads
    filters: tuple[Filter, ...]
    columns: tuple[Column, ...]
    query: Query
    monthly: bool = True  # the range is in whole months (else hours, per granularity)
    notes: str = ""
    # The one order of the rows on every edge: these fields (display names such as ``tenant`` and
    # ``site`` included, case-insensitive; missing values last), then the query's own order.
    order: tuple[str, ...] = ()
    # Balances (Column total="last"): the fields naming whose balance a row is, and the field
    # ordering that entity's rows in time (its last row in the range carries the closing balance).
    balance_of: tuple[str, ...] = ("tenant_id",)
    period: str = "month"
    # The dashboard draws a chart of the rows (False: a ledger's rows, such as the journal or a
    # trial balance, are read as a table; a chart of their sums would mean nothing).
    chart: bool = True
    # The provider's own books (the general journal, the trial balance): finance, operators and
    # auditors read them; a tenant never does, not even filtered to itself.
    internal: bool = False

    @property
    def tenant_scoped(self) -> bool:
        """Tenants may read it (always filtered to themselves)."""
        return not self.internal and any(f.kind == "tenant" for f in self.filters)

    def filter(self, kind: str) -> Filter | None:
        return next((f for f in self.filters if f.kind == kind), None)

    def parse(self, raw: Mapping[str, Any]) -> Params:
        """Check raw filter values (by filter name: site_id, tenant_id, model, from, to,
        granularity); None or "" means not given. Raises InvalidInput naming the filter."""
        given = {k: v for k, v in raw.items() if v is not None and v != ""}
        known = {f.name for f in self.filters}
        unknown = sorted(set(given) - known)
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise InvalidInput(f"{unknown[0]}: the {self.name} report has no such filter (filters: {allowed})",
                               field=unknown[0])
        granularity = str(given.get("granularity", "month"))
        if granularity not in GRANULARITIES:
            raise InvalidInput(f"granularity: expected one of {', '.join(GRANULARITIES)}, got {granularity!r}",
                               field="granularity")
        monthly = self.monthly or granularity == "month"
        start = _bound(given.get("from"), "from", upper=False, monthly=monthly)
        end = _bound(given.get("to"), "to", upper=True, monthly=monthly)
        if start is not None and end is not None and end <= start:
            raise InvalidInput("to: must not be before from", field="to")
        params = Params(site_id=_uuid(given.get("site_id"), "site_id"),
                        tenant_id=_uuid(given.get("tenant_id"), "tenant_id"),
                        model=gpu_model(given["model"], field="model").code if "model" in given else None,
                        start=start, end=end, granularity=granularity,
                        currency=check_currency(str(given["currency"]).strip(), field="currency")
                        if "currency" in given else None,
                        account=check_account(given["account"]) if "account" in given else None,
                        on=check_day(given["on"], "on") if "on" in given else None)
        check_span(params, monthly=monthly)
        return params

    def run(self, db: Database, params: Params) -> list[Row]:
        rows = self.query(db, params, MAX_ROWS + 1)
        if len(rows) > MAX_ROWS:
            raise InvalidInput(f"{self.name}: the answer has more than {MAX_ROWS:,} rows; narrow it with "
                               f"{', '.join(f.name for f in self.filters) or 'filters'}", field="to")
        return rows


def check_span(params: Params, *, monthly: bool) -> None:
    """Refuse a range longer than the granularity allows (both ends given)."""
    if params.start is None or params.end is None:
        return
    if monthly:
        months = months_between(month_of_hour(params.start), month_of_hour(params.end - 1))
        if months > MAX_MONTHS:
            raise InvalidInput(f"to: at most {MAX_MONTHS} months per request, asked for {months}", field="to")
        return
    limit = MAX_SPAN_HOURS[params.granularity]
    if params.end - params.start > limit:
        raise InvalidInput(f"to: at most {limit // 24} days per request at {params.granularity} granularity, "
                           f"asked for {(params.end - params.start + 23) // 24}", field="to")


def check_day(value: Any, name: str) -> date:
    """A calendar day YYYY-MM-DD (or a date); InvalidInput naming ``name`` otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value).strip()
    try:
        if not DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: expected a day YYYY-MM-DD, got {text[:40]!r}", field=name) from None


def check_account(value: Any) -> str:
    """An account code of the chart of accounts; InvalidInput naming ``account`` (and the known
    codes) otherwise."""
    from projections.journal import ACCOUNTS

    code = str(value).strip()
    if code not in ACCOUNTS:
        raise InvalidInput(f"account: no account {code[:20]!r} in the chart of accounts (accounts: "
                           f"{', '.join(ACCOUNTS)})", field="account")
    return code


def _uuid(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    try:
        return str(UUID(str(value).strip()))
    except ValueError:
        raise InvalidInput(f"{name}: expected a UUID, got {str(value)[:60]!r}", field=name) from None


def _bound(value: Any, name: str, *, upper: bool, monthly: bool) -> int | None:
    """A range end as an hour index: 'YYYY-MM' (a whole month; ``to`` includes it), 'YYYY-MM-DD'
    (a whole day), or an ISO 8601 time with a UTC offset (``to`` excludes it). Monthly reports
    widen a time to its whole month. The domain's limits apply (months 0001-01 to 9999-11, times
    within the representable UTC years): beyond them, InvalidInput naming the filter."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _monthly(_hour(to_utc(value, field=name), upper), upper, monthly)
    text = value.isoformat() if isinstance(value, date) else str(value).strip()
    hint = f"{name}: expected YYYY-MM, YYYY-MM-DD or an ISO 8601 time with a UTC offset, got {text[:60]!r}"
    if not text.isascii() or "\x00" in text:
        raise InvalidInput(hint, field=name)
    if MONTH.match(text):
        month = check_month(text, field=name)
        return month_start_hour(next_month(month)) if upper else month_start_hour(month)
    try:
        if DAY.match(text):
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            hour = _hour(to_utc(moment, field=name), False) + (24 if upper else 0)
            return _monthly(hour, upper, monthly)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(hint, field=name) from None
    return _monthly(_hour(to_utc(moment, field=name), upper), upper, monthly)


def _hour(moment: datetime, upper: bool) -> int:
    return hour_ceil(moment) if upper else hour_floor(moment)


def _monthly(hour: int, upper: bool, monthly: bool) -> int:
    if not monthly:
        return hour
    month = month_of_hour(hour - 1 if upper else hour)
    return month_start_hour(next_month(month)) if upper else month_start_hour(month)


# ---- shared query helpers ---------------------------------------------------------------------


def ratio(part: Decimal, whole: int | Decimal) -> Decimal | None:
    return (part / whole).quantize(RATIO, rounding=ROUND_HALF_EVEN) if whole else None


def table_rows(db: Database, table: Table[Any], filters: str, values: list[Any], order_by: str,
               limit: int) -> list[Row]:
    """Every column of the rows of ``table`` matching ``filters`` (from :func:`where`), in
    ``order_by`` order, at most ``limit``: the report of a table read as it is."""
    rows = db.fetchall(f"SELECT {', '.join(table.column_names)} FROM {table.name} WHERE {filters} "
                       f"ORDER BY {order_by} LIMIT ?", [*values, limit])
    return [{c: getattr(entry, c) for c in table.column_names} for entry in map(table.from_db, rows)]


def where(params: Params, *, month_column: str | None = "month", site: bool = False, tenant: bool = False,
          model: bool = False, alias: str = "") -> tuple[str, list[Any]]:
    """A WHERE clause for the filters a report applies, with ``?`` placeholders."""
    prefix = f"{alias}." if alias else ""
    tests = [(f"{prefix}site_id = ?", params.site_id if site else None),
             (f"{prefix}tenant_id = ?", params.tenant_id if tenant else None),
             (f"{prefix}model = ?", params.model if model else None)]
    if month_column:
        tests += [(f"{prefix}{month_column} >= ?", params.month_from),
                  (f"{prefix}{month_column} <= ?", params.month_to)]
    clauses = ["1=1"] + [clause for clause, value in tests if value is not None]
    values: list[Any] = [value for _, value in tests if value is not None]
    return " AND ".join(clauses), values


def exact_sums(db: Database, *, group: list[str], sums: list[str], source: str, where_sql: str,
               params: list[Any], limit: int) -> list[tuple[Any, ...]]:
    """Exact decimal sums per group: ``group`` values then one Decimal per ``sums`` expression.
    PostgreSQL sums ``numeric`` on the server (only the totals cross the wire); SQLite stores
    decimals as text and has no exact SUM, so its rows are summed here."""
    if db.kind == "postgres":
        rows = db.fetchall(f"SELECT {', '.join(group)}, {', '.join(f'SUM({s})' for s in sums)} FROM {source} "
                           f"WHERE {where_sql} GROUP BY {', '.join(group)} ORDER BY {', '.join(group)} LIMIT ?",
                           [*params, limit])
        return [(*r[:len(group)], *(Decimal(v) if v is not None else Decimal(0) for v in r[len(group):]))
                for r in rows]
    totals: dict[tuple[Any, ...], list[Decimal]] = {}
    for r in db.fetchall(f"SELECT {', '.join(group)}, {', '.join(sums)} FROM {source} WHERE {where_sql}", params):
        key = tuple(r[:len(group)])
        acc = totals.get(key)
        if acc is None:
            if len(totals) >= limit:
                continue
            acc = totals[key] = [Decimal(0)] * len(sums)
        for i, v in enumerate(r[len(group):]):
            if v is not None:
                acc[i] += Decimal(v)
    return [(*k, *v) for k, v in sorted(totals.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]
