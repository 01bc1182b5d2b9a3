"""HTTP API under load, and `ledger serve` startup time.

    python -m bench.api_load [--db URL] [--seconds 5] [--runs 3] [--concurrency 16]
    python -m bench api --db postgresql://...     (the same, as a suite of `python -m bench`)

Starts `ledger serve` in a subprocess on a fresh PostgreSQL schema (projection runner
in-process, the default), seeds capacity over HTTP, then drives 16 concurrent connections on
loopback with ``wrk`` (a C load tool, so the client does not eat the server's CPU on a 2-core
machine; an httpx/asyncio client when wrk is not installed) at:

* ``GET /health``: no auth, no database: the framework's own ceiling (the baseline);
* ``POST /v1/reservations`` (1 GPU for one hour, a new Idempotency-Key per request, as real
  clients send it);
* ``GET /v1/reports/utilisation`` for one site, by day over one month (31 rows), and the same
  by day over the whole history (~520 rows, ~110 kB: cost follows the answer's size).

Each case is run ``--runs`` times for ``--seconds``; the median requests/s and its run's
p50/p99 are reported, with the ratio to /health measured in the same run. Startup: exec of
`ledger serve` on the default store (a fresh ./ledger.db in an empty directory) to the first
200 on /health and on /openapi.json, against a bare FastAPI app under uvicorn (baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentile
from bootstrap import open_api_store

ROOT = Path(__file__).resolve().parent.parent
START = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)  # the server's wall clock refuses past starts
MODEL = "H100-SXM"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def issue(url: str, role: str, tenant: str | None = None) -> str:
    from access.tokens import Role, create_token

    store = open_api_store(url)
    try:
        return create_token(store, Role(role), uuid.UUID(tenant) if tenant else None)
    finally:
        store.close()


def wait_ready(base: str, path: str, proc: subprocess.Popen[bytes], began: float, limit: float = 60) -> float:
    """Seconds from ``began`` until ``path`` answers 200."""
    with httpx.Client(timeout=2) as client:
        while True:
            try:
                if client.get(base + path).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.perf_counter() - began > limit:
                raise RuntimeError(f"server did not answer {path}")
            time.sleep(0.01)


def start_server(args: list[str], cwd: str | None = None,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([*args, "--port", str(port), "--log-level", "warning"], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- load generation ----------------------------------------------------------------------

WRK_SCRIPT = """
local counter = 0
function init(args)
  math.randomseed(os.time() + tonumber(string.sub(tostring({}), 8), 16))
  prefix = tostring(math.random(1, 2000000000))
end
function request()
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Idempotency-Key"] = "wrk-" .. prefix .. "-" .. counter
  return wrk.format(nil, nil, headers, nil)
end
"""


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk_load(url: str, *, method: str, headers: dict[str, str], body: str | None, seconds: float,
             concurrency: int, vary_key: bool, tmpdir: str) -> dict[str, float]:
    script = Path(tmpdir) / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = [[{body}]]")
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n" + (WRK_SCRIPT if vary_key else ""))
    threads = str(min(2, concurrency))  # wrk wants at least one connection per thread
    out = subprocess.run(["wrk", "-t", threads, "-c", str(concurrency), "-d", f"{seconds}s", "--latency", "-s",
                          str(script), url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rate_per_s": rate, "p50_ms": p50, "p99_ms": p99, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else ""}


def httpx_load(url: str, *, method: str, headers: dict[str, str], body: str | None, seconds: float,
               concurrency: int, vary_key: bool, tmpdir: str) -> dict[str, float]:
    """The fallback without wrk: an asyncio client (costs the server some CPU on 2 cores)."""
    async def drive() -> dict[str, float]:
        latencies: list[float] = []
        failures = 0
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        deadline = time.perf_counter() + seconds
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            async def worker(w: int) -> None:
                nonlocal failures
                i = 0
                while time.perf_counter() < deadline:
                    i += 1
                    h = dict(headers, **({"Idempotency-Key": f"httpx-{uuid.uuid4().hex}"} if vary_key else {}))
                    began = time.perf_counter()
                    response = await client.request(method, url, headers=h, content=body)
                    latencies.append(time.perf_counter() - began)
                    failures += response.status_code >= 300
            started = time.perf_counter()
            await asyncio.gather(*(worker(w) for w in range(concurrency)))
            elapsed = time.perf_counter() - started
        return {"rate_per_s": len(latencies) / elapsed, "p50_ms": percentile(latencies, 0.5) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000, "non_2xx": failures, "socket_errors": ""}
    return asyncio.run(drive())


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` so far, from /proc (None where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serving_cpu_seconds(pid: int) -> float | None:
    """CPU time of the processes of ``ledger serve`` (PID ``pid``) that answer requests: the
    server itself and, under ``--workers N``, its worker children (``ledger-worker``); not its
    projection follower (``ledger-follower``). None where /proc has none."""
    total = process_cpu_seconds(pid)
    if total is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    for child in children:
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "ledger-worker":
                total += process_cpu_seconds(int(child)) or 0.0
        except OSError:
            continue
    return total


def load(*args: Any, **kwargs: Any) -> dict[str, float]:
    return (wrk_load if shutil.which("wrk") else httpx_load)(*args, **kwargs)


def median_run(runs: int, work: Any) -> dict[str, Any]:
    results = [work() for _ in range(runs)]
    results.sort(key=lambda r: r["rate_per_s"])
    chosen = dict(results[len(results) // 2])
    chosen["runs_rate_per_s"] = [round(r["rate_per_s"], 1) for r in results]
    return chosen


# ---- startup --------------------------------------------------------------------------------

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/health")
async def health():
    return {"status": "ok"}
"""


