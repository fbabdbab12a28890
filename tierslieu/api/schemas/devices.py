"""Devices, door commands and the access audit log as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.model import DeviceKind
from firmware_bridges.names import BridgeName

_ID = Field(ge=1, le=2**31 - 1)
Address = Field(min_length=1, max_length=200, description="the firmware's own name for the device")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DeviceCreate(_In):
    name: str = Field(min_length=1, max_length=120)
    kind: DeviceKind
    bridge: BridgeName
    address: str = Address
    space_id: int = _ID
    resource_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    options: dict[str, Any] = Field(
        default_factory=dict,
        description='bridge settings, e.g. {"relay": 2}; a door may name its contact sensor: {"contact_sensor": "…"}',
    )


class DeviceUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: DeviceKind | None = None
    bridge: BridgeName | None = None
    address: str | None = Field(default=None, min_length=1, max_length=200)
    space_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    resource_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    options: dict[str, Any] | None = None


class DevicePublic(BaseModel):
    id: int
    name: str
    kind: str
    bridge: str
    address: str
    space_id: int
    resource_id: int | None = None
    options: dict[str, Any] | None = None
    online: bool
    last_seen: datetime | None


class DoorCommand(_In):
    action: Literal["unlock", "lock", "pulse", "auto"] = Field(
        description="unlock: hold unlocked; lock: hold locked; pulse: open once; auto: back to bookings"
    )


class DoorCommandResult(BaseModel):
    device_id: int
    action: str
    # The door's standing mode after the command: held "unlocked" / "locked", or "auto".
    mode: Literal["unlocked", "locked", "auto"]
    # Whether the device layer is running and took the command now (the override is stored either way).
    sent: bool


class UnknownBadge(BaseModel):
    device_id: int
    uid: str | None
    at: datetime | None


class AccessEventPublic(BaseModel):
    id: int
    at: datetime
    device_id: int | None
    device_name: str
    space_id: int | None
    member_id: int | None
    badge_uid: str | None
    decision: str
    reason: str
    booking_id: int | None
    detail: str
