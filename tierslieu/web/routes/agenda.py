"""Agenda — the public programme without logging in: the coming public sessions with the seats
left, and the iCalendar feed the town's website and the CCAS can subscribe to. The kiosk shows
the same list in large type by the door (``/kiosk/agenda``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.db.types import utcnow
from tierslieu.web.page import PageDep
from tierslieu.web.programme_view import session_lines

__all__ = ["router"]

router = APIRouter()

KIOSK_REFRESH_SECONDS = 60
KIOSK_LINES = 8


@router.get("/agenda")
def agenda(page: PageDep, session: SessionDep) -> Response:
    return page.render(
        "agenda.html", title=page.gettext("Workshop agenda"), lines=session_lines(session, utcnow(), public_only=True)
    )


@router.get("/kiosk/agenda")
def kiosk_agenda(page: PageDep, session: SessionDep) -> Response:
    page.extra_headers["Refresh"] = str(KIOSK_REFRESH_SECONDS)
    lines = session_lines(session, utcnow(), public_only=True, limit=KIOSK_LINES)
    return page.render("kiosk_agenda.html", title=page.gettext("Workshop agenda"), lines=lines, now=utcnow())
