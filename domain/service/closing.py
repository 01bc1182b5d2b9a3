"""Command: close a month (finance). What is checked before, from the read side, is
``operations.closing.close_month``'s; the ledger records the close with what was checked and
refuses a trial balance that does not balance (whoever calls it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from domain.aggregates.close import MonthClose, balance_entry, month_close_id
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import InvalidInput
from domain.money import to_decimal
from domain.service.core import LedgerCore
from domain.timeutil import check_month, month_bounds


@dataclass(frozen=True)
class CloseReceipt:
    """``position`` None with ``already_closed``: the month was closed before; nothing recorded."""

    month: str
    position: int | None
    already_closed: bool
    close: MonthClose


class CloseCommands(LedgerCore):
    def close_month(self, month: object, *, journal_position: int, invoices: int,
                    balances: Sequence[Mapping[str, Any]], context: CommandContext = NO_CONTEXT) -> CloseReceipt:
        """Record that ``month`` is closed, the journal standing at ``journal_position`` with the
        month's ``invoices`` and the trial balance ``balances`` (per currency: debit and credit,
        which must be equal). A month already closed: nothing recorded, ``already_closed``."""
        text = check_month(month)
        if month_bounds(text)[1] > self.now():
            raise InvalidInput(f"month: {text} has not ended yet", field="month")
        checked = []
        for entry in balances:
            currency = str(entry["currency"])
            debit = to_decimal(entry["debit"], field="debit")
            credit = to_decimal(entry["credit"], field="credit")
            if debit != credit:
                raise InvalidInput(f"month: the trial balance does not balance in {currency} (debits {debit}, "
                                   f"credits {credit})", field="month")
            checked.append(balance_entry(currency, debit, credit))

        def unit() -> CloseReceipt:
            found = self.get_month_close(text)
            if found is not None:
                return CloseReceipt(text, None, True, found)
            close = MonthClose(text, self.now(), journal_position, invoices, checked)
            return CloseReceipt(text, self._save(context, close), False, close)
        return self._retrying(unit)

    def get_month_close(self, month: object) -> MonthClose | None:
        """The month's close, or None if it is open."""
        try:
            found: object = self.repository.get(month_close_id(check_month(month)))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, MonthClose)
        return found

