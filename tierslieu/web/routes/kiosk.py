"""Écran d'accueil: a read-only screen by a door — today's schedule of one space, now and next.

Public (no log-in) and without names: only resources and times are shown. It refreshes itself
with ``<meta http-equiv="refresh">``, so it needs no JavaScript. The URL names the site
(``/kiosk/<site>/<space>``), so a screen shows its own site's times and workshops; the older
``/kiosk/<space>`` redirects there.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select
from starlette.responses import RedirectResponse, Response

from tierslieu.api.deps import IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking.store import QUOTA_STATUSES
from tierslieu.db.types import utcnow
from tierslieu.errors import NotFound
from tierslieu.models import Booking, Site, Space
from tierslieu.programme.public_agenda import DEFAULT_AHEAD, public_sessions
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import ALL_SITES, get_site, site_by_slug, site_timezone
from tierslieu.web.page import PageDep

router = PrefixRouter(prefix="/kiosk")

REFRESH_SECONDS = 60
KIOSK_WORKSHOPS = 4  # the coming public workshops shown under the day's schedule


def _todays_bookings(session: Session, resource_ids: list[int], start: datetime, end: datetime) -> list[Booking]:
    if not resource_ids:
        return []
    query = (
        select(Booking)
        .where(
            col(Booking.resource_id).in_(resource_ids),
            col(Booking.status).in_(QUOTA_STATUSES),
            col(Booking.start) < end,
            col(Booking.end) > start,
        )
        .order_by(col(Booking.start), col(Booking.id))
    )
    return list(session.exec(query).all())


@router.get("/{space_id}")
def old_kiosk(session: SessionDep, space_id: IdPath) -> Response:
    """Screens set up before sites: moved for good to the URL with the site."""
    space = space_service.get_space(session, space_id)
    if space.site_id is None:
        raise NotFound("page_not_found", id=space_id)
    site = get_site(session, space.site_id)
    return RedirectResponse(f"/kiosk/{site.slug}/{space_id}", status_code=308)


def _site_space(session: Session, slug: str, space_id: int) -> tuple[Site, Space]:
    """The space, if it is in that site (404 otherwise: a screen never shows another site)."""
    site = site_by_slug(session, slug)
    space = session.get(Space, space_id)
    if site is None or space is None or space.site_id != site.id:
        raise NotFound("page_not_found", id=f"{slug}/{space_id}")
    return site, space


@router.get("/{site_slug}/{space_id}")
def kiosk(page: PageDep, session: SessionDep, site_slug: str, space_id: IdPath) -> Response:
    site, space = _site_space(session, site_slug, space_id)
    page.shown_site = site
    tz = site_timezone(site)
    now = utcnow()
    today = now.astimezone(tz).date()
    day_start = datetime.combine(today, time(), tzinfo=tz)
    resources = {r.id: r for r in space_service.list_resources(session, space_id=space_id) if r.id is not None}
    bookings = _todays_bookings(session, list(resources), day_start, day_start + timedelta(days=1))
    current = [b for b in bookings if b.start <= now < b.end]
    upcoming = [b for b in bookings if b.start > now]
    page.extra_headers["Refresh"] = str(REFRESH_SECONDS)
    return page.render(
        "kiosk.html",
        title=space.name,
        space=space,
        names={rid: r.name for rid, r in resources.items()},
        bookings=bookings,
        current=current,
        next_booking=upcoming[0] if upcoming else None,
        now=now,
        refresh=REFRESH_SECONDS,
        sessions=public_sessions(session, since=now, until=now + DEFAULT_AHEAD, scope=ALL_SITES.narrow(site.id))[
            :KIOSK_WORKSHOPS
        ],
    )
