"""The API's token cache: dropped when any token is revoked (seen at most every check_seconds),
never used by writes."""

from __future__ import annotations

from pathlib import Path

from access.tokens import Role, TokenBook, create_token, revocation_version, revoke_token, token_id
from domain.storage import StoreConfig
from storage.api_store import ApiStore


def store(tmp_path: Path) -> ApiStore:
    path = str(tmp_path / "api.db")
    return ApiStore(StoreConfig(kind="sqlite", url=path, sqlite_path=path))


def test_a_revocation_drops_the_cache_at_the_next_look(tmp_path: Path) -> None:
    api = store(tmp_path)
    token, other = create_token(api, Role.operator), create_token(api, Role.finance)
    lazy, eager = TokenBook(api, check_seconds=3600), TokenBook(api, check_seconds=0)
    for book in (lazy, eager):
        assert book.principal(token) is not None and book.principal(other) is not None
    assert revocation_version(api) == 0

    revoke_token(api, token_id(token))
    revoke_token(api, token_id(token))  # twice: harmless, counted once
    assert revocation_version(api) == 1

    assert lazy.principal(token) is not None  # cached, and the next look at revocations is not due
    assert eager.principal(token) is None  # looked: the cache was dropped, the token is refused
    assert eager.principal(other) is not None  # other tokens keep working (looked up again)


def test_writes_never_use_the_cache(tmp_path: Path) -> None:
    api = store(tmp_path)
    token = create_token(api, Role.operator)
    book = TokenBook(api, check_seconds=3600)
    assert book.principal(token) is not None
    revoke_token(api, token_id(token))
    assert book.principal(token, fresh=True) is None  # a write's lookup
