"""One module per report; each defines ``REPORT`` (see ``projections.reports.base``).

Reports are found here by ``projections.registry``: adding a report is adding a module."""
