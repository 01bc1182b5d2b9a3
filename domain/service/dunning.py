"""Commands on dunning (finance): a tenant's dunning policy, and the steps a dunning run records.

Which invoices are overdue on a day is ``operations.dunning``'s (it reads them from the ledger);
which steps that reaches, once per episode, is the ``DunningCase``'s
(``domain.aggregates.dunning``). A suspension dunning asks for, and the reinstatement when the
tenant has nothing overdue any more, are saved with the case's event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.aggregates.dunning import (
    DEFAULT_REMINDER_DAYS,
    DEFAULT_SUSPEND_AFTER_DAYS,
    DunningCase,
    Outcome,
    Overdue,
    check_policy,
    dunning_case_id,
)
from domain.aggregates.tenant import Tenant
from domain.attachments import NO_CONTEXT, CommandContext
from domain.service.core import LedgerCore
from domain.service.receipts import Written


@dataclass(frozen=True)
class DunningReceipt:
    """What one tenant's dunning did: the kinds recorded (empty: nothing)."""

    tenant_id: UUID
    outcome: Outcome


@dataclass(frozen=True)
class DunningRunReceipt:
    """What a run recorded, in one transaction: per tenant with something new, its receipt; the
    case events saved (``DunningCase.ReminderSent``, ...), in order; the log position (None:
    nothing was new)."""

    recorded: list[DunningReceipt]
    events: list[object]
    position: int | None


class DunningCommands(LedgerCore):
    def set_dunning_policy(self, tenant_id: object, *, reminder_days: object = DEFAULT_REMINDER_DAYS,
                           suspend_after_days: object = DEFAULT_SUSPEND_AFTER_DAYS,
                           context: CommandContext = NO_CONTEXT) -> Written:
        """Reminders at ``reminder_days`` overdue (ascending, positive), then a suspension at
        ``suspend_after_days`` (after the last reminder; None: never). Refused naming the field."""
        days, suspend = check_policy(reminder_days, suspend_after_days)

        def unit() -> Written:
            tenant = self.get_tenant(tenant_id)
            case = self._case_for_update(tenant)
            case.set_policy(reminder_days=days, suspend_after_days=suspend)
            return Written(tenant.id, self._save(context, case))
        return self._retrying(unit)

    def record_dunning(self, *, on: str, overdue: Mapping[UUID, Sequence[Overdue]],
                       context: CommandContext = NO_CONTEXT) -> DunningRunReceipt:
        """Record, in one transaction, the dunning steps each tenant's ``overdue`` invoices on
        ``on`` (YYYY-MM-DD) reach (``operations.dunning.run_dunning`` reads them; rules:
        ``domain.aggregates.dunning``), suspending or reinstating tenants in the same save. A
        tenant with nothing overdue and no open episode is skipped; nothing new: nothing saved."""
        def unit() -> DunningRunReceipt:
            saved: list[Aggregate] = []
            recorded: list[DunningReceipt] = []
            events: list[object] = []
            for tenant_id, items in overdue.items():
                tenant = self._get(Tenant, tenant_id, what="tenant", field="tenant_id", for_update=True)
                if not items and self.get_dunning_case(tenant.id) is None:
                    continue
                case = self._case_for_update(tenant)
                case.check_day(on)
                outcome = case.run(on=on, overdue=items, tenant_suspended=tenant.suspended)
                if not outcome.kinds:
                    continue
                if outcome.suspend:
                    tenant.suspend(reason="dunning: " + ", ".join(item.number for item in items) + " overdue")
                if outcome.reinstate:
                    tenant.reinstate()
                events.extend(event for event in case.pending_events if not isinstance(event, DunningCase.Opened))
                saved.extend((case, tenant) if outcome.suspend or outcome.reinstate else (case,))
                recorded.append(DunningReceipt(tenant.id, outcome))
            if not saved:
                return DunningRunReceipt([], [], None)
            return DunningRunReceipt(recorded, events, self._save(context, *saved))
        return self._retrying(unit)

    def get_dunning_case(self, tenant_id: object) -> DunningCase | None:
        """The tenant's dunning case, or None if dunning never touched it (the default policy)."""
        tenant = self.get_tenant(tenant_id)
        try:
            found: object = self.repository.get(dunning_case_id(tenant.id))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, DunningCase)
        return found

    def _case_for_update(self, tenant: Tenant) -> DunningCase:
        try:
            found = self._load(dunning_case_id(tenant.id), True)
        except AggregateNotFoundError:
            return DunningCase(tenant.id)
        assert isinstance(found, DunningCase)
        return found
