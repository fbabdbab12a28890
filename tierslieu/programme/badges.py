"""Badges scanned at a room's reader during a session mark their holders present.

Heard by the access audit writer after each batch of audit lines is written (see
:class:`tierslieu.hardware.audit.AuditWriter`), in its transaction: one query tells whether any
session is running at all, so a stream of scans elsewhere costs almost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from tierslieu.models import WorkshopSession
from tierslieu.models.programme import SessionStatus
from tierslieu.programme.attendance import BADGE_LEAD, mark_badge

__all__ = ["record_badge_attendance"]


def _scans(lines: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, datetime]]:
    """(member, space, at) of each scan of a known badge (granted or not)."""
    found = []
    for line in lines:
        member_id, space_id, at = line.get("member_id"), line.get("space_id"), line.get("at")
        if not line.get("badge_uid") or not isinstance(at, datetime):
            continue
        if isinstance(member_id, int) and isinstance(space_id, int):
            found.append((member_id, space_id, at))
    return found


def record_badge_attendance(session: Session, lines: Sequence[Mapping[str, Any]]) -> None:
    scans = _scans(lines)
    if not scans:
        return
    earliest = min(at for _m, _s, at in scans)
    latest = max(at for _m, _s, at in scans)
    running = session.exec(
        select(func.count())
        .select_from(WorkshopSession)
        .where(
            WorkshopSession.status == SessionStatus.scheduled,
            col(WorkshopSession.start) <= latest + BADGE_LEAD,
            col(WorkshopSession.end) > earliest,
        )
    ).one()
    if not running:
        return
    for member_id, space_id, at in scans:
        mark_badge(session, member_id=member_id, space_id=space_id, at=at)
