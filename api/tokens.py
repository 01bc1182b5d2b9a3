"""Bearer tokens: issued once by the command line, stored as a SHA-256 hash with a role."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from uuid import UUID

from api.store import ApiStore

TOKEN_PREFIX = "lgr_"
CACHE_SECONDS = 10.0


class Role(str, Enum):
    operator = "operator"
    finance = "finance"
    tenant = "tenant"
    auditor = "auditor"
    meter = "meter"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, the tenant of a tenant token, and a scope for idempotency keys."""

    role: Role
    tenant_id: UUID | None
    scope: str  # the token's hash: keys are scoped to the caller

    def sees_tenant(self, tenant_id: UUID) -> bool:
        return self.role is not Role.tenant or self.tenant_id == tenant_id


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: ApiStore, role: Role, tenant_id: UUID | None = None) -> str:
    """Store the hash of a new random token and return the token (shown once, never stored)."""
    if (role is Role.tenant) != (tenant_id is not None):
        raise ValueError("a tenant token needs --tenant, and only a tenant token takes one")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as tx:
        tx.execute("INSERT INTO api_tokens (token_hash, role, tenant_id, created_at) VALUES (?, ?, ?, ?)",
                   (token_hash(token), role.value, str(tenant_id) if tenant_id else None,
                    datetime.now(timezone.utc).isoformat()))
    return token


class TokenBook:
    """Looks tokens up by hash, with a short cache so a busy client costs one query per 10 s."""

    def __init__(self, store: ApiStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def principal(self, token: str) -> Principal | None:
        digest = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.store.transaction() as tx:
            row = tx.one("SELECT role, tenant_id FROM api_tokens WHERE token_hash = ?", (digest,))
        if row is None:
            return None  # unknown tokens are not cached: a token created a moment later works at once
        found = Principal(Role(row[0]), UUID(row[1]) if row[1] else None, digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, found)
        return found
