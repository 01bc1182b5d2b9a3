"""FX rates as facts, over random sequences of recordings (hypothesis, SQLite): the rates in
force equal a model (the last rate recorded per pair and date), each change is exactly one
event, and recording everything again records nothing."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger, open_projections
from domain.errors import InvalidInput
from tests.builders import SimClock

fact = st.fixed_dictionaries({
    "base": st.just("EUR"), "quote": st.sampled_from(["USD", "GBP", "NOK"]),
    "rate": st.sampled_from(["1.08", "1.0842", "0.85", "11.7"]),
    "effective_date": st.sampled_from(["2026-01-30", "2026-02-27", "2026-03-31"]),
    "source": st.sampled_from(["ECB reference rate", "ECB reference rate (corrected)"])})


@settings(max_examples=30, deadline=None)
@given(batches=st.lists(st.lists(fact, min_size=1, max_size=4), min_size=1, max_size=6))
def test_rates_in_force_follow_the_last_recording_and_repeats_record_nothing(
        batches: list[list[dict[str, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "fx.db")
        ledger = open_ledger(url, clock=SimClock())
        projections = open_projections(url)
        try:
            model: dict[tuple[str, str, str], tuple[Decimal, str]] = {}
            events = 0
            for batch in batches:
                keys = [(f["base"], f["quote"], f["effective_date"]) for f in batch]
                values = [(Decimal(f["rate"]), f["source"]) for f in batch]
                conflicting = any(k == k2 and v != v2 for i, (k, v) in enumerate(zip(keys, values, strict=True))
                                  for k2, v2 in list(zip(keys, values, strict=True))[:i])
                before = ledger.max_position()
                try:
                    ledger.record_fx_rates(batch)
                except InvalidInput:
                    assert conflicting  # only a batch giving one pair and date two rates is refused
                    assert ledger.max_position() == before
                    continue
                changes = {k: v for k, v in zip(keys, values, strict=True) if model.get(k) != v}
                events += len(changes)
                model.update(changes)
                assert ledger.max_position() == events
            projections.catch_up()
            shown = {(r["base"], r["quote"], r["effective_date"]): (r["rate"], r["source"])
                     for r in projections.report("fx_rates")}
            assert shown == model
            again = ledger.record_fx_rates([{"base": b, "quote": q, "effective_date": d, "rate": str(rate),
                                             "source": source} for (b, q, d), (rate, source) in model.items()])
            assert again.position is None and ledger.max_position() == events
        finally:
            projections.close()
            ledger.close()
