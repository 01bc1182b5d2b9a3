"""The one read operation of a report: every edge (HTTP live and as of, the dashboard and its CSV,
``ledger report``) calls :func:`read_report` and only parses its input and renders its answer.

    answer = read_report(source, "billing", {"from": "2026-10"}, scope=Scope(tenant_id=t),
                         reporting_currency="USD")
    answer.rows, answer.totals, answer.position, answer.provenance
    answer.plain()    # the JSON object of every edge: {"report", "position", "provenance", "rows", "totals"}
    answer.csv()      # the rows, then one ``Total`` line per totals object

``source`` (:class:`ReportSource`) gives live reads (the projections and the position they reached)
and as-of reads (``projections.asof``: a replay from a checkpoint); the answer is built the same
way from either, so live and as of the same position are equal -- rows, types, order and totals:

- **values**, one representation per kind of column (``Report.columns``): counts are ``int``;
  exact decimal quantities are ``Decimal`` written in plain notation with the fewest decimal places
  that hold the value exactly but never fewer than the column's scale (money: its currency's minor
  unit, ``"30.00"``, ``"1200"`` in JPY; ratios: 4, ``"0.7500"``; other quantities: 0,
  ``"467701.087392"``, ``"3456"``), so ``12.50`` stored as ``12.5000`` reads the same; labels,
  ids, months and times are strings; a missing value is ``None`` (JSON null);
- **names** beside ids: ``site`` before ``site_id``, ``tenant`` before ``tenant_id``;
- **order**: the report's own (``Report.order``, names included), then the query's;
- **totals** (:func:`totals`) from the columns' declared rules (``Column.total``): flows sum,
  balances take each entity's last period and sum across entities, ratios are recomputed from
  the summed parts, the rest is left out; one totals object per currency (plus one in the
  reporting currency for consolidated reports), or one object for reports without money;
- **scope** (:class:`Scope`): a tenant sees only its own rows; asking for another is "not found";
- the **reporting currency** of consolidated reports defaults to the one the edge passes
  (``Settings.reporting_currency``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from domain.errors import InvalidInput, LedgerError, NotFound
from domain.money import MINOR_UNITS
from projections.registry import report as find_report
from projections.reports.base import RATIO, Column, Report
from projections.reports.serialise import exact

if TYPE_CHECKING:
    from eventsourcing.application import Application

    from domain import Ledger
    from projections import Projections
    from projections.asof import AsOfReport

Row = dict[str, Any]
# The display name written before an id column.
NAMED = {"site_id": "site", "tenant_id": "tenant"}
LIVE, AS_OF = "live", "as_of"
TOTAL_LABEL = "Total"  # the first cell of a totals line in CSV, the label of a table's totals row
CONSOLIDATED_LABEL = "Consolidated"  # the same for a consolidated report's total in its reporting currency


# ---- names -------------------------------------------------------------------------------------


@dataclass
class Names:
    """Site and tenant names by id (ids as strings)."""

    sites: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, ledger: Ledger, site_ids: Iterable[Any] = (), tenant_ids: Iterable[Any] = ()) -> Names:
        """The names of these sites and tenants, from the ledger (small aggregates); an id the
        ledger does not know keeps no name."""
        names = cls()
        for ident in {str(s) for s in site_ids if s}:
            try:
                names.sites[ident] = ledger.get_site(ident).name
            except LedgerError:
                continue
        for ident in {str(t) for t in tenant_ids if t}:
            try:
                names.tenants[ident] = ledger.get_tenant(ident).name
            except LedgerError:
                continue
        return names

    @classmethod
    def for_rows(cls, ledger: Ledger, rows: Iterable[Mapping[str, Any]]) -> Names:
        rows = list(rows)
        return cls.load(ledger, (r.get("site_id") for r in rows), (r.get("tenant_id") for r in rows))

    def of(self, id_column: str, value: Any) -> Any:
        """The name of the site or tenant ``value`` names (the id itself if unknown)."""
        known = self.sites if id_column == "site_id" else self.tenants
        return None if value is None else known.get(str(value), str(value))


def with_names(rows: Iterable[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    """Rows with ``site`` / ``tenant`` name columns placed before the ids they name."""
    out = []
    for row in rows:
        named: dict[str, Any] = {}
        for key, value in row.items():
            if key in NAMED:
                named[NAMED[key]] = names.of(key, value)
            named[key] = value
        out.append(named)
    return out


# ---- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose rows a reader sees: ``tenant_id`` None -- every tenant's (staff); else that tenant's
    only (a tenant principal): its reports are always filtered to itself, and asking for another
    tenant is "not found" (the other tenant's existence is not disclosed)."""

    tenant_id: UUID | None = None

    def tenant(self, asked: Any) -> str | None:
        """The tenant filter in force when ``asked`` (an id, or None/"" for none) is asked for."""
        given: UUID | None = None
        if asked not in (None, ""):
            try:
                given = asked if isinstance(asked, UUID) else UUID(str(asked).strip())
            except ValueError:
                raise InvalidInput(f"tenant_id: expected a UUID, got {str(asked)[:60]!r}", field="tenant_id") from None
        if self.tenant_id is None:
            return None if given is None else str(given)
        if given is not None and given != self.tenant_id:
            raise NotFound(f"tenant_id: no tenant with id {given}", field="tenant_id")
        return str(self.tenant_id)

    def filters(self, report: Report, raw: Mapping[str, Any]) -> dict[str, Any]:
        """``raw`` with the tenant filter the scope imposes."""
        out = dict(raw)
        if self.tenant_id is not None and not report.tenant_scoped:
            raise NotFound(f"report: no report named {report.name!r} for a tenant", field="report")
        if self.tenant_id is not None:
            out["tenant_id"] = self.tenant(out.get("tenant_id"))
        return out


