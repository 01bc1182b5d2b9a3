"""DunningCase: one per tenant (the id is derived from the tenant's): its dunning policy and the
steps dunning took, episode by episode.

**Policy.** Reminders at given days overdue (default +1, +7 and +14), then a suspension request
(default +30; None: never). ``PolicySet`` records a change; a case without one uses the default.

**Episodes.** A run on a day (``operations.dunning``) hands the case the tenant's overdue
invoices on that day. While something is overdue, every step whose day the oldest overdue
invoice has reached (its days overdue >= the step's day) and that this episode has not sent yet
is recorded: ``ReminderSent`` (steps 1..n), then ``SuspensionRequested`` (step n+1). The first
step recorded opens an episode; the first run that finds nothing overdue closes it with
``Resolved`` (and lifts the suspension dunning asked for, if the tenant is still suspended). A
new overdue invoice after that starts a new episode, whose steps are sent again. A step is never
recorded twice in one episode, whatever the run days; a run on a day before the case's last
recorded day is refused (``on``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

DUNNING_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/dunning-case")
DEFAULT_REMINDER_DAYS = (1, 7, 14)
DEFAULT_SUSPEND_AFTER_DAYS: int | None = 30
MAX_DUNNING_DAYS = 3650
STEP_NAMES = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth")


def dunning_case_id(tenant_id: UUID) -> UUID:
    """At most one case per tenant, by construction of its id."""
    return uuid5(DUNNING_NAMESPACE, str(tenant_id))


def _day_count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DUNNING_DAYS:
        raise InvalidInput(f"{field}: expected a whole number of days from 1 to {MAX_DUNNING_DAYS}, got {value!r}",
                           field=field)
    return value


def check_policy(reminder_days: object, suspend_after_days: object) -> tuple[list[int], int | None]:
    """Reminder days: 1 to 10 whole, positive, strictly ascending days overdue; the suspension
    after the last reminder's day, or None (never)."""
    if isinstance(reminder_days, (str, bytes)) or not isinstance(reminder_days, Sequence) or not reminder_days:
        raise InvalidInput("reminder_days: give at least one day overdue, e.g. [1, 7, 14]", field="reminder_days")
    if len(reminder_days) > len(STEP_NAMES):
        raise InvalidInput(f"reminder_days: at most {len(STEP_NAMES)} reminders", field="reminder_days")
    days = [_day_count(day, "reminder_days") for day in reminder_days]
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise InvalidInput(f"reminder_days: expected strictly ascending days, got {days}", field="reminder_days")
    if suspend_after_days is None:
        return days, None
    suspend = _day_count(suspend_after_days, "suspend_after_days")
    if suspend <= days[-1]:
        raise InvalidInput(f"suspend_after_days: expected more than the last reminder's {days[-1]} days, "
                           f"got {suspend}", field="suspend_after_days")
    return days, suspend


def step_title(step: int, reminders: int) -> str:
    """``First reminder``, ``Second reminder``, ..., ``Suspension notice`` (step ``reminders`` + 1)."""
    if step > reminders:
        return "Suspension notice"
    return f"{STEP_NAMES[step - 1]} reminder"


@dataclass(frozen=True)
class Overdue:
    """An overdue invoice as dunning sees it on a day."""

    invoice_id: UUID
    number: str
    due_date: str
    days_overdue: int
    outstanding: Decimal
    currency: str

    def entry(self) -> dict[str, Any]:
        return {"invoice_id": self.invoice_id, "number": self.number, "due_date": self.due_date,
                "days_overdue": self.days_overdue, "outstanding": self.outstanding, "currency": self.currency}


@dataclass(frozen=True)
class Outcome:
    """What a run did to the case: the kinds recorded (``reminder``, ``suspension``,
    ``resolved``) and whether the tenant is to be suspended or reinstated in the same save."""

    kinds: tuple[str, ...]
    suspend: bool
    reinstate: bool


