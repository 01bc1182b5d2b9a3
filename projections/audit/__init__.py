"""The auditor's toolkit: hash chain (tamper evidence), JSON Lines export/import, state as of
a past time or position. See README, Auditors."""

from projections.audit.chain import AuditChain, ChainReport, Head, canonical_bytes
from projections.audit.export import ImportReport, export_events, import_events, iter_event_records

__all__ = ["AuditChain", "ChainReport", "Head", "ImportReport", "canonical_bytes", "export_events",
           "import_events", "iter_event_records"]
