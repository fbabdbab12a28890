"""RFC 9457 problem details for every error, with a stable ``code`` and a localized ``detail``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tierslieu.api.i18n import pick_language
from tierslieu.errors import TiersLieuError, TooManyRequests

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://tierslieu.example/problems/"
MEDIA_TYPE = "application/problem+json"

_HTTP_CODES: dict[int, tuple[str, str, str]] = {
    401: ("not_authenticated", "Connexion requise.", "Authentication required."),
    403: ("forbidden", "Accès refusé.", "Forbidden."),
    404: ("not_found", "Ressource introuvable.", "Not found."),
    405: ("method_not_allowed", "Méthode non autorisée.", "Method not allowed."),
    406: ("not_acceptable", "Format de réponse non disponible.", "Not acceptable."),
    413: ("too_large", "Requête trop volumineuse.", "Request too large."),
    415: ("unsupported_media_type", "Format de requête non pris en charge.", "Unsupported media type."),
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


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TiersLieuError)
    response = problem(request, exc.status, exc.code, exc.title, exc.message(language_of(request)), exc.extra)
    if isinstance(exc, TooManyRequests):
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
    if language_of(request) == "en":
        detail = f"Invalid request: {where}: {first['msg']}"
    else:
        detail = f"Requête invalide : le champ « {where} » est incorrect ({first['msg']})."
    return problem(request, 422, "validation_error", "Invalid input", detail, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, fr, en = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail), str(exc.detail)))
    detail = en if language_of(request) == "en" else fr
    if exc.status_code == 401 and isinstance(exc.detail, str) and exc.detail not in ("Not authenticated",):
        detail = exc.detail
    return problem(request, exc.status_code, code, str(exc.detail), detail)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error on %s: %s", request.url.path, exc)
    fr = "Cette opération entre en conflit avec des données existantes (élément en double ou encore utilisé)."
    en = "This operation conflicts with existing data (a duplicate, or the item is still in use)."
    return problem(request, 409, "conflict", "Conflict", en if language_of(request) == "en" else fr)


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy on %s: %s", request.url.path, exc)
    fr = "Le service est momentanément occupé : réessayez dans un instant."
    en = "The service is busy: please retry in a moment."
    return problem(request, 503, "database_busy", "Service unavailable", en if language_of(request) == "en" else fr)


async def _overflow(request: Request, exc: Exception) -> JSONResponse:
    fr = "Un nombre de la requête est trop grand."
    en = "A number in the request is too large."
    return problem(request, 422, "number_too_large", "Invalid input", en if language_of(request) == "en" else fr)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    fr = "Une erreur inattendue s'est produite ; elle a été enregistrée."
    en = "An unexpected error occurred; it has been logged."
    return problem(request, 500, "internal_error", "Internal error", en if language_of(request) == "en" else fr)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TiersLieuError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(DBAPIError, _database_busy)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(Exception, _unexpected)
