"""Web session cookie and CSRF protection for forms.

The session cookie holds an :class:`~tierslieu.models.ApiToken` issued at log-in, so the API's
``get_current_member`` accepts it too (the live pages call the API with it). Forms carry a
signed double-submit token: a random nonce lives in an HttpOnly cookie and every form holds
that nonce signed with a key derived from the secret key; a POST whose token does not match
its cookie is refused. SameSite=Lax cookies already stop most cross-site posts; this closes the
rest (older browsers, same-site subdomains).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from tierslieu.api.deps import SESSION_COOKIE
from tierslieu.errors import PermissionDenied
from tierslieu.security import Secrets

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "Csrf", "clear_session", "csrf_guard", "safe_next", "set_session"]

CSRF_COOKIE = "tierslieu_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE_S = 24 * 3600


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


class Csrf:
    def __init__(self, secret_box: Secrets) -> None:
        self._serializer = URLSafeTimedSerializer(secret_box.derive(b"csrf"), salt="tierslieu-form")

    @staticmethod
    def nonce_of(request: Request) -> str | None:
        return request.cookies.get(CSRF_COOKIE)

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, nonce: str) -> str:
        return self._serializer.dumps(nonce)

    def matches(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        try:
            signed = self._serializer.loads(token, max_age=CSRF_MAX_AGE_S)
        except BadSignature:
            return False
        return secrets.compare_digest(str(signed), nonce)

    async def check(self, request: Request) -> None:
        """Refuse a form post whose token does not match the browser's nonce cookie."""
        form = await request.form()
        token = form.get(CSRF_FIELD)
        if not self.matches(self.nonce_of(request), token if isinstance(token, str) else None):
            raise PermissionDenied("csrf_failed")

    @staticmethod
    def remember(request: Request, response: Response, nonce: str) -> None:
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(
                CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=_secure(request), max_age=CSRF_MAX_AGE_S
            )


def set_session(request: Request, response: Response, token: str, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), max_age=max_age_s, path="/"
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths after log-in: ``//evil.example`` or ``https://…`` would be an open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def csrf_guard(request: Request) -> None:
    """Router dependency: every state-changing web request must carry a valid form token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    await Csrf(request.app.state.runtime.secrets).check(request)
