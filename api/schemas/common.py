"""Shared field types: decimal strings, GPU model codes, currencies, pages, problems."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.money import MINOR_UNITS
from domain.reference import GPU_MODELS

# Exact decimals travel as strings ("2.50"), never JSON numbers: floats are inexact.
DecimalText = Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"),
                        Field(examples=["2.50"])]
GpuModelCode = Enum("GpuModelCode", {code.replace("-", "_"): code for code in GPU_MODELS}, type=str)  # type: ignore[misc]
Currency = Enum("Currency", {code: code for code in sorted(MINOR_UNITS)}, type=str)  # type: ignore[misc]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
GpuCount = Annotated[int, Field(ge=1, le=10_000_000)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$"), Field(examples=["2026-02"])]

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
                         (503, "Database unavailable, or projections still catching up; "
                               "retry after `Retry-After` seconds")]
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
