"""Where an event sits in the log, and the audit chain's link there.

Used by documents that must tie a paper to the log (an invoice names the position of its
``Invoice.Issued`` event and the chain link after it). Reads only -- nothing is chained and no
table is created here -- so a position the chain has not reached yet (or a store whose chain was
never started) is answered ``None``: "not yet chained".
"""

from __future__ import annotations

from uuid import UUID

from domain import Ledger
from projections.audit.chain import CHAIN_TABLE
from projections.audit.store import AuditStore


def event_position(ledger: Ledger, originator_id: UUID, version: int) -> int | None:
    """The log position of the event ``version`` of aggregate ``originator_id`` (None: not stored)."""
    store = AuditStore(ledger)
    ident: object = originator_id if store.is_postgres else originator_id.hex
    rows = store.query(f"SELECT {store.position_column} AS position FROM {store.events_table} "
                       "WHERE originator_id = ? AND originator_version = ?", (ident, version))
    return int(rows[0]["position"]) if rows else None


def chain_link_at(ledger: Ledger, position: int) -> bytes | None:
    """The chain link after the event at ``position``, or None if the chain has not reached it."""
    store = AuditStore(ledger)
    if store.is_postgres:
        found = store.query("SELECT to_regclass(?) IS NOT NULL AS found", (store.table(CHAIN_TABLE),))
    else:
        found = store.query("SELECT count(*) > 0 AS found FROM sqlite_master WHERE name = ?", (CHAIN_TABLE,))
    if not found[0]["found"]:
        return None
    rows = store.query(f"SELECT link FROM {store.table(CHAIN_TABLE)} WHERE position = ?", (position,))
    return bytes(rows[0]["link"]) if rows else None
