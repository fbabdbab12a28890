"""Bookings: make one (or a recurring series), list, cancel, check in, approve or reject; the
waitlist for taken slots.

Visibility: members see and act on their own bookings only (someone else's is a 404, asking
to list someone else's is a 403); staff and admins see everyone's. Busy times of a resource
without names are in ``GET /availability`` and the resource calendar feed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Depends, Query, Request, status
from pydantic import AwareDatetime
from sqlmodel import Session

from tierslieu.api.deps import (
    EVERYONE,
    EVERYONE_IN_THREAD,
    MAX_ID,
    STAFF,
    IdPath,
    LanguageDep,
    RuntimeDep,
    SessionDep,
    SiteScopeDep,
    in_thread,
    request_language,
    runtime_of,
)
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.bookings import (
    BookingCheck,
    BookingCreate,
    BookingPublic,
    BookingStatus,
    DecisionBody,
    OccurrencePublic,
    VerdictPublic,
    ViolationPublic,
    WaitlistCreate,
    WaitlistPublic,
)
from tierslieu.booking import lifecycle, service, waitlist
from tierslieu.booking.reasons import reason_text
from tierslieu.booking.rules import Verdict
from tierslieu.db.types import utcnow
from tierslieu.i18n import render
from tierslieu.models import Booking, Member, WaitlistEntry
from tierslieu.runtime import Runtime

router = PrefixRouter(prefix="/bookings", tags=["bookings"])


Language = LanguageDep
Decision = Annotated[DecisionBody | None, Body()]


def to_public(
    booking: Booking, language: str, message: str | None = None, occurrences: list[OccurrencePublic] | None = None
) -> BookingPublic:
    values = booking.model_dump()
    values["reason"] = reason_text(booking.reason, language)
    return BookingPublic.model_validate({**values, "message": message, "occurrences": occurrences})


def verdict_public(verdict: Verdict, language: str) -> VerdictPublic:
    return VerdictPublic(
        ok=verdict.ok,
        status=verdict.status,
        code=verdict.code,
        detail=verdict.message(language),
        violations=[ViolationPublic(code=v.code, detail=v.message(language)) for v in verdict.violations],
        overridden=verdict.overridden,
    )


@router.post("", response_model=BookingPublic, status_code=status.HTTP_201_CREATED)
async def create_booking(
    body: BookingCreate, request: Request, session: SessionDep, actor: Member = Depends(EVERYONE_IN_THREAD)
) -> BookingPublic:
    """Book a resource; with ``recurrence`` every occurrence is judged (all or nothing unless
    ``allow_partial``) and the answer is the first booking plus each occurrence's verdict."""
    # The runtime and the language from the request: two dependency nodes fewer on the busiest write.
    runtime, language = runtime_of(request), request_language(request)
    return await in_thread(session, lambda: _create(body, session, runtime, language, actor))


def _create(body: BookingCreate, session: Session, runtime: Runtime, language: str, actor: Member) -> BookingPublic:
    now, tz, events = utcnow(), runtime.settings.tz, runtime.events
    if body.recurrence is None:
        booking, verdict = service.create_booking(
            session, actor=actor, resource_id=body.resource_id, member_id=body.member_id, start=body.start,
            end=body.end, note=body.note, override=body.override, now=now, tz=tz, events=events,
        )  # fmt: skip
        return to_public(booking, language, verdict.message(language))
    result = service.create_series(
        session, actor=actor, resource_id=body.resource_id, member_id=body.member_id, start=body.start,
        end=body.end, rrule=body.recurrence, note=body.note, override=body.override,
        allow_partial=body.allow_partial, now=now, tz=tz, events=events,
    )  # fmt: skip
    occurrences = [
        OccurrencePublic.model_validate({**o, "detail": o[f"message_{language}"]})
        for o in service.occurrence_report(result.occurrences)
    ]
    message = render("series_booked", {"booked": len(result.bookings), "total": len(occurrences)}, language)
    return to_public(result.bookings[0], language, message, occurrences)


@router.post("/check", response_model=VerdictPublic)
def check_booking(
    body: BookingCheck, session: SessionDep, runtime: RuntimeDep, language: Language, actor: Member = Depends(EVERYONE)
) -> VerdictPublic:
    """What ``POST /bookings`` would answer, without booking (for forms that check as you type)."""
    verdict = service.preview_booking(
        session,
        actor=actor,
        resource_id=body.resource_id,
        member_id=body.member_id,
        start=body.start,
        end=body.end,
        override=body.override,
        now=utcnow(),
        tz=runtime.settings.tz,
    )
    return verdict_public(verdict, language)


