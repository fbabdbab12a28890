"""What is stored about one person (export, RGPD art. 15/20) and its erasure (art. 17).

Erasure removes the identity, not the history: the member row stays (bookings, print jobs,
trainings and access-log lines point at it, and the reports' totals count them) with its
personal fields replaced by placeholders, no password, no tokens, disabled — nobody can log in
as it — and every badge revoked. Access-log lines keep the member's id (now pointing to no
one) and leave with the retention purge like every other line.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tierslieu.errors import Conflict
from tierslieu.models import AccessEvent, ApiToken, Badge, Booking, LoginThrottle, Member, PrintJob, Training
from tierslieu.models.booking import ACTIVE_STATUSES, WaitlistEntry

__all__ = ["ERASED_NAME", "erase_member", "export_member", "is_erased"]

ERASED_NAME = "Personne effacée"
ERASED_DOMAIN = "membre-efface.example.org"
EXPORT_FORMAT = 1


def _erased_email(member_id: int) -> str:
    return f"efface-{member_id}@{ERASED_DOMAIN}"


def is_erased(member: Member) -> bool:
    return member.email.endswith("@" + ERASED_DOMAIN)


def _plain(row: Any, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = row.model_dump(mode="json")
    return {key: value for key, value in data.items() if key not in without}


def _rows(session: Session, model: Any, member_column: Any, member_id: int, order: Any) -> list[dict[str, Any]]:
    return [_plain(r) for r in session.exec(select(model).where(member_column == member_id).order_by(order))]


def export_member(session: Session, member: Member, now: datetime) -> dict[str, Any]:
    """Everything stored about ``member``, as plain JSON values (no password hash, no token
    secret: only what they are). Registrations join here once the programme tables exist."""
    assert member.id is not None
    mid = member.id
    tokens = session.exec(select(ApiToken).where(ApiToken.member_id == mid).order_by(col(ApiToken.id)))
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": _plain(member, without=("password_hash", "calendar_salt")),
        "badges": _rows(session, Badge, Badge.member_id, mid, col(Badge.id)),
        "trainings": _rows(session, Training, Training.member_id, mid, col(Training.id)),
        "tokens": [_plain(t, without=("token_hash",)) for t in tokens],
        "bookings": _rows(session, Booking, Booking.member_id, mid, col(Booking.start)),
        "waitlist": _rows(session, WaitlistEntry, WaitlistEntry.member_id, mid, col(WaitlistEntry.start)),
        "access_events": _rows(session, AccessEvent, AccessEvent.member_id, mid, col(AccessEvent.at)),
        "print_jobs": _rows(session, PrintJob, PrintJob.member_id, mid, col(PrintJob.id)),
    }


def erase_member(session: Session, member: Member, actor: Member, now: datetime) -> Member:
    """Remove ``member``'s identity in the caller's write session (no commit)."""
    assert member.id is not None
    if member.id == actor.id:
        raise Conflict("cannot_erase_self")
    if is_erased(member):
        return member
    old_email = member.email
    member.name = ERASED_NAME
    member.email = _erased_email(member.id)
    member.password_hash = None
    member.active = False
    member.roles = ["member"]
    member.calendar_salt = secrets.token_hex(16)  # the old calendar feed URL stops working
    session.add(member)
    for badge in session.exec(select(Badge).where(Badge.member_id == member.id)):
        badge.revoked_at = badge.revoked_at or now
        badge.label = ""
        session.add(badge)
    for token in session.exec(select(ApiToken).where(ApiToken.member_id == member.id)):
        session.delete(token)
    for entry in session.exec(select(WaitlistEntry).where(WaitlistEntry.member_id == member.id)):
        session.delete(entry)  # a wait for a slot is no history: the person will not come
    for booking in session.exec(select(Booking).where(Booking.member_id == member.id)):
        booking.note = ""
        if booking.status in ACTIVE_STATUSES and booking.start > now:
            booking.status = "cancelled"  # nobody will come: free the room
            booking.reason = "member_erased"
        session.add(booking)
    for job in session.exec(select(PrintJob).where(PrintJob.member_id == member.id)):
        job.note = ""
        session.add(job)
    throttle = session.get(LoginThrottle, f"account:{old_email.lower()}")
    if throttle is not None:
        session.delete(throttle)
    session.add(
        AccessEvent(at=now, member_id=member.id, decision="privacy", reason="member_erased", detail=f"par #{actor.id}")
    )
    session.flush()
    return member
