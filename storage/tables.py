"""Named rows: a projection table is declared by a dataclass, and read and written as instances of it.

    @dataclass(slots=True)
    class LineRow:
        tenant_id: str
        month: str
        amount: Decimal

    LINES = Table("bil_lines", LineRow, key=("tenant_id", "month"))

Column types come from the field annotations: ``int`` -> BIGINT, ``str`` -> TEXT, ``Decimal`` ->
``numeric`` on PostgreSQL (exact, summable in SQL) and decimal text on SQLite, ``X | None`` ->
nullable. Rows are read back as instances, converted per column, so handlers and reports use
names (``line.amount``), never positions.

``RowSet`` is one table as seen by a projection during a batch: rows keyed by primary key,
fetched on demand (or prefetched with one query), changed in place, and written back at the
end of the batch. ``Adder`` sums integer deltas per key for additive tables.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

R = TypeVar("R")
Key = tuple[Any, ...]

SQL_TYPES: dict[type, str] = {int: "BIGINT", str: "TEXT", Decimal: "NUMERIC"}


def _column_type(annotation: Any) -> tuple[type, bool]:
    """(python type, nullable) of a field annotation such as ``Decimal | None``."""
    args = typing.get_args(annotation)
    if args:
        present = [a for a in args if a is not type(None)]
        if len(present) != 1 or present[0] not in SQL_TYPES:
            raise TypeError(f"unsupported column type {annotation!r}")
        return present[0], True
    if annotation not in SQL_TYPES:
        raise TypeError(f"unsupported column type {annotation!r}")
    return annotation, False


@dataclass(frozen=True)
class Column:
    name: str
    kind: type  # int, str or Decimal
    nullable: bool

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]


class Table(Generic[R]):
    """A projection table: its row type, primary key and indexes."""

    def __init__(self, name: str, row: type[R], key: Sequence[str], *,
                 indexes: Sequence[Sequence[str]] = ()) -> None:
        self.name = name
        self.row = row
        self.key = tuple(key)
        self.indexes = tuple(tuple(i) for i in indexes)
        hints = typing.get_type_hints(row)
        self.columns = tuple(Column(f.name, *_column_type(hints[f.name])) for f in dataclasses.fields(row))  # type: ignore[arg-type]
        self.column_names = [c.name for c in self.columns]
        missing = [k for k in self.key if k not in self.column_names]
        if missing:
            raise TypeError(f"{name}: key column {missing[0]!r} is not a field of {row.__name__}")
        # attrgetter of several names returns a tuple; of one name, the value: normalise to tuples.
        many = operator.attrgetter(*self.key)
        self.key_of: Callable[[R], Key] = many if len(self.key) > 1 else (lambda row: (many(row),))
        self._values = operator.attrgetter(*self.column_names)
        converters: list[Callable[[Any], Any]] = []
        for column in self.columns:
            if column.kind is Decimal:
                converters.append(_to_decimal)
            elif column.kind is int:
                converters.append(_to_int)
            else:
                converters.append(_identity)
        self._converters = converters

    def __repr__(self) -> str:
        return f"Table({self.name!r})"

    def from_db(self, values: Sequence[Any]) -> R:
        return self.row(*(convert(v) for convert, v in zip(self._converters, values, strict=True)))

    def values_of(self, row: R) -> tuple[Any, ...]:
        values = self._values(row)
        return values if isinstance(values, tuple) else (values,)


def _to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(value)


def _to_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _identity(value: Any) -> Any:
    return value
