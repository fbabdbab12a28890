"""Access-log retention: lines older than ``access_log_retention_days`` are deleted, their
daily counts kept (per local day, door, space, decision and reason), and each purge leaves one
line in the audit trail. The deletion goes through the purge marker the append-only triggers
recognise (migration ``0011_privacy``): nothing else can delete a line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tierslieu.models import AccessDailyCount, AccessEvent, AccessEventPurge

__all__ = ["PURGE_DECISION", "DailyKey", "PurgeReport", "access_totals", "purge_access_log"]

# The purge's own audit lines: no personal data, never purged themselves.
PURGE_DECISION = "privacy"
PURGE_REASON = "retention_purge"


class DailyKey(NamedTuple):
    day: date
    space_id: int | None
    device_id: int | None
    device_name: str
    decision: str
    reason: str


@dataclass(frozen=True, slots=True)
class PurgeReport:
    cutoff: datetime
    deleted: int
    days: int


def _count_lines(session: Session, tz: ZoneInfo, *conditions: sa.ColumnElement[bool]) -> Counter[DailyKey]:
    query = sa.select(
        col(AccessEvent.at),
        col(AccessEvent.space_id),
        col(AccessEvent.device_id),
        col(AccessEvent.device_name),
        col(AccessEvent.decision),
        col(AccessEvent.reason),
    ).where(col(AccessEvent.decision) != PURGE_DECISION, *conditions)
    counts: Counter[DailyKey] = Counter()
    for at, space_id, device_id, device_name, decision, reason in session.execute(query):
        counts[DailyKey(at.astimezone(tz).date(), space_id, device_id, device_name, decision, reason)] += 1
    return counts


def _add_daily(session: Session, counts: Counter[DailyKey]) -> None:
    days = {key.day for key in counts}
    if not days:
        return
    existing = session.exec(select(AccessDailyCount).where(col(AccessDailyCount.day).in_(days))).all()
    by_key = {DailyKey(r.day, r.space_id, r.device_id, r.device_name, r.decision, r.reason): r for r in existing}
    for key, count in counts.items():
        row = by_key.get(key)
        if row is None:
            row = AccessDailyCount(**key._asdict(), count=0)
        row.count += count
        session.add(row)


def purge_access_log(session: Session, now: datetime, retention_days: int, tz: ZoneInfo) -> PurgeReport:
    """Delete the lines older than the retention in the caller's write session (no commit)."""
    cutoff = now - timedelta(days=retention_days)
    old = col(AccessEvent.at) < cutoff
    counts = _count_lines(session, tz, old)
    _add_daily(session, counts)
    marker = AccessEventPurge(cutoff=cutoff)
    session.add(marker)
    session.flush()
    deleted = session.execute(sa.delete(AccessEvent).where(old, col(AccessEvent.decision) != PURGE_DECISION)).rowcount  # type: ignore[attr-defined]
    session.delete(marker)  # before commit: no other transaction ever sees the marker
    session.add(
        AccessEvent(
            at=now,
            decision=PURGE_DECISION,
            reason=PURGE_REASON,
            detail=f"{deleted} ligne(s) antérieure(s) au {cutoff.isoformat()} supprimée(s) ; "
            f"comptes journaliers conservés (rétention {retention_days} j)",
        )
    )
    session.flush()
    return PurgeReport(cutoff=cutoff, deleted=int(deleted or 0), days=len({k.day for k in counts}))


def access_totals(session: Session, start: date, end: date, tz: ZoneInfo) -> dict[DailyKey, int]:
    """Access-log counts per day in ``[start, end)`` (local days), whether the lines are still
    there or were purged into daily counts: the same totals before and after a purge."""
    begin = datetime.combine(start, datetime.min.time(), tz)
    finish = datetime.combine(end, datetime.min.time(), tz)
    totals: Counter[DailyKey] = _count_lines(session, tz, col(AccessEvent.at) >= begin, col(AccessEvent.at) < finish)
    kept = session.exec(
        select(AccessDailyCount).where(col(AccessDailyCount.day) >= start, col(AccessDailyCount.day) < end)
    )
    for row in kept:
        totals[DailyKey(row.day, row.space_id, row.device_id, row.device_name, row.decision, row.reason)] += row.count
    return dict(sorted(totals.items()))


def total_by_decision(totals: Iterable[tuple[DailyKey, int]]) -> dict[str, int]:
    summed: Counter[str] = Counter()
    for key, count in totals:
        summed[key.decision] += count
    return dict(summed)
