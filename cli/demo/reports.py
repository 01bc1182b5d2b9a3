"""The tables ``ledger demo`` prints, and the names that make report rows readable.

Projection rows carry ids; people read names. :class:`Names` looks the names up once from the
ledger (sites and tenants are small aggregates). Roll-ups (per site and month, per site and
tenant) are the reports' own totals per group (``projections.queries.totals_by``), never sums
written here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console

from cli.demo.cast import INVESTORS, USD_TO
from cli.demo.terms_report import print_terms_sections
from cli.demo.timeline import DemoSummary, month_text
from cli.names import Names
from cli.render import Format, render
from domain import Ledger
from projections.queries import totals_by
from projections.registry import REPORTS

METHOD_NOTE = ("energy = used GPU-hours x board power (NVIDIA/analyst figures, domain/reference.py) x site PUE; "
               "location-based = energy x grid intensity in force at each hour; market-based = location-based x "
               "(1 - contracted carbon-free share) -- GHG Protocol scope 2 dual reporting, operational only "
               "(Cloud Carbon Footprint / SCI style).")


class DemoNames(Names):
    @classmethod
    def from_summary(cls, ledger: Ledger, summary: DemoSummary) -> Names:
        sites = {str(i): ledger.get_site(i).name for i in summary.site_ids.values()}
        return Names(sites=sites, tenants={str(i): name for name, i in summary.tenant_ids.items()})


def fleet_by_site_and_month(rows: Sequence[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    """Utilisation rows (per site, model, month) rolled up to site and month, all models: the
    utilisation report's own totals per group (GPU-hours summed, the rates recomputed from them)."""
    models: dict[tuple[Any, Any], list[str]] = {}
    for row in rows:
        models.setdefault((row["site_id"], row["period"]), []).append(str(row["model"]))
    out = []
    for (site_id, period), total in totals_by(REPORTS["utilisation"], rows, ("site_id", "period")):
        out.append({"site": names.sites.get(str(site_id), site_id), "month": period,
                    "models": ", ".join(models[(site_id, period)]),
                    **{k: total[k] for k in ("in_service_gpu_hours", "booked_gpu_hours", "used_gpu_hours",
                                             "booking_rate", "utilisation")}})
    return sorted(out, key=lambda r: (str(r["site"]), str(r["month"])))


def top_bills(totals: Sequence[Mapping[str, Any]], lines: Sequence[Mapping[str, Any]], names: Names,
              limit: int = 8) -> list[dict[str, Any]]:
    """The month's largest bills (ranked by an illustrative USD equivalent, shown in the tenant's
    own currency) with their booked GPU-hours and invoice status."""
    hours: dict[tuple[Any, Any], Decimal] = {}
    reservations: dict[tuple[Any, Any], set[Any]] = {}
    for line in lines:
        key = (line["tenant_id"], line["month"])
        hours[key] = hours.get(key, Decimal(0)) + Decimal(line.get("gpu_hours") or 0)
        if line.get("reservation_id"):
            reservations.setdefault(key, set()).add(line["reservation_id"])
    ranked = sorted(totals, key=lambda r: -(Decimal(r["total"]) / USD_TO.get(str(r["currency"]), Decimal(1))))
    out = []
    for row in ranked[:limit]:
        key = (row["tenant_id"], row["month"])
        out.append({"tenant": names.tenants.get(str(row["tenant_id"]), row["tenant_id"]), "month": row["month"],
                    "reservations": len(reservations.get(key, ())), "gpu_hours_billed": hours.get(key, Decimal(0)),
                    "currency": row["currency"], "total": row["total"],
                    "invoice": row.get("invoice_status") or "not_invoiced"})
    return out


