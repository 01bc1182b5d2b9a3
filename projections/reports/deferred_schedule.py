"""Deferred revenue schedule: what remains deferred per tenant and when, at the latest, it is
recognised -- a waterfall by month (rules: ``projections.deferral``).

One row per tenant, currency and expiry month of the paid credits still unused: ``deferred`` is
what expires (and so is recognised as breakage, if not used first) that month;
``deferred_after`` is the tenant's deferred revenue left after that month. Credits without an
expiry come last (``expires`` = ``never``): they stay deferred until used. Per tenant and currency the
rows' ``deferred`` adds up to the revenue report's closing deferred revenue at the same point.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row
from projections.reports.billing import TENANT
from storage.database import Database

NO_EXPIRY = "9999-99"  # sorts after every month


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.deferral import GRANTS

    filters, values = "paid = 1", []
    if params.tenant_id is not None:
        filters, values = "paid = 1 AND tenant_id = ?", [params.tenant_id]
    grants = map(GRANTS.from_db, db.fetchall(f"SELECT {', '.join(GRANTS.column_names)} FROM {GRANTS.name} "
                                             f"WHERE {filters}", values))
    buckets: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for grant in grants:
        if grant.remaining > 0:
            bucket = buckets[(grant.tenant_id, grant.currency, grant.expires_month or NO_EXPIRY)]
            bucket[0] += grant.remaining
            bucket[1] += 1
    left: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for (tenant, currency, _), (amount, _count) in buckets.items():
        left[(tenant, currency)] += amount
    out: list[Row] = []
    for (tenant, currency, month), (amount, count) in sorted(buckets.items()):
        left[(tenant, currency)] -= amount
        out.append({"tenant_id": tenant, "currency": currency, "expires": "never" if month == NO_EXPIRY else month,
                    "grants": int(count), "deferred": amount, "deferred_after": left[(tenant, currency)]})
        if len(out) >= limit:
            break
    return out


REPORT = Report(
    name="deferred_schedule",
    title="Deferred revenue schedule: paid credits left, by the month they are recognised at the latest",
    projections=("deferral",),
    filters=(TENANT,),
    columns=(Column("tenant_id", "", "Tenant"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("expires", "", "Month the credits expire YYYY-MM: recognised then at the latest, as breakage "
                                   "(never: no expiry, deferred until used)"),
             Column("grants", "count", "Paid grants with credits left expiring that month", total=None),
             Column("deferred", "currency", "Deferred revenue recognised by that month at the latest"),
             Column("deferred_after", "currency", "The tenant's deferred revenue left after that month",
                    total=None)),
    query=query,
    monthly=False,
    order=("tenant", "currency"),
    chart=False,
    period="expires",
    notes="Paid credits are recognised as they are used, and at the latest when they expire. A tenant's rows add "
          "up to its closing deferred revenue in the revenue report.",
)
