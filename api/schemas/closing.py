"""Bodies and answers of the month close (``POST /v1/closes``, ``GET /v1/closes/{month}``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import Month, Strict, text_of


class CloseCreate(Strict):
    month: Month = Field(description="The month to close, YYYY-MM (it must have ended)")


class CloseBalance(BaseModel):
    currency: str = Field(description="ISO 4217")
    debit: str = Field(description="Sum of the journal's debits through the month, in the currency")
    credit: str = Field(description="Sum of the journal's credits through the month (equal to the debits)")


class ClosePublic(BaseModel):
    month: str
    already_closed: bool = Field(description="True if the month was closed before this request: "
                                             "nothing was recorded now")
    position: int | None = Field(description="Log position of the close recorded now (null if already closed)")
    closed_at: AwareDatetime
    journal_position: int = Field(description="The log position the journal and trial balance stood at")
    invoices: int = Field(description="Invoices of the month at the close")
    balances: list[CloseBalance] = Field(description="The trial balance through the month, per currency")

    @classmethod
    def of(cls, described: Mapping[str, Any]) -> ClosePublic:
        balances = [CloseBalance(currency=str(b["currency"]), debit=text_of(Decimal(str(b["debit"]))),
                                  credit=text_of(Decimal(str(b["credit"]))))
                    for b in described["balances"]]
        return cls(month=described["month"], already_closed=described["already_closed"],
                   position=described["position"], closed_at=described["closed_at"],
                   journal_position=described["journal_position"], invoices=described["invoices"],
                   balances=balances)
