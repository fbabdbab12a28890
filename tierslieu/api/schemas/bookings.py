"""Request and response shapes of bookings, availability, the waitlist and calendar feeds.

Instants are RFC 3339 with an offset on the way in (a naive time is a 422) and UTC (``Z``)
on the way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tierslieu.api.deps import MAX_ID

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Reason = Annotated[str, Field(max_length=500)]
BookingStatus = Literal["pending", "confirmed", "checked_in", "completed", "cancelled", "no_show"]


class SlotBody(BaseModel):
    """A slot of a resource for a member: what booking, checking and waiting all name."""

    model_config = ConfigDict(extra="forbid")

    resource_id: RowId
    member_id: RowId | None = Field(
        default=None, description="par défaut l'appelant ; l'équipe seule peut réserver pour un autre"
    )
    start: AwareDatetime = Field(description="RFC 3339 avec décalage, ex. 2026-05-12T10:00:00+02:00")
    end: AwareDatetime


class BookingCreate(SlotBody):
    recurrence: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="RRULE RFC 5545, ex. FREQ=WEEKLY;BYDAY=TU;COUNT=10"
    )
    allow_partial: bool = Field(default=False, description="série : réserver les occurrences possibles")
    note: Reason = ""
    override: bool = Field(default=False, description="équipe : passer outre les règles (enregistré)")


class BookingCheck(SlotBody):
    override: bool = False


class ViolationPublic(BaseModel):
    code: str
    detail: str


class VerdictPublic(BaseModel):
    ok: bool
    status: Literal["confirmed", "pending"] | None
    code: str | None
    detail: str
    violations: list[ViolationPublic]
    overridden: list[str]


class OccurrencePublic(BaseModel):
    start: datetime
    end: datetime
    ok: bool
    status: str | None
    code: str | None
    detail: str
    booking_id: int | None


class BookingPublic(BaseModel):
    id: int
    resource_id: int
    member_id: int
    start: datetime
    end: datetime
    status: BookingStatus
    note: str
    series_id: int | None
    walk_in: bool
    override: bool
    overridden: list[str]
    created_by: int | None
    created_at: datetime
    checked_in_at: datetime | None
    ended_at: datetime | None
    reason: str
    message: str | None = Field(default=None, description="ce que la réservation donne, en clair")
    occurrences: list[OccurrencePublic] | None = Field(default=None, description="série : le verdict de chaque date")


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = ""


class FreeInterval(BaseModel):
    start: datetime
    end: datetime


class ResourceAvailability(BaseModel):
    resource_id: int
    name: str
    kind: str
    slot_minutes: int | None
    buffer_minutes: int
    free: list[FreeInterval]


class AvailabilityPublic(BaseModel):
    start: datetime
    end: datetime
    resources: list[ResourceAvailability]


class WaitlistCreate(SlotBody):
    pass


class WaitlistPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    member_id: int
    start: datetime
    end: datetime
    status: Literal["waiting", "offered", "accepted", "expired", "cancelled"]
    created_at: datetime
    offered_at: datetime | None
    offer_expires_at: datetime | None
    booking_id: int | None


class ResourceFeed(BaseModel):
    resource_id: int
    name: str
    url: str


class FeedLinks(BaseModel):
    member_url: str = Field(description="vos réservations ; à garder secret (il suffit à les lire)")
    resources: list[ResourceFeed]
