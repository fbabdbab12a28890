"""Route dispatch: the routers a path cannot belong to are skipped, nothing else changes."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tierslieu.api.routes import ROUTERS
from tierslieu.api.routing import PrefixGroup, PrefixRouter, grouped
from tierslieu.app import API_PREFIX


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
