"""RFC 9457 problem details for every error, with a stable ``code`` and a localized ``detail``."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from tierslieu.errors import Overloaded, TiersLieuError, TooManyRequests
from tierslieu.i18n import pick_language, render

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://tierslieu.example/problems/"
MEDIA_TYPE = "application/problem+json"
DATABASE_BUSY_RETRY_S = 2

# The code (and catalogue message) of each HTTP error the framework raises by itself.
HTTP_CODES: dict[int, str] = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


def problem(
    request: Request, status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    body.update(extra or {})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def language_of(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"))


def site_tz(request: Request) -> ZoneInfo | None:
    """The site's timezone, in which the messages show dates and times."""
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings.tz if runtime is not None else None


def _problem_detail(request: Request, code: str, **params: Any) -> str:
    return render(code, params, language_of(request), site_tz(request))


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TiersLieuError)
    detail = exc.message(language_of(request), site_tz(request))
    response = problem(request, exc.status, exc.code, exc.title, detail, exc.extra)
    if isinstance(exc, (TooManyRequests, Overloaded)):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": ""}
    where = ".".join(first["loc"][1:] or first["loc"])
    detail = _problem_detail(request, "validation_error", where=where, msg=first["msg"])
    return problem(request, 422, "validation_error", "Invalid input", detail, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code)
    detail = _problem_detail(request, code) if code else str(exc.detail)
    if exc.status_code == 401 and isinstance(exc.detail, str) and exc.detail not in ("Not authenticated",):
        detail = exc.detail
    return problem(request, exc.status_code, code or "http_error", str(exc.detail), detail)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error on %s: %s", request.url.path, exc)
    return problem(request, 409, "conflict", "Conflict", _problem_detail(request, "conflict"))


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy on %s: %s", request.url.path, exc)
    response = problem(request, 503, "database_busy", "Service unavailable", _problem_detail(request, "database_busy"))
    response.headers["Retry-After"] = str(DATABASE_BUSY_RETRY_S)
    return response


async def _overflow(request: Request, exc: Exception) -> JSONResponse:
    return problem(request, 422, "number_too_large", "Invalid input", _problem_detail(request, "number_too_large"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "internal_error", "Internal error", _problem_detail(request, "internal_error"))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TiersLieuError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(DBAPIError, _database_busy)
    # No free connection within the pool timeout: a bounded wait, answered like a busy database.
    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(Exception, _unexpected)
