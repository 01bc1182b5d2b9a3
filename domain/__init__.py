"""The ledger's domain: aggregates, events, value types, errors and the application service.

Imports nothing from ``projections`` or ``api``, and no pydantic, fastapi or psycopg.
"""

from domain.errors import LedgerError
from domain.service import Ledger, UsageReceipt, UsageRecord, Written

__all__ = ["Ledger", "LedgerError", "UsageReceipt", "UsageRecord", "Written"]