@router.get("", response_model=list[BookingPublic])
def list_bookings(
    session: SessionDep,
    scope: SiteScopeDep,
    language: Language,
    actor: Member = Depends(EVERYONE),
    resource_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    member_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="membres : seulement le leur"),
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="cet espace et ceux qu'il contient"),
    start: AwareDatetime | None = Query(default=None, alias="from", description="réservations finissant après"),
    end: AwareDatetime | None = Query(default=None, alias="to", description="réservations commençant avant"),
    status_in: list[BookingStatus] = Query(default=[], alias="status"),
    limit: int = Query(default=500, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_ID),
) -> list[BookingPublic]:
    wanted = lifecycle.BookingFilter(resource_id, member_id, space_id, start, end, status_in, limit, offset)
    return [to_public(b, language) for b in lifecycle.list_bookings(session, actor, wanted, scope)]


# Waitlist (declared before /{booking_id} so its paths are not read as ids) -----------------


def _entry_public(entry: WaitlistEntry) -> WaitlistPublic:
    return WaitlistPublic.model_validate(entry)


@router.post("/waitlist", response_model=WaitlistPublic, status_code=status.HTTP_201_CREATED, tags=["waitlist"])
def join_waitlist(
    body: WaitlistCreate, session: SessionDep, runtime: RuntimeDep, actor: Member = Depends(EVERYONE)
) -> WaitlistPublic:
    """Wait for a taken slot; when it frees up you are offered it (event ``waitlist``) and have
    ``waitlist_offer_minutes`` to accept it."""
    entry = waitlist.join(
        session,
        actor=actor,
        resource_id=body.resource_id,
        member_id=body.member_id,
        start=body.start,
        end=body.end,
        now=utcnow(),
        tz=runtime.settings.tz,
    )
    return _entry_public(entry)


@router.get("/waitlist", response_model=list[WaitlistPublic], tags=["waitlist"])
def list_waitlist(
    session: SessionDep, scope: SiteScopeDep, actor: Member = Depends(EVERYONE), include_closed: bool = False
) -> list[WaitlistPublic]:
    """Your waitlist entries (staff: everyone's at their sites), oldest first."""
    entries = waitlist.list_entries(session, actor, open_only=not include_closed, scope=scope)
    return [_entry_public(e) for e in entries]


@router.post(
    "/waitlist/{entry_id}/accept", response_model=BookingPublic, status_code=status.HTTP_201_CREATED, tags=["waitlist"]
)
def accept_waitlist_offer(
    entry_id: IdPath, session: SessionDep, runtime: RuntimeDep, language: Language, actor: Member = Depends(EVERYONE)
) -> BookingPublic:
    booking = waitlist.accept_offer(
        session, actor, entry_id, now=utcnow(), tz=runtime.settings.tz, events=runtime.events
    )
    return to_public(booking, language)


@router.delete("/waitlist/{entry_id}", response_model=WaitlistPublic, tags=["waitlist"])
def leave_waitlist(entry_id: IdPath, session: SessionDep, actor: Member = Depends(EVERYONE)) -> WaitlistPublic:
    return _entry_public(waitlist.leave(session, actor, entry_id))


# One booking --------------------------------------------------------------------------------


@router.get("/{booking_id}", response_model=BookingPublic)
def get_booking(
    booking_id: IdPath, session: SessionDep, scope: SiteScopeDep, language: Language, actor: Member = Depends(EVERYONE)
) -> BookingPublic:
    return to_public(lifecycle.get_visible(session, actor, booking_id, scope=scope), language)


@router.post("/{booking_id}/cancel", response_model=BookingPublic)
def cancel_booking(
    booking_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: Language,
    body: Decision = None,
    actor: Member = Depends(EVERYONE),
) -> BookingPublic:
    """Cancel (a booking in progress is ended early); the slot goes to the waitlist at once."""
    booking = lifecycle.cancel(
        session,
        actor,
        booking_id,
        now=utcnow(),
        reason=body.reason if body else "",
        events=runtime.events,
        offer_minutes=runtime.settings.waitlist_offer_minutes,
    )
    return to_public(booking, language)


@router.post("/{booking_id}/checkin", response_model=BookingPublic)
def checkin_booking(
    booking_id: IdPath, session: SessionDep, runtime: RuntimeDep, language: Language, actor: Member = Depends(EVERYONE)
) -> BookingPublic:
    return to_public(lifecycle.checkin(session, actor, booking_id, now=utcnow(), events=runtime.events), language)


@router.post("/{booking_id}/approve", response_model=BookingPublic)
def approve_booking(
    booking_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: Language,
    body: Decision = None,
    actor: Member = Depends(STAFF),
) -> BookingPublic:
    reason = body.reason if body else ""
    return to_public(lifecycle.approve(session, actor, booking_id, reason=reason, events=runtime.events), language)


@router.post("/{booking_id}/reject", response_model=BookingPublic)
def reject_booking(
    booking_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    language: Language,
    body: Decision = None,
    actor: Member = Depends(STAFF),
) -> BookingPublic:
    reason = body.reason if body else ""
    return to_public(lifecycle.reject(session, actor, booking_id, reason=reason, events=runtime.events), language)
