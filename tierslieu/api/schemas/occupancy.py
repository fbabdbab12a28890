"""Live occupancy and its history report, as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AlertPublic(BaseModel):
    code: str = Field(
        description="over_capacity | door_open_too_long | presence_outside_hours | booked_but_empty | device_offline"
    )
    severity: str = Field(description="info | warning | critical")
    space_id: int
    device_id: int | None = None
    booking_id: int | None = None
    since: datetime | None = None
    message: str


class DoorPublic(BaseModel):
    device_id: int
    name: str
    kind: str = Field(description="door, or a contact_sensor watching no door device")
    online: bool
    locked: bool | None = Field(description="None: unknown, jammed or moving")
    lock_state: str
    open: bool | None = Field(description="from the contact sensor watching the door; None: no sensor")
    open_since: datetime | None = None
    has_contact: bool = Field(description="a contact sensor watches this door")


class OfflineDevicePublic(BaseModel):
    id: int
    name: str
    kind: str
    space_id: int
    reason: str = Field(description="unavailable | silent | never_seen")
    last_seen: datetime | None = None


class SpaceOccupancyPublic(BaseModel):
    space_id: int
    name: str
    parent_id: int | None
    capacity: int | None
    occupied: bool
    people: int
    people_source: str = Field(description="counter | check_ins | none")
    booked_now: bool
    checked_in: int
    devices_online: int = Field(
        description="devices of the space and the spaces inside it that are online "
        "(a device not heard from yet is neither online nor offline)"
    )
    devices_total: int
    devices_offline: list[OfflineDevicePublic]
    doors: list[DoorPublic]
    alerts: list[AlertPublic]


class OccupancyBucketPublic(BaseModel):
    space_id: int
    space: str
    start: datetime
    end: datetime
    max_people: int
    occupied_minutes: float
    booked_minutes: float


class OccupancyReportPublic(BaseModel):
    space_id: int | None
    start: datetime
    end: datetime
    bucket_minutes: int
    rows: list[OccupancyBucketPublic]
