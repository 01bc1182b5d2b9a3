"""Names next to ids: report rows carry site and tenant ids; people read names.

:class:`Names` looks the names up once from the ledger (sites and tenants are small aggregates)
and :func:`with_names` puts them next to the ids they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain import Ledger, LedgerError


@dataclass
class Names:
    sites: dict[str, str] = field(default_factory=dict)
    tenants: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, ledger: Ledger, site_ids: Iterable[Any] = (), tenant_ids: Iterable[Any] = ()) -> Names:
        names = cls()
        for ident in {str(s) for s in site_ids if s}:
            try:
                names.sites[ident] = ledger.get_site(ident).name
            except LedgerError:
                continue
        for ident in {str(t) for t in tenant_ids if t}:
            try:
                names.tenants[ident] = ledger.get_tenant(ident).name
            except LedgerError:
                continue
        return names

    @classmethod
    def for_rows(cls, ledger: Ledger, rows: Iterable[Mapping[str, Any]]) -> Names:
        rows = list(rows)
        return cls.load(ledger, (r.get("site_id") for r in rows), (r.get("tenant_id") for r in rows))


def with_names(rows: Iterable[Mapping[str, Any]], names: Names) -> list[dict[str, Any]]:
    """Rows with ``site`` / ``tenant`` name columns placed before the ids they name."""
    out = []
    for row in rows:
        named: dict[str, Any] = {}
        if "site_id" in row:
            named["site"] = names.sites.get(str(row["site_id"]), row["site_id"])
        if "tenant_id" in row:
            named["tenant"] = names.tenants.get(str(row["tenant_id"]), row["tenant_id"])
        named.update(row)
        out.append(named)
    return out
