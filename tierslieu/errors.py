"""The exception tree of tierslieu, written once.

Every error a user can cause is a :class:`TiersLieuError` carrying a stable machine ``code`` and
the parameters of its message, never a sentence: ``raise Conflict("session_full", seats=3)``.
The sentence, in French or English, comes from the one catalogue (:mod:`tierslieu.i18n`).
The API turns these errors into RFC 9457 problem details.

    TiersLieuError
    ├── InvalidInput          422  a value is malformed or impossible
    ├── NotFound              404  the thing does not exist (or is not visible to the caller)
    ├── Conflict              409  the request clashes with stored state (duplicates, overlaps, rules)
    │   └── RuleViolation     409  a booking rule refuses the request
    ├── AuthenticationFailed  401  no, bad or expired credentials
    ├── PermissionDenied      403  the caller's role does not allow this
    ├── TooManyRequests       429  slow down (log-in throttling); carries ``retry_after`` seconds
    └── Unavailable           503  an external system (broker, printer) cannot be reached
        └── Overloaded        503  a capacity cap is reached (live streams); carries ``retry_after``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from tierslieu.i18n import render

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "Overloaded",
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
        /,
        *,
        msgid: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        # The catalogue entry of the sentence: the code itself, unless one code has several sentences.
        self.msgid = msgid or code
        self.params: dict[str, Any] = params
        self.extra: dict[str, Any] = dict(extra or {})

    def message(self, language: str = "fr", tz: ZoneInfo | None = None) -> str:
        """The sentence for this error from the catalogue, in ``language``; datetimes shown in ``tz``."""
        return render(self.msgid, self.params, language, tz)

    @property
    def message_fr(self) -> str:
        return self.message("fr")

    @property
    def message_en(self) -> str:
        return self.message("en")

    def __str__(self) -> str:
        return self.message("en")


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

    def __init__(self, code: str, /, *, retry_after: int, **params: Any) -> None:
        super().__init__(code, extra={"retry_after": retry_after}, **params)
        self.retry_after = retry_after


class Unavailable(TiersLieuError):
    status = 503
    title = "Service unavailable"


class Overloaded(Unavailable):
    def __init__(self, code: str, /, *, retry_after: int, **params: Any) -> None:
        super().__init__(code, extra={"retry_after": retry_after}, **params)
        self.retry_after = retry_after
