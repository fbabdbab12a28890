"""People without an account, as the front desk finds them again (by name or phone)."""

from __future__ import annotations

from fastapi import Depends, Query

from tierslieu.api.deps import SessionDep
from tierslieu.api.routes.programme_views import ORGANISERS
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.programme import PersonPublic
from tierslieu.programme import persons

router = PrefixRouter(prefix="/persons", tags=["programme"])


@router.get("", response_model=list[PersonPublic], dependencies=[Depends(ORGANISERS)])
def find_persons(
    session: SessionDep,
    q: str = Query(min_length=1, max_length=100, description="une partie du nom ou du numéro de téléphone"),
    limit: int = Query(default=20, ge=1, le=100),
) -> list[PersonPublic]:
    return [PersonPublic.model_validate(p) for p in persons.find_persons(session, q, limit=limit)]
