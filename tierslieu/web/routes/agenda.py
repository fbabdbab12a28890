"""The public agenda page: upcoming public sessions and their seats left, without log-in and
without names (the same data as ``GET /api/v1/public/sessions``). ``?ecran=1`` is the kiosk
form: it refreshes itself every few minutes, no JavaScript needed."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Query
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.db.types import utcnow
from tierslieu.programme.public_agenda import DEFAULT_AHEAD, public_sessions
from tierslieu.web.page import PageDep

router = APIRouter()

KIOSK_REFRESH_SECONDS = 300


@router.get("/agenda")
def agenda(page: PageDep, session: SessionDep, ecran: bool = Query(default=False)) -> Response:
    now = utcnow()
    tz = page.runtime.settings.tz
    sessions = public_sessions(session, since=now, until=now + DEFAULT_AHEAD)
    days = [(day, list(items)) for day, items in groupby(sessions, key=lambda s: s.start.astimezone(tz).date())]
    if ecran:
        page.extra_headers["Refresh"] = str(KIOSK_REFRESH_SECONDS)
    response = page.render("agenda.html", title=page.gettext("Workshop agenda"), days=days, kiosk=ecran)
    if page.member is None:  # the same for everyone: shared caches may keep it a little
        response.headers["Cache-Control"] = "public, max-age=60"
    return response
