"""MonthClose: finance's month-end close, one aggregate per month (the id is derived from it).

Closing records one ``Closed`` event with what was checked: the log position the journal stood
at, the invoices of the month, and the trial balance's debits and credits per currency (which
balanced). A month closes once: closing it again records nothing (the service answers that it is
already closed). Nothing reopens a month; a correction arriving later posts in the next open
month (the billing projection bills late changes as adjustments on a later invoice).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

CLOSE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/month-close")


def month_close_id(month: str) -> UUID:
    """At most one close per month, by construction of its id."""
    return uuid5(CLOSE_NAMESPACE, month)


class MonthClose(Aggregate):
    TOPIC = "ledger:MonthClose"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:MonthClose.Created"

    @staticmethod
    def create_id(month: str) -> UUID:
        return month_close_id(month)

    class Closed(Aggregate.Created):
        """``balances``: one dict per currency, ``{"currency", "debit", "credit"}`` (equal: the
        trial balance balanced); ``invoices``: how many invoices the month has."""

        TOPIC = "ledger:MonthClose.Closed"
        month: str
        closed_at: datetime
        journal_position: int
        invoices: int
        balances: list[dict[str, Any]]

    @event(Closed)
    def __init__(self, month: str, closed_at: datetime, journal_position: int, invoices: int,
                 balances: list[dict[str, Any]]) -> None:
        self.month = month
        self.closed_at = closed_at
        self.journal_position = journal_position
        self.invoices = invoices
        self.balances = balances


def balance_entry(currency: str, debit: Decimal, credit: Decimal) -> dict[str, Any]:
    return {"currency": currency, "debit": debit, "credit": credit}
