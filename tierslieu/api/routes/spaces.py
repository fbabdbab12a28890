"""Spaces: the building tree and its booking rules."""

from __future__ import annotations

from fastapi import Depends, status

from tierslieu.api.deps import EVERYONE, STAFF, IdPath, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.site import SpaceCreate, SpacePublic, SpaceUpdate
from tierslieu.models import Space
from tierslieu.services import spaces as space_service

router = PrefixRouter(prefix="/spaces", tags=["spaces"])


def to_public(space: Space) -> SpacePublic:
    return SpacePublic.model_validate(space, from_attributes=True)


@router.get("", response_model=list[SpacePublic], dependencies=[Depends(EVERYONE)])
def list_spaces(session: SessionDep, scope: SiteScopeDep) -> list[SpacePublic]:
    return [to_public(s) for s in space_service.list_spaces(session, scope)]


@router.post("", response_model=SpacePublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_space(body: SpaceCreate, session: SessionDep, scope: SiteScopeDep, runtime: RuntimeDep) -> SpacePublic:
    parent_site = space_service.get_space(session, body.parent_id).site_id if body.parent_id else None
    scope.check(body.site_id or parent_site)
    space = space_service.create_space(session, **body.model_dump(), default_timezone=runtime.settings.timezone)
    scope.check(space.site_id)
    return to_public(space)


@router.get("/{space_id}", response_model=SpacePublic, dependencies=[Depends(EVERYONE)])
def get_space(space_id: IdPath, session: SessionDep, scope: SiteScopeDep) -> SpacePublic:
    space = space_service.get_space(session, space_id)
    scope.check(space.site_id)
    return to_public(space)


@router.patch("/{space_id}", response_model=SpacePublic, dependencies=[Depends(STAFF)])
def update_space(space_id: IdPath, body: SpaceUpdate, session: SessionDep, scope: SiteScopeDep) -> SpacePublic:
    space = space_service.get_space(session, space_id)
    scope.check(space.site_id)
    space = space_service.update_space(session, space, body.model_dump(exclude_unset=True))
    scope.check(space.site_id)  # not moved to a site outside the caller's
    return to_public(space)


@router.delete("/{space_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_space(space_id: IdPath, session: SessionDep, scope: SiteScopeDep) -> None:
    space = space_service.get_space(session, space_id)
    scope.check(space.site_id)
    space_service.delete_space(session, space)
