"""The exception tree of tierslieu, written once.

Every error a user can cause is a :class:`TiersLieuError` carrying a stable machine ``code``,
a French message and an English one. The API turns them into RFC 9457 problem details.

    TiersLieuError
    ├── InvalidInput          422  a value is malformed or impossible
    ├── NotFound              404  the thing does not exist (or is not visible to the caller)
    ├── Conflict              409  the request clashes with stored state (duplicates, overlaps, rules)
    │   └── RuleViolation     409  a booking rule refuses the request
    ├── AuthenticationFailed  401  no, bad or expired credentials
    ├── PermissionDenied      403  the caller's role does not allow this
    ├── TooManyRequests       429  slow down (log-in throttling); carries ``retry_after`` seconds
    └── Unavailable           503  an external system (broker, printer) cannot be reached
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RuleViolation",
    "TiersLieuError",
    "TooManyRequests",
    "Unavailable",
]


class TiersLieuError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        code: str,
        message_fr: str,
        message_en: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message_en or message_fr)
        self.code = code
        self.message_fr = message_fr
        self.message_en = message_en or message_fr
        self.extra: dict[str, Any] = dict(extra or {})

    def message(self, language: str) -> str:
        return self.message_en if language == "en" else self.message_fr


class InvalidInput(TiersLieuError):
    status = 422
    title = "Invalid input"


class NotFound(TiersLieuError):
    status = 404
    title = "Not found"


class Conflict(TiersLieuError):
    status = 409
    title = "Conflict"


class RuleViolation(Conflict):
    title = "Booking rule violated"


class AuthenticationFailed(TiersLieuError):
    status = 401
    title = "Authentication required"


class PermissionDenied(TiersLieuError):
    status = 403
    title = "Forbidden"


class TooManyRequests(TiersLieuError):
    status = 429
    title = "Too many requests"

    def __init__(self, code: str, message_fr: str, message_en: str | None = None, *, retry_after: int) -> None:
        super().__init__(code, message_fr, message_en, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(TiersLieuError):
    status = 503
    title = "Service unavailable"


def not_found(what_fr: str, what_en: str, ident: object) -> NotFound:
    """A uniform 404 (``space_not_found``…) so every lookup says it the same way."""
    code = f"{what_en.replace(' ', '_')}_not_found"
    return NotFound(code, f"{what_fr} {ident} introuvable.", f"{what_en.capitalize()} {ident} not found.")
