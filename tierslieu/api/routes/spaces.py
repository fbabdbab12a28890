"""Spaces: the building tree and its booking rules."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from tierslieu.api.deps import EVERYONE, STAFF, IdPath, SessionDep
from tierslieu.api.schemas.site import SpaceCreate, SpacePublic, SpaceUpdate
from tierslieu.models import Space
from tierslieu.services import spaces as space_service

router = APIRouter(prefix="/spaces", tags=["spaces"])


def to_public(space: Space) -> SpacePublic:
    return SpacePublic.model_validate(space, from_attributes=True)


@router.get("", response_model=list[SpacePublic], dependencies=[Depends(EVERYONE)])
def list_spaces(session: SessionDep) -> list[SpacePublic]:
    return [to_public(s) for s in space_service.list_spaces(session)]


@router.post("", response_model=SpacePublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_space(body: SpaceCreate, session: SessionDep) -> SpacePublic:
    return to_public(space_service.create_space(session, **body.model_dump()))


@router.get("/{space_id}", response_model=SpacePublic, dependencies=[Depends(EVERYONE)])
def get_space(space_id: IdPath, session: SessionDep) -> SpacePublic:
    return to_public(space_service.get_space(session, space_id))


@router.patch("/{space_id}", response_model=SpacePublic, dependencies=[Depends(STAFF)])
def update_space(space_id: IdPath, body: SpaceUpdate, session: SessionDep) -> SpacePublic:
    space = space_service.get_space(session, space_id)
    return to_public(space_service.update_space(session, space, body.model_dump(exclude_unset=True)))


@router.delete("/{space_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_space(space_id: IdPath, session: SessionDep) -> None:
    space_service.delete_space(session, space_service.get_space(session, space_id))
