"""A report's answer in OpenAPI: per report, its row and totals objects generated from the
report's columns (``projections.registry.REPORTS``), so a generated client gets typed rows.

The answer is ``projections.queries.ReportAnswer.plain()``: ``{"report", "position",
"provenance", "rows", "totals"}``; exact decimals are strings (``"2984998.50"``), counts integers,
labels, ids and times strings, a missing value null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from projections.queries import NAMED, total_columns
from projections.reports.base import Column, Report

DECIMAL_EXAMPLE = "2984998.50"


class ProvenancePublic(BaseModel):
    read: Literal["live", "as_of"] = Field(description="live: the projections; as_of: a replay from a checkpoint")
    checkpoint: int | None = Field(description="as_of: the checkpoint position the replay started from")
    replayed: int | None = Field(description="as_of: positions replayed after the checkpoint")


def _field(column: Column) -> tuple[Any, Any]:
    unit = f" ({column.unit})" if column.unit else ""
    if column.is_count:
        return int | None, Field(None, description=f"{column.description}{unit}")
    if column.is_decimal:
        return str | None, Field(None, description=f"{column.description}{unit}; an exact decimal",
                                 examples=[DECIMAL_EXAMPLE])
    return str | None, Field(None, description=f"{column.description}{unit}")


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def row_model(report: Report) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column in report.columns:
        if column.name in NAMED:
            fields[NAMED[column.name]] = (str | None, Field(None, description=f"Name of the {NAMED[column.name]}"))
        fields[column.name] = _field(column)
    model: type[BaseModel] = create_model(f"{_pascal(report.name)}ReportRow", __config__=ConfigDict(extra="forbid"),
                                          **fields)
    return model


def totals_model(report: Report) -> type[BaseModel]:
    declared = {c.name for c in report.columns}
    fields: dict[str, Any] = {}
    if "currency" in declared:
        fields["currency"] = (str | None, Field(None, description="The currency the amounts are in (one object "
                                                                  "per currency)"))
    if "reporting_currency" in declared:
        fields["reporting_currency"] = (str | None, Field(None, description="The reporting currency"))
        fields["consolidated"] = (bool, Field(False, description="true: the total of every currency's rows in the "
                                                                "reporting currency; false: one currency's rows"))
    for column in total_columns(report):
        kind, info = _field(column)
        info.description = f"{column.rule}: {info.description}"
        fields[column.name] = (kind, info)
    model: type[BaseModel] = create_model(f"{_pascal(report.name)}ReportTotals",
                                          __config__=ConfigDict(extra="forbid"), **fields)
    return model


def answer_model(report: Report) -> type[BaseModel]:
    """The answer of ``GET /v1/reports/NAME``."""
    rule = ", ".join(f"`{c.name}` {c.rule}" for c in total_columns(report)) or "nothing is additive (empty)"
    fields: dict[str, Any] = {
        "report": (Literal[report.name], Field(description="The report's name")),
        "position": (int, Field(description="Log position the rows stand at")),
        "provenance": (ProvenancePublic, Field(description="Live projections, or an as-of replay")),
        "rows": (list[row_model(report)], Field(description=report.title)),  # type: ignore[misc]
        "totals": (list[totals_model(report)],  # type: ignore[misc]
                   Field(description=f"One object per currency (a consolidated report: plus one in the reporting "
                                     f"currency). Rules: {rule}")),
    }
    model: type[BaseModel] = create_model(f"{_pascal(report.name)}Report", **fields)
    return model
