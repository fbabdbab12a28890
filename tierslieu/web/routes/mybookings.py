"""Mes réservations: what is coming (series shown as one line), what is past, cancel and check in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Depends
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import EVERYONE, IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking import lifecycle
from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.booking.store import RulesCache
from tierslieu.db.types import utcnow
from tierslieu.errors import TiersLieuError
from tierslieu.models import Booking, Member
from tierslieu.web.calendar_links import member_feed_url
from tierslieu.web.i18n import N_
from tierslieu.web.page import Page, PageDep

router = PrefixRouter(prefix="/mes-reservations", dependencies=[Depends(EVERYONE)])

HISTORY = timedelta(days=180)
PAST_SHOWN = 30
_MESSAGES = {
    "annulee": N_("Your booking was cancelled."),
    "presence": N_("Your presence is recorded. Welcome!"),
    "serie": N_("The remaining bookings of the series were cancelled."),
}


@dataclass
class Line:
    """One row of the list: a booking, or a whole series (its next booking and how many remain)."""

    booking: Booking
    resource_name: str
    series_count: int = 1


def _lines(bookings: Sequence[Booking], names: dict[int, str]) -> list[Line]:
    lines: list[Line] = []
    by_series: dict[int, Line] = {}
    for booking in bookings:
        if booking.series_id is not None and booking.series_id in by_series:
            by_series[booking.series_id].series_count += 1
            continue
        line = Line(booking, names.get(booking.resource_id, "?"))
        if booking.series_id is not None:
            by_series[booking.series_id] = line
        lines.append(line)
    return lines


def _render(page: Page, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    member = page.actor
    now = utcnow()
    mine = lifecycle.list_bookings(
        session, member, lifecycle.BookingFilter(member_id=member.id, start=now - HISTORY, limit=1000)
    )
    names = {rid: res.name for rid, res in RulesCache(session).resources({b.resource_id for b in mine}).items()}
    upcoming = [b for b in mine if b.end > now and b.status in ACTIVE_STATUSES]
    past = sorted((b for b in mine if b not in upcoming), key=lambda b: b.start, reverse=True)[:PAST_SHOWN]
    new_id = page.request.query_params.get("nouvelle")
    return page.render(
        "mybookings.html",
        status=status,
        title=page.gettext("My bookings"),
        upcoming=_lines(upcoming, names),
        past=[Line(b, names.get(b.resource_id, "?")) for b in past],
        new_id=int(new_id) if new_id and new_id.isdigit() else None,
        notice=page.notice(_MESSAGES),
        error=error,
        feed_url=member_feed_url(page, member),
        now=now,
        today=now.astimezone(page.runtime.settings.tz).date(),
    )


@router.get("")
def my_bookings(page: PageDep, session: SessionDep) -> Response:
    return _render(page, session)


def _act(page: Page, session: Session, action: Callable[[Member], object], message: str) -> Response:
    try:
        action(page.actor)
    except TiersLieuError as exc:
        session.rollback()
        return _render(page, session, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/mes-reservations?message={message}")


@router.post("/{booking_id}/annuler")
def cancel(page: PageDep, session: SessionDep, booking_id: IdPath) -> Response:
    events = page.runtime.events
    return _act(
        page, session, lambda me: lifecycle.cancel(session, me, booking_id, now=utcnow(), events=events), "annulee"
    )


@router.post("/{booking_id}/presence")
def check_in(page: PageDep, session: SessionDep, booking_id: IdPath) -> Response:
    events = page.runtime.events
    return _act(
        page, session, lambda me: lifecycle.checkin(session, me, booking_id, now=utcnow(), events=events), "presence"
    )


@router.post("/serie/{series_id}/annuler")
def cancel_series(page: PageDep, session: SessionDep, series_id: IdPath) -> Response:
    def cancel_rest(me: Member) -> None:
        now: datetime = utcnow()
        wanted = lifecycle.BookingFilter(member_id=me.id, start=now, statuses=("pending", "confirmed"), limit=1000)
        for booking in lifecycle.list_bookings(session, me, wanted):
            if booking.series_id == series_id and booking.id is not None:
                lifecycle.cancel(session, me, booking.id, now=now, events=page.runtime.events)

    return _act(page, session, cancel_rest, "serie")
