"""Two sites in one deployment: a staff member scoped to one of them sees and acts on that site
only (403 ``site_forbidden`` elsewhere), and acts as a plain member at the other site."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.conftest import PASSWORD, ApiUser, AppHarness
from tests.support.two_sites import TwoSites, load_two_sites, scoped_user
from tierslieu.db.types import utcnow
from tierslieu.models import AccessEvent, Site

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def two(api_any_db: AppHarness) -> TwoSites:
    return load_two_sites(api_any_db.runtime)


@pytest.fixture
def sam(api_any_db: AppHarness, two: TwoSites) -> ApiUser:
    """Staff at Trilport only."""
    return scoped_user(api_any_db.runtime, "staff", [two.a], "sam@trilport.test")


def _tomorrow(hour: int) -> datetime:
    day = (utcnow().astimezone(PARIS) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def _book(api: AppHarness, who: ApiUser, resource_id: int, hour: int, member_id: int | None = None) -> int:
    body = {"resource_id": resource_id, "start": _tomorrow(hour).isoformat(), "end": _tomorrow(hour + 1).isoformat()}
    if member_id is not None:
        body["member_id"] = member_id
    response = api.client.post("/api/v1/bookings", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _forbidden(response: object) -> None:
    status, body = response.status_code, response.json()  # type: ignore[attr-defined]
    assert (status, body["code"]) == (403, "site_forbidden"), body


def test_sites_listed_per_scope(api_any_db: AppHarness, two: TwoSites, sam: ApiUser) -> None:
    api = api_any_db
    everyone = api.client.get("/api/v1/sites", headers=api.users["admin"].headers).json()
    assert {s["slug"] for s in everyone} == {"trilport", "fablab-meaux"}
    meaux = next(s for s in everyone if s["slug"] == "fablab-meaux")
    assert (meaux["city"], meaux["postal_code"], meaux["timezone"]) == ("Meaux", "77100", "Europe/Paris")
    member_view = api.client.get("/api/v1/sites", headers=api.users["member"].headers).json()
    assert len(member_view) == 2  # members are shared: they see every site
    assert [s["slug"] for s in api.client.get("/api/v1/sites", headers=sam.headers).json()] == ["trilport"]
    _forbidden(api.client.get(f"/api/v1/sites/{two.b}", headers=sam.headers))
    assert api.client.get("/api/v1/sites?site_id=999999", headers=api.users["admin"].headers).status_code == 404


def test_scoped_staff_sees_only_their_site(api_any_db: AppHarness, two: TwoSites, sam: ApiUser) -> None:
    api = api_any_db
    alice = api.users["member"]
    at_b = _book(api, api.users["admin"], two.resources["Salle FabLab"], 10, member_id=alice.id)
    at_a = _book(api, api.users["admin"], two.resources["Salle polyvalente R"], 10, member_id=alice.id)
    with api.runtime.db.session(write=True) as session:
        for space in (two.spaces["Tiers-lieu"], two.spaces["FabLab Meaux"]):
            session.add(AccessEvent(at=utcnow(), space_id=space, decision="denied", reason="no_booking"))
        session.commit()

    def ids(path: str) -> set[int]:
        response = api.client.get(path, headers=sam.headers)
        assert response.status_code == 200, (path, response.text)
        rows = response.json()
        return {row["space_id"] if path.endswith(("occupancy", "access-events")) else row["id"] for row in rows}

    a_spaces, b_spaces = two.spaces_of(two.a), two.spaces_of(two.b)
    assert ids("/api/v1/spaces") == a_spaces
    assert ids("/api/v1/resources") == {two.resources["Salle polyvalente R"]}
    assert ids("/api/v1/devices") == {two.devices["Porte Trilport"], two.devices["Lecteur Trilport"]}
    assert ids("/api/v1/bookings") == {at_a}
    assert ids("/api/v1/occupancy") == a_spaces
    assert ids("/api/v1/access-events") == {two.spaces["Tiers-lieu"]}
    # The live stream's snapshot too (a plain GET ends after it).
    stream = api.client.get("/api/v1/occupancy/stream", headers=sam.headers)
    data = next(line for line in stream.text.splitlines() if line.startswith("data:"))
    assert {space["space_id"] for space in json.loads(data[5:])["spaces"]} == a_spaces
    _forbidden(api.client.get(f"/api/v1/occupancy/stream?site_id={two.b}", headers=sam.headers))
    # The same lists narrowed to their own site answer; to the other site, 403.
    for path in ("spaces", "resources", "devices", "bookings", "occupancy", "access-events", "reports/occupancy"):
        assert api.client.get(f"/api/v1/{path}?site_id={two.a}", headers=sam.headers).status_code == 200, path
        _forbidden(api.client.get(f"/api/v1/{path}?site_id={two.b}", headers=sam.headers))
    # An admin sees both sites, and narrows to one.
    admin = api.users["admin"].headers
    assert len(api.client.get("/api/v1/bookings", headers=admin).json()) == 2
    narrowed = api.client.get(f"/api/v1/spaces?site_id={two.b}", headers=admin).json()
    assert {s["id"] for s in narrowed} == b_spaces and {s["site_id"] for s in narrowed} == {two.b}
    # Single objects of the other site: 403.
    for path in (
        f"/api/v1/spaces/{two.spaces['FabLab Meaux']}",
        f"/api/v1/resources/{two.resources['Salle FabLab']}",
        f"/api/v1/devices/{two.devices['Porte FabLab']}",
        f"/api/v1/bookings/{at_b}",
    ):
        _forbidden(api.client.get(path, headers=sam.headers))
    assert api.client.get(f"/api/v1/bookings/{at_a}", headers=sam.headers).status_code == 200
    door_b = two.devices["Porte FabLab"]
    _forbidden(api.client.post(f"/api/v1/devices/{door_b}/command", json={"action": "unlock"}, headers=sam.headers))
    _forbidden(api.client.post(f"/api/v1/bookings/{at_b}/cancel", headers=sam.headers))
    _forbidden(api.client.post("/api/v1/emergency/reset", headers=sam.headers))
    _forbidden(api.client.get("/api/v1/outbox", headers=sam.headers))
    door_a = two.devices["Porte Trilport"]
    command = api.client.post(f"/api/v1/devices/{door_a}/command", json={"action": "unlock"}, headers=sam.headers)
    assert command.status_code == 200, command.text
    assert api.client.post(f"/api/v1/bookings/{at_a}/cancel", headers=sam.headers).status_code == 200


def test_scoped_staff_books_as_a_member_elsewhere(api_any_db: AppHarness, two: TwoSites, sam: ApiUser) -> None:
    api = api_any_db
    alice = api.users["member"]
    room_a, room_b = two.resources["Salle polyvalente R"], two.resources["Salle FabLab"]
    _book(api, sam, room_a, 9, member_id=alice.id)  # staff at their site: for someone else
    own = _book(api, sam, room_b, 9)  # at the other site: for themself, like any member
    start, end = _tomorrow(11).isoformat(), _tomorrow(12).isoformat()
    body = {"resource_id": room_b, "member_id": alice.id, "start": start, "end": end}
    refused = api.client.post("/api/v1/bookings", json=body, headers=sam.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "book_for_others_forbidden")
    # Their own booking at the other site stays theirs to see and cancel.
    assert api.client.get(f"/api/v1/bookings/{own}", headers=sam.headers).status_code == 200
    assert api.client.post(f"/api/v1/bookings/{own}/cancel", headers=sam.headers).json()["status"] == "cancelled"


def test_who_may_give_sites(api_any_db: AppHarness, two: TwoSites, sam: ApiUser) -> None:
    api = api_any_db

    def create(who: ApiUser, email: str, roles: list[str], site_ids: list[int]) -> object:
        body = {"name": email, "email": email, "roles": roles, "password": PASSWORD, "site_ids": site_ids}
        return api.client.post("/api/v1/members", json=body, headers=who.headers)

    _forbidden(create(sam, "b@trilport.fr", ["staff"], [two.b]))
    _forbidden(create(sam, "all@trilport.fr", ["staff"], []))  # "every site" is beyond theirs
    made = create(sam, "a@trilport.fr", ["animator"], [two.a])
    assert made.status_code == 201 and made.json()["site_ids"] == [two.a]  # type: ignore[attr-defined]
    assert create(sam, "m@trilport.fr", ["member"], []).status_code == 201  # type: ignore[attr-defined]
    # An admin gives any sites; a scoped staff member may not change an all-site one.
    boss = create(api.users["admin"], "boss@trilport.fr", ["staff"], [two.a, two.b])
    assert boss.json()["site_ids"] == sorted([two.a, two.b])  # type: ignore[attr-defined]
    boss_id = boss.json()["id"]  # type: ignore[attr-defined]
    _forbidden(api.client.patch(f"/api/v1/members/{boss_id}", json={"site_ids": [two.a]}, headers=sam.headers))
    unknown = create(api.users["admin"], "u@trilport.fr", ["staff"], [999999])
    assert unknown.status_code == 404  # type: ignore[attr-defined]
    # The login then carries the scope: the new animator reads Trilport's devices only.
    token = api.client.post("/api/v1/auth/token", data={"username": "a@trilport.fr", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    devices = api.client.get("/api/v1/devices", headers=headers).json()
    assert {d["name"] for d in devices} == {"Porte Trilport", "Lecteur Trilport"}


def test_booking_rules_use_the_site_timezone(api_any_db: AppHarness, two: TwoSites) -> None:
    """The FabLab moved to Cayenne (UTC-3): its opening hours are read in its own local time."""
    api = api_any_db
    with api.runtime.db.session(write=True) as session:
        site = session.exec(select(Site).where(Site.id == two.b)).one()
        site.timezone = "America/Cayenne"
        session.add(site)
        session.commit()
    admin = api.users["admin"].headers
    building = two.spaces["FabLab Meaux"]
    hours = {day: ["09:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    patched = api.client.patch(f"/api/v1/spaces/{building}", json={"rules": {"opening_hours": hours}}, headers=admin)
    assert patched.status_code == 200, patched.text
    cayenne = ZoneInfo("America/Cayenne")
    day = (utcnow().astimezone(cayenne) + timedelta(days=2)).date()
    ten = datetime(day.year, day.month, day.day, 10, tzinfo=cayenne)  # 14:00 in Paris: open in Cayenne only
    body = {"resource_id": two.resources["Salle FabLab"], "start": ten.isoformat()}
    body["end"] = (ten + timedelta(hours=1)).isoformat()
    check = api.client.post("/api/v1/bookings/check", json=body, headers=api.users["member"].headers).json()
    assert check["ok"] is True, check
    early = {**body, "start": (ten - timedelta(hours=2)).isoformat(), "end": (ten - timedelta(hours=1)).isoformat()}
    check = api.client.post("/api/v1/bookings/check", json=early, headers=api.users["member"].headers).json()
    assert check["ok"] is False and "outside_opening_hours" in {v["code"] for v in check["violations"]}, check
    free = api.client.get(
        f"/api/v1/availability?resource_id={body['resource_id']}&from={ten.date()}T00:00:00-03:00"
        f"&to={ten.date()}T23:59:00-03:00",
        headers=admin,
    ).json()
    starts = [datetime.fromisoformat(i["start"]).astimezone(cayenne).hour for i in free["resources"][0]["free"]]
    assert starts == [9]
