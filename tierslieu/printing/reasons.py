"""Why a print job waits or stopped: a stable code and its parameters, never a sentence.

A :class:`Reason` is what the pure decisions return. Jobs, runs and printers store its code and
its JSON parameters (:meth:`Reason.params`, times in the site's timezone); :func:`describe` puts
them into words from the catalogue (``print_reason.<code>``) in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from tierslieu.i18n import render

__all__ = ["WITH_DETAIL", "Reason", "describe"]

# Codes whose sentence is followed by the detail (OctoPrint's own words) in parentheses, when known.
WITH_DETAIL: Final = frozenset(
    {"printer_offline", "printer_unreachable", "printer_error", "octoprint_garbled", "not_started", "print_failed"}
)


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str = ""  # words repeated as given: OctoPrint's message, a person's name
    until: datetime | None = None  # the limit a job did not fit before
    extra: Mapping[str, int] = field(default_factory=dict)

    def params(self, tz: ZoneInfo) -> dict[str, Any]:
        """The values of the sentence, JSON-able, as stored beside the code (times in the site's ``tz``)."""
        values: dict[str, Any] = {"detail": self.detail} if self.detail else {}
        if self.until is not None:
            values["until"] = self.until.astimezone(tz).isoformat()
        return values | dict(self.extra)


def describe(code: str, params: Mapping[str, Any], language: str = "fr", tz: ZoneInfo | None = None) -> str:
    """The stored reason ``code`` with its ``params``, in ``language``; ``""`` when there is none."""
    if not code:
        return ""
    msgid = f"print_reason.{code}"
    if code in WITH_DETAIL and params.get("detail"):
        msgid += ".with_detail"
    return render(msgid, params, language, tz)
