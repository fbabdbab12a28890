"""Occupation en direct: every space with people, capacity, bookings now, doors, devices
offline and alerts. The page is rendered on the server; a small script listens to the API's
Server-Sent Events stream and reloads only the cards that changed, announcing them politely."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form
from starlette.responses import Response

from tierslieu.api.deps import STAFF, IdPath, SessionDep
from tierslieu.api.routes.emergency import reset_emergency
from tierslieu.api.routes.occupancy import OCCUPANCY_VIEWERS
from tierslieu.api.routing import PrefixRouter
from tierslieu.errors import TiersLieuError
from tierslieu.hardware.emergency import alarm_in_log, recent_lines
from tierslieu.occupancy.service import current_statuses
from tierslieu.services import devices as device_service
from tierslieu.services.sites import site_of_device
from tierslieu.web.i18n import N_
from tierslieu.web.page import Page, PageDep
from tierslieu.web.sites import SiteFilter

router = PrefixRouter(prefix="/occupation", dependencies=[Depends(OCCUPANCY_VIEWERS)])

_FIRE_WORDS = {
    "fire_alarm": N_("fire alarm"),
    "fire_release": N_("door released"),
    "fire_reset": N_("alarm reset by staff"),
    "fire_panel_offline": N_("fire panel offline"),
}

_DONE = {
    "unlock": N_("The door is held open."),
    "lock": N_("The door is held locked."),
    "auto": N_("The door is back to automatic."),
}


def _render(page: Page, template: str, *, error: str | None = None, status: int = 200) -> Response:
    done = _DONE.get(page.request.query_params.get("porte", ""))
    if page.request.query_params.get("urgence") == "reinitialisee":
        done = N_("The fire alarm is reset: the doors follow their bookings again.")
    with page.runtime.db.session() as session:
        fire_alarm_since, fire_lines = alarm_in_log(session), recent_lines(session)
        in_scope = SiteFilter(session, page.scope)
        spaces = [status for status in current_statuses(page.runtime) if in_scope.space(status.space_id)]
    doors = page.runtime.controller.doors
    if fire_alarm_since is None and doors is not None:
        fire_alarm_since = doors.emergency.since
    return page.render(
        template,
        status=status,
        title=page.gettext("Live occupancy"),
        spaces=spaces,
        can_command=page.is_staff,
        notice=page.gettext(done) if done else None,
        error=error,
        fire_alarm_since=fire_alarm_since,
        fire_lines=fire_lines,
        fire_words=_FIRE_WORDS,
    )


@router.get("")
def occupancy(page: PageDep) -> Response:
    return _render(page, "occupancy.html")


@router.get("/cartes")
def cards(page: PageDep) -> Response:
    """Just the space cards, for the live script to swap in after a change."""
    return _render(page, "occupancy_cards.html")


@router.post("/portes/{device_id}", dependencies=[Depends(STAFF)])
def command_door(
    page: PageDep, session: SessionDep, device_id: IdPath, action: Annotated[str, Form()] = ""
) -> Response:
    """Hold a door open or locked, or give it back to the controller (same service as the API)."""
    page.check_site(site_of_device(session, device_id))
    try:
        device = device_service.get_device(session, device_id)
        device_service.command_door(session, page.actor, device, action)
    except TiersLieuError as exc:
        session.rollback()
        return _render(page, "occupancy.html", error=exc.message(page.lang), status=exc.status)
    session.commit()
    doors = page.runtime.controller.doors
    if doors is not None:
        doors.wake()  # converge now rather than at the next pass
    return page.redirect(f"/occupation?porte={action}#porte-{device_id}")


@router.post("/urgence/reinitialiser", dependencies=[Depends(STAFF)])
def reset_fire_alarm(page: PageDep, session: SessionDep) -> Response:
    """Staff end the fire release (same service as the API)."""
    try:
        reset_emergency(session, page.runtime, page.actor)
    except TiersLieuError as exc:
        session.rollback()
        return _render(page, "occupancy.html", error=exc.message(page.lang), status=exc.status)
    return page.redirect("/occupation?urgence=reinitialisee#urgence")
