"""Web session cookie and CSRF protection for forms (the token itself: ``tierslieu.api.csrf``).

The session cookie holds an :class:`~tierslieu.models.ApiToken` issued at log-in, so the API's
``get_current_member`` accepts it too (the live pages call the API with it). Forms carry a
signed double-submit token: a random nonce lives in an HttpOnly cookie and every form holds
that nonce signed with a key derived from the secret key; a POST whose token does not match
its cookie is refused. SameSite=Lax cookies already stop most cross-site posts; this closes the
rest (older browsers, same-site subdomains).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tierslieu.api.csrf import CSRF_COOKIE, CSRF_FIELD, Csrf, secure_cookies
from tierslieu.api.deps import SESSION_COOKIE

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "Csrf", "clear_session", "csrf_guard", "safe_next", "set_session"]


def set_session(request: Request, response: Response, token: str, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        max_age=max_age_s,
        path="/",
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
    request.state.csrf_verified = True  # the API's cookie check (get_current_member) then passes
