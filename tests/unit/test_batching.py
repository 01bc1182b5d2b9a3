"""Who is told of group commits (``Ledger.observe_group_commits``; /metrics counts them)."""

from __future__ import annotations

from domain.service.batching import Queues


def test_an_observer_hears_each_shared_transaction_until_it_stops() -> None:
    queues = Queues()
    first: list[int] = []
    second: list[int] = []
    stop_first = queues.observe(first.append)
    queues.observe(second.append)
    queues.counted(3)
    queues.counted(1)  # saved alone: not a group commit
    stop_first()
    queues.counted(5)
    assert first == [3] and second == [3, 5]
