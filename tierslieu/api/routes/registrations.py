"""One registration: cancel it (one's own, or anyone's for organisers); the waitlist moves up."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from tierslieu.api.deps import EVERYONE, IdPath, RuntimeDep, SessionDep
from tierslieu.api.routes.programme_views import registration_public
from tierslieu.api.schemas.programme import RegistrationPublic
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.programme import registrations

router = APIRouter(prefix="/registrations", tags=["programme"])


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
