"""Errors on web pages: an HTML page in the reader's language instead of problem+json.

The API's handlers stay in charge of ``/api/…``; for every other path we answer with a page
(or, for "log in first", a redirect to the log-in form that brings the reader back).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from tierslieu.api.deps import SESSION_COOKIE
from tierslieu.errors import AuthenticationFailed, TiersLieuError
from tierslieu.models import Member
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.web.i18n import N_, choose_language
from tierslieu.web.page import Page, WebApp
from tierslieu.web.security import Csrf

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]

NOT_WEB_PREFIXES = ("/api/", "/docs", "/redoc")

# (status → English title, English explanation); the French comes from the catalogue.
_HTTP_TEXTS = {
    404: (N_("Page not found"), N_("This page does not exist or is no longer available.")),
    405: (N_("Action not allowed"), N_("This action is not possible on this page.")),
    422: (N_("Invalid request"), N_("Some information in the request is missing or incorrect.")),
    500: (N_("Unexpected error"), N_("An unexpected error occurred; it has been logged. Please try again later.")),
}


def _is_web(request: Request) -> bool:
    return not request.url.path.startswith(NOT_WEB_PREFIXES)


def _member(runtime: Runtime, request: Request) -> Member | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with runtime.db.session() as session:
            member = member_service.member_for_token(session, token)
            session.expunge(member)
            return member
    except Exception:  # an error page must render even when the database is the problem
        return None


def error_page(request: Request, status: int, title: str, message: Callable[[Page], str]) -> Response:
    """An error page; ``title`` is an English message id, ``message`` gives the text for the page."""
    runtime: Runtime = request.app.state.runtime
    web: WebApp = request.app.state.web
    member = _member(runtime, request)
    lang = choose_language(request, member.language if member else None, runtime.settings.language)
    csrf = Csrf(runtime.secrets)
    page = Page(request, runtime, web, member, lang, csrf, csrf.nonce_of(request) or csrf.new_nonce())
    return page.render("error.html", status=status, title=page.gettext(title), message=message(page))


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/connexion?suivant={quote(target, safe='')}", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install_web_error_pages(app: FastAPI) -> None:
    """Wrap the API's handlers: same behaviour under /api, HTML pages elsewhere."""
    api_handlers: dict[type[Exception], Handler] = {
        kind: app.exception_handlers[kind]  # type: ignore[misc]
        for kind in (TiersLieuError, StarletteHTTPException, RequestValidationError, Exception)
        if kind in app.exception_handlers
    }

    def wrap(kind: type[Exception], web_handler: Callable[[Request, Exception], Response]) -> None:
        api_handler = api_handlers.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if _is_web(request) or api_handler is None:
                return web_handler(request, exc)
            return await api_handler(request, exc)

        app.add_exception_handler(kind, handler)

    wrap(TiersLieuError, _domain_page)
    wrap(StarletteHTTPException, _http_page)
    wrap(RequestValidationError, _validation_page)
    wrap(Exception, _unexpected_page)


def _domain_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TiersLieuError)
    if isinstance(exc, AuthenticationFailed):
        return _login_redirect(request)
    title = {403: N_("Access denied"), 404: N_("Not found"), 409: N_("Not possible")}.get(exc.status, N_("Error"))
    return error_page(request, exc.status, title, lambda page: exc.message(page.lang))


def _http_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title, message = _HTTP_TEXTS.get(exc.status_code, (N_("Error"), N_("The request could not be handled.")))
    return error_page(request, exc.status_code, title, lambda page: page.gettext(message))


def _validation_page(request: Request, exc: Exception) -> Response:
    title, message = _HTTP_TEXTS[422]
    return error_page(request, 422, title, lambda page: page.gettext(message))


def _unexpected_page(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    title, message = _HTTP_TEXTS[500]
    return error_page(request, 500, title, lambda page: page.gettext(message))
