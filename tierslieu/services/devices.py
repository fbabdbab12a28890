"""Device registry rows: validation shared by the API and the site loader, door overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, select

from devices.errors import DeviceConfigError
from devices.model import DeviceKind, DeviceRef
from firmware_bridges import get_bridge
from tierslieu.db.types import utcnow
from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.models import BRIDGE_NAMES, DEVICE_KINDS, AccessEvent, Device, DoorOverride, Member, Resource
from tierslieu.services.sites import ALL_SITES, SiteScope
from tierslieu.services.spaces import get_resource, get_space

EDITABLE = ("name", "kind", "bridge", "address", "space_id", "resource_id", "options")


def get_device(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("device_not_found", id=device_id)
    return device


def list_devices(session: Session, *, space_id: int | None = None, scope: SiteScope = ALL_SITES) -> Sequence[Device]:
    query = select(Device).where(scope.where_space(Device.space_id)).order_by(Device.name)
    if space_id is not None:
        query = query.where(Device.space_id == space_id)
    return session.exec(query).all()


def check_device_fields(session: Session, fields: Mapping[str, Any], own_id: int | None) -> None:
    kind, bridge = fields.get("kind"), fields.get("bridge")
    if kind is not None and kind not in DEVICE_KINDS:
        raise InvalidInput("invalid_device_kind", kind=kind, kinds=", ".join(DEVICE_KINDS))
    if bridge is not None and bridge not in BRIDGE_NAMES:
        raise InvalidInput("invalid_bridge", bridge=bridge, bridges=", ".join(BRIDGE_NAMES))
    if kind is not None and bridge is not None:
        supported = {str(k) for k in get_bridge(bridge).kinds}
        if kind not in supported:
            raise InvalidInput("kind_not_supported", bridge=bridge, kind=kind)
    address = fields.get("address")
    if address is not None and (not str(address).strip() or any(c in str(address) for c in "+#\0")):
        raise InvalidInput("invalid_address", address=address)
    name = fields.get("name")
    if name is not None:
        other = session.exec(select(Device).where(Device.name == name)).first()
        if other is not None and other.id != own_id:
            raise Conflict("duplicate_name", name=name)
    if fields.get("space_id") is not None:
        get_space(session, fields["space_id"])
    if fields.get("resource_id") is not None:
        get_resource(session, fields["resource_id"])
    options = fields.get("options")
    if options is not None and not isinstance(options, dict):
        raise InvalidInput("invalid_options")
    _check_with_bridge(fields, own_id)
    _check_contact_sensor(session, fields)


def _check_with_bridge(fields: Mapping[str, Any], own_id: int | None) -> None:
    """The bridge's own checks (options such as ``relay``, address shape)."""
    kind, bridge, address = fields.get("kind"), fields.get("bridge"), fields.get("address")
    if kind is None or bridge is None or address is None:
        return
    ref = DeviceRef(
        id=own_id or 0,
        name=str(fields.get("name") or address),
        kind=DeviceKind(kind),
        bridge=bridge,
        address=str(address),
        options=dict(fields.get("options") or {}),
    )
    try:
        get_bridge(bridge).validate_device(ref)
        get_bridge(bridge).check_option_names(ref)
    except DeviceConfigError as exc:
        params: dict[str, Any] = dict(exc.params)  # the device layer's code names its catalogue entry
        raise InvalidInput("invalid_device_config", msgid=exc.code, **params) from exc


def _check_contact_sensor(session: Session, fields: Mapping[str, Any]) -> None:
    """A door may name (or give the id of) the contact sensor that watches it."""
    watcher = (fields.get("options") or {}).get("contact_sensor")
    if watcher is None:
        return
    if fields.get("kind") != "door":
        raise InvalidInput("invalid_options", msgid="invalid_options.contact_sensor")
    found = contact_sensor(session, watcher)
    if found is None:
        raise InvalidInput("unknown_contact_sensor", watcher=watcher)


def contact_sensor(session: Session, name_or_id: object) -> Device | None:
    """The contact sensor a door's ``options.contact_sensor`` names (by name or id)."""
    if isinstance(name_or_id, int) and not isinstance(name_or_id, bool):
        row = session.get(Device, name_or_id) if 0 < name_or_id < 2**31 else None
    elif isinstance(name_or_id, str):
        row = session.exec(select(Device).where(Device.name == name_or_id)).first()
    else:
        row = None
    return row if row is not None and row.kind == "contact_sensor" else None


def create_device(session: Session, fields: Mapping[str, Any]) -> Device:
    check_device_fields(session, fields, None)
    device = Device(**{k: fields[k] for k in EDITABLE if fields.get(k) is not None})
    session.add(device)
    session.flush()
    return device


def update_device(session: Session, device: Device, changes: Mapping[str, Any]) -> Device:
    merged = {k: changes.get(k, getattr(device, k)) for k in EDITABLE}
    check_device_fields(session, merged, device.id)
    for key in EDITABLE:
        if key in changes:
            setattr(device, key, changes[key] if key != "options" else dict(changes[key] or {}))
    session.add(device)
    session.flush()
    return device


def resource_by_name(session: Session, name: str) -> Resource | None:
    return session.exec(select(Resource).where(Resource.name == name)).first()


def delete_device(session: Session, device: Device) -> None:
    session.delete(device)
    session.flush()


# Door overrides -------------------------------------------------------------------------

# action -> the standing mode it leaves the door in ("auto": bookings decide again).
DOOR_ACTIONS = {"unlock": "unlocked", "lock": "locked", "auto": "auto", "pulse": None}


def door_mode(session: Session, device_id: int) -> str:
    override = session.get(DoorOverride, device_id)
    return override.mode if override is not None else "auto"


def command_door(session: Session, actor: Member, device: Device, action: str) -> str:
    """Store what staff asked for a door and write it to the audit log; returns the door's
    standing mode. ``pulse`` changes no mode: the door controller opens the door once."""
    if device.kind != "door":
        raise InvalidInput("not_a_door", device=device.name)
    if action not in DOOR_ACTIONS:
        raise InvalidInput("invalid_action", action=action)
    assert device.id is not None
    mode = DOOR_ACTIONS[action]
    override = session.get(DoorOverride, device.id)
    if mode in ("unlocked", "locked"):
        override = override or DoorOverride(device_id=device.id, mode=mode)
        override.mode, override.set_by, override.set_at = mode, actor.id, utcnow()
        session.add(override)
    elif mode == "auto" and override is not None:
        session.delete(override)
    session.add(
        AccessEvent(
            device_id=device.id,
            device_name=device.name,
            space_id=device.space_id,
            member_id=actor.id,
            decision="command",
            reason=f"staff_{action}",
        )
    )
    session.flush()
    return door_mode(session, device.id)
