"""The member's iCalendar feed address, as served by ``/api/v1/calendars`` (the booking engine
owns the token; this only builds the absolute URL a calendar application needs)."""

from __future__ import annotations

from tierslieu.booking import calendar
from tierslieu.models import Member
from tierslieu.web.page import Page

__all__ = ["member_feed_url"]


def member_feed_url(page: Page, member: Member) -> str:
    base = str(page.request.base_url).rstrip("/") + page.request.scope.get("root_path", "")
    token = calendar.member_feed_token(page.runtime.secrets, member)
    return f"{base}/api/v1/calendars/members/{member.id}/{token}.ics"
