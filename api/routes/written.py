"""Helpers for write routes: the Ledger-Position header."""

from __future__ import annotations

from fastapi import Response

POSITION_HEADER = "Ledger-Position"


def mark_position(response: Response, position: int | None) -> None:
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
