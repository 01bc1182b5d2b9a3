"""The ledger application service: one method per command, get -> call -> save.

One eventsourcing ``Application`` (:class:`Ledger`) holds every aggregate, so the whole history
is one totally ordered notification log (the auditors' log). A command that changes several
aggregates saves them in one ``save(a, b)``: atomic, with optimistic concurrency on each
aggregate's version. When another writer wins the race, the command reloads and retries
(``max_attempts``), then reports :class:`~domain.errors.ConcurrencyConflict`. Every command
returns a :class:`Written` receipt with the log position of its last event, for read-your-writes.

Modules: ``core`` (loading, saving, the retry loop, readers), ``capacity`` (sites, funding,
supply, pools), ``tenancy`` (tenants, reservations, usage), ``billing`` (invoices),
``receipts`` (what commands take and return) and ``ledger`` (the application itself);
``commercial`` (on-demand rates, contracts, credits, and the true-ups and credits an invoice
gets at issue) is a base of ``billing``.
"""

from domain.service.billing import MONTH_PATTERN, check_month
from domain.service.ledger import Ledger
from domain.service.receipts import MAX_USAGE_BATCH, UsageReceipt, UsageRecord, Written, system_clock
from domain.timeutil import hour_index, hour_start

__all__ = ["MAX_USAGE_BATCH", "MONTH_PATTERN", "Ledger", "UsageReceipt", "UsageRecord", "Written", "check_month",
           "hour_index", "hour_start", "system_clock"]
