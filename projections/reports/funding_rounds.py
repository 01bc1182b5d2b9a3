"""Funding rounds: committed, received, capex committed and spent, in the round's currency."""

from __future__ import annotations

from decimal import Decimal

from domain.money import quantize
from projections.capex import ROUNDS
from projections.reports.base import Column, Params, Report, Row
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    rows = db.fetchall(f"SELECT {', '.join(ROUNDS.column_names)} FROM cap_rounds ORDER BY name, round_id LIMIT ?",
                       (limit,))
    out: list[Row] = []
    for r in map(ROUNDS.from_db, rows):
        money = {k: quantize(Decimal(getattr(r, k)), r.currency)
                 for k in ("committed", "received", "capex_committed", "spent")}
        out.append({"round_id": r.round_id, "name": r.name, "currency": r.currency, **money})
    return out


REPORT = Report(
    name="funding_rounds",
    title="Funding rounds",
    projections=("capex",),
    filters=(),
    columns=(Column("round_id", "", "Funding round"), Column("name", "", "Round name"),
             Column("currency", "ISO 4217", "The round's currency"),
             Column("committed", "currency", "Investor commitments"),
             Column("received", "currency", "Tranches received"),
             Column("capex_committed", "currency", "Supply orders placed against the round"),
             Column("spent", "currency", "Delivered units x unit price")),
    query=query,
    order=("name", "round_id"),
    balance_of=("round_id",),
)
