"""Shared fixtures: databases (SQLite and a real PostgreSQL), the app, members with tokens."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from fastapi.testclient import TestClient

from tests.support.postgres import PostgresServer, postgres_server
from tierslieu.api import create_app
from tierslieu.migrations import upgrade_database
from tierslieu.runtime import Runtime
from tierslieu.services import members as member_service
from tierslieu.settings import Settings

pytest_plugins = ["tests.support.octoprint", "tests.support.mosquitto", "tests.support.parallel"]

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-0123456789"
PASSWORD = "correct-horse-battery"
ROLE_NAMES = ("admin", "staff", "animator", "municipal", "member", "partner")


# Markers: from the servers a test needs, so that `-m "not postgres"` (or broker, octoprint,
# browser) leaves out exactly the tests that start one. ------------------------------------

_MARKER_OF_FIXTURE = {
    "pg_server": "postgres",
    "pg_template": "postgres",
    "pg_url": "postgres",
    "mosquitto": "broker",
    "private_mosquitto": "broker",
    "mosquitto_factory": "broker",
    "octoprint": "octoprint",
    "private_octoprint": "octoprint",
    "browser": "browser",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for marker in sorted({_MARKER_OF_FIXTURE[name] for name in fixtures if name in _MARKER_OF_FIXTURE}):
            item.add_marker(marker)


# Databases --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    yield from postgres_server()


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    """A migrated database that each test clones (CREATE DATABASE … TEMPLATE is fast)."""
    name = pg_server.create_database()
    upgrade_database(pg_server.database_url(name))
    return name


@pytest.fixture
def pg_url(pg_server: PostgresServer, pg_template: str) -> Iterator[str]:
    name = pg_server.create_database(template=pg_template)
    yield pg_server.database_url(name)
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "tierslieu.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


# Settings, runtime, app -------------------------------------------------------------


def make_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": db_url,
        "data_dir": tmp_path / "var",
        "secret_key": TEST_SECRET,
        "run_background": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(sqlite_url, tmp_path)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.create(settings)
    yield rt
    rt.stop()  # its scheduler and database


@dataclass
class ApiUser:
    id: int
    email: str
    token: str
    roles: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_password_hashes: dict[str, str] = {}


@contextmanager
def password_hashed_once(runtime: Runtime) -> Iterator[None]:
    """While it lasts, ``runtime.secrets`` hashes each password once per test process: an argon2
    hash costs about 0.3 s on both cores, and the ``api`` harness alone makes six users in each of
    ~250 tests. The hashes are real (today's parameters); users of one password share its salt,
    which changes nothing to how a log-in checks it."""
    real = runtime.secrets.hash_password

    def once(password: str) -> str:
        if password not in _password_hashes:
            _password_hashes[password] = real(password)
        return _password_hashes[password]

    with patch.object(runtime.secrets, "hash_password", once):
        yield


def create_user(runtime: Runtime, *roles: str, email: str | None = None, name: str | None = None) -> ApiUser:
    email = email or f"{'-'.join(roles) or 'nobody'}-{id(object())}@trilport.test"
    with runtime.db.session(write=True) as session, password_hashed_once(runtime):
        member = member_service.create_member(
            session, runtime.secrets, name=name or email.split("@")[0], email=email, roles=roles, password=PASSWORD
        )
        token = member_service.issue_token(session, member, lifetime=timedelta(hours=1))
        session.commit()
        assert member.id is not None
        return ApiUser(member.id, member.email, token, tuple(roles))


@dataclass
class AppHarness:
    client: TestClient
    runtime: Runtime
    users: dict[str, ApiUser]

    def user(self, *roles: str, email: str | None = None) -> ApiUser:
        return create_user(self.runtime, *roles, email=email)


def _harness(settings: Settings) -> Iterator[AppHarness]:
    app = create_app(settings, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        runtime: Runtime = app.state.runtime
        users = {role: create_user(runtime, role, email=f"{role}@trilport.test") for role in ROLE_NAMES}
        yield AppHarness(client, runtime, users)


@pytest.fixture
def api(settings: Settings) -> Iterator[AppHarness]:
    """The app on SQLite, with one user (and bearer token) per role."""
    yield from _harness(settings)


@pytest.fixture
def api_any_db(db_url: str, tmp_path: Path) -> Iterator[AppHarness]:
    """The same, once on SQLite and once on PostgreSQL."""
    yield from _harness(make_settings(db_url, tmp_path))


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


SettingsFactory = Callable[..., Settings]
