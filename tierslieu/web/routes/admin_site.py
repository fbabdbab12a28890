"""Administration — the site: spaces and their rules, devices with last seen, approvals waiting."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import STAFF, IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking import lifecycle
from tierslieu.booking.store import RulesCache
from tierslieu.errors import InvalidInput, TiersLieuError
from tierslieu.models import Booking
from tierslieu.services import devices as device_service
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import list_sites, site_of_resource
from tierslieu.web.admin_view import pending_bookings
from tierslieu.web.page import Page, PageDep
from tierslieu.web.sites import SiteFilter

router = PrefixRouter(prefix="/admin", dependencies=[Depends(STAFF)])


def _spaces_page(page: Page, session: Session, *, errors: dict[int, str] | None = None, status: int = 200) -> Response:
    spaces = space_service.list_spaces(session, page.scope)
    effective = {
        s.id: space_service.space_rules(session, s).model_dump(mode="json", exclude_defaults=True) for s in spaces
    }
    return page.render(
        "admin/spaces.html",
        status=status,
        title=page.gettext("Spaces and rules"),
        spaces=spaces,
        names={s.id: s.name for s in spaces},
        site_names={site.id: site.name for site in list_sites(session)},
        own_rules={s.id: json.dumps(s.rules, ensure_ascii=False, indent=2) for s in spaces},
        effective=effective,
        errors=errors or {},
        saved=page.request.query_params.get("enregistre"),
    )


@router.get("/espaces")
def spaces(page: PageDep, session: SessionDep) -> Response:
    return _spaces_page(page, session)


@router.post("/espaces/{space_id}/regles")
def save_rules(page: PageDep, session: SessionDep, space_id: IdPath, rules: Annotated[str, Form()] = "{}") -> Response:
    """Replace the space's own rules (JSON, as in the site file); the booking engine validates them."""
    space = space_service.get_space(session, space_id)
    page.check_site(space.site_id)
    try:
        try:
            parsed = json.loads(rules or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidInput("invalid_json", line=exc.lineno, msg=exc.msg) from exc
        if not isinstance(parsed, dict):
            raise InvalidInput("invalid_rules", msgid="invalid_rules.not_an_object")
        space.rules = space_service.validate_rules(parsed)
        session.add(space)
        session.flush()
    except TiersLieuError as exc:
        session.rollback()
        return _spaces_page(page, session, errors={space_id: exc.message(page.lang)}, status=exc.status)
    return page.redirect(f"/admin/espaces?enregistre={space_id}#espace-{space_id}")


@router.get("/appareils")
def devices(page: PageDep, session: SessionDep) -> Response:
    spaces = {s.id: s.name for s in space_service.list_spaces(session, page.scope)}
    return page.render(
        "admin/devices.html",
        title=page.gettext("Devices"),
        devices=SiteFilter(session, page.scope).spaces(device_service.list_devices(session)),
        spaces=spaces,
    )


def _approvals_page(page: Page, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    waiting = pending_bookings(session, page.actor, page.scope)
    resources = RulesCache(session).resources({b.resource_id for b in waiting})
    people = {b.member_id: member_service.get_member(session, b.member_id).name for b in waiting}
    return page.render(
        "admin/approvals.html",
        status=status,
        title=page.gettext("Approvals waiting"),
        waiting=waiting,
        resources={rid: r.name for rid, r in resources.items()},
        people=people,
        error=error,
        done=page.request.query_params.get("fait"),
    )


@router.get("/validations")
def approvals(page: PageDep, session: SessionDep) -> Response:
    return _approvals_page(page, session)


@router.post("/validations/{booking_id}")
def decide(
    page: PageDep,
    session: SessionDep,
    booking_id: IdPath,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    booking = session.get(Booking, booking_id)
    if booking is not None:
        page.check_site(site_of_resource(session, booking.resource_id))
    try:
        if decision == "valider":
            lifecycle.approve(session, page.actor, booking_id, reason=reason, events=page.runtime.events)
        else:
            lifecycle.reject(session, page.actor, booking_id, reason=reason, events=page.runtime.events)
    except TiersLieuError as exc:
        session.rollback()
        return _approvals_page(page, session, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/admin/validations?fait={'valide' if decision == 'valider' else 'refuse'}")
