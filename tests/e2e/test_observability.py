"""Operations: /metrics, /ready, the access log and X-Request-Id."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bootstrap import create_app, open_ledger, open_projections
from projections import PROJECTION_NAMES
from projections.audit.chain import AuditChain
from server.logs import JsonFormatter, TextFormatter, log_handler
from tests.e2e.conftest import Api, ServerThread, free_port, settings_for
from tests.e2e.scenario import bearer, build_capacity

SERIES = [
    "ledger_http_requests_total", "ledger_http_request_duration_seconds_bucket", "ledger_http_requests_in_progress",
    "ledger_log_head_position", "ledger_projection_position", "ledger_projection_lag_events",
    "ledger_projection_lag_seconds", "ledger_audit_chain_lag_events", "ledger_idempotency_keys_pending",
    "ledger_db_pool_connections_in_use", "ledger_metrics_source_up", "ledger_group_commit_transactions_total",
    "ledger_group_commit_bookings_total",
]
POSTGRES_POOL_SERIES = ["ledger_db_pool_requests_waiting", "ledger_db_pool_connections_open",
                        "ledger_db_pool_connections_max"]


def scrape(client: Any) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of /metrics by sample name: [(labels, value)]."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == x for k, x in labels.items()))


def per_projection(samples: dict[str, list[tuple[dict[str, str], float]]], name: str) -> dict[str, float]:
    return {found["projection"]: v for found, v in samples[name]}


def test_metrics_names_and_the_request_counter_by_route_template(any_api: Api) -> None:
    client = any_api.client
    template = "/v1/audit/aggregates/{aggregate_id}"
    auditor = bearer(any_api.tokens["auditor"])
    client.get("/health")  # the first scrape then sees every source (the API store's pool is opened lazily)
    before = value(scrape(client), "ledger_http_requests_total", route=template, method="GET", status="404")
    for _ in range(2):
        assert client.get(f"/v1/audit/aggregates/{uuid4()}", headers=auditor).status_code == 404
    samples = scrape(client)
    expected = SERIES + (POSTGRES_POOL_SERIES if any_api.url.startswith("postgresql") else [])
    assert [name for name in expected if name not in samples] == []
    assert value(samples, "ledger_http_requests_total", route=template, method="GET", status="404") == before + 2
    assert value(samples, "ledger_http_request_duration_seconds_count", route=template, method="GET") >= 2
    # Unknown paths share one label value: a scanner cannot blow up the series count.
    client.get(f"/no/such/{uuid4()}")
    assert value(scrape(client), "ledger_http_requests_total", route="unmatched", status="404") >= 1
    assert {labels["source"]: v for labels, v in scrape(client)["ledger_metrics_source_up"]} == {
        "log": 1, "audit_chain": 1, "idempotency": 1, "pools": 1}
    if any_api.url.startswith("postgresql"):
        pools = {labels["pool"] for labels, _ in scrape(client)["ledger_db_pool_connections_open"]}
        assert pools == {"api", "ledger"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def lagging_api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The API with no projection follower (as with `ledger serve --no-projector` and no workers),
    and /ready's lag limit at 1 event."""
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url"))
    settings = settings_for(url, run_projector=False, ready_max_lag_events=1)
    if request.param == "sqlite":
        with TestClient(create_app(settings)) as client:
            yield Api(client, url)
    else:
        with ServerThread(url, run_projector=False, ready_max_lag_events=1) as base, \
                httpx.Client(base_url=base, timeout=30) as client:
            yield Api(client, url)


