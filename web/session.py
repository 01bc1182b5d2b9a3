"""Dashboard sessions: a bearer token pasted once becomes a signed, HttpOnly, SameSite=Strict cookie.

The cookie holds the token's SHA-256 (never the token), a random CSRF secret and the time of
sign-in, signed with ``LEDGER_UI_SECRET`` (itsdangerous; a random key per process when unset).
Every request looks the hash up through the API's own :class:`access.tokens.TokenBook`, so a
revoked or expired token ends its sessions exactly as it ends its API access, and the session
has the token's role and tenant. Forms that write carry the CSRF secret (double-submit: the
sign-in form's secret sits in a short-lived cookie of its own until a session exists).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from access.tokens import Principal

SESSION_COOKIE = "ledger_session"
LOGIN_CSRF_COOKIE = "ledger_login_csrf"
SESSION_SECONDS = 12 * 3600  # a session lasts at most this long (and never beyond its token)
LOGIN_SECONDS = 3600  # the sign-in form's CSRF cookie
SALT = "gpu-ledger-ui-session"


@dataclass(frozen=True)
class Session:
    token_hash: str
    csrf: str
    principal: Principal


class SessionSigner:
    """Signs and reads session cookies with one key."""

    def __init__(self, secret: str | None) -> None:
        self._serializer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt=SALT)

    def dumps(self, token_hash: str, csrf: str) -> str:
        return self._serializer.dumps({"h": token_hash, "c": csrf})

    def loads(self, value: str) -> tuple[str, str] | None:
        """(token hash, csrf secret) of a valid, unexpired cookie; None otherwise."""
        try:
            data = self._serializer.loads(value, max_age=SESSION_SECONDS)
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        token_hash, csrf = data.get("h"), data.get("c")
        if not isinstance(token_hash, str) or not isinstance(csrf, str):
            return None
        return token_hash, csrf


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of a submitted secret and the expected one (any text, as UTF-8 bytes)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(str(given).encode("utf-8", "surrogatepass"),
                               str(expected).encode("utf-8", "surrogatepass"))


def secure(request: Request) -> bool:
    """Mark cookies Secure when the page was reached over HTTPS."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=secure(request))


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure(request))
