"""Names next to ids: report rows carry site and tenant ids; people read names.

The one implementation is the read operation's (``projections.queries.Names``, ``with_names``):
re-exported here for the command line's own tables (``ledger demo``, name filters)."""

from __future__ import annotations

from projections.queries import Names, with_names

__all__ = ["Names", "with_names"]
