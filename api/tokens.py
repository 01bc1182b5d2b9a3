"""Bearer tokens: issued once by the command line, stored as a SHA-256 hash with a role, an
optional expiry, and a revocation time once revoked (``ledger token revoke``)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from api.store import ApiStore

TOKEN_PREFIX = "lgr_"
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # stored in clear to tell tokens apart; the rest is secret
TOKEN_ID_LENGTH = 12
CACHE_SECONDS = 10.0  # how long a process trusts a looked-up token (a revocation's delay at most)


class Role(StrEnum):
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


def token_id(token: str) -> str:
    """A token's public id: the first 12 hex digits of its hash (safe to log and to show)."""
    return token_hash(token)[:TOKEN_ID_LENGTH]


def create_token(store: ApiStore, role: Role, tenant_id: UUID | None = None, *,
                 expires_in: timedelta | None = None) -> str:
    """Store the hash of a new random token and return the token (shown once, never stored).
    With ``expires_in`` the token is refused (401) from then on."""
    if (role is Role.tenant) != (tenant_id is not None):
        raise ValueError("a tenant token needs --tenant, and only a tenant token takes one")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("--expires-in must be positive")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires_at = (now + expires_in).isoformat() if expires_in is not None else None
    with store.transaction() as tx:
        tx.execute("INSERT INTO api_tokens (token_hash, role, tenant_id, created_at, prefix, expires_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (token_hash(token), role.value, str(tenant_id) if tenant_id else None, now.isoformat(),
                    token[:SHOWN_PREFIX_LENGTH], expires_at))
    return token


def revoke_token(store: ApiStore, reference: str) -> str:
    """Revoke one token named by the token itself, its id (a prefix of its hash, 8+ hex digits)
    or its shown prefix (``lgr_`` and 8+ characters); return its id. Raises ValueError when the
    reference names no token or several. Revoking twice is harmless. API processes refuse the
    token within ``CACHE_SECONDS``."""
    reference = reference.strip()
    with store.transaction() as tx:
        rows = tx.all("SELECT token_hash FROM api_tokens WHERE token_hash = ?", (token_hash(reference),))
        if not rows and len(reference) >= 8:
            if reference.startswith(TOKEN_PREFIX) and len(reference) >= len(TOKEN_PREFIX) + 8:
                prefix = reference[:SHOWN_PREFIX_LENGTH]
                rows = [r for r in tx.all("SELECT token_hash, prefix FROM api_tokens WHERE prefix = ?", (prefix,))
                        if reference.startswith(str(r[1]))]
            elif all(c in "0123456789abcdef" for c in reference.lower()):
                rows = tx.all("SELECT token_hash FROM api_tokens WHERE token_hash LIKE ?",
                              (reference.lower() + "%",))
        if not rows:
            raise ValueError(f"no token matches {reference[:16]!r}")
        if len(rows) > 1:
            raise ValueError(f"{reference[:16]!r} matches {len(rows)} tokens; give more characters")
        digest = str(rows[0][0])
        tx.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                   (datetime.now(UTC).isoformat(), digest))
    return digest[:TOKEN_ID_LENGTH]


class TokenBook:
    """Looks tokens up by hash, with a short cache so a busy client costs one query per 10 s."""

    def __init__(self, store: ApiStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, Principal, float | None]] = {}

    def principal(self, token: str) -> Principal | None:
        """The caller of a valid token; None for an unknown, revoked or expired one."""
        digest = token_hash(token)
        now = time.monotonic()
        wall = time.time()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            found, expires = cached[1], cached[2]
            return found if expires is None or wall < expires else None
        with self.store.transaction() as tx:
            row = tx.one("SELECT role, tenant_id, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?",
                         (digest,))
        if row is None or row[3] is not None:
            self._cache.pop(digest, None)
            return None  # unknown and revoked tokens are not cached: a new token works at once
        expires_at = datetime.fromisoformat(row[2]).timestamp() if row[2] else None
        if expires_at is not None and wall >= expires_at:
            return None
        found = Principal(Role(row[0]), UUID(row[1]) if row[1] else None, digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, found, expires_at)
        return found
