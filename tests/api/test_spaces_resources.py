"""Spaces and resources through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import AppHarness


def test_space_tree_and_rules_inheritance(api_any_db: AppHarness) -> None:
    api = api_any_db
    staff = api.users["staff"].headers
    building = api.client.post(
        "/api/v1/spaces",
        json={"name": "Bâtiment", "kind": "building", "rules": {"opening_hours": {"mon": ["08:00-18:00"]}}},
        headers=staff,
    )
    assert building.status_code == 201, building.text
    room = api.client.post(
        "/api/v1/spaces",
        json={
            "name": "Salle visio",
            "kind": "visio_room",
            "parent_id": building.json()["id"],
            "capacity": 6,
            "rules": {"max_duration": 120, "slot_minutes": 30},
        },
        headers=staff,
    )
    assert room.status_code == 201, room.text
    assert set(room.json()) >= {"id", "name", "kind", "parent_id", "capacity", "rules"}
    resource = api.client.post(
        "/api/v1/resources", json={"name": "Visio", "kind": "room", "space_id": room.json()["id"]}, headers=staff
    )
    assert resource.status_code == 201
    detail = api.client.get(f"/api/v1/resources/{resource.json()['id']}", headers=api.users["member"].headers)
    assert detail.status_code == 200
    effective = detail.json()["effective_rules"]
    assert effective["max_duration"] == 120
    assert effective["opening_hours"] == {"mon": ["08:00-18:00"]}
    # PATCH merges rules key by key; null removes a key.
    patched = api.client.patch(
        f"/api/v1/spaces/{room.json()['id']}", json={"rules": {"max_duration": 90, "slot_minutes": None}}, headers=staff
    )
    assert patched.status_code == 200
    assert patched.json()["rules"] == {"max_duration": 90}


def test_bad_rules_and_duplicates_change_nothing(api_any_db: AppHarness) -> None:
    api = api_any_db
    staff = api.users["staff"].headers
    space = api.client.post("/api/v1/spaces", json={"name": "FabLab", "kind": "fablab"}, headers=staff).json()
    bad = api.client.patch(f"/api/v1/spaces/{space['id']}", json={"rules": {"max_duration": "long"}}, headers=staff)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_rules"
    unknown = api.client.patch(f"/api/v1/spaces/{space['id']}", json={"rules": {"colour": "red"}}, headers=staff)
    assert unknown.status_code == 422
    dup = api.client.post("/api/v1/spaces", json={"name": "FabLab", "kind": "room"}, headers=staff)
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_name"
    wrong_kind = api.client.post("/api/v1/spaces", json={"name": "X", "kind": "castle"}, headers=staff)
    assert wrong_kind.status_code == 422
    assert api.client.get(f"/api/v1/spaces/{space['id']}", headers=staff).json()["rules"] == {}
    assert len(api.client.get("/api/v1/spaces", headers=staff).json()) == 1


def test_cannot_delete_a_space_with_content_or_make_cycles(api: AppHarness) -> None:
    staff = api.users["staff"].headers
    parent = api.client.post("/api/v1/spaces", json={"name": "Étage", "kind": "floor"}, headers=staff).json()
    child = api.client.post(
        "/api/v1/spaces", json={"name": "Salle", "kind": "room", "parent_id": parent["id"]}, headers=staff
    ).json()
    assert api.client.delete(f"/api/v1/spaces/{parent['id']}", headers=staff).status_code == 409
    cycle = api.client.patch(f"/api/v1/spaces/{parent['id']}", json={"parent_id": child["id"]}, headers=staff)
    assert cycle.status_code == 422 and cycle.json()["code"] == "parent_cycle"
    assert api.client.delete(f"/api/v1/spaces/{child['id']}", headers=staff).status_code == 204
    assert api.client.get(f"/api/v1/spaces/{child['id']}", headers=staff).status_code == 404
