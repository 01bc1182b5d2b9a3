"""The dashboard in a real headless browser (Debian's chromium driven by Playwright).

One server for the module on a `ledger demo --months 2` history (SQLite). Each role signs in
through the form and loads every page it may see (its navigation, every registry report it may
read, /docs and /redoc). Every page: no console error, no failed request, no request leaving the
server, and every chart drawn. Chart data equals the report API's figures; a tenant sees only
itself. Screenshots go to ``$LEDGER_SCREENSHOTS`` if set, else a temporary directory (the path
is printed). Without a browser the module is skipped with the reason, unless
``LEDGER_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import open_api_store
from projections.registry import REPORTS
from tests.e2e.cli_process import ledger
from tests.e2e.conftest import ServerThread

pytestmark = pytest.mark.slow  # drives a browser (and a uvicorn server)


def chromium() -> str | None:
    for candidate in (os.environ.get("LEDGER_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _no_browser(reason: str) -> None:
    if os.environ.get("LEDGER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LEDGER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed (pip install -e '.[test]')")
    executable = chromium()
    if executable is None:
        _no_browser("no chromium found (apt-get install chromium, or set LEDGER_CHROMIUM)")
    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield found
        found.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("ui") / "ledger.db"
    result = ledger("demo", "--months", "2", "--db", str(db))
    assert result.returncode == 0, result.stderr
    url = str(db)
    store = open_api_store(url)
    try:
        tokens = {role.value: create_token(store, role) for role in (Role.finance, Role.operator, Role.auditor)}
    finally:
        store.close()
    with ServerThread(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        totals = client.get("/v1/reports/billing_totals", headers={"Authorization": f"Bearer {tokens['finance']}"})
        tenants = sorted({r["tenant_id"] for r in totals.json()["rows"]})
        store = open_api_store(url)
        try:
            tenant_tokens = {t: create_token(store, Role.tenant, UUID(t)) for t in tenants[:2]}
        finally:
            store.close()
        yield {"base": base, "client": client, "tokens": tokens, "tenants": tenants, "tenant_tokens": tenant_tokens}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = Path(os.environ["LEDGER_SCREENSHOTS"]) if os.environ.get("LEDGER_SCREENSHOTS") \
        else tmp_path_factory.mktemp("screenshots")
    where.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {where}")
    return where


def screenshot(page: Any, path: Path, **options: Any) -> None:
    """A screenshot for people to look at (not an assertion): Chromium sometimes answers "Unable to
    capture screenshot" on a loaded machine, so it is tried three times before that fails the test."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.screenshot(path=str(path), **options)
            return
        except Error as error:
            if "Unable to capture screenshot" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(500)


