"""Agenda — the public programme without logging in: the coming public sessions with the seats
left, and the iCalendar feed the town's website and the CCAS can subscribe to. The kiosk shows
the same list in large type by the door (``/kiosk/agenda``). Same service as the public JSON and
iCalendar API, so the page, the kiosk and the feed never disagree."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.db.types import utcnow
from tierslieu.programme.public_agenda import DEFAULT_AHEAD, public_sessions
from tierslieu.web.page import PageDep
from tierslieu.web.programme_view import site_contact

__all__ = ["router"]

router = APIRouter()

KIOSK_REFRESH_SECONDS = 60
KIOSK_LINES = 8


@router.get("/agenda")
def agenda(page: PageDep, session: SessionDep, ecran: bool = False) -> Response:
    if ecran:  # the screen by the door, also reachable as /kiosk/agenda
        return kiosk_agenda(page, session)
    now = utcnow()
    sessions = public_sessions(session, since=now, until=now + DEFAULT_AHEAD)
    contact = site_contact(session, page.gettext("Trilport third place"))
    return page.render("agenda.html", title=page.gettext("Workshop agenda"), sessions=sessions, contact=contact)


@router.get("/kiosk/agenda")
def kiosk_agenda(page: PageDep, session: SessionDep) -> Response:
    now = utcnow()
    sessions = public_sessions(session, since=now, until=now + DEFAULT_AHEAD)[:KIOSK_LINES]
    page.extra_headers["Refresh"] = str(KIOSK_REFRESH_SECONDS)
    return page.render("kiosk_agenda.html", title=page.gettext("Workshop agenda"), sessions=sessions, now=now)
