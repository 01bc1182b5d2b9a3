"""Issuing and revoking tokens on a store named by its ``--db`` URL: what `ledger token create`
and `ledger token revoke` do (each opens the API's tables, does one thing, and closes them)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from access.tokens import Role, create_token, token_id
from access.tokens import revoke_token as revoke_in
from storage.api_store import ApiStore


def issue_token(url: str, role: str, tenant_id: UUID | None = None, *,
                expires_in: timedelta | None = None) -> tuple[str, str]:
    """A new bearer token (shown once; the store keeps its SHA-256) and its id. ValueError on a
    role that does not exist or a tenant given to the wrong role."""
    try:
        chosen = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    store = ApiStore.open(url)
    try:
        token = create_token(store, chosen, tenant_id, expires_in=expires_in)
    finally:
        store.close()
    return token, token_id(token)


def revoke_token(url: str, reference: str) -> str:
    """Revoke the token given by itself, its id or its shown prefix; returns its id (ValueError
    when nothing or several tokens match)."""
    store = ApiStore.open(url)
    try:
        return revoke_in(store, reference)
    finally:
        store.close()
