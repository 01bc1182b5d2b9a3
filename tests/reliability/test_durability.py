"""Acknowledged means durable: under a steady write load, SIGKILL the `ledger serve` process
(three times); after each restart every write that got a 2xx is in the log (by id, exactly
once) and no write that got an error response is. Writes cut off without a response may or may
not have landed, but never twice.

8 client threads register sites with unique names; every 5th request carries a PUE outside the
physical range, which passes the schema and is refused by the domain (422): a refusal that
must record nothing even while the server is being killed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import init_store, open_api_store
from tests.reliability.process import LedgerServer, logged

pytestmark = pytest.mark.slow  # runs and SIGKILLs `ledger serve` processes

THREADS = 8
KILLS = 3


def site(name: str, bad: bool) -> dict[str, Any]:
    return {"name": name, "country": "GB", "grid_intensity_g_per_kwh": "200", "pue": "99" if bad else "1.2",
            "carbon_free_share": "0.5", "effective_from": "2025-01-01T00:00:00Z"}


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_every_acknowledged_write_survives_sigkill(store: str, request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue(f"{store}_url"))
    init_store(url)  # `ledger init`: the server refuses a store without a ledger
    api_store = open_api_store(url)
    token = create_token(api_store, Role.operator)
    api_store.close()
    server = LedgerServer(url, projector=False)
    acked: dict[str, str] = {}  # name -> id, from 2xx responses
    refused: dict[str, int] = {}  # name -> status of an error response
    cut_off: list[str] = []  # sent, but no response (connection reset by the kill)
    not_sent: list[str] = []  # connection refused: the server was down
    lock = threading.Lock()
    counter = itertools.count()
    stop = threading.Event()

    def writer(t: int) -> None:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
            while not stop.is_set():
                n = next(counter)
                name = f"durable-{t}-{n}"
                try:
                    response = http.post(server.base + "/v1/sites", json=site(name, bad=n % 5 == 0))
                except httpx.ConnectError:
                    with lock:
                        not_sent.append(name)
                    time.sleep(0.05)
                    continue
                except httpx.TransportError:
                    with lock:
                        cut_off.append(name)
                    time.sleep(0.05)  # the server is down: back off and retry with a new write
                    continue
                with lock:
                    if response.status_code == 201:
                        acked[name] = response.json()["id"]
                    else:
                        assert response.headers["content-type"].startswith("application/problem+json")
                        refused[name] = response.status_code

    server.start()
    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    try:
        for t in threads:
            t.start()
        for _ in range(KILLS):
            time.sleep(2.0)  # steady load
            server.kill()
            time.sleep(0.3)  # requests in flight fail; clients keep trying
            server.start()
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()

    events = logged(url, "ledger:Site.Registered")
    in_log = Counter(state["name"] for _, _, state in events)
    ids = {state["name"]: originator for _, originator, state in events}
    assert len(acked) > 50, f"too little load: {len(acked)} acknowledged"
    assert len(cut_off) > 0, "no write was in flight at a kill"
    for name, ident in acked.items():
        assert in_log[name] == 1, f"acknowledged write {name} is not in the log exactly once"
        assert ids[name] == ident
    for name, status in refused.items():
        assert in_log[name] == 0, f"refused write {name} ({status}) is in the log"
    assert set(refused.values()) == {422}
    for name in cut_off:
        assert in_log[name] <= 1
    for name in not_sent:
        assert in_log[name] == 0
    assert max(in_log.values()) == 1
    assert set(in_log) <= set(acked) | set(cut_off), "a write nobody sent or acknowledged is in the log"
    landed = sum(1 for name in cut_off if in_log[name])
    print(f"durability[{store}]: {KILLS} SIGKILLs, {len(acked) + len(refused) + len(cut_off)} writes sent, "
          f"{len(acked)} acknowledged (all in the log), {len(refused)} refused (none in the log), "
          f"{len(cut_off)} cut off in flight ({landed} of them landed), {len(not_sent)} refused connections")
