"""Charts and their data tables, shaped from report rows (plain JSON-safe rows, as the API sends).

A chart is chosen by a report's declared columns, so a report added to the registry later gets
one without code here: its x axis is the first period-like column (``period``, ``month``,
``day``), else its label columns (unit ``""``) joined as categories; its series are the numeric
columns (units other than labels, times, currencies and ratios), summed exactly (Decimal) over
the rows that share an x value, money split by the row's ``currency``. The chart's data travels
in the page as JSON with exact decimal strings, and the same figures fill the table beside it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from projections.queries import NAMED
from projections.reports.base import Column

PERIOD_COLUMNS = ("period", "month", "day")
NOT_SUMMED = {"", "UTC", "ISO 4217", "ratio", "count"}
MAX_SERIES = 12  # more would be unreadable; the table keeps every figure


@dataclass(frozen=True)
class Series:
    label: str
    values: list[str | None]  # exact decimals, one per x value (None: no row)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    kind: str  # line (x is time) | bar (x is a category)
    x_label: str
    x: list[str]
    series: list[Series] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    def table_rows(self) -> list[dict[str, Any]]:
        """The chart's figures, one row per x value (the table beside it)."""
        return [{"x": x, "values": [s.values[i] for s in self.series]} for i, x in enumerate(self.x)]


def decimal_of(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def text(value: Decimal) -> str:
    """Exact, without an exponent (``1E+1`` -> ``10``) or trailing zeros."""
    return format(value.normalize(), "f")


def numeric_columns(columns: Sequence[Column]) -> list[Column]:
    """Columns whose sum over rows means something: not labels, times, ratios, rates or counts."""
    return [c for c in columns if c.unit not in NOT_SUMMED and " per " not in c.unit and "/" not in c.unit]


def x_column(columns: Sequence[Column]) -> Column | None:
    names = {c.name: c for c in columns}
    return next((names[n] for n in PERIOD_COLUMNS if n in names), None)


def label_columns(columns: Sequence[Column]) -> list[Column]:
    """The columns naming a bar: a site's or tenant's name in place of its id (the rows carry both,
    ``projections.queries.NAMED``), never a note."""
    named_ids = [Column(NAMED[c.name], "", c.description, total=None) if c.name in NAMED else c for c in columns]
    labels = [c for c in named_ids if c.unit == "" and c.name not in PERIOD_COLUMNS and c.name != "granularity"
              and not c.name.endswith("note")]
    named = [c for c in labels if not c.name.endswith("_id")]
    return named or labels


def sum_by(rows: Iterable[Mapping[str, Any]], key_of: Any, value_columns: Sequence[str],
           split: str | None, split_columns: Collection[str] | None = None,
           described: Sequence[Column] = ()) -> tuple[list[str], dict[str, dict[str, Decimal]]]:
    """Exact sums per (series label, x): the label is the column's header (``Column.header`` for
    the ``described`` columns, else its name), with ``(its split value)`` for ``split_columns``
    (default: every column). Emissions (kgCO2e) are summed in tonnes, as their header says."""
    by_name = {c.name: c for c in described}
    titles = {n: by_name[n].header if n in by_name else n for n in value_columns}
    per_tonne = {n for n in value_columns if n in by_name and by_name[n].unit == "kgCO2e"}
    split_columns = value_columns if split_columns is None else split_columns
    xs: list[str] = []
    seen: set[str] = set()
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        x = key_of(row)
        if x not in seen:
            seen.add(x)
            xs.append(x)
        for name in value_columns:
            value = decimal_of(row.get(name))
            if value is None:
                continue
            if name in per_tonne:
                value = value / 1000
            title = titles[name]
            label = f"{title} ({row.get(split)})" if split and row.get(split) and name in split_columns else title
            per_x = sums.setdefault(label, {})
            per_x[x] = per_x.get(x, Decimal(0)) + value
    return xs, sums


def chart_for(chart_id: str, title: str, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]],
              *, values: Sequence[str] | None = None) -> Chart | None:
    """The chart a report's columns call for, or None (no numeric column, or no rows)."""
    numeric = [c.name for c in numeric_columns(columns)] if values is None else list(values)
    if not numeric or not rows:
        return None
    split = "currency" if any(c.name == "currency" for c in columns) else None
    money = {c.name for c in columns if c.unit == "currency"}
    period = x_column(columns)
    if period is not None:
        kind, x_label = "line", period.header

        def key_of(row: Mapping[str, Any]) -> str:
            return str(row.get(period.name))
    else:
        labels = [c.name for c in label_columns(columns)]
        kind, x_label = "bar", " / ".join(c.header for c in label_columns(columns)) or "Row"

        def key_of(row: Mapping[str, Any]) -> str:
            return " / ".join(str(row.get(n, "")) for n in labels)
    xs, sums = sum_by(rows, key_of, numeric, split, money, columns)
    if period is not None:
        xs = sorted(xs)
    series = [Series(label, [text(per_x[x]) if x in per_x else None for x in xs])
              for label, per_x in list(sums.items())[:MAX_SERIES]]
    return Chart(chart_id, title, kind, x_label, xs, series) if series else None


def chart_of(chart_id: str, title: str, kind: str, x_label: str, xs: Sequence[str],
             sums: Mapping[str, Mapping[str, Decimal]]) -> Chart:
    return Chart(chart_id, title, kind, x_label, list(xs),
                 [Series(label, [text(per_x[x]) if x in per_x else None for x in xs]) for label, per_x in sums.items()])
