"""Replay verification: every projection rebuilt from position 0, compared with the live one."""

from __future__ import annotations

from projections import PROJECTION_NAMES, Projections, VerifyResult


def replay_all(url: str) -> list[VerifyResult]:
    """Rebuild each projection into scratch tables up to its live position and compare row for
    row (``Projections.verify``); the live tables are read, never written."""
    with Projections.open(url) as projections:
        return [projections.verify(name) for name in PROJECTION_NAMES]
