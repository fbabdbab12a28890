"""Route dispatch: the routers a path cannot belong to are skipped, nothing else changes."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tests.conftest import AppHarness, make_settings
from tierslieu.api.routes import ROUTERS
from tierslieu.api.routing import PrefixGroup, PrefixRouter, grouped
from tierslieu.app import API_PREFIX, create_app


def _app(*routers: APIRouter) -> TestClient:
    app = FastAPI()
    for router in routers:
        app.include_router(router)
    return TestClient(app)


def _router(prefix: str, answer: str) -> APIRouter:
    router = PrefixRouter(prefix=prefix) if prefix else APIRouter()

    @router.get("/{item}")
    def read(item: str) -> dict[str, str]:
        return {"router": answer, "item": item}

    return router


def test_a_group_serves_its_routers_and_skips_other_paths() -> None:
    group = PrefixGroup([_router("/rooms", "rooms"), _router("/desks", "desks")])
    client = _app(group, _router("/printers", "printers"))
    assert client.get("/desks/3").json() == {"router": "desks", "item": "3"}
    assert client.get("/printers/3").json() == {"router": "printers", "item": "3"}
    assert client.get("/lockers/3").status_code == 404
    assert group.matches({"type": "http", "path": "/printers/3", "method": "GET"})[0].name == "NONE"


def test_a_group_with_a_router_without_prefix_never_skips() -> None:
    group = PrefixGroup([_router("/rooms", "rooms"), _router("", "anything")])
    assert _app(group).get("/lockers").json() == {"router": "anything", "item": "lockers"}


def test_the_api_groups_keep_every_route_in_order() -> None:
    """The OpenAPI document of the grouped routers is the one of the routers included one by one."""
    plain, groups = FastAPI(), FastAPI()
    for router in ROUTERS:
        plain.include_router(router, prefix=API_PREFIX)
    for group in grouped(ROUTERS):
        groups.include_router(group, prefix=API_PREFIX)
    assert len(grouped(ROUTERS)) < len(ROUTERS)
    assert list(groups.openapi()["paths"].items()) == list(plain.openapi()["paths"].items())


def test_apps_of_one_process_share_the_routers_and_keep_their_own_runtime(
    api: AppHarness, sqlite_template: Path, tmp_path: Path
) -> None:
    """The routers are built once per process (tierslieu.app.api_router): a second app still
    answers from its own runtime and database."""
    database = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, database)
    other = create_app(make_settings(f"sqlite:///{database}", tmp_path / "other"), migrate=False)
    admin = api.users["admin"].headers
    with TestClient(other) as client:
        assert api.client.get(f"{API_PREFIX}/members/me", headers=admin).status_code == 200
        assert client.get(f"{API_PREFIX}/members/me", headers=admin).status_code == 401
        assert other.state.runtime is not api.runtime
        assert api.client.get(f"{API_PREFIX}/members/me", headers=admin).json()["email"] == "admin@trilport.test"
