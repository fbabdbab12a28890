"""Données personnelles: the privacy notice (public), "Mes données" (my access log, my export)
and, for admins, erasing a member after a confirmation step."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.responses import Response

from tierslieu.api.deps import ADMIN, EVERYONE, IdPath, SessionDep
from tierslieu.db.types import utcnow
from tierslieu.errors import TiersLieuError
from tierslieu.hardware.audit import AccessEventFilter, list_access_events
from tierslieu.privacy.subject import erase_member, export_member, is_erased
from tierslieu.services.members import get_member
from tierslieu.web.page import Page, PageDep

router = APIRouter()

ACCESS_LINES_SHOWN = 200


@router.get("/confidentialite")
def privacy_notice(page: PageDep) -> Response:
    """Public: what is kept, how long, who to ask."""
    settings = page.runtime.settings
    return page.render(
        "privacy.html",
        title=page.gettext("Personal data and privacy"),
        retention_days=settings.access_log_retention_days,
        preview_minutes=settings.print_preview_expiry_minutes,
        contact=settings.privacy_contact,
    )


@router.get("/mes-donnees", dependencies=[Depends(EVERYONE)])
def my_data(page: PageDep, session: SessionDep) -> Response:
    me = page.actor
    lines = list_access_events(session, AccessEventFilter(member_id=me.id, limit=ACCESS_LINES_SHOWN))
    return page.render(
        "my_data.html",
        title=page.gettext("My data"),
        lines=lines,
        retention_days=page.runtime.settings.access_log_retention_days,
    )


@router.get("/mes-donnees/export.json", dependencies=[Depends(EVERYONE)])
def my_export(page: PageDep, session: SessionDep) -> Response:
    body = json.dumps(export_member(session, page.actor, utcnow()), ensure_ascii=False, indent=2)
    headers = {"Content-Disposition": 'attachment; filename="mes-donnees-tierslieu.json"', "Cache-Control": "no-store"}
    return Response(body, media_type="application/json", headers=headers)


def _erase_page(
    page: Page, session: SessionDep, member_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    who = get_member(session, member_id)
    return page.render(
        "admin/erase.html",
        status=status,
        title=page.gettext("Erase a member"),
        who=who,
        erased=is_erased(who),
        error=error,
    )


@router.get("/admin/membres/{member_id}/effacer", dependencies=[Depends(ADMIN)])
def erase_form(page: PageDep, session: SessionDep, member_id: IdPath) -> Response:
    return _erase_page(page, session, member_id)


@router.post("/admin/membres/{member_id}/effacer", dependencies=[Depends(ADMIN)])
def erase(page: PageDep, session: SessionDep, member_id: IdPath, confirm: Annotated[str, Form()] = "") -> Response:
    if confirm != "oui":
        error = page.gettext("Tick the box to confirm the erasure.")
        return _erase_page(page, session, member_id, error=error, status=422)
    try:
        erase_member(session, get_member(session, member_id), page.actor, utcnow())
    except TiersLieuError as exc:
        session.rollback()
        return _erase_page(page, session, member_id, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/admin/membres/{member_id}?message=efface")
