"""The hash-chain section of docs/auditors.md is enough to write a verifier: the one below uses only the
standard library and the export file, and reproduces the head `ledger audit head` publishes."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from bootstrap import open_ledger
from projections.audit import AuditChain
from projections.audit.export import chain_for_export, export_events
from tests.builders import SimClock, fleet, reserve

# ---- an auditor's verifier, written from docs/auditors.md ("The hash chain, byte by byte") ---
VERIFIER = '''
import base64, hashlib, json, struct, sys, uuid
from datetime import datetime

def verify(lines):
    """Return (last position, hex link) of an export; raise on a link that does not follow."""
    link, position = bytes(32), 0
    for line in lines:
        e = json.loads(line)
        ident = uuid.UUID(e["aggregate_id"]).bytes
        topic, state = e["event_type"].encode("utf-8"), base64.b64decode(e["state"])
        data = (struct.pack(">QQ", e["position"], e["version"]) + struct.pack(">I", len(ident)) + ident
                + struct.pack(">I", len(topic)) + topic + struct.pack(">I", len(state)) + state)
        link, position = hashlib.sha256(link + data).digest(), e["position"]
        if e["link"] is not None and e["link"] != link.hex():
            raise ValueError(f"position {position}: link does not follow")
        decoded = json.loads(state.decode("utf-8"))  # the state: UTF-8 JSON, typed values tagged
        stamp = decoded["timestamp"]
        assert stamp["_type_"] == "datetime_iso", stamp
        assert datetime.fromisoformat(stamp["_data_"]) == datetime.fromisoformat(e["timestamp"])
    return position, link.hex()

if __name__ == "__main__":
    print("%d:%s" % verify(open(sys.argv[1], encoding="utf-8")))
'''
# ----------------------------------------------------------------------------------------------


def test_a_verifier_written_from_the_readme_reproduces_the_head(database_url: str) -> None:
    assert len(VERIFIER.strip().splitlines()) <= 30
    namespace: dict[str, object] = {}
    exec(compile(VERIFIER, "verifier.py", "exec"), namespace)
    verify = namespace["verify"]
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    try:
        f = fleet(ledger)
        for i in range(5):
            clock.advance(timedelta(minutes=7))
            reserve(f, 1, 10 * i + 1, 10 * i + 5)  # hours ahead of the clock
        stop = chain_for_export(ledger, None)
        out = io.StringIO()
        export_events(ledger, out, stop=stop, require_links=True)
        head = AuditChain(ledger).head()
        assert verify(out.getvalue().splitlines()) == (head.position, head.hex)  # type: ignore[operator]
        assert head.position == ledger.max_position()
        tampered = out.getvalue().splitlines()
        edited = json.loads(tampered[2])
        edited["version"] += 1
        tampered[2] = json.dumps(edited)
        try:
            verify(tampered)  # type: ignore[operator]
        except ValueError as error:
            assert "position" in str(error)
        else:
            raise AssertionError("an edited line went unnoticed")
    finally:
        ledger.close()


@pytest.mark.slow  # runs `ledger` as a child process
def test_export_chains_first_or_refuses_null_links(sqlite_url: str, tmp_path: object) -> None:
    from tests.e2e.cli_process import ledger as run_ledger
    from tests.e2e.cli_process import one_line

    store = open_ledger(sqlite_url, clock=SimClock())
    try:
        fleet(store)
        assert AuditChain(store).head().position == 0
        out = io.StringIO()
        try:
            export_events(store, out, require_links=True)
        except Exception as error:  # InvalidInput: a line without its link is never written silently
            assert "not chained yet" in str(error) and out.getvalue() == ""
        else:
            raise AssertionError("an unchained export went through")
    finally:
        store.close()
    unchained = run_ledger("export", "events", "--allow-unchained", "--db", sqlite_url)
    assert unchained.returncode == 0 and '"link":null' in unchained.stdout
    chained = run_ledger("export", "events", "--db", sqlite_url)
    assert chained.returncode == 0 and '"link":null' not in chained.stdout
    assert chained.stdout.count("\n") == unchained.stdout.count("\n")
    assert "to" in one_line(run_ledger("export", "events", "--from", "5", "--to", "2", "--db", sqlite_url))
