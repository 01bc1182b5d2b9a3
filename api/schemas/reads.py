"""The audit log (reports: ``api.schemas.reports``, one schema per report)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import Strict

Scalar = str | int | float | bool | None


class AuditEventPublic(BaseModel):
    position: int
    aggregate_id: str
    aggregate_type: str
    event: str
    version: int
    topic: str
    timestamp: AwareDatetime
    fields: dict[str, Any] = Field(description="Event fields; money and ids as strings")


class AggregateAsOfPublic(BaseModel):
    id: str
    type: str
    version: int
    created_on: AwareDatetime
    modified_on: AwareDatetime
    state: dict[str, Any]


class VerifyCreate(Strict):
    earlier_head: str | None = Field(None, max_length=100, pattern=r"^[0-9]{1,19}:[0-9a-fA-F]{64}$",
                                     description="A head `POS:HEX` published earlier: "
                                                 "prove it is a prefix of today's log")


class VerifyPublic(BaseModel):
    ok: bool
    checked: int = Field(description="Events whose hash-chain link was recomputed and matched")
    head: str = Field(description="The chain's head `POS:HEX`; publish it to detect later rewrites")
    pending: int = Field(description="Events after the head, not chained yet")
    first_bad_position: int | None
    reason: str
    document_numbers: int = Field(0, description="Invoice and credit-note numbers checked: each sequence 1..n "
                                                 "without gaps or repeats, each naming a document issued with it")
    document_sequences: int = Field(0, description="Numbering sequences checked (seller, kind, year)")
