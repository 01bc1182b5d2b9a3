"""Bearer tokens: issued once by the command line, stored as a SHA-256 hash with a role, an
optional expiry, and a revocation time once revoked (``ledger token revoke``).

Revocation reaches every API process within ``REVOCATION_CHECK_SECONDS`` (plus one query): a
revocation bumps the one row of ``api_revocations`` in the same transaction, and each process
looks at that row at most every ``REVOCATION_CHECK_SECONDS`` (one primary-key read, done by the
request that finds the last look too old) and drops its token cache when it moved. Writes do
not use the cache at all (``fresh=True``, passed by the API's auth dependency for a method that
may change something: ``api.fresh.looks_up_afresh``): a write sent after `ledger token revoke`
returned is refused, on every process. The same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from storage.api_store import ApiStore
from storage.errors import DatabaseUnavailable

TOKEN_PREFIX = "lgr_"
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # stored in clear to tell tokens apart; the rest is secret
TOKEN_ID_LENGTH = 12
def wall_clock() -> float:
    """Seconds since the epoch: when tokens expire. A module function, so tests move time
    forward instead of sleeping."""
    return time.time()


CACHE_SECONDS = 10.0  # how long a process trusts a looked-up token (when nothing was revoked meanwhile)
REVOCATION_CHECK_SECONDS = 0.25  # how stale a process's view of revocations may get (the delay's bound)


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
    token for writes at once and for reads within ``REVOCATION_CHECK_SECONDS``."""
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
        revoked = tx.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                             (datetime.now(UTC).isoformat(), digest))
        if revoked:  # tells every API process to drop its cached tokens (TokenBook)
            tx.execute("UPDATE api_revocations SET version = version + 1 WHERE id = 1")
    return digest[:TOKEN_ID_LENGTH]


def revocation_version(store: ApiStore) -> int:
    """How many revocations the store has seen (the one row of ``api_revocations``)."""
    with store.transaction() as tx:
        row = tx.one("SELECT version FROM api_revocations WHERE id = 1")
    return int(row[0]) if row is not None else 0


class TokenBook:
    """Looks tokens up by hash, with a cache (``CACHE_SECONDS``) that is dropped whenever a token
    was revoked anywhere (checked at most every ``check_seconds``)."""

    def __init__(self, store: ApiStore, *, check_seconds: float | None = None) -> None:
        self.store = store
        self.check_seconds = REVOCATION_CHECK_SECONDS if check_seconds is None else check_seconds
        self._cache: dict[str, tuple[float, Principal, float | None]] = {}
        self._generation = 0  # bumped whenever the cache is dropped
        self._version: int | None = None  # the revocation version the cache is valid for
        self._checked_at = -math.inf  # monotonic time the version was last read (before the read)
        self._failed_at = -math.inf  # monotonic time a look at the version last failed
        self._check_lock = threading.Lock()

    def _drop_cache_if_revoked(self) -> None:
        """Drop the cache if a token was revoked since the last look (at most every check_seconds).
        One request thread reads the version; the others wait for it rather than race ahead on a
        stale cache."""
        if time.monotonic() - self._checked_at < self.check_seconds:
            return
        with self._check_lock:
            started = time.monotonic()
            if started - self._checked_at < self.check_seconds:
                return  # another thread just looked
            if started - self._failed_at < self.check_seconds:  # fail fast behind a failed look
                raise DatabaseUnavailable("the database is unavailable; retry shortly")
            try:
                version = revocation_version(self.store)
            except Exception:
                self._failed_at = time.monotonic()
                raise
            if version != self._version:
                self._generation += 1
                self._cache = {}
                self._version = version
            self._checked_at = started

    def principal(self, token: str, *, fresh: bool = False) -> Principal | None:
        """The caller of a valid token; None for an unknown, revoked or expired one. ``fresh``:
        looked up in the database, never taken from the cache (a write)."""
        return self.principal_of_hash(token_hash(token), fresh=fresh)

    def cached(self, token: str, *, checked_later: bool = False) -> Principal | None:
        """The caller from the cache alone, without any database read (None: the cache cannot
        tell, because the token is not in it, or revocations are due to be looked at). What it
        returns is what :meth:`principal` would return outside a write.

        ``checked_later``: the caller will check the token against revocations itself before
        anything it does counts (a write: api.idempotency.fresh_token_first), so a cache whose
        look at revocations is due still answers: a workload of writes alone, which never looks
        at revocations, would otherwise find the cache stale on every request."""
        if not checked_later and time.monotonic() - self._checked_at >= self.check_seconds:
            return None
        cached = self._cache.get(token_hash(token))
        if cached is None or cached[0] <= time.monotonic():
            return None
        found, expires = cached[1], cached[2]
        return found if expires is None or wall_clock() < expires else None

    def forget(self, digest: str) -> None:
        """Drop the token whose SHA-256 is ``digest`` from the cache (found revoked by a write)."""
        self._cache.pop(digest, None)

    def principal_of_hash(self, digest: str, *, fresh: bool = False) -> Principal | None:
        """The caller of the token whose SHA-256 is ``digest`` (what a dashboard session keeps);
        ``fresh``: from the database, never from the cache."""
        wall = wall_clock()
        if not fresh:
            self._drop_cache_if_revoked()
            cached = self._cache.get(digest)
            if cached is not None and cached[0] > time.monotonic():
                found, expires = cached[1], cached[2]
                return found if expires is None or wall < expires else None
        generation = self._generation
        now = time.monotonic()
        with self.store.read() as tx:
            row = tx.one("SELECT role, tenant_id, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?",
                         (digest,))
        if row is None or row[3] is not None:
            self._cache.pop(digest, None)
            return None  # unknown and revoked tokens are not cached: a new token works at once
        expires_at = datetime.fromisoformat(row[2]).timestamp() if row[2] else None
        if expires_at is not None and wall >= expires_at:
            return None
        found = Principal(Role(row[0]), UUID(row[1]) if row[1] else None, digest)
        if generation == self._generation:  # else a revocation was noticed meanwhile: this row may predate it
            if len(self._cache) > 10_000:
                self._cache = {}
            self._cache[digest] = (now + CACHE_SECONDS, found, expires_at)
        return found
