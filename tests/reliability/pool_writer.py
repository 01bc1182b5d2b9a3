"""One OS process writing one GPU pool, for the cross-process pool-lock test.

``python -m tests.reliability.pool_writer SPEC`` (SPEC: JSON with ``url``, ``site_id``,
``model``, ``tenant_id``, ``phases``: lists of operations, and ``lock``: false to drop the
cross-process lock). The process opens the ledger through ``bootstrap`` (as an API process
would), warms its cache, then for each phase prints ``ready``, waits for a line on stdin (so
that every process starts the phase at the same instant) and prints one JSON line of results.

Operations: ``["book", gpus, start, end]`` (ISO times), ``["extend", hours]`` and ``["cancel"]``
(this process's latest confirmed, not cancelled, reservation).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from bootstrap import open_ledger
from domain.errors import ConcurrencyConflict, LedgerError


def main(spec: dict[str, Any]) -> None:
    ledger = open_ledger(spec["url"])
    if not spec.get("lock", True):
        ledger.use_command_lock(None)
    lost = [0]
    save = ledger.save

    def counting_save(*aggregates: Any, **kwargs: Any) -> Any:
        try:
            return save(*aggregates, **kwargs)
        except IntegrityError:
            lost[0] += 1
            raise

    ledger.save = counting_save  # type: ignore[method-assign]
    site, tenant, model = UUID(spec["site_id"]), UUID(spec["tenant_id"]), spec["model"]
    try:
        ledger.get_pool(site, model)  # warm the cache, as a running server would be
        ledger.get_tenant(tenant)
        mine: list[UUID] = []  # confirmed, not cancelled, latest last
        for phase in spec["phases"]:
            print("ready", flush=True)
            sys.stdin.readline()
            outcomes: Counter[str] = Counter()
            confirmed: list[str] = []
            lost[0] = 0
            for op in phase:
                kind = op[0]
                try:
                    if kind == "book":
                        _, gpus, start, end = op
                        written = ledger.confirm_reservation(
                            tenant_id=tenant, site_id=site, model=model, gpus=gpus,
                            start=datetime.fromisoformat(start), end=datetime.fromisoformat(end))
                        mine.append(written.id)
                        confirmed.append(str(written.id))
                    elif kind == "extend" and mine:
                        reservation = ledger.get_reservation(mine[-1])
                        ledger.extend_reservation(mine[-1], end=reservation.end + timedelta(hours=op[1]))
                    elif kind == "cancel" and mine:
                        ledger.cancel_reservation(mine.pop())
                    else:
                        outcomes[f"{kind}:skipped"] += 1
                        continue
                    outcomes[f"{kind}:ok"] += 1
                except ConcurrencyConflict:
                    outcomes[f"{kind}:gave-up"] += 1
                except LedgerError as error:
                    outcomes[f"{kind}:{type(error).__name__}"] += 1
            print(json.dumps({"outcomes": dict(outcomes), "confirmed": confirmed, "lost_races": lost[0]}),
                  flush=True)
    finally:
        ledger.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