def test_projection_and_chain_lag_and_readiness_follow_the_workers(lagging_api: Api) -> None:
    client, url = lagging_api.client, lagging_api.url
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready" and ready.json()["max_lag_events"] == 1

    build_capacity(client, lagging_api.operator, gpus=4)  # 7 events, nobody projecting them
    samples = scrape(client)
    head = value(samples, "ledger_log_head_position")
    assert head >= 7
    assert per_projection(samples, "ledger_projection_lag_events") == dict.fromkeys(PROJECTION_NAMES, head)
    seconds = per_projection(samples, "ledger_projection_lag_seconds")
    assert all(0 < s < 600 for s in seconds.values()), seconds
    assert value(samples, "ledger_audit_chain_lag_events") == head

    not_ready = client.get("/ready")
    assert not_ready.status_code == 503
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.headers["retry-after"]
    problem = not_ready.json()
    assert problem["type"].endswith("/not-ready") and problem["status"] == 503
    assert len(problem["reasons"]) == len(PROJECTION_NAMES)
    assert all("events behind (limit 1)" in reason for reason in problem["reasons"])

    with open_projections(url) as projections:  # a `ledger project` worker catches up
        projections.catch_up()
    ledger = open_ledger(url)
    try:
        AuditChain(ledger).catch_up()
    finally:
        ledger.close()

    samples = scrape(client)
    assert value(samples, "ledger_log_head_position") == head
    assert per_projection(samples, "ledger_projection_lag_events") == dict.fromkeys(PROJECTION_NAMES, 0)
    assert per_projection(samples, "ledger_projection_lag_seconds") == dict.fromkeys(PROJECTION_NAMES, 0)
    assert per_projection(samples, "ledger_projection_position") == dict.fromkeys(PROJECTION_NAMES, head)
    assert value(samples, "ledger_audit_chain_lag_events") == 0
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["lag_events"] == dict.fromkeys(PROJECTION_NAMES, 0)
    assert ready.json()["head"] == head


def test_ready_is_503_when_the_database_does_not_answer(sqlite_url: str, tmp_path: Any) -> None:
    with TestClient(create_app(settings_for(sqlite_url, run_projector=False))) as client:
        assert client.get("/ready").status_code == 200
        services = client.app.state.services  # type: ignore[attr-defined]
        original = services.ledger.max_position
        services.ledger.max_position = lambda: (_ for _ in ()).throw(OSError("connection refused"))
        try:
            answer = client.get("/ready")
            assert client.get("/health").status_code == 200  # liveness never asks the database
            assert value(scrape(client), "ledger_metrics_source_up", source="log") == 0
        finally:
            services.ledger.max_position = original
    assert answer.status_code == 503
    assert answer.json()["reasons"] == ["database: not answering (OSError)"]