class Visit:
    """A browser page that records console errors, failed requests and requests leaving the server."""

    def __init__(self, browser: Any, base: str, width: int = 1400, height: int = 1000) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        self.page.on("request", lambda r: r.url.startswith((base, "data:", f"blob:{base}"))
                     or self.problems.append(f"external: {r.url}"))
        self.in_flight: set[Any] = set()  # requests the page started that have not ended yet
        self.page.on("request", lambda r: self.in_flight.add(r))
        self.page.on("requestfinished", lambda r: self.in_flight.discard(r))
        self.page.on("requestfailed", lambda r: self.in_flight.discard(r))

    def settle(self) -> None:
        """Wait until the page is done loading.

        The dashboard's pages (/ui/...) are server-rendered: their chart data is inline, their
        scripts are synchronous and make no requests (no fetch, no timer; the icon is a data:
        URL), so once the load event has fired (page.goto and expect_navigation wait for it)
        nothing more is to come but requests already started: wait until none is in flight.
        Other pages (/docs, /redoc) fetch after loading: for them, wait for the network to be
        idle for 500 ms (Playwright's networkidle).
        """
        if not self.page.url.startswith(f"{self.base}/ui/"):
            self.page.wait_for_load_state("networkidle")
            return
        self.page.wait_for_load_state("load")
        for _ in range(1000):  # at most ~20 s
            self.page.evaluate("0")  # a round trip: the browser's pending events reach us first
            if not self.in_flight:
                return
            self.page.wait_for_timeout(20)
        raise AssertionError(f"requests still in flight: {[r.url for r in self.in_flight]}")

    def sign_in(self, token: str) -> str:
        self.page.goto(f"{self.base}/ui/login")
        self.page.fill("input[name=token]", token)
        with self.page.expect_navigation():
            self.page.click("form.login button[type=submit]")
        self.settle()
        return str(self.page.url)

    def load(self, path: str, shot: Path | None = None) -> Any:
        answer = self.page.goto(f"{self.base}{path}")
        self.settle()
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        drawn = self.page.evaluate("[document.querySelectorAll('[data-chart]').length, "
                                   "document.querySelectorAll('[data-drawn=true] canvas').length]")
        assert drawn[0] == drawn[1], (path, drawn)
        if shot is not None:
            screenshot(self.page, shot, full_page=True)
        assert self.problems == [], (path, self.problems)
        return answer

    def chart(self, chart_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.page.evaluate(f"JSON.parse(document.getElementById('{chart_id}').textContent)")
        return found

    def nav(self) -> list[str]:
        links: list[str] = self.page.evaluate("[...document.querySelectorAll('header nav a')].map(a => a.pathname)")
        return links

    def close(self) -> None:
        self.context.close()


def api_rows(served: dict[str, Any], token: str, name: str, **params: str) -> list[dict[str, Any]]:
    answer = served["client"].get(f"/v1/reports/{name}", params=params, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


def series(chart: dict[str, Any]) -> dict[str, dict[str, Decimal]]:
    return {s["label"]: {x: Decimal(v) for x, v in zip(chart["x"], s["values"], strict=True) if v is not None}
            for s in chart["series"]}


@pytest.mark.parametrize("role", ["finance", "operator", "auditor"])
def test_staff_load_every_page(browser: Any, served: dict[str, Any], shots: Path, role: str) -> None:
    visit = Visit(browser, served["base"])
    try:
        landed = visit.sign_in(served["tokens"][role])
        assert landed.endswith("/ui/audit" if role == "auditor" else "/ui/finance")
        paths = [p for p in visit.nav() if p != "/ui/tenant"] + [f"/ui/tenant?tenant_id={served['tenants'][0]}"]
        paths += [f"/ui/reports/{name}" for name in REPORTS] + ["/ui/finance?granularity=month"]
        for path in paths:
            name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")[:80]
            visit.load(path, shots / f"{role}-{name}.png")
        if role == "auditor":
            visit.load("/ui/audit")
            with visit.page.expect_navigation():
                visit.page.click("text=Verify now")
            assert "Verified:" in visit.page.inner_text("#chain")
            screenshot(visit.page, shots / "auditor-verified.png", full_page=True)
            assert visit.problems == []
    finally:
        visit.close()


def test_finance_charts_equal_the_report_api(browser: Any, served: dict[str, Any]) -> None:
    token = served["tokens"]["finance"]
    visit = Visit(browser, served["base"])
    try:
        visit.sign_in(token)
        visit.load("/ui/finance?granularity=month")
        shown = {name: visit.page.input_value(f"form.filters input[name={name}]") for name in ("from", "to")}
        assert shown["from"] and shown["to"]  # the range the page chose is in its form
        utilisation = series(visit.chart("chart-utilisation"))
        expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        headers = {c.name: c.header for r in REPORTS.values() for c in r.columns}  # series are named in words
        for row in api_rows(served, token, "utilisation", granularity="month", **shown):
            for column in ("in_service_gpu_hours", "booked_gpu_hours", "used_gpu_hours"):
                expected[headers[column]][row["period"]] += Decimal(str(row[column]))
        assert utilisation == expected
        billed = series(visit.chart("chart-billing-tenants"))
        by_tenant: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in api_rows(served, token, "billing_totals", **shown):
            by_tenant[f"Total ({row['currency']})"][row["tenant"]] += Decimal(row["total"])  # by name, as read
        assert billed == by_tenant
        carbon = series(visit.chart("chart-carbon"))
        by_site: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in api_rows(served, token, "sustainability", **shown):
            for column in ("location_kgco2e", "market_kgco2e"):  # drawn in tonnes, as the header says
                by_site[f"{headers[column]} ({row['site']})"][row["month"]] += Decimal(row[column]) / 1000
        assert carbon == by_site
        # the table beside a chart carries the same figures
        cells = visit.page.evaluate("[...document.querySelectorAll('table[data-for=chart-billing-tenants] tbody tr')]"
                                    ".map(r => [...r.children].map(c => c.textContent.trim()))")
        assert {c[0] for c in cells} == {t for per_tenant in by_tenant.values() for t in per_tenant}
    finally:
        visit.close()


def test_a_tenant_sees_only_itself(browser: Any, served: dict[str, Any], shots: Path) -> None:
    mine, other = served["tenants"][0], served["tenants"][1]
    token = served["tenant_tokens"][mine]
    visit = Visit(browser, served["base"])
    try:
        assert visit.sign_in(token).endswith("/ui/tenant")
        visit.load("/ui/tenant", shots / "tenant-home.png")
        text = visit.page.content()
        assert mine in text
        assert not any(t in text for t in served["tenants"] if t != mine)
        usage = series(visit.chart("chart-usage-days"))["GPU-hours"]
        per_day: dict[str, Decimal] = defaultdict(Decimal)
        cursor: int | None = 0
        while cursor is not None:
            listed = served["client"].get(f"/v1/tenants/{mine}/usage", params={"limit": 1000, "cursor": cursor},
                                          headers={"Authorization": f"Bearer {token}"}).json()
            for item in listed["items"]:
                per_day[item["hour"][:10]] += Decimal(item["gpu_hours"])
            cursor = listed["next_cursor"]
        later = visit.page.locator("text=Later usage").count() > 0
        shown = sorted(usage)
        if later:  # the page sums the first batches only: every day but the last shown is complete
            assert {d: usage[d] for d in shown[:-1]} == {d: per_day[d] for d in shown[:-1]}
        else:
            assert usage == per_day
        for name, report in REPORTS.items():
            if report.tenant_scoped:
                visit.load(f"/ui/reports/{name}", shots / f"tenant-report-{name}.png")
                assert not any(t in visit.page.content() for t in served["tenants"] if t != mine), name
        answer = visit.page.goto(f"{served['base']}/ui/tenant?tenant_id={other}")
        assert answer is not None and answer.status == 404
        assert other not in visit.page.inner_text("main").replace(f"tenant with id {other}", "")
        visit.problems = [p for p in visit.problems if "404" not in p and "Not Found" not in p]
    finally:
        visit.close()


def test_docs_pages_render_with_local_assets(browser: Any, served: dict[str, Any], shots: Path) -> None:
    visit = Visit(browser, served["base"])
    try:
        visit.load("/docs")
        visit.page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        screenshot(visit.page, shots / "docs.png")
        visit.load("/redoc")
        visit.page.wait_for_selector("redoc .menu-content, .menu-content", timeout=20_000)
        screenshot(visit.page, shots / "redoc.png")
        assert visit.problems == []
    finally:
        visit.close()


UUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def test_pages_read_as_words_at_1280(browser: Any, served: dict[str, Any], shots: Path) -> None:
    """The finance page, the reports index and every report page, at 1280x900, as a finance
    analyst reads them (every collapsed table opened): no UUID in the visible text (ids are for
    the CSV, the JSON and the invoice's own page), no header that is a field's name
    (``in_service_gpu_hours``), no chart legend reading ``--``, nothing wider than the window."""
    import re

    uuid = re.compile(UUID_TEXT)
    names = {c.name for r in REPORTS.values() for c in r.columns if "_" in c.name}
    visit = Visit(browser, served["base"], 1280, 900)
    try:
        visit.sign_in(served["tokens"]["finance"])
        assert visit.page.inner_text("header .who").endswith("finance")
        for path in ["/ui/finance", "/ui/reports", *(f"/ui/reports/{name}" for name in REPORTS)]:
            visit.load(path, shots / f"words-{path.strip('/').replace('/', '-')}.png")
            visit.page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            text = visit.page.inner_text("body")
            assert uuid.findall(text) == [], (path, uuid.findall(text)[:3])
            headers: list[str] = visit.page.evaluate(
                "[...document.querySelectorAll('th, .u-legend .u-label')].map(t => t.innerText.trim())")
            assert sorted(set(headers) & names) == [], path
            legends: list[str] = visit.page.evaluate(
                "[...document.querySelectorAll('.u-legend .u-value')].map(t => t.innerText.trim())")
            assert "--" not in legends, path
            labels: list[str] = visit.page.evaluate(
                "[...document.querySelectorAll('form.filters label')].map(l => l.firstChild.textContent.trim())")
            assert not any("_" in label for label in labels), (path, labels)
            assert visit.page.evaluate("document.documentElement.scrollWidth") <= 1280, path
    finally:
        visit.close()


def test_a_tenant_reads_its_name(browser: Any, served: dict[str, Any], shots: Path) -> None:
    """A tenant's page is titled with its name, the header says whose token it is, and its
    reservations are read by site and model, not by id."""
    import re

    mine = served["tenants"][0]
    name = served["client"].get(f"/v1/tenants/{mine}", headers={
        "Authorization": f"Bearer {served['tokens']['finance']}"}).json()["name"]
    visit = Visit(browser, served["base"], 1280, 900)
    try:
        visit.sign_in(served["tenant_tokens"][mine])
        visit.load("/ui/tenant", shots / "words-tenant.png")
        assert visit.page.inner_text("h1") == f"Tenant: {name}"
        assert visit.page.inner_text("header .who").endswith(f"tenant: {name}")
        assert re.findall(UUID_TEXT, visit.page.inner_text("#reservations")) == []
        assert visit.page.locator("#reservations tbody tr").count() > 0
        assert visit.page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        visit.close()