EVERYTHING = Scope()


# ---- sources -----------------------------------------------------------------------------------


class ReportSource(Protocol):
    """What gives a report's rows: live (the projections, and the position of the projections the
    report reads, from one snapshot) or as of a past position (a replay from a checkpoint)."""

    def live_report(self, report: Report, filters: Mapping[str, Any]) -> tuple[list[Row], int]: ...

    def as_of_report(self, report: Report, filters: Mapping[str, Any], as_of: object) -> AsOfReport: ...

    def names(self, rows: Sequence[Mapping[str, Any]]) -> Names: ...


class LocalSource:
    """A report source on one process's own ``Projections`` and ledger (``ledger report``)."""

    def __init__(self, projections: Projections | None, ledger: Ledger, url: str | None) -> None:
        self.projections = projections  # None: as-of reads only
        self.ledger = ledger
        self.url = url

    def live_report(self, report: Report, filters: Mapping[str, Any]) -> tuple[list[Row], int]:
        if self.projections is None:
            raise RuntimeError("LocalSource: live reads need the projections")
        return self.projections.report_at(report.name, filters)

    def as_of_report(self, report: Report, filters: Mapping[str, Any], as_of: object) -> AsOfReport:
        from projections.asof import report_as_of

        app: Application[UUID] = self.ledger
        return report_as_of(self.url, app, report.name, filters, as_of)

    def names(self, rows: Sequence[Mapping[str, Any]]) -> Names:
        return Names.for_rows(self.ledger, rows)


# ---- the answer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """Where the rows came from: the live projections, or an as-of replay (from the checkpoint
    at ``checkpoint``, ``replayed`` positions replayed after it, in ``seconds``)."""

    read: str  # LIVE or AS_OF
    checkpoint: int | None = None
    replayed: int | None = None
    seconds: float | None = None

    def plain(self) -> dict[str, Any]:
        return {"read": self.read, "checkpoint": self.checkpoint, "replayed": self.replayed}


@dataclass(frozen=True)
class ReportAnswer:
    report: Report
    columns: list[str]  # the rows' fields, in order (names before the ids they name)
    rows: list[Row]  # values in their one representation (module docstring)
    totals: list[Row]  # one object per currency (see ``totals``)
    position: int  # the log position the rows stand at
    provenance: Provenance
    filters: dict[str, Any] = field(default_factory=dict)  # the raw filters applied (scope and defaults in)

    @property
    def name(self) -> str:
        return self.report.name

    def plain(self) -> dict[str, Any]:
        """The JSON object of every edge."""
        return {"report": self.report.name, "position": self.position, "provenance": self.provenance.plain(),
                "rows": [exact(row) for row in self.rows], "totals": [exact(t) for t in self.totals]}

    def json(self) -> str:
        return json.dumps(self.plain(), ensure_ascii=False)

    def csv(self) -> str:
        """The rows under a header of ``columns``, then a totals line per totals object (its first
        cell ``Total``, or ``Consolidated`` for a consolidated total, unless the first column is one
        the total fills)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([cell(row.get(name)) for name in self.columns])
        for total in self.totals:
            line = [cell(total.get(name)) for name in self.columns]
            if self.columns and line[0] == "":
                line[0] = CONSOLIDATED_LABEL if total.get("consolidated") else TOTAL_LABEL
            writer.writerow(line)
        return buffer.getvalue()


