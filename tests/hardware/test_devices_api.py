"""The devices API and the access log API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from tests.conftest import AppHarness
from tierslieu.models import AccessEvent, Space
from tierslieu.services.sites import default_site_id


def _space(api: AppHarness) -> int:
    with api.runtime.db.session(write=True) as session:
        space = Space(name="Salle test", kind="room", site_id=default_site_id(session, "Europe/Paris"))
        session.add(space)
        session.commit()
        assert space.id is not None
        return space.id


def test_device_crud_validation_and_door_commands(api_any_db: AppHarness) -> None:
    api = api_any_db
    staff, animator, member = (api.users[r].headers for r in ("staff", "animator", "member"))
    space_id = _space(api)
    base = {"kind": "door", "bridge": "tasmota", "space_id": space_id}
    contact = api.client.post(
        "/api/v1/devices",
        json={
            "name": "Contact",
            "kind": "contact_sensor",
            "bridge": "zigbee2mqtt",
            "address": "c1",
            "space_id": space_id,
        },
        headers=staff,
    )
    assert contact.status_code == 201, contact.text
    created = api.client.post(
        "/api/v1/devices",
        json={**base, "name": "Porte", "address": "porte-1", "options": {"relay": 2, "contact_sensor": "Contact"}},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    door = created.json()
    assert door["online"] is False and door["last_seen"] is None and door["options"]["relay"] == 2
    assert set(door) == {
        "id",
        "name",
        "kind",
        "bridge",
        "address",
        "space_id",
        "resource_id",
        "options",
        "online",
        "last_seen",
    }

    bad = [
        ({**base, "name": "X", "address": "p", "options": {"relay": 99}}, "invalid_device_config"),
        ({**base, "name": "X", "address": "a/+"}, "invalid_address"),
        ({**base, "name": "X", "address": "p", "options": {"contact_sensor": "Nope"}}, "unknown_contact_sensor"),
        ({**base, "name": "X", "address": "p", "space_id": 999999}, "space_not_found"),
        ({**base, "kind": "people_counter", "name": "X", "address": "p"}, "kind_not_supported"),
        ({**base, "name": "Porte", "address": "p"}, "duplicate_name"),
    ]
    for body, code in bad:
        answer = api.client.post("/api/v1/devices", json=body, headers=staff)
        assert answer.status_code in (404, 409, 422) and answer.json()["code"] == code, (body, answer.text)
        assert answer.json()["detail"]  # a French sentence

    assert api.client.get("/api/v1/devices", headers=animator).status_code == 200
    assert api.client.get("/api/v1/devices", headers=member).status_code == 403
    assert (
        api.client.post("/api/v1/devices", json={**base, "name": "Y", "address": "y"}, headers=animator).status_code
        == 403
    )
    listed = api.client.get(f"/api/v1/devices?space_id={space_id}", headers=staff).json()
    assert [d["name"] for d in listed] == ["Contact", "Porte"]

    patched = api.client.patch(f"/api/v1/devices/{door['id']}", json={"address": "porte-2"}, headers=staff)
    assert patched.status_code == 200 and patched.json()["address"] == "porte-2"
    assert (
        api.client.patch(f"/api/v1/devices/{door['id']}", json={"options": {"relay": 0}}, headers=staff).status_code
        == 422
    )

    url = f"/api/v1/devices/{door['id']}/command"
    held = api.client.post(url, json={"action": "unlock"}, headers=staff)
    assert held.status_code == 200 and held.json() == {
        "device_id": door["id"],
        "action": "unlock",
        "mode": "unlocked",
        "sent": False,
    }
    assert api.client.post(url, json={"action": "lock"}, headers=staff).json()["mode"] == "locked"
    assert api.client.post(url, json={"action": "pulse"}, headers=staff).json()["mode"] == "locked"
    assert api.client.post(url, json={"action": "auto"}, headers=staff).json()["mode"] == "auto"
    assert api.client.post(url, json={"action": "explode"}, headers=staff).status_code == 422
    assert api.client.post(url, json={"action": "lock"}, headers=animator).status_code == 403
    not_door = api.client.post(
        f"/api/v1/devices/{contact.json()['id']}/command", json={"action": "lock"}, headers=staff
    )
    assert not_door.status_code == 422 and not_door.json()["code"] == "not_a_door"

    log = api.client.get(f"/api/v1/access-events?space_id={space_id}", headers=staff)
    assert log.status_code == 200
    assert [(e["decision"], e["reason"]) for e in log.json()] == [
        ("command", "staff_auto"),
        ("command", "staff_pulse"),
        ("command", "staff_lock"),
        ("command", "staff_unlock"),
    ]
    assert all(e["member_id"] == api.users["staff"].id for e in log.json())
    assert api.client.get("/api/v1/access-events", headers=animator).status_code == 403
    naive = api.client.get("/api/v1/access-events?from=2026-01-01T10:00:00", headers=staff)
    assert naive.status_code == 422
    window = api.client.get(
        "/api/v1/access-events",
        params={"from": "2000-01-01T00:00:00+00:00", "to": "2000-01-02T00:00:00+00:00"},
        headers=staff,
    )
    assert window.json() == []

    unknown = api.client.get(f"/api/v1/devices/{door['id']}/last-unknown-badge", headers=staff)
    assert unknown.json() == {"device_id": door["id"], "uid": None, "at": None}
    assert api.client.delete(f"/api/v1/devices/{door['id']}", headers=staff).status_code == 204
    assert api.client.get(f"/api/v1/devices/{door['id']}", headers=staff).status_code == 404
    # The audit lines outlive the device.
    assert len(api.client.get(f"/api/v1/access-events?device_id={door['id']}", headers=staff).json()) == 4


def test_the_audit_log_is_append_only(api_any_db: AppHarness) -> None:
    runtime = api_any_db.runtime
    with runtime.db.session(write=True) as session:
        session.add(AccessEvent(decision="denied", reason="unknown_badge", badge_uid="AB"))
        session.commit()
    with runtime.db.session(write=True) as session:
        line = session.exec(select(AccessEvent)).one()
        line.reason = "granted_role"
        session.add(line)
        with pytest.raises(DBAPIError):
            session.commit()
    with runtime.db.session(write=True) as session:
        session.delete(session.exec(select(AccessEvent)).one())
        with pytest.raises(DBAPIError):
            session.commit()


def test_fire_panels_options_checked_once_and_the_reset_needs_an_alarm(api: AppHarness) -> None:
    staff = api.users["staff"].headers
    space_id = _space(api)
    panel = {"kind": "fire_panel", "bridge": "zigbee2mqtt", "space_id": space_id}
    created = api.client.post(
        "/api/v1/devices",
        json={**panel, "name": "Centrale", "address": "ci", "options": {"alarm_when": "closed"}},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    for options in ({"alarm_when": "sometimes"}, {"base_topik": "z2m"}, {"egress": True}):
        refused = api.client.post(
            "/api/v1/devices", json={**panel, "name": "Autre", "address": "ci2", "options": options}, headers=staff
        )
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_device_config", options
    door = {"name": "Porte", "kind": "door", "bridge": "tasmota", "address": "p", "space_id": space_id}
    typo = api.client.post("/api/v1/devices", json={**door, "options": {"fail_mod": "safe"}}, headers=staff)
    assert typo.status_code == 422 and "fail_mode" in typo.json()["detail"]
    ok = api.client.post(
        "/api/v1/devices", json={**door, "options": {"fail_mode": "safe", "egress": False}}, headers=staff
    )
    assert ok.status_code == 201, ok.text
    nothing = api.client.post("/api/v1/emergency/reset", headers=staff)
    assert nothing.status_code == 409 and nothing.json()["code"] == "emergency.no_alarm"
    assert api.client.post("/api/v1/emergency/reset", headers=api.users["member"].headers).status_code == 403


@pytest.mark.parametrize(
    ("written", "uid"),
    [
        ({"uid": "7616525", "format": "decimal"}, "74380D"),
        ({"uid": "0007616525", "format": "decimal"}, "74380D"),
        ({"uid": "00:74:38:0d"}, "74380D"),
        ({"uid": "74-10-37-94", "format": "hex"}, "74103794"),
        ({"uid": "118,15080", "format": "wiegand26"}, "763AE8"),
        ({"uid": "0042", "format": "pin"}, "PIN:0042"),
    ],
)
def test_enrolment_accepts_the_written_forms_of_one_badge(api: AppHarness, written: dict[str, str], uid: str) -> None:
    member_id = api.users["member"].id
    response = api.client.post(f"/api/v1/members/{member_id}/badges", json=written, headers=api.users["staff"].headers)
    assert response.status_code == 201, response.text
    assert response.json()["uid"] == uid


def test_enrolment_refuses_what_is_not_a_badge(api: AppHarness) -> None:
    member_id = api.users["member"].id
    for body in (
        {"uid": "74AB", "format": "decimal"},
        {"uid": "300,1", "format": "wiegand26"},
        {"uid": "12a", "format": "pin"},
    ):
        response = api.client.post(f"/api/v1/members/{member_id}/badges", json=body, headers=api.users["staff"].headers)
        assert response.status_code == 422 and response.json()["code"] == "invalid_badge_uid", body
