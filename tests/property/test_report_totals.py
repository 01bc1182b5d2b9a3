"""Every report's totals (``projections.queries.totals``) equal an independent recomputation from its
rows under the report's declared rules (``Column.total``): flows sum per currency; balances take
each entity's last period and sum across entities, never across periods; ratios are recomputed
from the summed parts; nothing else is totalled. Totals do not depend on the rows' order."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import MINOR_UNITS
from projections.queries import represent, totals
from projections.registry import REPORTS
from projections.reports.base import Column, Report

CURRENCIES = ("USD", "EUR", "JPY")
ENTITIES = ("a", "b", "c")
PERIODS = ("2026-01", "2026-02", "2026-03", "2026-04")


def quantity(column: Column, currency: str) -> st.SearchStrategy[Any]:
    if column.is_count:
        return st.integers(0, 10_000)
    places = MINOR_UNITS[currency] if column.money_of else 4 if column.unit == "ratio" else 6
    return st.decimals(min_value=-10**9, max_value=10**9, places=places, allow_nan=False, allow_infinity=False)


@st.composite
def rows_of(draw: st.DrawFn, report: Report) -> list[dict[str, Any]]:
    """Rows of ``report``: entities with distinct periods (each entity's last period is one row)."""
    keys = draw(st.lists(st.tuples(st.sampled_from(ENTITIES), st.sampled_from(PERIODS)), unique=True, max_size=10))
    currency_of = {entity: draw(st.sampled_from(CURRENCIES)) for entity in ENTITIES}
    out = []
    for entity, period in keys:
        currency = currency_of[entity]
        row: dict[str, Any] = {}
        for column in report.columns:
            if column.name in report.balance_of:
                row[column.name] = entity
            elif column.name == report.period:
                row[column.name] = int(period[-2:]) if column.is_count else period
            elif column.name == "currency":
                row[column.name] = currency
            elif column.name == "reporting_currency":
                row[column.name] = "USD"
            elif column.is_decimal or column.is_count:
                row[column.name] = draw(st.none() | quantity(column, currency))
            else:
                row[column.name] = f"{column.name}-{entity}"
        out.append(row)
    return out


def recomputed(report: Report, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The totals, recomputed from the rules alone."""
    rules = {c.name: c for c in report.columns if c.rule is not None}
    if not rows or not rules:
        return []
    has_currency = any(c.name == "currency" for c in report.columns)
    consolidated = any(c.name == "reporting_currency" for c in report.columns)
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["currency"] if has_currency else None].append(row)
    answers: list[tuple[Any, dict[str, Any], list[dict[str, Any]], list[Column]]] = []
    for currency in sorted(groups, key=lambda c: (c is None, str(c))):
        head: dict[str, Any] = {"currency": currency} if has_currency else {}
        if consolidated:
            head["reporting_currency"] = "USD"
            head["consolidated"] = False
        answers.append((currency, head, groups[currency], list(rules.values())))
    if consolidated:
        answers.append(("USD", {"currency": "USD", "reporting_currency": "USD", "consolidated": True}, rows,
                        [c for c in rules.values() if c.money_of != "currency"]))
    out = []
    for _, head, within, columns in answers:
        total = dict(head)
        sums: dict[str, Any] = {}
        for column in columns:
            values = [r[column.name] for r in within if r[column.name] is not None]
            if column.rule == "last":
                latest: dict[Any, dict[str, Any]] = {}
                for r in sorted(within, key=lambda r: r[report.period]):  # the later period wins
                    latest[tuple(r[k] for k in report.balance_of)] = r
                values = [r[column.name] for r in latest.values() if r[column.name] is not None]
            sums[column.name] = sum(values[1:], values[0]) if values else None
        for column in columns:
            if column.rule == "ratio":
                assert column.ratio_of is not None
                top, bottom = (sums.get(n) if n in sums else _plain_sum(within, n) for n in column.ratio_of)
                places = MINOR_UNITS.get(str(head.get("currency")), 2) if column.money_of else 4
                sums[column.name] = None if top is None or not bottom else (Decimal(top) / Decimal(bottom)).quantize(
                    Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        declared = {c.name: c for c in report.columns}
        total.update({name: represent(declared[name], value, head) for name, value in sums.items()})
        out.append(total)
    return out


def _plain_sum(rows: list[dict[str, Any]], name: str) -> Any:
    values = [r[name] for r in rows if r[name] is not None]
    return sum(values[1:], values[0]) if values else None


@pytest.mark.parametrize("name", sorted(REPORTS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_totals_follow_the_declared_rules(name: str, data: st.DataObject) -> None:
    report = REPORTS[name]
    rows = data.draw(rows_of(report))
    found = totals(report, rows)
    assert found == recomputed(report, rows)
    shuffled = data.draw(st.permutations(rows))
    assert totals(report, list(shuffled)) == found  # the rows' order does not matter


def test_balances_are_last_and_ratios_are_not_summed() -> None:
    """The rule of each kind of column, as the reports declare it."""
    rule = {(n, c.name): c.rule for n, r in REPORTS.items() for c in r.columns}
    for balance in (("revenue", "deferred_closing"), ("credits", "balance"), ("credits", "paid_balance")):
        assert rule[balance] == "last", balance
    for flow in (("billing", "amount"), ("revenue", "recognised"), ("revenue", "paid_credits_applied"),
                 ("revenue", "true_up"), ("sustainability", "energy_kwh"), ("utilisation", "used_gpu_hours")):
        assert rule[flow] == "sum", flow
    for report in REPORTS.values():
        for column in report.columns:
            if column.unit == "ratio" or column.unit.startswith(("currency per", "reporting currency per")):
                assert column.rule in (None, "ratio"), (report.name, column.name)
            if column.unit in ("", "ISO 4217", "UTC"):
                assert column.rule is None, (report.name, column.name)


def test_a_deferred_balance_is_taken_from_the_last_month_never_summed_over_months() -> None:
    report = REPORTS["revenue"]
    base = {"currency": "USD", **{c.name: Decimal(0) for c in report.columns if c.unit == "currency"}}
    rows = [{**base, "tenant_id": "a", "month": "2026-01", "recognised": Decimal("10.00"),
             "deferred_closing": Decimal("90.00")},
            {**base, "tenant_id": "a", "month": "2026-02", "recognised": Decimal("30.00"),
             "deferred_closing": Decimal("60.00")},
            {**base, "tenant_id": "b", "month": "2026-01", "recognised": Decimal("5.00"),
             "deferred_closing": Decimal("7.00")}]
    [total] = totals(report, rows)
    assert total["recognised"] == Decimal("45.00") and total["deferred_closing"] == Decimal("67.00")
