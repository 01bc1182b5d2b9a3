"""Dunning history: one row per dunning step recorded (and currency), per tenant (rules:
``domain.aggregates.dunning``, ``operations.dunning``).

``kind`` is ``reminder`` (steps 1..n of the tenant's policy), ``suspension`` (step n+1: the
tenant was suspended, unless it already was) or ``resolved`` (the episode ended: nothing overdue
any more; a suspension dunning asked for was lifted). ``overdue`` is what the listed invoices
still owed on ``day``; ``days_overdue`` the oldest one's days past its due date.
"""

from __future__ import annotations

from projections.reports.base import Column, Params, Report, Row
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.dunning import STEPS

    tests = [("tenant_id = ?", params.tenant_id), ("month >= ?", params.month_from), ("month <= ?", params.month_to)]
    where_sql = " AND ".join(["1=1", *(clause for clause, value in tests if value is not None)])
    values = [value for _, value in tests if value is not None]
    out: list[Row] = []
    for row in map(STEPS.from_db, db.fetchall(f"SELECT {', '.join(STEPS.column_names)} FROM {STEPS.name} "
                                              f"WHERE {where_sql} ORDER BY position, currency LIMIT ?",
                                              [*values, limit])):
        numbers = row.invoices.split(", ") if row.invoices else []
        out.append({"tenant_id": row.tenant_id, "day": row.day, "step": row.step, "kind": row.kind,
                    "oldest_invoice": numbers[0] if numbers else None, "invoices": len(numbers),
                    "overdue": row.overdue, "currency": row.currency or None,
                    "days_overdue": row.days_overdue, "numbers": " ".join(numbers), "episode": row.episode,
                    "position": row.position})
    return out


REPORT = Report(
    name="dunning",
    title="Dunning history: reminders, suspensions and resolved episodes per tenant",
    projections=("dunning",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"),
             Column("day", "", "The dunning run's day YYYY-MM-DD", keep=True),
             Column("step", "count", "Step of the tenant's policy: 1..n reminders, n+1 the suspension, 0 resolved",
                    total=None, keep=True),
             Column("kind", "", "reminder | suspension | resolved", keep=True),
             Column("oldest_invoice", "", "The oldest overdue invoice's number"),
             Column("invoices", "count", "How many invoices were overdue", total=None, keep=True),
             Column("overdue", "currency", "What they still owed on the day", total=None, keep=True),
             Column("currency", "ISO 4217", "Their currency"),
             Column("days_overdue", "count", "The oldest one's days past its due date", total=None,
                    keep=True),
             Column("numbers", "", "The overdue invoices' numbers, oldest first"),
             Column("episode", "count", "The tenant's overdue episode (a new one after it had nothing overdue)",
                    total=None),
             Column("position", "count", "Log position of the step", total=None)),
    query=query,
    order=("tenant",),
    chart=False,
    notes="One row per step recorded by `ledger dunning run` (POST /v1/dunning/runs); FROM and TO are months of "
          "the run's day.",
)
