"""The double-submit CSRF token shared by web forms and cookie-authenticated API calls.

A random nonce lives in an HttpOnly cookie; a form field (web) or an ``X-CSRF-Token`` header
(API) carries that nonce signed with a key derived from the secret key. A state-changing
request authenticated by the session cookie must carry a token matching its cookie: a page of
another origin can make the browser send the cookies, but cannot read them to sign the nonce.
Bearer tokens are not sent by browsers on their own, so they need no such token.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from tierslieu.errors import PermissionDenied
from tierslieu.security import Secrets

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "Csrf", "csrf_failed", "secure_cookies"]

CSRF_COOKIE = "tierslieu_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_MAX_AGE_S = 24 * 3600


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_failed() -> PermissionDenied:
    return PermissionDenied("csrf_failed")


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
            raise csrf_failed()

    def check_header(self, request: Request) -> None:
        """Refuse a cookie-authenticated API call without a matching ``X-CSRF-Token`` header."""
        if not self.matches(self.nonce_of(request), request.headers.get(CSRF_HEADER)):
            raise csrf_failed()

    @staticmethod
    def remember(request: Request, response: Response, nonce: str) -> None:
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(
                CSRF_COOKIE,
                nonce,
                httponly=True,
                samesite="lax",
                secure=secure_cookies(request),
                max_age=CSRF_MAX_AGE_S,
            )
