"""The one list of read models and reports. The command line, the HTTP routes and OpenAPI,
reset, rebuild/verify and the tests all derive from it.

- A projection is a ``Projection`` subclass named in ``PROJECTIONS`` (its module declares its
  tables and handlers).
- A report is a module in ``projections/reports/`` defining ``REPORT``: found here by name.
"""

from __future__ import annotations

import importlib
import pkgutil

import projections.reports as _reports_package
from projections.billing import Billing
from projections.capex import Capex
from projections.closes import Closes
from projections.commercial import Commercial
from projections.deferral import Deferral
from projections.dunning import Dunning
from projections.fx import Fx
from projections.journal import Journal
from projections.projection import Projection
from projections.receivables import Receivables
from projections.reports.base import Report
from projections.sustainability import Sustainability
from projections.tenant_index import TenantIndex
from projections.utilisation import Utilisation

PROJECTIONS: tuple[type[Projection], ...] = (Utilisation, Billing, Sustainability, Capex, TenantIndex, Fx, Commercial,
                                               Journal, Deferral, Closes,
                                               Receivables, Dunning)
PROJECTION_NAMES: tuple[str, ...] = tuple(p.name for p in PROJECTIONS)


def _discover() -> dict[str, Report]:
    found: dict[str, Report] = {}
    for module in sorted(pkgutil.iter_modules(_reports_package.__path__), key=lambda m: m.name):
        if module.name == "base":
            continue
        report = getattr(importlib.import_module(f"{_reports_package.__name__}.{module.name}"), "REPORT", None)
        if isinstance(report, Report):
            if report.name in found:
                raise RuntimeError(f"two reports named {report.name!r}")
            unknown = [p for p in report.projections if p not in PROJECTION_NAMES]
            if unknown:
                raise RuntimeError(f"report {report.name!r} reads unknown projection {unknown[0]!r}")
            found[report.name] = report
    return found


REPORTS: dict[str, Report] = _discover()
REPORT_NAMES: tuple[str, ...] = tuple(REPORTS)


def checkpointed_names() -> frozenset[str]:
    """The projections some report reads (the only ones an as-of report needs checkpoints of)."""
    return frozenset(p for report in REPORTS.values() for p in report.projections)


def table_names() -> list[str]:
    """Every table the read side owns (for reset), tracking included."""
    from projections.engine import TRACKING_TABLE

    return [TRACKING_TABLE] + [t.name for p in PROJECTIONS for t in p.tables]


def report(name: str) -> Report:
    found = REPORTS.get(name)
    if found is None:
        import difflib

        close = difflib.get_close_matches(name, REPORT_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        from domain.errors import NotFound

        raise NotFound(f"report: no report named {name!r} (reports: {', '.join(REPORT_NAMES)}){hint}",
                       field="report")
    return found
