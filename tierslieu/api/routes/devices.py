"""Devices (doors, badge readers, sensors) and staff commands to doors."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query, status
from sqlmodel import Session

from tierslieu.api.deps import MAX_ID, STAFF, Allow, IdPath, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.devices import (
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    DoorCommand,
    DoorCommandResult,
    UnknownBadge,
)
from tierslieu.hardware import audit
from tierslieu.models import Device, Member
from tierslieu.runtime import Runtime
from tierslieu.services import devices as device_service
from tierslieu.services.sites import SiteScope, site_of_space

router = PrefixRouter(prefix="/devices", tags=["devices"])

# Animators run the workshops: they see the devices (and which are offline), staff change them.
READERS = Allow("admin", "staff", "animator")


def to_public(device: Device, runtime: Runtime) -> DevicePublic:
    public = DevicePublic.model_validate(device, from_attributes=True)
    hub = runtime.controller.hub
    live = hub.state(public.id) if hub is not None else None
    if live is not None:  # fresher than the row, which the hub writes every few seconds
        public.online, public.last_seen = bool(live.online), live.last_seen or public.last_seen
    return public


def _apply(session: Session, runtime: Runtime, *, reload_devices: bool) -> None:
    """Commit now, then let the running device layer see the change."""
    session.commit()
    controller = runtime.controller
    if reload_devices and controller.hub is not None:
        controller.hub.reload()
    if controller.facts is not None:
        controller.facts.refresh()
    if controller.doors is not None:
        controller.doors.wake()


def _in_scope(session: Session, scope: SiteScope, device_id: int) -> Device:
    """The device, 403 ``site_forbidden`` when its space is in a site outside the caller's."""
    device = device_service.get_device(session, device_id)
    scope.check(site_of_space(session, device.space_id))
    return device


@router.get("", response_model=list[DevicePublic], dependencies=[Depends(READERS)])
def list_devices(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID),
) -> list[DevicePublic]:
    return [to_public(d, runtime) for d in device_service.list_devices(session, space_id=space_id, scope=scope)]


@router.post("", response_model=DevicePublic, status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
def create_device(body: DeviceCreate, session: SessionDep, runtime: RuntimeDep, scope: SiteScopeDep) -> DevicePublic:
    device = device_service.create_device(session, body.model_dump(mode="json"))
    scope.check(site_of_space(session, device.space_id))  # before the commit below
    _apply(session, runtime, reload_devices=True)
    return to_public(device, runtime)


@router.get("/{device_id}", response_model=DevicePublic, dependencies=[Depends(READERS)])
def get_device(device_id: IdPath, session: SessionDep, runtime: RuntimeDep, scope: SiteScopeDep) -> DevicePublic:
    return to_public(_in_scope(session, scope, device_id), runtime)


@router.patch("/{device_id}", response_model=DevicePublic, dependencies=[Depends(STAFF)])
def update_device(
    device_id: IdPath, body: DeviceUpdate, session: SessionDep, runtime: RuntimeDep, scope: SiteScopeDep
) -> DevicePublic:
    device = _in_scope(session, scope, device_id)
    device = device_service.update_device(session, device, body.model_dump(mode="json", exclude_unset=True))
    scope.check(site_of_space(session, device.space_id))  # not moved to a site outside the caller's
    _apply(session, runtime, reload_devices=True)
    return to_public(device, runtime)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(STAFF)])
def delete_device(device_id: IdPath, session: SessionDep, runtime: RuntimeDep, scope: SiteScopeDep) -> None:
    device_service.delete_device(session, _in_scope(session, scope, device_id))
    _apply(session, runtime, reload_devices=True)


@router.post("/{device_id}/command", response_model=DoorCommandResult)
def command_door(
    device_id: IdPath,
    body: DoorCommand,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    actor: Member = Depends(STAFF),
) -> DoorCommandResult:
    device = _in_scope(session, scope, device_id)
    mode = device_service.command_door(session, actor, device, body.action)
    _apply(session, runtime, reload_devices=False)
    doors = runtime.controller.doors
    sent = doors is not None
    if doors is not None and body.action == "pulse":
        sent = doors.pulse(device_id)
    return DoorCommandResult.model_validate({"device_id": device_id, "action": body.action, "mode": mode, "sent": sent})


@router.get("/{device_id}/last-unknown-badge", response_model=UnknownBadge, dependencies=[Depends(STAFF)])
def last_unknown_badge(
    device_id: IdPath, session: SessionDep, scope: SiteScopeDep, since: datetime | None = Query(default=None)
) -> UnknownBadge:
    """The last badge nobody holds scanned on this reader: scan it, then assign it to a member."""
    _in_scope(session, scope, device_id)
    line = audit.last_unknown_badge(session, device_id, since)
    return UnknownBadge(device_id=device_id, uid=line.badge_uid if line else None, at=line.at if line else None)
