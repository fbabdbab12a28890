"""0012_sites: an install from before multi-site keeps every space, now in its one site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgresServer
from tierslieu.db.engine import make_engine
from tierslieu.migrations import upgrade_database

BEFORE_SITES = "0008b_outbox_programme"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    yield server.database_url(name)
    server.drop_database(name)


def _old_install(url: str, *, with_profile: bool) -> None:
    upgrade_database(url, BEFORE_SITES)
    engine = make_engine(url)
    with engine.begin() as db:
        if with_profile:
            db.execute(
                sa.text("INSERT INTO site_profile (name, data, updated_at) VALUES (:n, :d, CURRENT_TIMESTAMP)"),
                {"n": "Tiers-lieu de Trilport", "d": '{"address": {"postal_code": "77470", "commune": "Trilport"}}'},
            )
        insert = sa.text(
            "INSERT INTO space (name, kind, parent_id, description, rules) VALUES (:n, :k, :p, '', '{}') RETURNING id"
        )
        building = db.execute(insert, {"n": "Bâtiment", "k": "building", "p": None}).scalar_one()
        db.execute(insert, {"n": "Salle", "k": "room", "p": building})
        db.execute(
            sa.text(
                "INSERT INTO member (name, email, roles, active, language, calendar_salt, created_at) "
                "VALUES ('Agent', 'agent@trilport.test', '[\"staff\"]', true, 'fr', '', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()


def _after(url: str) -> tuple[list[tuple[int, str, str, str]], set[int | None], list[object]]:
    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as db:
        sites = [tuple(row) for row in db.execute(sa.text("SELECT id, slug, name, timezone FROM site"))]
        space_sites = {row[0] for row in db.execute(sa.text("SELECT site_id FROM space"))}
        scopes = [row[0] for row in db.execute(sa.text("SELECT site_ids FROM member"))]
    engine.dispose()
    return sites, space_sites, scopes


def test_the_loaded_site_keeps_its_spaces(empty_db_url: str) -> None:
    _old_install(empty_db_url, with_profile=True)
    sites, space_sites, scopes = _after(empty_db_url)
    assert [(slug, name, tz) for _id, slug, name, tz in sites] == [
        ("tiers-lieu-de-trilport", "Tiers-lieu de Trilport", "Europe/Paris")
    ]
    assert space_sites == {sites[0][0]}
    # The staff member keeps working at every site (raw reads give JSON as text on SQLite).
    assert [json.loads(s) if isinstance(s, str) else s for s in scopes] == [[]]


def test_spaces_without_a_site_file_get_a_main_site(empty_db_url: str) -> None:
    _old_install(empty_db_url, with_profile=False)
    sites, space_sites, _scopes = _after(empty_db_url)
    assert [(slug, name) for _id, slug, name, _tz in sites] == [("site-principal", "Site principal")]
    assert space_sites == {sites[0][0]}


def test_a_fresh_database_has_no_site_until_one_is_needed(empty_db_url: str) -> None:
    upgrade_database(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT count(*) FROM site")).scalar_one() == 0
    engine.dispose()