def cell(value: Any) -> str:
    """A CSV cell: the JSON value as text (null: empty)."""
    value = exact(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def columns_of(report: Report) -> list[str]:
    """The fields of a report's rows: its declared columns, a name before each id it names."""
    out: list[str] = []
    for column in report.columns:
        if column.name in NAMED:
            out.append(NAMED[column.name])
        out.append(column.name)
    return out


# ---- the read operation ------------------------------------------------------------------------


def read_report(source: ReportSource, name: str | Report, filters: Mapping[str, Any] | None = None, *,
                as_of: object | None = None, scope: Scope = EVERYTHING,
                reporting_currency: str | None = None) -> ReportAnswer:
    """The report ``name`` with raw ``filters`` (by filter name; checked by ``Report.parse``) for a
    reader of ``scope``: live, or as it stood at ``as_of`` (a log position or a time)."""
    report = name if isinstance(name, Report) else find_report(name)
    raw = scope.filters(report, filters or {})
    if report.filter("currency") is not None and not raw.get("currency") and reporting_currency:
        raw["currency"] = reporting_currency
    report.parse(raw)  # a bad filter is refused before any work
    if as_of is None:
        rows, position = source.live_report(report, raw)
        provenance = Provenance(LIVE)
    else:
        answer = source.as_of_report(report, raw, as_of)
        rows, position = answer.rows, answer.position
        provenance = Provenance(AS_OF, answer.checkpoint, answer.replayed, answer.seconds)
    return answer_of(report, rows, position, provenance, source.names(rows), raw)


def answer_of(report: Report, rows: Sequence[Mapping[str, Any]], position: int, provenance: Provenance,
              names: Names, filters: Mapping[str, Any] | None = None) -> ReportAnswer:
    """A report's query rows as the answer every edge renders (values, names, order, totals)."""
    columns = columns_of(report)
    shaped = ordered(report, [shape(report, row, names) for row in rows])
    return ReportAnswer(report, columns, shaped, totals(report, shaped), position, provenance, dict(filters or {}))


def shape(report: Report, row: Mapping[str, Any], names: Names) -> Row:
    """One query row: the declared columns (in their representation), names before ids."""
    out: Row = {}
    for column in report.columns:
        value = row.get(column.name)
        if column.name in NAMED:
            out[NAMED[column.name]] = names.of(column.name, value)
        out[column.name] = value
    for column in report.columns:
        out[column.name] = represent(column, out[column.name], out)
    return out


def min_scale(column: Column, row: Mapping[str, Any]) -> int:
    """The fewest decimal places a decimal column's value is written with in ``row``."""
    if column.scale is not None:
        return column.scale
    money = column.money_of
    if money is not None:
        return MINOR_UNITS.get(str(row.get(money)), 2)
    if column.unit == "ratio":
        return -RATIO.as_tuple().exponent  # type: ignore[operator]
    return 0


def canonical(value: Decimal, scale: int) -> Decimal:
    """``value`` with the fewest decimal places that hold it exactly, at least ``scale``."""
    if not value.is_finite():
        return value
    if value == 0:
        value = abs(value)  # no "-0"
    # A context as precise as the value: the default one (28 digits) would round a 34-digit cross rate.
    exact = Context(prec=max(len(value.as_tuple().digits) + scale, 28))
    reduced = value.normalize(exact)
    exponent = reduced.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -scale:
        reduced = reduced.quantize(Decimal(1).scaleb(-scale), context=exact)
    return reduced


def represent(column: Column, value: Any, row: Mapping[str, Any]) -> Any:
    """A value in its column's one representation (module docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if column.is_count:
        if isinstance(value, Decimal | str):
            number = Decimal(str(value))
            return int(number) if number == number.to_integral_value() else canonical(number, 0)
        return value
    if column.is_decimal:
        if isinstance(value, int | Decimal | str):
            try:
                number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
            except InvalidOperation:
                return value  # not a number: left as it is
            return canonical(number, min_scale(column, row))
        return value
    if isinstance(value, UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers by value, text case-insensitively, missing values last."""
    if value is None:
        return (2, "")
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value).casefold())


