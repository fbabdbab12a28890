"""The change feed announces a write once the transaction commits, never at a savepoint: another
process told about it (through the broker) must find it in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import make_settings
from tierslieu.db.changes import Changes
from tierslieu.models import Space
from tierslieu.runtime import Runtime
from tierslieu.services.sites import default_site_id


@pytest.fixture
def any_runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(db_url, tmp_path))
    yield runtime
    runtime.db.dispose()


def test_a_released_savepoint_announces_nothing_until_the_commit(any_runtime: Runtime) -> None:
    heard: list[tuple[Changes, int]] = []
    reader = any_runtime.db

    def listener(changes: Changes) -> None:
        with reader.session() as session:  # what another process would find now
            heard.append((changes, len(session.exec(select(Space)).all())))

    any_runtime.db.changes.subscribe(listener)
    with any_runtime.db.session(write=True) as session:
        site_id = default_site_id(session, "Europe/Paris")
        session.add(Space(name="Avant", kind="room", site_id=site_id))
        with session.begin_nested():  # as the booking service does around its insert
            session.add(Space(name="Dedans", kind="room", site_id=site_id))
        assert heard == []
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(Space(name="Annulé", kind="room", site_id=site_id))
            raise RuntimeError("rolled back to the savepoint")
        assert heard == []
        session.commit()
    assert len(heard) == 1
    changes, visible = heard[0]
    assert visible == 2 and changes.touches("space") and len(changes.rows["space"]) >= 2
