"""Storage on SQLite and PostgreSQL: migrations, UTC instants, constraints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from tierslieu.db import Database
from tierslieu.migrations import alembic_config, current_revisions, upgrade_database
from tierslieu.models import ApiToken, Badge, Member, Space
from tierslieu.services.sites import default_site_id


def test_migrations_reach_every_head(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(db_url))
    current = current_revisions(db_url)
    applied = {rev.revision for rev in script.iterate_revisions(tuple(current), "base")}
    assert set(script.get_heads()) <= applied  # every branch is applied
    upgrade_database(db_url)  # running again is a no-op
    assert current_revisions(db_url) == current
    db = Database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    db.dispose()
    assert {"space", "resource", "member", "badge", "api_token", "training", "device", "printer"} <= tables


def test_instants_come_back_aware_in_utc(db_url: str) -> None:
    db = Database(db_url)
    paris = timezone(timedelta(hours=2))
    moment = datetime(2026, 7, 14, 10, 30, tzinfo=paris)
    with db.session() as session:
        member = Member(name="A", email="a@x.fr", roles=["member"])
        session.add(member)
        session.flush()
        session.add(ApiToken(member_id=member.id, token_hash="h" * 64, expires_at=moment))
        session.commit()
    with db.session() as session:
        token = session.exec(select(ApiToken)).one()
        assert token.expires_at == moment
        assert token.expires_at is not None and token.expires_at.tzinfo is not None
        assert token.expires_at.utcoffset() == timedelta(0)
        assert token.expires_at.hour == 8
    db.dispose()


def test_naive_instants_are_refused(db_url: str) -> None:
    db = Database(db_url)
    with db.session() as session:
        member = Member(name="A", email="a@x.fr", roles=["member"])
        session.add(member)
        session.flush()
        session.add(ApiToken(member_id=member.id, token_hash="n" * 64, expires_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive datetime refused"):
            session.flush()
    db.dispose()


def test_unique_names_and_badges_are_enforced_by_the_database(db_url: str) -> None:
    db = Database(db_url)
    with db.session() as session:
        site_id = default_site_id(session, "Europe/Paris")
        session.add(Space(name="Salle", kind="room", site_id=site_id))
        session.commit()
        session.add(Space(name="Salle", kind="room", site_id=site_id))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        member = Member(name="B", email="b@x.fr", roles=["member"])
        session.add(member)
        session.flush()
        session.add(Badge(uid="ABCD", member_id=member.id))
        session.commit()
        session.add(Badge(uid="ABCD", member_id=member.id))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert len(session.exec(select(Space)).all()) == 1
    db.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_postgres_stores_timestamptz(pg_url: str) -> None:
    db = Database(pg_url)
    with db.engine.connect() as conn:
        kind = conn.exec_driver_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_name='api_token' AND column_name='expires_at'"
        ).scalar()
    assert kind == "timestamp with time zone"
    db.dispose()
