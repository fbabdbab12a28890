"""Registrations: one's own list, and cancelling one (one's own, or anyone's for organisers);
the waitlist moves up."""

from __future__ import annotations

from fastapi import Depends

from tierslieu.api.deps import EVERYONE, IdPath, RuntimeDep, SessionDep
from tierslieu.api.routes.programme_views import registration_public
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.programme import RegistrationPublic
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.programme import registrations

router = PrefixRouter(prefix="/registrations", tags=["programme"])


@router.get("", response_model=list[RegistrationPublic])
def my_registrations(
    session: SessionDep, actor: Member = Depends(EVERYONE), include_past: bool = False
) -> list[RegistrationPublic]:
    """The caller's open registrations (confirmed or waitlisted with their position)."""
    found = registrations.list_own(session, actor=actor, include_past=include_past, now=utcnow())
    return [registration_public(session, r) for r in found]


@router.post("/{registration_id}/cancel", response_model=RegistrationPublic)
def cancel_registration(
    registration_id: IdPath, session: SessionDep, runtime: RuntimeDep, actor: Member = Depends(EVERYONE)
) -> RegistrationPublic:
    """The seats freed go at once to the first waitlisted that fit (they are told)."""
    registration = registrations.cancel_registration(
        session,
        actor=actor,
        registration_id=registration_id,
        now=utcnow(),
        programme=runtime.programme_events,
    )
    return registration_public(session, registration)