def startup_seconds(tmpdir: str, runs: int) -> dict[str, float]:
    """Median seconds from exec to the first 200: `ledger serve` on a fresh default SQLite store
    (/health and /openapi.json), and a bare FastAPI app under uvicorn (/health)."""
    ledger = shutil.which("ledger", path=str(Path(sys.executable).parent)) or "ledger"
    bare_dir = Path(tmpdir) / "bare"
    bare_dir.mkdir(exist_ok=True)
    (bare_dir / "bare_app.py").write_text(BARE_APP)
    health, openapi, bare = [], [], []
    for _ in range(runs):
        for path, out in (("/health", health), ("/openapi.json", openapi)):
            where = tempfile.mkdtemp(dir=tmpdir)
            began = time.perf_counter()
            proc, base = start_server([ledger, "serve", "--create"], cwd=where)
            try:
                out.append(wait_ready(base, path, proc, began))
            finally:
                stop(proc)
        began = time.perf_counter()
        proc, base = start_server([sys.executable, "-m", "uvicorn", "bare_app:app"], cwd=str(bare_dir))
        try:
            bare.append(wait_ready(base, "/health", proc, began))
        finally:
            stop(proc)
    return {"health": statistics.median(health), "openapi": statistics.median(openapi),
            "bare": statistics.median(bare)}


# ---- the suite ------------------------------------------------------------------------------

def seeded_server(url: str, tmpdir: str, env: dict[str, str] | None = None,
                  workers: int = 1) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from tests.e2e.scenario import build_capacity, register_tenant

    began = time.perf_counter()
    proc, base = start_server([sys.executable, "-c", "from cli.main import main; main()", "serve", "--db", url,
                               "--create", "--workers", str(workers)], env=env)
    wait_ready(base, "/health", proc, began)
    operator = issue(url, "operator")
    with httpx.Client(base_url=base, timeout=60) as client:
        site = build_capacity(client, operator, gpus=1_000_000)["site"]["id"]
        tenant = register_tenant(client, operator)
        # A month of bookings so that the report has something to add up.
        token = issue(url, "tenant", tenant["id"])
        for day in range(0, 31, 3):
            start = START + timedelta(days=day)
            client.post("/v1/reservations", headers={"Authorization": f"Bearer {token}"}, json={
                "site_id": site, "model": MODEL, "gpus": 8, "start": start.isoformat(),
                "end": (start + timedelta(days=2)).isoformat()}).raise_for_status()
    return proc, base, {"site": site, "tenant": token, "tenant_id": tenant["id"], "finance": issue(url, "finance")}


def run(url: str, tmpdir: str, quick: bool = False, concurrency: int = 16) -> list[dict[str, Any]]:
    from bench.common import drop_url, fresh_url

    if not url.startswith("postgres"):
        return []  # the HTTP figures are PostgreSQL's (the production store)
    seconds, runs = (3, 1) if quick else (6, 3)
    store = fresh_url(url, tmpdir)
    proc, base, seed = seeded_server(store, tmpdir)
    rows: list[dict[str, Any]] = []
    try:
        auth = {"Authorization": f"Bearer {seed['tenant']}"}
        fin = {"Authorization": f"Bearer {seed['finance']}"}
        booked = START.replace(month=3)
        body = json.dumps({"site_id": seed["site"], "model": MODEL, "gpus": 1, "start": booked.isoformat(),
                           "end": (booked + timedelta(hours=1)).isoformat()})
        month = f"{base}/v1/reports/utilisation?site_id={seed['site']}&granularity=day" \
                f"&from={START:%Y-%m-%dT%H:%M:%SZ}&to={START.replace(month=2):%Y-%m-%dT%H:%M:%SZ}"
        history = f"{base}/v1/reports/utilisation?site_id={seed['site']}&granularity=day"
        cases = [
            ("GET /health (baseline)", f"{base}/health", "GET", {}, None, False),
            ("POST /v1/reservations (Idempotency-Key)", f"{base}/v1/reservations", "POST",
             {**auth, "Content-Type": "application/json"}, body, True),
            ("GET utilisation report, 1 month by day", month, "GET", fin, None, False),
            ("GET utilisation report, all history by day", history, "GET", fin, None, False),
        ]
        baseline = None
        for name, target, method, headers, payload, vary in cases:
            result = median_run(runs, functools.partial(load, target, method=method, headers=headers, body=payload,
                                                        seconds=seconds, concurrency=concurrency, vary_key=vary,
                                                        tmpdir=tmpdir))
            baseline = baseline or result["rate_per_s"]
            rows.append({"benchmark": "api", "case": f"{name}, {concurrency} conns", **result,
                         "ratio": result["rate_per_s"] / baseline, "load": loadavg(),
                         "tool": "wrk" if shutil.which("wrk") else "httpx"})
    finally:
        stop(proc)
        drop_url(store)
    started = startup_seconds(tmpdir, 1 if quick else 3)
    for what in ("health", "openapi"):
        rows.append({"benchmark": "startup", "case": f"ledger serve (SQLite default) to first 200 on /{what}",
                     "value": started[what], "unit": "s", "ratio": started[what] / started["bare"],
                     "baseline": started["bare"], "target": "< 2 s", "met": started[what] < 2.0, "load": loadavg()})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        for row in run(args.db, tmpdir, quick=args.quick, concurrency=args.concurrency):
            if "rate_per_s" in row:
                print(f"{row['case']:<58} {row['rate_per_s']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                      f"p99 {row['p99_ms']:7.1f} ms  x{row['ratio']:.3f}  non-2xx {row['non_2xx']}  "
                      f"load {row['load']}", flush=True)
            else:
                print(f"{row['case']:<58} {row['value']:8.2f} s (bare FastAPI {row['baseline']:.2f} s)  "
                      f"load {row['load']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
