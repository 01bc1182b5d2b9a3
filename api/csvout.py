"""Reports as CSV for `Accept: text/csv` (the serialiser is the command line's too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request, Response

from projections.reports.serialise import to_csv


def wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "").lower()


def csv_response(rows: Sequence[Mapping[str, Any]], filename: str, columns: Sequence[str] | None = None) -> Response:
    """Columns are ``columns`` (a report's declared columns) or the union of the rows' keys."""
    return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
