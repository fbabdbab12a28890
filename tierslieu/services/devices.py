"""Device registry rows: validation shared by the API and the site loader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, select

from firmware_bridges import get_bridge
from tierslieu.errors import Conflict, InvalidInput, not_found
from tierslieu.models import BRIDGES, DEVICE_KINDS, Device, Resource
from tierslieu.services.spaces import get_resource, get_space

EDITABLE = ("name", "kind", "bridge", "address", "space_id", "resource_id", "options")


def get_device(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise not_found("Appareil", "device", device_id)
    return device


def list_devices(session: Session, *, space_id: int | None = None) -> Sequence[Device]:
    query = select(Device).order_by(Device.name)
    if space_id is not None:
        query = query.where(Device.space_id == space_id)
    return session.exec(query).all()


def check_device_fields(session: Session, fields: Mapping[str, Any], own_id: int | None) -> None:
    kind, bridge = fields.get("kind"), fields.get("bridge")
    if kind is not None and kind not in DEVICE_KINDS:
        raise InvalidInput(
            "invalid_device_kind",
            f"Type d'appareil inconnu : {kind!r} ({', '.join(DEVICE_KINDS)}).",
            f"Unknown device kind {kind!r} ({', '.join(DEVICE_KINDS)}).",
        )
    if bridge is not None and bridge not in BRIDGES:
        raise InvalidInput(
            "invalid_bridge",
            f"Micrologiciel inconnu : {bridge!r} ({', '.join(BRIDGES)}).",
            f"Unknown firmware bridge {bridge!r} ({', '.join(BRIDGES)}).",
        )
    if kind is not None and bridge is not None:
        supported = {str(k) for k in get_bridge(bridge).kinds}
        if kind not in supported:
            raise InvalidInput(
                "kind_not_supported",
                f"Le pont {bridge} ne gère pas les appareils de type {kind}.",
                f"The {bridge} bridge does not support {kind} devices.",
            )
    address = fields.get("address")
    if address is not None and (not str(address).strip() or any(c in str(address) for c in "+#\0")):
        raise InvalidInput(
            "invalid_address",
            f"Adresse d'appareil invalide : {address!r} (ni vide, ni « + », « # »).",
            f"Invalid device address {address!r}.",
        )
    name = fields.get("name")
    if name is not None:
        other = session.exec(select(Device).where(Device.name == name)).first()
        if other is not None and other.id != own_id:
            raise Conflict("duplicate_name", f"Le nom « {name} » est déjà utilisé.", f"The name {name!r} is taken.")
    if fields.get("space_id") is not None:
        get_space(session, fields["space_id"])
    if fields.get("resource_id") is not None:
        get_resource(session, fields["resource_id"])
    options = fields.get("options")
    if options is not None and not isinstance(options, dict):
        raise InvalidInput("invalid_options", "Les options doivent être un objet.", "Options must be an object.")


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
