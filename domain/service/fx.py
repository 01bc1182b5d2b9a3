"""Commands on exchange rates: record one or many rate facts (finance).

A batch (one rate over HTTP, a CSV file from ``ledger fx import``) is all or nothing: every rate
is checked first and a bad one refuses the whole batch, naming it; then the new rates and the
corrections are saved in one transaction. A rate equal to the one recorded for its pair and date
(same rate and source) is counted as unchanged and records nothing, so a re-import is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from domain.aggregates.fx import FxFact, FxRate, check_fx_fact
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import InvalidInput
from domain.service.core import LedgerCore


@dataclass(frozen=True)
class FxOutcome:
    """What recording one rate did: ``recorded`` (new), ``corrected`` (superseded an earlier
    rate for that date) or ``unchanged`` (the same rate and source were already recorded)."""

    fact: FxFact
    status: str


@dataclass(frozen=True)
class FxReceipt:
    outcomes: tuple[FxOutcome, ...]
    position: int | None  # None: nothing was recorded

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


class FxCommands(LedgerCore):
    def record_fx_rates(self, rows: Sequence[Mapping[str, object]], *, where: Sequence[str] | None = None,
                        context: CommandContext = NO_CONTEXT) -> FxReceipt:
        """Record rate facts (dicts with base, quote, rate, effective_date, source). ``where``
        names each row in refusals (e.g. ``"line 7: "``); default ``"rates[i]: "``."""
        facts: list[FxFact] = []
        seen: dict[tuple[str, str, str], tuple[FxFact, str]] = {}
        for i, row in enumerate(rows):
            label = where[i] if where is not None else f"rates[{i}]: "
            fact = check_fx_fact(dict(row), where=label)
            key = (fact.base, fact.quote, fact.effective_date)
            earlier = seen.get(key)
            if earlier is not None:
                if (earlier[0].rate, earlier[0].source) != (fact.rate, fact.source):
                    raise InvalidInput(f"{label}rate: {fact.base}->{fact.quote} on {fact.effective_date} is given "
                                       f"twice with different rates ({earlier[1].rstrip(': ')} too)", field="rate")
                continue
            seen[key] = (fact, label)
            facts.append(fact)

        def unit() -> FxReceipt:
            changed: list[FxRate] = []
            outcomes: list[FxOutcome] = []
            now = self.now()
            for fact in facts:
                try:
                    found = self._load(fact.id, True)
                except AggregateNotFoundError:
                    changed.append(FxRate.record(fact, now))
                    outcomes.append(FxOutcome(fact, "recorded"))
                    continue
                assert isinstance(found, FxRate)
                if found.same_as(fact):
                    outcomes.append(FxOutcome(fact, "unchanged"))
                else:
                    found.correct(fact, now)
                    changed.append(found)
                    outcomes.append(FxOutcome(fact, "corrected"))
            position = self._save(context, *changed) if changed else None
            return FxReceipt(tuple(outcomes), position)
        return self._retrying(unit)

    def get_fx_rate(self, rate_id: object) -> FxRate:
        return self._get(FxRate, rate_id, what="exchange rate", field="rate_id")
