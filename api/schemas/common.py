"""Shared field types: decimal strings, GPU model codes, currencies, pages, problems."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.checks import ascii_int, storable
from domain.errors import InvalidInput
from domain.money import MINOR_UNITS
from domain.reference import GPU_MODELS
from domain.timeutil import MONTH_PATTERN, check_month, check_utc, to_utc

V = TypeVar("V")


def _as_value_error(check: Callable[[V], object]) -> Callable[[V], V]:
    """A domain check as a pydantic validator: pydantic names the field (query, path, header or
    body location), so the message drops the domain's own ``field: `` prefix."""
    def validate(value: V) -> V:
        try:
            check(value)
        except InvalidInput as error:
            raise ValueError(error.message.partition(": ")[2] or error.message) from None
        return value
    return validate


# Every text parameter and field: PostgreSQL refuses NUL in text, and a lone surrogate cannot be
# encoded as UTF-8; either would otherwise reach the database and come back as a 500.
Text = Annotated[str, AfterValidator(_as_value_error(lambda v: storable(v, field="text")))]
# Every time parameter and field: aware, and inside the years 1-9999 once converted to UTC (an
# offset can push 0001-01-01T00:00+14:00 or 9999-12-31T23:00-05:00 out of range), with the margin
# domain.timeutil.to_utc keeps for the hour, day and month arithmetic done on it.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_as_value_error(lambda v: to_utc(v, field="time")))]


def _version_or_time(value: str) -> None:
    if value.strip().isdigit():
        ascii_int(value, field="as_of")
    else:
        check_utc(value, field="as_of")


# ``as_of``: a version number in ASCII digits ("²" and "٣" are digits to str.isdigit) or a time.
VersionOrTime = Annotated[Text, StringConstraints(max_length=64), AfterValidator(_as_value_error(_version_or_time))]

# Exact decimals travel as strings ("2.50"), never JSON numbers: floats are inexact.
DecimalText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"),
                        Field(examples=["2.50"])]
GpuModelCode = Enum("GpuModelCode", {code.replace("-", "_"): code for code in GPU_MODELS}, type=str)  # type: ignore[misc]
Currency = Enum("Currency", {code: code for code in sorted(MINOR_UNITS)}, type=str)  # type: ignore[misc]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
Id = Annotated[Text, StringConstraints(max_length=100), Field(examples=["3fa85f64-5717-4562-b3fc-2c963f66afa6"])]
# An invoice in a path: its id or its number (GL-2026-000123).
InvoiceRef = Annotated[Text, StringConstraints(min_length=1, max_length=100),
                       Field(description="The invoice's id or its number", examples=["GL-2026-000123"])]
GpuCount = Annotated[int, Field(ge=1, le=10_000_000)]
# A calendar month 0001-01 .. 9999-11: the month after it must exist (billing periods end there).
Month = Annotated[str, StringConstraints(pattern=MONTH_PATTERN.pattern), Field(examples=["2026-02"]),
                  AfterValidator(_as_value_error(check_month))]

T = TypeVar("T")


def text_of(value: Decimal) -> str:
    return format(value, "f")


class Strict(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Written(BaseModel):
    id: str
    position: int | None = Field(description="Log position of the last event written (read-your-writes).")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[dict[str, str]] | None = None


# A plain $ref (the schema is added to the document by api.app): a pydantic model per status
# per route would cost FastAPI ~200 model fields at startup.
PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
             "description": text}
    for status, text in [(400, "Malformed request"), (401, "Missing or unknown token"),
                         (403, "Role not allowed"), (404, "Not found (or another tenant's)"),
                         (409, "Refused by the ledger's state"), (413, "Body too large"),
                         (422, "Invalid input; `field` names it"),
                         (500, "Unexpected error (a bug): logged, and the connection stays open"),
                         (503, "Database unavailable, projections still catching up, or a read past its deadline"
                               " (LEDGER_REQUEST_DEADLINE_SECONDS); retry after `Retry-After` seconds")]
}


def plain(value: Any) -> Any:
    """JSON-safe copy: Decimals (money) as strings, ids as strings, times as ISO 8601."""
    if isinstance(value, Decimal):
        return text_of(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
