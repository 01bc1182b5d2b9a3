"""The read side reads the log only through the library's public API, so the library's storage
choices (compression, the application's name and thus its table) change nothing in the reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from bootstrap import open_ledger
from domain import Ledger
from projections import REPORTS, Projections

IDS_AND_ORDER = frozenset({"line_key", "event_id", "reference", "entry_id", "position", "line"})


def every_report(projections: Projections) -> dict[str, list[str]]:
    """Every report's rows, without ids (the demo's ids are random; its figures are seeded) and
    without what follows from them: the journal's source event ids and references, and log
    positions (invoices are issued per tenant, in an order that follows the ids)."""
    return {name: sorted(repr({k: v for k, v in row.items() if k not in IDS_AND_ORDER and not k.endswith("_id")})
                         for row in projections.report(name)) for name in REPORTS}


def demo_reports(url: str) -> dict[str, list[str]]:
    from cli.demo.runner import DemoOptions, run_demo

    quiet = Console(quiet=True)
    assert run_demo(DemoOptions(db=url, months=1, scale="small", seed=11, reset=False), out=quiet, err=quiet) == 0
    with Projections.open(url) as projections:
        projections.catch_up()
        return every_report(projections)


def test_a_compressed_store_gives_the_same_reports_as_the_default(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    plain = demo_reports(str(tmp_path / "plain.db"))
    monkeypatch.setenv("COMPRESSOR_TOPIC", "eventsourcing.compressor:ZlibCompressor")
    compressed_url = str(tmp_path / "compressed.db")
    compressed = demo_reports(compressed_url)
    ledger = open_ledger(compressed_url)
    try:
        first = ledger.recorder.select_notifications(None, 1)[0]
        assert not first.state.startswith(b"{"), "the store is not compressed: the test proves nothing"
    finally:
        ledger.close()
    assert all(plain[name] for name in ("utilisation", "billing", "sustainability", "capex"))
    assert compressed == plain


class RenamedLedger(Ledger):
    name = "GpuBooks"


def test_an_application_with_another_name_is_read_through_its_own_recorder(postgres_url: str) -> None:
    from tests.builders import T0, SimClock, fleet, reserve

    ledger = RenamedLedger(_env(postgres_url), clock=SimClock())
    try:
        assert ledger.recorder.events_table_name.endswith("gpubooks_events")
        reserve(fleet(ledger, gpus=4), 2, 24, 48)
        with Projections.open(postgres_url, app=ledger) as projections:
            assert projections.catch_up() == ledger.recorder.max_notification_id()
            lines = projections.report("billing")
            assert [(line["gpu_hours"], line["amount"]) for line in lines] == [(48, 120)]
            assert projections.report("utilisation", {"from": T0.isoformat(), "granularity": "month"})
            for name in ("billing", "utilisation", "capex"):
                assert projections.verify(name).ok
    finally:
        ledger.close()


def _env(url: str) -> dict[str, str]:
    from storage.urls import parse_database_url

    return parse_database_url(url).event_store_env()