class DunningCase(Aggregate):
    TOPIC = "ledger:DunningCase"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:DunningCase.Created"

    @staticmethod
    def create_id(tenant_id: UUID) -> UUID:
        return dunning_case_id(tenant_id)

    class Opened(Aggregate.Created):
        TOPIC = "ledger:DunningCase.Opened"
        tenant_id: UUID

    @event(Opened)
    def __init__(self, tenant_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.reminder_days = list(DEFAULT_REMINDER_DAYS)
        self.suspend_after_days = DEFAULT_SUSPEND_AFTER_DAYS
        self.episode = 0  # the latest episode's number (0: none yet)
        self.open = False  # an episode is in progress
        self.sent: list[int] = []  # steps recorded in the episode in progress
        self.suspended_by_dunning = False  # dunning suspended the tenant in the episode in progress
        self.last_day: str | None = None
        self.history: list[dict[str, Any]] = []  # every step recorded: kind, step, episode, day, invoices ...

    # ---- policy -----------------------------------------------------------------------------

    def set_policy(self, *, reminder_days: object, suspend_after_days: object) -> None:
        days, suspend = check_policy(reminder_days, suspend_after_days)
        self._policy_set(days, suspend)

    class PolicySet(Aggregate.Event):
        TOPIC = "ledger:DunningCase.PolicySet"
        reminder_days: list[int]
        suspend_after_days: int | None

    @event(PolicySet)
    def _policy_set(self, reminder_days: list[int], suspend_after_days: int | None) -> None:
        self.reminder_days = list(reminder_days)
        self.suspend_after_days = suspend_after_days

    # ---- a run --------------------------------------------------------------------------------

    def check_day(self, on: str) -> None:
        if self.last_day is not None and on < self.last_day:
            raise InvalidInput(f"on: dunning already recorded a step for this tenant on {self.last_day}; run on "
                               f"that day or later", field="on")

    def run(self, *, on: str, overdue: Sequence[Overdue], tenant_suspended: bool, reason: str = "") -> Outcome:
        """Record the steps ``overdue`` (the tenant's overdue invoices on ``on``) reaches (see the
        module's rules). ``tenant_suspended``: whether the tenant is suspended now."""
        self.check_day(on)
        kinds: list[str] = []
        suspend = reinstate = False
        if overdue:
            entries = [item.entry() for item in overdue]
            oldest = max(item.days_overdue for item in overdue)
            episode = self.episode if self.open else self.episode + 1
            for step, day in enumerate(self.reminder_days, 1):
                if day <= oldest and step not in self.sent:
                    self._reminder_sent(self.tenant_id, step, episode, on, oldest, entries)
                    kinds.append("reminder")
            step = len(self.reminder_days) + 1
            if (self.suspend_after_days is not None and self.suspend_after_days <= oldest
                    and step not in self.sent):
                suspend = not tenant_suspended
                self._suspension_requested(self.tenant_id, step, episode, on, oldest, entries, suspend)
                kinds.append("suspension")
        elif self.open:
            reinstate = self.suspended_by_dunning and tenant_suspended
            self._resolved(self.tenant_id, self.episode, on, reinstate)
            kinds.append("resolved")
        return Outcome(tuple(kinds), suspend, reinstate)

    class ReminderSent(Aggregate.Event):
        """``invoices``: the overdue invoices on ``day`` (number, due date, days overdue,
        outstanding, currency); ``days_overdue``: the oldest one's."""

        TOPIC = "ledger:DunningCase.ReminderSent"
        tenant_id: UUID
        step: int
        episode: int
        day: str
        days_overdue: int
        invoices: list[dict[str, Any]]

    @event(ReminderSent)
    def _reminder_sent(self, tenant_id: UUID, step: int, episode: int, day: str, days_overdue: int,
                       invoices: list[dict[str, Any]]) -> None:
        self._step(step, episode, day)
        self.history = [*self.history, {"kind": "reminder", "step": step, "episode": episode, "day": day,
                                        "days_overdue": days_overdue, "invoices": invoices}]

    class SuspensionRequested(Aggregate.Event):
        """``suspended``: dunning suspended the tenant in the same save (false: it already was)."""

        TOPIC = "ledger:DunningCase.SuspensionRequested"
        tenant_id: UUID
        step: int
        episode: int
        day: str
        days_overdue: int
        invoices: list[dict[str, Any]]
        suspended: bool

    @event(SuspensionRequested)
    def _suspension_requested(self, tenant_id: UUID, step: int, episode: int, day: str, days_overdue: int,
                              invoices: list[dict[str, Any]], suspended: bool) -> None:
        self._step(step, episode, day)
        self.suspended_by_dunning = suspended
        self.history = [*self.history, {"kind": "suspension", "step": step, "episode": episode, "day": day,
                                        "days_overdue": days_overdue, "invoices": invoices,
                                        "suspended": suspended}]

    class Resolved(Aggregate.Event):
        """The episode ended: nothing overdue on ``day``; ``reinstated``: dunning lifted the
        suspension it had asked for, in the same save."""

        TOPIC = "ledger:DunningCase.Resolved"
        tenant_id: UUID
        episode: int
        day: str
        reinstated: bool

    @event(Resolved)
    def _resolved(self, tenant_id: UUID, episode: int, day: str, reinstated: bool) -> None:
        self.open = False
        self.sent = []
        self.suspended_by_dunning = False
        self.last_day = day
        self.history = [*self.history, {"kind": "resolved", "step": None, "episode": episode, "day": day,
                                        "days_overdue": 0, "invoices": [], "reinstated": reinstated}]

    def _step(self, step: int, episode: int, day: str) -> None:
        if not self.open:
            self.open, self.episode, self.sent = True, episode, []
        self.sent = [*self.sent, step]
        self.last_day = day

    def step_of(self, step: int, episode: int | None = None) -> Mapping[str, Any] | None:
        """The latest recording of ``step`` (in ``episode``, if given)."""
        for entry in reversed(self.history):
            if entry["step"] == step and (episode is None or entry["episode"] == episode):
                found: Mapping[str, Any] = entry
                return found
        return None