def ordered(report: Report, rows: list[Row]) -> list[Row]:
    """The rows in the report's one order (``Report.order``; stable: the query's order after it)."""
    if not report.order:
        return rows
    return sorted(rows, key=lambda row: tuple(sort_key(row.get(k)) for k in report.order))


# ---- totals ------------------------------------------------------------------------------------


def total_columns(report: Report) -> list[Column]:
    return [c for c in report.columns if c.rule is not None]


def totals(report: Report, rows: Sequence[Mapping[str, Any]]) -> list[Row]:
    """The report's totals from its columns' rules (``Column.total``), one object per currency
    (rows grouped by their ``currency``; reports without one: one object), each with ``currency``
    and the totalled columns under the rows' names:

    - "sum": the values added up (missing values count as nothing; all missing: null);
    - "last": per entity (``Report.balance_of``) the value of its last row by ``Report.period``,
      added up across entities;
    - "ratio": ``ratio_of`` numerator total / denominator total (null if that is 0 or missing).

    A consolidated report (a ``reporting currency`` column) gets one more object in the reporting
    currency: every totalled column that is not money in the rows' own currency, over all rows,
    marked ``"consolidated": true`` (the per-currency objects: false).
    No rows, or nothing to total: an empty list."""
    columns = total_columns(report)
    if not rows or not columns:
        return []
    names = {c.name for c in report.columns}
    by_currency = "currency" in names
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("currency") if by_currency else None, []).append(row)
    out: list[Row] = []
    consolidating = "reporting_currency" in names
    for currency in sorted(groups, key=sort_key):
        total: Row = {"currency": currency} if by_currency else {}
        if consolidating:
            within_group = {row.get("reporting_currency") for row in groups[currency]}
            total["reporting_currency"] = within_group.pop() if len(within_group) == 1 else None
            total["consolidated"] = False
        total.update(_group_total(report, columns, groups[currency], total))
        out.append(total)
    if consolidating:
        targets = sorted({row.get("reporting_currency") for row in rows if row.get("reporting_currency")},
                         key=sort_key)
        for target in targets:
            within = [row for row in rows if row.get("reporting_currency") == target]
            consolidated = [c for c in columns if c.money_of != "currency"]
            total = {"currency": target, "reporting_currency": target, "consolidated": True}
            total.update(_group_total(report, consolidated, within, total))
            out.append(total)
    return out


def _group_total(report: Report, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]],
                 context: Mapping[str, Any]) -> Row:
    values: Row = {}
    for column in columns:
        if column.rule == "sum":
            values[column.name] = _sum(row.get(column.name) for row in rows)
        elif column.rule == "last":
            values[column.name] = _sum(row.get(column.name) for row in last_rows(report, rows))
    for column in columns:
        if column.rule == "ratio" and column.ratio_of is not None:
            top, bottom = (values.get(n, _sum(row.get(n) for row in rows)) for n in column.ratio_of)
            values[column.name] = None if top is None or not bottom else \
                (Decimal(top) / Decimal(bottom)).quantize(Decimal(1).scaleb(-min_scale(column, context)),
                                                          rounding=ROUND_HALF_EVEN)
    declared = {c.name: c for c in report.columns}
    return {name: represent(declared[name], value, context) for name, value in values.items()}


def totals_by(report: Report, rows: Iterable[Mapping[str, Any]],
              keys: Sequence[str]) -> list[tuple[tuple[Any, ...], Row]]:
    """The report's totals (its declared rules, :func:`totals`) of each group of rows sharing
    ``keys`` (groups in first-seen order; one entry per group and currency): a roll-up, e.g.
    utilisation per site and month over every GPU model, with its ratios recomputed."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    return [(key, total) for key, members in groups.items() for total in totals(report, members)]


def last_rows(report: Report, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each entity's (``Report.balance_of``) last row by ``Report.period`` (the first of equals)."""
    last: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in report.balance_of)
        seen = last.get(key)
        if seen is None or sort_key(row.get(report.period)) > sort_key(seen.get(report.period)):
            last[key] = row
    return list(last.values())


def _sum(values: Iterable[Any]) -> int | Decimal | None:
    total: int | Decimal | None = None
    for value in values:
        if value is None or isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            continue
        number: int | Decimal = value if isinstance(value, int | Decimal) else Decimal(value)
        total = number if total is None else total + number
    return total
