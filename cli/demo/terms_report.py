"""The demo's sections on commercial terms: "Commitments", "Credits" and "Revenue recognition"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console

from cli.names import Names
from cli.render import Format, render
from projections.queries import totals_by
from projections.registry import REPORTS

RECOGNITION_NOTE = ("recognised = amount due - tax + paid credits consumed + breakage (expired paid credits); "
                    "tax is owed to the tax authority, never revenue; granted credits are a discount, never revenue; "
                    "buying credits is deferred revenue (a liability) until consumed or expired. Per tenant: "
                    "recognised + closing deferred = amounts due - tax + credits bought.")
MONEY = ("billed", "true_up", "granted_credits_applied", "paid_credits_applied", "amount_due", "breakage",
         "credits_purchased", "recognised")


def commitments(rows: Sequence[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    return [{"tenant": names.tenants.get(str(r["tenant_id"]), r["tenant_id"]),
             "period": f"{r['period_start']} .. {r['period_end']}", "currency": r["currency"],
             "commitment": r["commitment"], "eligible_spend": r["eligible_spend"], "true_up": r["true_up"],
             "termination_fee": r["termination_fee"]} for r in rows]


def credits(rows: Sequence[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    return [{"tenant": names.tenants.get(str(r["tenant_id"]), r["tenant_id"]), "when": str(r["recorded_at"])[:16],
             "entry": r["kind"], "invoice_month": r["invoice_month"], "note": r["note"], "currency": r["currency"],
             "amount": r["amount"], "of_which_paid": r["paid_amount"], "balance": r["balance"],
             "paid_balance": r["paid_balance"]} for r in rows]


def recognition(rows: Sequence[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    """Per tenant over the months asked: the revenue report's own totals per tenant (flows summed,
    the deferred revenue at the last month's end)."""
    out = [{"tenant": names.tenants.get(str(tenant), str(tenant)), "currency": total["currency"],
            **{m: total[m] for m in (*MONEY, "deferred_closing")}}
           for (tenant,), total in totals_by(REPORTS["revenue"], rows, ("tenant_id",))]
    return sorted(out, key=lambda r: str(r["tenant"]))


def print_terms_sections(projections: Any, names: Names, first: str, last: str, out: Console) -> None:
    table = Format.table
    render(commitments(projections.report("commitments"), names), table, console=out,
           title="Commitments: committed spend per period, settled on the invoice of its last month "
                 "(true-up = max(0, commitment - eligible spend))", empty="no settled periods")
    render(credits(projections.report("credits"), names), table, console=out,
           title="Credits: prepaid wallets, every change of the balance (applied in the order priority, "
                 "soonest expiry, oldest)", empty="no wallets")
    render(recognition(projections.report("revenue", {"from": first, "to": last}), names), table, console=out,
           title=f"Revenue recognition per tenant, {first} to {last} (each in the tenant's currency)",
           caption=RECOGNITION_NOTE, labels={"deferred_closing": "Deferred (closing)"})
