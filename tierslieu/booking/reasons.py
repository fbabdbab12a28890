"""Why the service itself changed a booking: catalogue codes kept in ``booking.reason`` (a
staff decision keeps the staff member's own words there), put into words when shown."""

from __future__ import annotations

from typing import Final

from tierslieu.i18n import render

__all__ = ["NO_SHOW", "REQUEST_EXPIRED", "reason_text"]

NO_SHOW: Final = "booking_reason.no_show"
REQUEST_EXPIRED: Final = "booking_reason.request_expired"
_CODES = frozenset({NO_SHOW, REQUEST_EXPIRED})


def reason_text(reason: str, language: str) -> str:
    """The reason in ``language``: a code of ours rendered, anyone's own words as written."""
    return render(reason, None, language) if reason in _CODES else reason
