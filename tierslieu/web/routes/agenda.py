"""Agenda — the public programme without logging in: the coming public sessions with the seats
left, and the iCalendar feed the town's website and the CCAS can subscribe to. The kiosk shows
the same list in large type by the door (``/kiosk/agenda``). Same service as the public JSON and
iCalendar API, so the page, the kiosk and the feed never disagree.

With several sites, ``/agenda/<site>`` (or ``/agenda?site=<site>``) shows one site's sessions,
with its name, address and times in its timezone."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import SessionDep
from tierslieu.db.types import utcnow
from tierslieu.errors import NotFound
from tierslieu.programme.public_agenda import DEFAULT_AHEAD, PublicSession, public_sessions
from tierslieu.services.sites import ALL_SITES, site_by_slug
from tierslieu.web.page import Page, PageDep
from tierslieu.web.programme_view import site_contact

__all__ = ["router"]

router = APIRouter()

KIOSK_REFRESH_SECONDS = 60
KIOSK_LINES = 8


def _sessions(page: Page, session: Session) -> list[PublicSession]:
    """The public sessions of the page's site (every site's when none is chosen)."""
    now = utcnow()
    scope = ALL_SITES.narrow(page.site.id) if page.site is not None else ALL_SITES
    return public_sessions(session, since=now, until=now + DEFAULT_AHEAD, scope=scope)


def _show_site(page: Page, session: Session, slug: str) -> None:
    site = site_by_slug(session, slug)
    if site is None:
        raise NotFound("site_unknown", slug=slug)
    page.shown_site = site


def _agenda(page: Page, session: Session) -> Response:
    site_id = page.site.id if page.site is not None else None
    contact = site_contact(session, page.gettext("Trilport third place"), site_id)
    return page.render(
        "agenda.html",
        title=page.gettext("Workshop agenda"),
        sessions=_sessions(page, session),
        contact=contact,
        one_site=page.site is not None,
    )


@router.get("/agenda")
def agenda(page: PageDep, session: SessionDep, ecran: bool = False) -> Response:
    if ecran:  # the screen by the door, also reachable as /kiosk/agenda
        return kiosk_agenda(page, session)
    return _agenda(page, session)


@router.get("/agenda/{site_slug}")
def site_agenda(page: PageDep, session: SessionDep, site_slug: str) -> Response:
    _show_site(page, session, site_slug)
    return _agenda(page, session)


@router.get("/kiosk/agenda")
def kiosk_agenda(page: PageDep, session: SessionDep) -> Response:
    page.extra_headers["Refresh"] = str(KIOSK_REFRESH_SECONDS)
    sessions = _sessions(page, session)[:KIOSK_LINES]
    return page.render("kiosk_agenda.html", title=page.gettext("Workshop agenda"), sessions=sessions, now=utcnow())


@router.get("/kiosk/{site_slug}/agenda")
def site_kiosk_agenda(page: PageDep, session: SessionDep, site_slug: str) -> Response:
    _show_site(page, session, site_slug)
    return kiosk_agenda(page, session)
