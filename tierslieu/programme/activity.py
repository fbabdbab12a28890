"""Activity reports, as the national activity report of digital-inclusion advisors records each
accompaniment (La Coop de la médiation numérique): individual, collective or one-off; duration,
themes, publics, where people were referred to.

An appointment's report is written by the advisor; a collective session's is the same record
computed from its attendance, refreshed whenever the roll-call changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from tierslieu.errors import InvalidInput
from tierslieu.models import ActivityReport, Workshop, WorkshopSession
from tierslieu.models.programme import ActivityKind
from tierslieu.programme.workshops import check_publics, check_themes

if TYPE_CHECKING:
    from tierslieu.programme.attendance import Tally

__all__ = ["check_kind", "list_reports", "refresh_session_report", "write_report"]

MAX_REFERRALS = 10


def check_kind(kind: str) -> str:
    if kind not in {k.value for k in ActivityKind}:
        raise InvalidInput("programme.unknown_activity_kind", kind=kind, known=", ".join(k.value for k in ActivityKind))
    return kind


def _check_referrals(referred_to: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(r.strip()[:120] for r in referred_to if r.strip()))
    if len(cleaned) > MAX_REFERRALS:
        raise InvalidInput("programme.too_many_referrals", most=MAX_REFERRALS)
    return cleaned


def write_report(
    session: Session,
    report: ActivityReport,
    *,
    kind: str,
    duration_minutes: int,
    themes: Sequence[str],
    publics: Sequence[str],
    referred_to: Sequence[str],
) -> ActivityReport:
    """Fill ``report`` with checked values (the same checks for every kind of report)."""
    if not 1 <= duration_minutes <= 24 * 60:
        raise InvalidInput("programme.invalid_duration", minutes=duration_minutes)
    report.kind = check_kind(kind)
    report.duration_minutes = duration_minutes
    report.themes = check_themes(themes)
    report.publics = check_publics(publics)
    report.referred_to = _check_referrals(referred_to)
    session.add(report)
    session.flush()
    return report


def refresh_session_report(session: Session, ws: WorkshopSession, tally: Tally) -> ActivityReport | None:
    """The collective report of a session from its counts (themes and publics: the workshop's)."""
    workshop = session.get(Workshop, ws.workshop_id)
    if workshop is None or ws.id is None:
        return None
    report = session.exec(select(ActivityReport).where(ActivityReport.session_id == ws.id)).first()
    report = report or ActivityReport(session_id=ws.id, kind=ActivityKind.collective, duration_minutes=1)
    report.at, report.resource_id, report.author_id = ws.start, ws.resource_id, ws.leader_id
    report.people = tally.present
    minutes = max(1, int((ws.end - ws.start).total_seconds() // 60))
    return write_report(
        session,
        report,
        kind=ActivityKind.collective,
        duration_minutes=min(minutes, 24 * 60),
        themes=workshop.themes,
        publics=workshop.publics,
        referred_to=report.referred_to,
    )


def list_reports(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, kind: str | None = None
) -> Sequence[ActivityReport]:
    """Reports whose accompaniment took place in ``[start, end)``, oldest first."""
    query = select(ActivityReport)
    if start is not None:
        query = query.where(col(ActivityReport.at) >= start)
    if end is not None:
        query = query.where(col(ActivityReport.at) < end)
    if kind is not None:
        query = query.where(ActivityReport.kind == check_kind(kind))
    return session.exec(query.order_by(col(ActivityReport.at), col(ActivityReport.id))).all()
