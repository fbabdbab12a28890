"""Réserver: choose a space (or one resource) and a day, see the slots, book in two clicks.

The slot buttons are plain form submits (no JavaScript needed). A refusal re-renders the grid
with the rule's own message next to the resource it concerns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import EVERYONE, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking import service as booking_service
from tierslieu.db.types import utcnow
from tierslieu.errors import TiersLieuError
from tierslieu.models import Resource
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import site_of_resource, site_of_space, timezone_of_resource, timezone_of_space
from tierslieu.web.booking_view import bookable_spaces, build_grids, parse_day
from tierslieu.web.i18n import Formatter
from tierslieu.web.page import Page, PageDep

router = PrefixRouter(prefix="/reserver", dependencies=[Depends(EVERYONE)])


def _chosen_resources(session: Session, space_id: int | None, resource_id: int | None) -> list[Resource]:
    if resource_id is not None:
        try:
            resource = space_service.get_resource(session, resource_id)
        except TiersLieuError:
            return []
        return [resource] if resource.active else []
    if space_id is None:
        return []
    return [r for r in space_service.list_resources(session, space_id=space_id) if r.active and r.space_id == space_id]


def _render(
    page: Page,
    session: Session,
    *,
    space_id: int | None,
    resource_id: int | None,
    day_text: str | None,
    errors: dict[int, str] | None = None,
    status: int = 200,
) -> Response:
    spaces = bookable_spaces(session, page.scope)
    if space_id is None and resource_id is None and spaces:
        space_id = spaces[0].id
    if resource_id is not None and space_id is None:
        chosen = _chosen_resources(session, None, resource_id)
        space_id = chosen[0].space_id if chosen else None
    # A room of another of the reader's sites (a link) is shown; outside their sites: 403.
    page.check_site(site_of_space(session, space_id) if space_id is not None else None)
    if resource_id is not None:
        page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_space(session, space_id, page.tz)
    now = utcnow()
    today = now.astimezone(tz).date()
    day = parse_day(day_text, today)
    resources = _chosen_resources(session, space_id, resource_id)
    grids = build_grids(session, page.actor, resources, day, tz, now)
    for grid in grids:
        grid.error = (errors or {}).get(grid.resource.id or 0)
    all_resources = (
        [r for r in space_service.list_resources(session, space_id=space_id) if r.active] if space_id else []
    )
    return page.render(
        "book.html",
        status=status,
        title=page.gettext("Book"),
        fmt=Formatter(page.lang, tz),  # the slots in their site's time
        spaces=spaces,
        space_id=space_id,
        resource_id=resource_id,
        resources=all_resources,
        day=day,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        today=today,
        grids=grids,
    )


@router.get("")
def book_page(
    page: PageDep, session: SessionDep, espace: int | None = None, ressource: int | None = None, jour: str = ""
) -> Response:
    return _render(page, session, space_id=espace, resource_id=ressource, day_text=jour)


@router.post("")
def book(
    page: PageDep,
    session: SessionDep,
    resource_id: Annotated[int, Form()],
    start: Annotated[str, Form()],
    minutes: Annotated[int, Form(ge=1, le=31 * 24 * 60)],
    espace: Annotated[int | None, Form()] = None,
    ressource: Annotated[int | None, Form()] = None,
    jour: Annotated[str, Form()] = "",
) -> Response:
    page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_resource(session, resource_id, page.tz)
    try:
        begins = datetime.fromisoformat(start)
        booking, _verdict = booking_service.create_booking(
            session,
            actor=page.actor,
            resource_id=resource_id,
            member_id=None,
            start=begins,
            end=begins + timedelta(minutes=minutes),
            now=utcnow(),
            tz=tz,
            events=page.runtime.events,
        )
    except (TiersLieuError, ValueError) as exc:
        session.rollback()
        message = exc.message(page.lang) if isinstance(exc, TiersLieuError) else page.gettext("Invalid start time.")
        status = exc.status if isinstance(exc, TiersLieuError) else 422
        return _render(
            page,
            session,
            space_id=espace,
            # Show the refused resource's grid even when the form named no space.
            resource_id=ressource if ressource is not None or espace is not None else resource_id,
            day_text=jour,
            errors={resource_id: message},
            status=status,
        )
    return page.redirect(f"/mes-reservations?nouvelle={booking.id}")
