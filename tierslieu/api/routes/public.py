"""The public agenda, without login: upcoming public sessions with their seats left, as JSON
and as an iCalendar feed the town's website and the CCAS can link to."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from fastapi import Depends, Query, Response

from tierslieu.api.deps import PUBLIC, LanguageDep, RuntimeDep, SessionDep
from tierslieu.api.periods import local_period
from tierslieu.api.routes.calendars import ICS_MEDIA_TYPE, ICS_RESPONSE
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.public import PublicSessionOut
from tierslieu.db.types import utcnow
from tierslieu.i18n import render
from tierslieu.programme.public_agenda import DEFAULT_AHEAD, PublicSession, agenda_ics, public_sessions
from tierslieu.runtime import Runtime

router = PrefixRouter(prefix="/public", tags=["public agenda"], dependencies=[Depends(PUBLIC)])

MAX_DAYS = 366
PUBLIC_CACHE = "public, max-age=300"


def _sessions(
    session: SessionDep, runtime: Runtime, first: date | None, last: date | None, available: bool
) -> list[PublicSession]:
    tz, now = runtime.settings.tz, utcnow()
    today = now.astimezone(tz).date()
    first = first or today
    last = last or (now + DEFAULT_AHEAD).astimezone(tz).date()
    since, until = local_period(first, last, tz, max_days=MAX_DAYS)
    return public_sessions(session, since=max(since, now), until=until, only_available=available)


@router.get("/sessions", response_model=list[PublicSessionOut])
def list_public_sessions(
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    from_: date | None = Query(default=None, alias="from", description="first local day (default: now)"),
    to: date | None = Query(default=None, description="last local day, included (default: three months ahead)"),
    available: bool = Query(default=False, description="only sessions with seats left"),
) -> list[PublicSessionOut]:
    """Upcoming public sessions, soonest first, with their seats left (0: full, waitlist open)."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return [PublicSessionOut(**asdict(s)) for s in _sessions(session, runtime, from_, to, available)]


@router.get("/sessions.ics", response_class=Response, responses=ICS_RESPONSE)
def public_sessions_feed(
    session: SessionDep,
    runtime: RuntimeDep,
    language: LanguageDep,
    available: bool = Query(default=False, description="only sessions with seats left"),
) -> Response:
    """The same agenda as an iCalendar feed (subscribe to it in any calendar)."""
    settings = runtime.settings
    data = agenda_ics(
        _sessions(session, runtime, None, None, available),
        name=render("ics.agenda", {}, language),
        now=utcnow(),
        tz_key=settings.tz.key,
    )
    headers = {"Content-Disposition": 'inline; filename="agenda.ics"', "Cache-Control": PUBLIC_CACHE}
    return Response(content=data, media_type=ICS_MEDIA_TYPE, headers=headers)