def carbon_by_site_and_tenant(rows: Sequence[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    """Sustainability rows rolled up to site and tenant over the months: the report's own totals per group."""
    out = [{"site": names.sites.get(str(site), site), "tenant": names.tenants.get(str(tenant), tenant),
            **{k: total[k] for k in ("used_gpu_hours", "energy_kwh", "location_kgco2e", "market_kgco2e")}}
           for (site, tenant), total in totals_by(REPORTS["sustainability"], rows, ("site_id", "tenant_id"))]
    return sorted(out, key=lambda r: (str(r["site"]), -(r["energy_kwh"] or 0)))


def capex_rounds(capex: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for row in capex.get("rounds", ()):
        out.append({"round": row.get("name"), "currency": row.get("currency"), "committed": row.get("committed"),
                    "received": row.get("received"), "capex_committed": row.get("capex_committed"),
                    "spent_on_delivered_gpus": row.get("spent"),
                    "received_not_committed": (row["received"] - row["capex_committed"])
                    if row.get("received") is not None and row.get("capex_committed") is not None else None})
    return out


def capex_pools(capex: Mapping[str, Sequence[Mapping[str, Any]]], names: Names) -> list[dict[str, Any]]:
    out = []
    for row in capex.get("pools", ()):
        out.append({"site": names.sites.get(str(row["site_id"]), row["site_id"]), "model": row["model"],
                    "gpus_ordered": row.get("gpus_ordered"), "gpus_delivered": row.get("gpus_delivered"),
                    "gpus_in_service": row.get("gpus_in_service"), "currency": row.get("currency"),
                    "capex_committed": row.get("capex_committed"), "capex_spent": row.get("capex_spent"),
                    "capex_per_gpu": row.get("capex_per_gpu")})
    return sorted(out, key=lambda r: (str(r["site"]), str(r["model"])))


def capex_payback(capex: Mapping[str, Sequence[Mapping[str, Any]]], names: Names) -> list[dict[str, Any]]:
    """Per round (by its currency), site and model: capex spent against the revenue booked there in
    every billing currency, consolidated into the round's currency by the FX rule."""
    rounds: dict[str, list[str]] = {}
    for row in capex.get("rounds", ()):
        rounds.setdefault(str(row.get("currency")), []).append(str(row.get("name")))
    out = []
    for row in capex.get("pools", ()):
        out.append({"round": ", ".join(rounds.get(str(row.get("currency")), [])),
                    "site": names.sites.get(str(row["site_id"]), row["site_id"]), "model": row["model"],
                    "currency": row.get("currency"), "capex_spent": row.get("capex_spent"),
                    "booked_gpu_hours": row.get("booked_gpu_hours"),
                    "revenue_consolidated": row.get("revenue_booked"),
                    "capex_recovered": row.get("capex_recovered"), "fx_note": row.get("fx_note") or ""})
    return sorted(out, key=lambda r: (str(r["round"]), str(r["site"]), str(r["model"])))


def fx_rate_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"pair": f"{r['base']}->{r['quote']}", "effective_date": r["effective_date"], "rate": f"{r['rate']:f}",
             "source": r["source"]} for r in rows]


def investors(ledger: Ledger, summary: DemoSummary) -> list[dict[str, Any]]:
    """The round's investors as the FundingRound aggregate holds them (commitments, equity, tranches)."""
    if summary.round_id is None:
        return []
    funding = ledger.get_funding_round(summary.round_id)
    kinds = {investor.name: investor.kind for investor in INVESTORS}
    return [{"investor": name, "kind": kinds.get(name, ""), "committed": amount,
             "equity_percent": funding.equity_percent.get(name), "received": funding.received.get(name, Decimal(0)),
             "outstanding": amount - funding.received.get(name, Decimal(0))}
            for name, amount in sorted(funding.committed.items(), key=lambda item: -item[1])]


def print_demo_reports(projections: Any, names: Names, summary: DemoSummary, out: Console,
                       ledger: Ledger | None = None) -> None:
    first = month_text(summary.start)
    last = summary.months_invoiced[-1] if summary.months_invoiced else _last_month(summary)
    table = Format.table
    utilisation = projections.utilisation(start=summary.start, end=summary.end, granularity="month")
    render(fleet_by_site_and_month(utilisation, names), table, console=out,
           title="Fleet utilisation per site and month (GPU-hours; booking rate = booked / in service, "
                 "utilisation = used / in service)")
    totals = projections.billing_totals(month_from=last, month_to=last)
    lines = projections.billing(month_from=last, month_to=last)
    render(top_bills(totals, lines, names), table, console=out,
           title=f"Top tenants' bills for {last}, the last closed month (each in the tenant's currency; "
                 "ranked at illustrative FX rates)")
    carbon = projections.sustainability(month_from=first, month_to=last)
    render(carbon_by_site_and_tenant(carbon, names), table, console=out,
           title=f"Sustainability per site and tenant, {first} to {last} (operational, tCO2e)",
           caption=METHOD_NOTE)
    capex = projections.capex()
    render(capex_rounds(capex), table, console=out, title="Capex position of the round (USD)")
    if ledger is not None:
        render(investors(ledger, summary), table, console=out, title="Series B investors (USD)",
               labels={"equity_percent": "Equity %"})
    render(capex_pools(capex, names), table, console=out,
           title="Capex per site and GPU model (unit prices illustrative, incl. system share)")
    render(fx_rate_rows(projections.report("fx_rates")), table, console=out,
           title="FX rates (1 EUR = rate; recorded as facts by finance; ECB-style reference rates, illustrative)",
           caption="Rule: the rate in force on the last day of a line's month, per line, rounded to the target "
                   "currency's minor unit; USD->EUR = 1/rate, GBP->USD = EUR->USD / EUR->GBP; a missing rate "
                   "is shown as missing, never 0.")
    render(capex_payback(capex, names), table, console=out,
           title="Capex payback per round, site and GPU model (round currency; revenue in every billing "
                 "currency consolidated at the FX rates above)", labels={"fx_note": "FX note (missing rates)"})
    print_terms_sections(projections, names, first, last, out)  # Commitments, Credits, Revenue recognition


def _last_month(summary: DemoSummary) -> str:
    year, month = summary.end.year, summary.end.month - 1
    if month == 0:
        year, month = year - 1, 12
    return f"{year:04d}-{month:02d}"
