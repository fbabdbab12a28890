"""Log in (OAuth2 password form) and personal API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from tierslieu.api.deps import (
    SESSION_COOKIE,
    SIGNED_IN,
    RuntimeDep,
    SessionDep,
    SignedIn,
    client_address,
    oauth2_scheme,
)
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.site import PersonalTokenCreate, Token
from tierslieu.services import members as member_service

router = PrefixRouter(prefix="/auth", tags=["auth"])

THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "trop de tentatives : réessayer après `Retry-After` secondes"}
}


@router.post("/token", response_model=Token, responses=THROTTLED)
def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, runtime: RuntimeDep
) -> Token:
    address = client_address(request)
    member = member_service.authenticate(session, runtime.secrets, form.username, form.password, address=address)
    minutes = runtime.settings.access_token_minutes
    token = member_service.issue_token(session, member, lifetime=timedelta(minutes=minutes))
    return Token(access_token=token, expires_in=minutes * 60)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(SIGNED_IN)])
def logout(request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> None:
    value = token or request.cookies.get(SESSION_COOKIE)
    if value:
        member_service.revoke_token(session, value)


@router.post("/personal-tokens", response_model=Token, status_code=status.HTTP_201_CREATED)
def create_personal_token(body: PersonalTokenCreate, member: SignedIn, session: SessionDep) -> Token:
    """A token for scripts and integrations, valid ``expires_in_days`` (90 by default, a year at
    most); shown once, stored hashed; listed and revoked under ``/members/{id}/tokens``."""
    lifetime = timedelta(days=body.expires_in_days)
    token = member_service.issue_token(session, member, kind="personal", lifetime=lifetime, name=body.name)
    return Token(access_token=token, expires_in=int(lifetime.total_seconds()))
