"""Bookable resources (rooms, desks, printers, equipment)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status

from tierslieu.api.deps import EVERYONE, MAX_ID, STAFF, IdPath, SessionDep
from tierslieu.api.schemas.site import ResourceCreate, ResourceDetail, ResourcePublic, ResourceUpdate
from tierslieu.models import Resource
from tierslieu.models.enums import ResourceKind
from tierslieu.services import spaces as space_service

router = APIRouter(prefix="/resources", tags=["resources"])


def to_public(resource: Resource) -> ResourcePublic:
    return ResourcePublic.model_validate(resource, from_attributes=True)


@router.get("", response_model=list[ResourcePublic], dependencies=[Depends(EVERYONE)])
def list_resources(
    session: SessionDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="this space and the spaces inside it"),
    kind: ResourceKind | None = None,
) -> list[ResourcePublic]:
    rows = space_service.list_resources(session, space_id=space_id, kind=kind.value if kind else None)
    return [to_public(r) for r in rows]


@router.post("", response_model=ResourcePublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_resource(body: ResourceCreate, session: SessionDep) -> ResourcePublic:
    return to_public(space_service.create_resource(session, **body.model_dump()))


@router.get("/{resource_id}", response_model=ResourceDetail, dependencies=[Depends(EVERYONE)])
def get_resource(resource_id: IdPath, session: SessionDep) -> ResourceDetail:
    resource = space_service.get_resource(session, resource_id)
    effective = space_service.resource_rules(session, resource)
    return ResourceDetail(**to_public(resource).model_dump(), effective_rules=effective.model_dump(mode="json"))


@router.patch("/{resource_id}", response_model=ResourcePublic, dependencies=[Depends(STAFF)])
def update_resource(resource_id: IdPath, body: ResourceUpdate, session: SessionDep) -> ResourcePublic:
    resource = space_service.get_resource(session, resource_id)
    return to_public(space_service.update_resource(session, resource, body.model_dump(exclude_unset=True)))


@router.delete("/{resource_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_resource(resource_id: IdPath, session: SessionDep) -> None:
    space_service.delete_resource(session, space_service.get_resource(session, resource_id))
