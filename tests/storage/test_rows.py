"""The write and read helpers of the busiest paths (``tierslieu.db.rows``, ``read_first``), on
both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from tierslieu.db import Database, transaction_open
from tierslieu.db.engine import read_first
from tierslieu.db.rows import attach_row, columns_of, insert_row, new_row
from tierslieu.models import Member, Space
from tierslieu.services.sites import default_site_id


def test_new_row_is_the_constructors_row() -> None:
    values: dict[str, Any] = {"name": "Ada", "email": "ada@example.fr", "roles": ["member"], "language": "en"}
    built, constructed = new_row(Member, **values), Member(**values)
    # Defaults filled in alike; the creation instants from the factory, a few µs apart.
    assert built.model_dump(exclude={"created_at"}) == constructed.model_dump(exclude={"created_at"})
    assert abs(built.created_at - constructed.created_at) < timedelta(seconds=5)
    assert built.model_fields_set == constructed.model_fields_set == set(values)
    first, second = new_row(Member, name="B", email="b@example.fr"), new_row(Member, name="C", email="c@example.fr")
    assert first.roles == second.roles and first.roles is not second.roles  # each its own default


def test_new_rows_insert_both_ways_and_read_back(db_url: str) -> None:
    db = Database(db_url)
    with db.session(write=True) as session:
        site_id = default_site_id(session, "Europe/Paris")
        direct = new_row(Space, name="Atelier", kind="room", site_id=site_id, rules={"opening": []})
        new_id = insert_row(session, direct)
        assert direct.id == new_id and session.get(Space, new_id) is direct  # persistent, no query
        direct.name = "Grand atelier"  # a later change flushes as an UPDATE
        flushed = new_row(Space, name="Visio", kind="room", site_id=site_id)
        session.add(flushed)  # the unit of work inserts it as it would a constructed row
        session.commit()
    with db.session() as session:
        rows = {space.id: space for space in session.exec(select(Space).where(Space.site_id == site_id))}
        assert rows[new_id].name == "Grand atelier" and rows[new_id].rules == {"opening": []}
        assert flushed.id is not None and rows[flushed.id].name == "Visio"
        assert rows[flushed.id].rules == {} and rows[flushed.id].description == ""  # the defaults
    db.dispose()


def test_read_first_opens_the_transaction_and_raises_sqlalchemys_errors(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session(write=True) as session:
            assert read_first(session, "SELECT 7") == 7
            assert transaction_open(session)  # the write session's BEGIN went first or along
            assert read_first(session, "SELECT 1 WHERE 1 = 0") is None
        with db.session(read_only=True) as session:
            assert read_first(session, "SELECT 8") == 8
            assert not transaction_open(session)  # a read-only session stays in autocommit
        with db.session(write=True) as session, pytest.raises(DBAPIError):
            # The driver's own error is raised as SQLAlchemy's, as for any other statement.
            read_first(session, "SELECT value FROM no_such_table")
    finally:
        db.dispose()


def test_attach_row_gives_the_orms_persistent_row(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session(write=True) as session:
            site_id = default_site_id(session, "Europe/Paris")
            space_id = insert_row(session, new_row(Space, name="Forum", kind="room", site_id=site_id))
            session.commit()
        columns = [column for _key, column in columns_of(Space)]
        query = sa.select(*columns).where(columns[0] == space_id)
        with db.session(write=True) as session:
            found = session.connection().execute(query).one()
            space = attach_row(session, Space, found)
            assert (space.id, space.name, space.site_id) == (space_id, "Forum", site_id)
            assert session.get(Space, space_id) is space  # in the identity map: no second read
            assert attach_row(session, Space, found) is space  # held already: the same instance
            space.capacity = 40
            session.commit()  # flushed as an UPDATE of that row
        with db.session() as session:
            reread = session.get(Space, space_id)
            assert reread is not None and reread.capacity == 40 and reread.name == "Forum"
    finally:
        db.dispose()
