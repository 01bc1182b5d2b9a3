"""A realistic scenario driven through HTTP only: capacity in, money in, a tenant's booking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import uuid4

T0 = "2025-01-01T00:00:00Z"
MODEL = "H100-SXM"
# Servers run on the wall clock and refuse a start that has passed: live bookings go to March of
# next year; past ones (to meter and invoice a closed month) are operator backfills in PAST_MONTH.
FUTURE_YEAR = datetime.now(UTC).year + 1
PAST_MONTH = "2025-03"


class Client(Protocol):
    def post(self, url: str, **kwargs: Any) -> Any: ...
    def get(self, url: str, **kwargs: Any) -> Any: ...


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def build_capacity(client: Client, operator: str, gpus: int = 64) -> dict[str, Any]:
    """A UK site with ``gpus`` commissioned GPUs, paid from a funded round."""
    h = bearer(operator)
    site = ok(client.post("/v1/sites", headers=h, json={
        "name": f"UK Stargate {uuid4().hex[:6]}", "country": "GB", "grid_intensity_g_per_kwh": "225",
        "pue": "1.18", "carbon_free_share": "0.6", "effective_from": T0}))
    fund = ok(client.post("/v1/funding-rounds", headers=h, json={"name": "Series B", "currency": "USD",
                                                                 "opened_at": T0}))
    amount = str(gpus * 30_000)
    ok(client.post(f"/v1/funding-rounds/{fund['id']}/commitments", headers=h, json={
        "investor": "Fund X", "amount": amount, "currency": "USD", "equity_percent": "10"}))
    ok(client.post(f"/v1/funding-rounds/{fund['id']}/tranches", headers=h, json={
        "investor": "Fund X", "amount": amount, "currency": "USD", "received_at": T0}))
    order = ok(client.post("/v1/supply-orders", headers=h, json={
        "funding_round_id": fund["id"], "site_id": site["id"], "model": MODEL, "quantity": gpus,
        "unit_price": "25000", "currency": "USD", "placed_at": T0}))
    ok(client.post(f"/v1/supply-orders/{order['id']}/deliveries", headers=h,
                   json={"quantity": gpus, "delivered_at": T0}))
    ok(client.post(f"/v1/supply-orders/{order['id']}/commissioning", headers=h,
                   json={"quantity": gpus, "commissioned_at": T0}))
    return {"site": site, "round": fund, "order": order}


def register_tenant(client: Client, staff: str, name: str = "Lab") -> dict[str, Any]:
    return ok(client.post("/v1/tenants", headers=bearer(staff), json={
        "name": f"{name} {uuid4().hex[:6]}", "billing_currency": "USD", "rates": {MODEL: "2.50"}}))


def reserve(client: Client, token: str, site_id: str, *, gpus: int = 2, day: int = 1,
            tenant_id: str | None = None, backfill: bool = False) -> dict[str, Any]:
    """Book ``day`` (and the day after) of March: of ``FUTURE_YEAR``, or with ``backfill`` (an
    operator's token and ``tenant_id``) of ``PAST_MONTH``, hours that have passed and can be metered."""
    month = PAST_MONTH if backfill else f"{FUTURE_YEAR}-03"
    body: dict[str, Any] = {"site_id": site_id, "model": MODEL, "gpus": gpus,
                            "start": f"{month}-{day:02d}T00:00:00Z", "end": f"{month}-{day + 1:02d}T00:00:00Z"}
    if tenant_id:
        body["tenant_id"] = tenant_id
    if backfill:
        body["backfill"] = True
    return ok(client.post("/v1/reservations", headers=bearer(token), json=body))
