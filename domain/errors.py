"""Domain errors: what the ledger refuses, and why.

Every refusal is a subclass of :class:`LedgerError`, carries a one-line message that names
the problem (and the field, where there is one), and records nothing. The edges (HTTP,
command line) map each class to a stable problem type and status; nothing below knows HTTP.

    LedgerError
    ├── InvalidInput                  422  bad value: naive datetime, negative quantity, ...
    │   ├── UnknownCurrency           422  not an ISO 4217 code the ledger bills in
    │   ├── UnknownGpuModel           422  not in the GPU reference table
    │   └── NotOnTheHour              422  a window boundary not on a whole UTC hour
    ├── NotFound                      404  no such site, pool, order, round, tenant, ...
    ├── Conflict                      409  the request is valid but the ledger's state forbids it
    │   ├── InsufficientCapacity      409  booking would exceed GPUs in service in some hour
    │   ├── ExceedsOrdered            409  delivered > ordered, commissioned > delivered
    │   ├── InsufficientFunds         409  capex > funds received, tranche > commitment
    │   ├── TenantSuspended           409  a suspended tenant cannot reserve
    │   ├── InvalidTransition         409  e.g. extending a cancelled reservation
    │   ├── UsageOutsideReservation   409  usage outside the window or above its GPUs
    │   ├── DuplicateUsage            409  another record already metered that hour
    │   ├── InvoiceAlreadyIssued      409  at most one invoice per tenant and month
    │   └── ConcurrencyConflict       409  lost the optimistic-concurrency race too often
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal. ``field`` names the offending input where there is one."""

    kind = "ledger-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LedgerError):
    kind = "invalid-input"


class UnknownCurrency(InvalidInput):
    kind = "unknown-currency"


class UnknownGpuModel(InvalidInput):
    kind = "unknown-gpu-model"


class NotOnTheHour(InvalidInput):
    kind = "not-on-the-hour"


class NotFound(LedgerError):
    kind = "not-found"


class Conflict(LedgerError):
    kind = "conflict"


class InsufficientCapacity(Conflict):
    kind = "insufficient-capacity"


class ExceedsOrdered(Conflict):
    kind = "exceeds-ordered"


class InsufficientFunds(Conflict):
    kind = "insufficient-funds"


class TenantSuspended(Conflict):
    kind = "tenant-suspended"


class InvalidTransition(Conflict):
    kind = "invalid-transition"


class UsageOutsideReservation(Conflict):
    kind = "usage-outside-reservation"


class DuplicateUsage(Conflict):
    kind = "duplicate-usage"


class InvoiceAlreadyIssued(Conflict):
    kind = "invoice-already-issued"


class ConcurrencyConflict(Conflict):
    kind = "concurrency-conflict"
