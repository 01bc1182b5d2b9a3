"""Carbon on billing lines equals the sustainability report, per tenant and month, to the gram,
over random histories (reservations, extensions, cancellations, usage, retroactive site
revisions, invoices freezing months), on SQLite and PostgreSQL.

A line's carbon belongs to the month of use: the line's month, or for an ``adjustment`` line
(usage metered, or re-priced, after its month was invoiced) its ``origin_month``. Issued
invoices carry their lines' carbon and its totals.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.aggregates import invoice_id
from tests.postgres_server import schema_url, scratch_schema
from tests.property.test_projections_properties import History, command

GRAM = Decimal("0.001")
FIELDS = (("energy_kwh", "energy_kwh"), ("location_kgco2e", "location_kgco2e"), ("market_kgco2e", "market_kgco2e"))


def carbon_by_tenant_month_of_lines(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[Decimal]]:
    out: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for line in rows:
        month = line["origin_month"] if line["kind"] == "adjustment" and line["origin_month"] else line["month"]
        if line["kind"] == "credit":
            assert not (line["energy_kwh"] or line["location_kgco2e"] or line["market_kgco2e"])
        acc = out[(line["tenant_id"], month)]
        for i, (name, _) in enumerate(FIELDS):
            acc[i] += line[name]
    return out


def check(h: History) -> None:
    p = h.projections
    p.catch_up()
    lines = carbon_by_tenant_month_of_lines(p.billing())
    report: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for row in p.sustainability():
        acc = report[(row["tenant_id"], row["month"])]
        for i, (_, name) in enumerate(FIELDS):
            acc[i] += row[name]
    for key in set(lines) | set(report):
        got = [v.quantize(GRAM) for v in lines.get(key, [Decimal(0)] * 3)]
        want = [v.quantize(GRAM) for v in report.get(key, [Decimal(0)] * 3)]
        assert got == want, (key, got, want)
    # An issued invoice carries its lines' carbon and the totals.
    for tenant in h.tenants:
        for month in ("2026-01", "2026-02"):
            ident = invoice_id(tenant, month)
            if ident not in h.ledger.repository:
                continue
            invoice = h.ledger.get_invoice(ident)
            for name, _ in FIELDS:
                assert getattr(invoice, name) == sum((Decimal(str(line.get(name) or 0)) for line in invoice.lines),
                                                     Decimal(0))


PROPERTY = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# Histories that always meter usage before and after invoices of January and February, and may
# revise a site's factors retroactively afterwards (so adjustment lines carry carbon), mixed with
# any other command.
reserve = st.tuples(st.just("reserve"), st.integers(1, 3), st.integers(0, 24 * 50), st.integers(1, 24 * 20),
                    st.sampled_from(["H100-SXM", "GB300"]), st.integers(0, 1))
use = st.tuples(st.just("use"), st.integers(0, 30), st.integers(0, 24 * 30), st.decimals("0.001", "3", places=3))
revise = st.tuples(st.just("revise"), st.integers(0, 1), st.integers(1, 100), st.integers(0, 24 * 40))
INVOICES = [("invoice", tenant, month) for month in ("2026-01", "2026-02") for tenant in (0, 1)]
steps_strategy = st.tuples(
    st.lists(reserve, min_size=1, max_size=5), st.lists(command, max_size=8), st.lists(use, min_size=1, max_size=6),
    st.lists(st.one_of(use, revise, command), min_size=1, max_size=10),
).map(lambda parts: [*parts[0], *parts[1], *parts[2], *INVOICES, *parts[3]])


@PROPERTY
@given(steps=steps_strategy)
def test_carbon_on_billing_lines_equals_the_sustainability_report_sqlite(steps: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = History(str(Path(tmp) / "l.db"))
        try:
            for step in steps:
                h.run(step)
            check(h)
        finally:
            h.close()


@pytest.mark.postgres
@settings(PROPERTY, max_examples=8)
@given(steps=steps_strategy)
def test_carbon_on_billing_lines_equals_the_sustainability_report_postgres(steps: list[Any]) -> None:
    from tests.conftest import postgres_admin_url

    admin = postgres_admin_url()
    with scratch_schema(admin, "t_carbon_") as schema:
        h = History(schema_url(admin, schema))
        try:
            for step in steps:
                h.run(step)
            check(h)
        finally:
            h.close()