def test_access_log_is_json_with_the_fields_and_never_the_token(sqlite_api: Api,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    client = sqlite_api.client
    secret = "lgr_" + "s3cr3t" * 6
    with caplog.at_level(logging.DEBUG):
        client.get("/v1/audit/events", headers={"Authorization": f"Bearer {secret}", "X-Request-Id": "req-bad-1"})
        client.get("/v1/audit/events", headers={"Authorization": secret})  # malformed scheme
        client.get("/v1/audit/events", headers={**bearer(sqlite_api.tokens["auditor"]), "X-Request-Id": "req-ok-1"})
        client.post("/v1/sites", json={"name": secret}, headers={**bearer(secret), "Idempotency-Key": secret})
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    lines = [JsonFormatter().format(r) for r in ours] + [TextFormatter().format(r) for r in ours]
    leaked = [line for line in lines if "s3cr3t" in line or sqlite_api.tokens["auditor"] in line]
    assert leaked == []
    access = [json.loads(JsonFormatter().format(r)) for r in ours if r.name == "api.access"]
    assert len(access) == 4
    bad, _, good, post = access
    assert set(bad) >= {"timestamp", "level", "request_id", "method", "route", "status", "latency_ms", "role"}
    assert bad["timestamp"].endswith("Z") and "T" in bad["timestamp"]
    assert (bad["request_id"], bad["status"], bad["role"], bad["level"]) == ("req-bad-1", 401, None, "info")
    assert (good["request_id"], good["method"], good["route"], good["status"], good["role"]) == (
        "req-ok-1", "GET", "/v1/audit/events", 200, "auditor")
    assert good["latency_ms"] >= 0
    assert (post["route"], post["status"]) == ("/v1/sites", 401)


def test_text_lines_stay_one_line() -> None:
    record = logging.LogRecord("api", logging.WARNING, __file__, 1, "bad\nline %s", ("x\r\ny",), None)
    record.route = "/a\nb"
    text = TextFormatter().format(record)
    assert "\n" not in text and "\r" not in text
    assert json.loads(JsonFormatter().format(record))["message"] == "bad\nline x\r\ny"


@pytest.mark.parametrize("sent, echoed", [
    ("abc-123", True), ("trace:4bf92f3577b34da6a3ce929d0e0e4736/span.1", True), ("x" * 128, True),
    ("x" * 129, False), ("two words", False), ("new\tline", False), ("", False), ("é", False),
])
def test_request_id_is_echoed_when_sane_else_generated(sqlite_api: Api, sent: str, echoed: bool) -> None:
    response = sqlite_api.client.get("/health", headers={"X-Request-Id": sent.encode()})
    returned = response.headers["x-request-id"]
    if echoed:
        assert returned == sent
    else:
        assert returned != sent and len(returned) == 32 and int(returned, 16) >= 0


def test_request_id_is_on_errors_too(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/v1/audit/events", headers={"X-Request-Id": "e-1"})
    assert (response.status_code, response.headers["x-request-id"]) == (401, "e-1")
    first, second = (sqlite_api.client.get("/no/such").headers["x-request-id"] for _ in range(2))
    assert first != second


def test_a_500_and_its_traceback_carry_the_request_id(sqlite_url: str) -> None:
    app = create_app(settings_for(sqlite_url, run_projector=False))
    stream = io.StringIO()
    handler = log_handler(stream, "json")  # what `ledger serve --log-format json` installs on stderr
    root = logging.getLogger()

    def boom() -> None:
        logging.getLogger("api").warning("about to fail")
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with TestClient(app) as client:
            response = client.get("/boom", headers={"X-Request-Id": "bug-1"})
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert (response.status_code, response.headers["x-request-id"]) == (500, "bug-1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"].startswith("api")]
    assert [(line["level"], line["request_id"]) for line in lines] == [
        ("warning", "bug-1"), ("error", "bug-1"), ("info", "bug-1")]
    assert "RuntimeError: a bug" in lines[1]["exception"]
    assert (lines[2]["logger"], lines[2]["status"], lines[2]["route"]) == ("api.access", 500, "/boom")


def test_openapi_documents_ready_and_metrics() -> None:
    from config.settings import Settings

    paths = create_app(Settings(run_projector=False)).openapi()["paths"]
    ready = paths["/ready"]["get"]
    assert set(ready["responses"]) >= {"200", "503"}
    assert "application/problem+json" in ready["responses"]["503"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert "x-roles" not in ready and "x-roles" not in paths["/metrics"]["get"]


@pytest.mark.slow  # runs `ledger serve` as a child process
def test_ledger_serve_logs_each_request_once_as_json(sqlite_url: str) -> None:
    """`ledger serve --log-format json`: every stderr line is JSON, one access line per request,
    uvicorn's own access log off."""
    subprocess.run([sys.executable, "-m", "cli", "init", "--db", sqlite_url], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=os.getcwd()))
    port = free_port()
    command = [sys.executable, "-m", "cli", "serve", "--db", sqlite_url, "--port", str(port), "--log-format", "json"]
    process = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=os.getcwd()), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-Id": "boot"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "ledger serve did not start"
            time.sleep(0.1)
        httpx.get(f"http://127.0.0.1:{port}/v1/audit/events", headers={"X-Request-Id": "once-1",
                                                                         "Authorization": "Bearer lgr_nope"})
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
    once = [line for line in lines if "once-1" in json.dumps(line)]
    assert len(once) == 1 and once[0]["logger"] == "api.access" and once[0]["status"] == 401
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own lines, as JSON too
    assert "lgr_nope" not in err


@pytest.mark.slow  # runs `ledger serve` as a child process
def test_ledger_serve_refuses_an_unknown_log_format(sqlite_url: str) -> None:
    subprocess.run([sys.executable, "-m", "cli", "init", "--db", sqlite_url], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=os.getcwd()))
    done = subprocess.run([sys.executable, "-m", "cli", "serve", "--db", sqlite_url, "--log-format", "xml"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()), timeout=60)
    assert done.returncode == 2 and "xml" in done.stderr and "--log-format" in done.stderr
    assert "Traceback" not in done.stderr


def test_group_commits_reported_by_the_ledger_are_counted_in_metrics() -> None:
    from api.metrics import Metrics

    measured = Metrics(lambda: None)
    for saved in (3, 5):  # what Ledger.observe_group_commits reports after each shared transaction
        measured.count_group_commit(saved)
    body, _ = measured.exposition("")
    samples = {s.name: s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples}
    assert samples["ledger_group_commit_transactions_total"] == 2
    assert samples["ledger_group_commit_bookings_total"] == 8
