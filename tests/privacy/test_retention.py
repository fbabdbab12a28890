"""Access-log retention on SQLite and PostgreSQL: the purge deletes only lines older than the
retention, keeps the daily counts (the same totals before and after), leaves one audit line,
and the append-only triggers still refuse every other UPDATE and DELETE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select

from tierslieu.db import Database
from tierslieu.models import AccessDailyCount, AccessEvent, AccessEventPurge
from tierslieu.privacy.retention import access_totals, purge_access_log

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def _line(at: datetime, *, member: int | None = 7, decision: str = "granted", reason: str = "booking") -> AccessEvent:
    return AccessEvent(
        at=at,
        device_id=3,
        device_name="Porte principale",
        space_id=2,
        member_id=member,
        badge_uid="04A1B2C3",
        decision=decision,
        reason=reason,
    )


def _fill(db: Database) -> None:
    with db.session(write=True) as session:
        for days in (200, 120, 120, 91):
            session.add(_line(NOW - timedelta(days=days)))
        session.add(_line(NOW - timedelta(days=120), member=None, decision="denied", reason="unknown_badge"))
        for days in (89, 10, 0):
            session.add(_line(NOW - timedelta(days=days)))
        session.commit()


def _count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AccessEvent)).one())


def test_purge_keeps_daily_counts_and_the_report_totals(db_url: str) -> None:
    db = Database(db_url)
    try:
        _fill(db)
        first, last = (NOW - timedelta(days=365)).date(), (NOW + timedelta(days=1)).date()
        with db.session() as session:
            before = access_totals(session, first, last, TZ)
        with db.session(write=True) as session:
            report = purge_access_log(session, NOW, 90, TZ)
            session.commit()
        assert report.deleted == 5 and report.days == 3
        with db.session() as session:
            after = access_totals(session, first, last, TZ)
            kept = session.exec(select(AccessEvent).where(col(AccessEvent.decision) != "privacy")).all()
            audit = session.exec(select(AccessEvent).where(col(AccessEvent.decision) == "privacy")).one()
            daily = session.exec(select(AccessDailyCount)).all()
            markers = session.exec(select(func.count()).select_from(AccessEventPurge)).one()
        assert after == before and sum(after.values()) == 8
        assert all(line.at >= NOW - timedelta(days=90) for line in kept) and len(kept) == 3
        assert audit.reason == "retention_purge" and audit.member_id is None and "5 ligne(s)" in audit.detail
        assert sum(row.count for row in daily) == 5
        assert {(row.decision, row.reason) for row in daily} == {("granted", "booking"), ("denied", "unknown_badge")}
        assert markers == 0  # the marker never outlives the purge's transaction
        # A second purge at the same instant finds nothing and changes no total.
        with db.session(write=True) as session:
            assert purge_access_log(session, NOW, 90, TZ).deleted == 0
            session.commit()
        with db.session() as session:
            assert access_totals(session, first, last, TZ) == before
    finally:
        db.dispose()


def test_the_log_stays_append_only_outside_the_purge(db_url: str) -> None:
    db = Database(db_url)
    try:
        _fill(db)
        statements = [
            sa.delete(AccessEvent).where(col(AccessEvent.at) >= NOW - timedelta(days=1)),  # recent
            sa.delete(AccessEvent).where(col(AccessEvent.at) < NOW - timedelta(days=100)),  # old, no marker
            sa.update(AccessEvent).values(member_id=None),
        ]
        for statement in statements:
            with db.session(write=True) as session, pytest.raises(DBAPIError, match="append-only"):
                session.execute(statement)
                session.flush()
        # Even under a purge marker, a line newer than the marker's cutoff cannot go, nor change.
        with db.session(write=True) as session:
            session.add(AccessEventPurge(cutoff=NOW - timedelta(days=100)))
            session.flush()
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(sa.delete(AccessEvent).where(col(AccessEvent.at) > NOW - timedelta(days=95)))
            session.rollback()
        with db.session(write=True) as session:
            session.add(AccessEventPurge(cutoff=NOW - timedelta(days=100)))
            session.flush()
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(sa.update(AccessEvent).values(detail="x"))
            session.rollback()
        with db.session() as session:
            assert _count(session) == 8
    finally:
        db.dispose()
