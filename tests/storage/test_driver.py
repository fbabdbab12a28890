"""Statements run on the driver's cursor (``tierslieu.db.driver``): the same values in and out as
through SQLAlchemy, SQLAlchemy's exceptions, on both databases; a dropped connection replaced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from tests.storage.test_round_trips import _kill_backends
from tierslieu.db import Database, transaction_open
from tierslieu.db.driver import DriverStatement
from tierslieu.models import Member, Space
from tierslieu.services.sites import default_site_id

SPACE = Space.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
PARIS = ZoneInfo("Europe/Paris")

_INSERT_MEMBER = DriverStatement(
    sa.insert(MEMBER)
    .values(
        name=sa.bindparam("name"),
        email=sa.bindparam("email"),
        roles=sa.bindparam("roles", type_=MEMBER.c.roles.type),
        site_ids=sa.bindparam("site_ids", type_=MEMBER.c.site_ids.type),
        active=sa.bindparam("active"),
        language=sa.bindparam("language"),
        calendar_salt=sa.bindparam("salt"),
        created_at=sa.bindparam("created_at", type_=MEMBER.c.created_at.type),
    )
    .returning(MEMBER.c.id)
)
_READ_MEMBER = DriverStatement(
    sa.select(MEMBER.c.roles, MEMBER.c.created_at, MEMBER.c.active).where(MEMBER.c.id == sa.bindparam("id"))
)
_RENAME_SPACES = DriverStatement(
    sa.update(SPACE).where(SPACE.c.site_id == sa.bindparam("of_site")).values(description=sa.bindparam("text"))
)


def _member(email: str, created_at: datetime) -> dict[str, object]:
    return {
        "name": "Ada", "email": email, "roles": ["member", "animator"], "site_ids": [], "active": True,
        "language": "fr", "salt": "", "created_at": created_at,
    }  # fmt: skip


def test_values_go_in_and_come_out_as_through_sqlalchemy(db_url: str) -> None:
    db = Database(db_url)
    created = datetime(2031, 3, 4, 10, 30, tzinfo=PARIS)  # stored as UTC, read back aware
    try:
        with db.session(write=True) as session:
            new_id = _INSERT_MEMBER.run(session, _member("ada@trilport.test", created)).first_value()
            assert isinstance(new_id, int) and transaction_open(session)  # in the write transaction
            roles, created_at, active = _READ_MEMBER.run(session, {"id": new_id}).rows[0]
            assert (roles, created_at, active) == (["member", "animator"], created, True)
            assert created_at.tzinfo is not None and created_at.utcoffset() == timedelta(0)
            session.commit()
        with db.session() as session:
            member = session.get(Member, new_id)  # what the ORM reads of what the driver wrote
            assert member is not None and member.roles == ["member", "animator"] and member.created_at == created
            assert _READ_MEMBER.run(session, {"id": new_id + 1000}).rows == []
            with pytest.raises(sa.exc.SQLAlchemyError, match="A value is required"):
                _READ_MEMBER.run(session, {})  # a parameter without a value is an error, not NULL
    finally:
        db.dispose()


def test_row_counts_and_rollback(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session(write=True) as session:
            site_id = default_site_id(session, "Europe/Paris")
            session.add_all(
                [Space(name="A", kind="room", site_id=site_id), Space(name="B", kind="room", site_id=site_id)]
            )
            session.commit()
        with db.session(write=True) as session:
            assert _RENAME_SPACES.run(session, {"of_site": site_id, "text": "Au rez-de-chaussée"}).rowcount == 2
            session.rollback()  # the statement was in the session's transaction
        with db.session() as session:
            spaces = session.exec(select(Space).where(Space.site_id == site_id)).all()
            assert sorted(s.name for s in spaces) == ["A", "B"] and {s.description for s in spaces} == {""}
    finally:
        db.dispose()


def test_errors_are_sqlalchemys_with_the_drivers_code(db_url: str) -> None:
    db = Database(db_url)
    now = datetime.now(UTC)
    try:
        with db.session(write=True) as session:
            _INSERT_MEMBER.run(session, _member("twice@trilport.test", now))
            with pytest.raises(IntegrityError) as caught:
                _INSERT_MEMBER.run(session, _member("twice@trilport.test", now))
            if not db.is_sqlite:
                assert getattr(caught.value.orig, "sqlstate", None) == "23505"  # unique_violation
            session.rollback()
        with db.session() as session:
            assert session.exec(select(Member).where(Member.email == "twice@trilport.test")).all() == []
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_as_sqlalchemy_replaces_it(pg_url: str) -> None:
    def dropped_while_in_use(run: Callable[[Session], object]) -> tuple[bool, str, object]:
        db = Database(pg_url)
        try:
            session = db.session(write=True)
            session.connection().exec_driver_sql("SELECT 1")  # the session holds its connection
            _kill_backends(pg_url)  # as a restart does, while the connection is in use
            with pytest.raises(DBAPIError) as caught:
                run(session)
            try:
                session.close()
                closed = "closed"
            except sa.exc.SQLAlchemyError as exc:
                closed = type(exc).__name__
            with db.session(write=True) as session:  # the pool hands out a new connection
                return caught.value.connection_invalidated, closed, _READ_MEMBER.run(session, {"id": 0}).rows
        finally:
            db.dispose()

    on_driver = dropped_while_in_use(lambda session: _READ_MEMBER.run(session, {"id": 0}))
    through_sqlalchemy = dropped_while_in_use(
        lambda session: session.connection().execute(_READ_MEMBER.statement, {"id": 0})
    )
    assert on_driver == through_sqlalchemy
    assert on_driver[0] is True and on_driver[2] == []
