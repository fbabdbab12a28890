"""Bookable resources (rooms, desks, printers, equipment)."""

from __future__ import annotations

from fastapi import Depends, Query, status

from tierslieu.api.deps import EVERYONE, MAX_ID, STAFF, IdPath, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.site import ResourceCreate, ResourceDetail, ResourcePublic, ResourceUpdate
from tierslieu.models import Resource
from tierslieu.models.enums import ResourceKind
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import SiteScope, site_of_resource, site_of_space

router = PrefixRouter(prefix="/resources", tags=["resources"])


def to_public(resource: Resource) -> ResourcePublic:
    return ResourcePublic.model_validate(resource, from_attributes=True)


@router.get("", response_model=list[ResourcePublic], dependencies=[Depends(EVERYONE)])
def list_resources(
    session: SessionDep,
    scope: SiteScopeDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="this space and the spaces inside it"),
    kind: ResourceKind | None = None,
) -> list[ResourcePublic]:
    rows = space_service.list_resources(session, space_id=space_id, kind=kind.value if kind else None, scope=scope)
    return [to_public(r) for r in rows]


@router.post("", response_model=ResourcePublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_resource(body: ResourceCreate, session: SessionDep, scope: SiteScopeDep) -> ResourcePublic:
    scope.check(space_service.get_space(session, body.space_id).site_id)
    return to_public(space_service.create_resource(session, **body.model_dump()))


def _in_scope(session: SessionDep, scope: SiteScope, resource_id: int) -> Resource:
    """The resource, 403 ``site_forbidden`` when it is in a site outside the caller's."""
    resource = space_service.get_resource(session, resource_id)
    scope.check(site_of_resource(session, resource_id))
    return resource


@router.get("/{resource_id}", response_model=ResourceDetail, dependencies=[Depends(EVERYONE)])
def get_resource(resource_id: IdPath, session: SessionDep, scope: SiteScopeDep) -> ResourceDetail:
    resource = _in_scope(session, scope, resource_id)
    effective = space_service.resource_rules(session, resource)
    return ResourceDetail(**to_public(resource).model_dump(), effective_rules=effective.model_dump(mode="json"))


@router.patch("/{resource_id}", response_model=ResourcePublic, dependencies=[Depends(STAFF)])
def update_resource(
    resource_id: IdPath, body: ResourceUpdate, session: SessionDep, scope: SiteScopeDep
) -> ResourcePublic:
    resource = _in_scope(session, scope, resource_id)
    resource = space_service.update_resource(session, resource, body.model_dump(exclude_unset=True))
    scope.check(site_of_space(session, resource.space_id))  # not moved to a site outside the caller's
    return to_public(resource)


@router.delete("/{resource_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_resource(resource_id: IdPath, session: SessionDep, scope: SiteScopeDep) -> None:
    space_service.delete_resource(session, _in_scope(session, scope, resource_id))
