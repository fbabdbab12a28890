"""GET /api/v1/occupancy and the history report, through the app (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.conftest import AppHarness
from tests.support.site import load_trilport
from tierslieu.db.types import utcnow
from tierslieu.models import Device
from tierslieu.occupancy.history import Bucket, bucket_start, write_buckets
from tierslieu.occupancy.store import load_layout


def test_occupancy_lists_every_space_with_the_contract_fields(api_any_db: AppHarness) -> None:
    api = api_any_db
    ids = load_trilport(api.runtime)
    # What the device hub writes for a counter and a door contact.
    with api.runtime.db.session(write=True) as session:
        counter = session.get(Device, ids.devices["Compteur grande salle"])
        contact = session.get(Device, ids.devices["Contact porte d'entrée"])
        assert counter is not None and contact is not None
        counter.online, counter.last_seen, counter.reported = True, utcnow(), {"people": 55}
        contact.online, contact.last_seen, contact.reported = True, utcnow(), {"open": True}
        session.add_all([counter, contact])
        session.commit()
    response = api.client.get("/api/v1/occupancy", headers=api.users["staff"].headers)
    assert response.status_code == 200, response.text
    spaces = {s["name"]: s for s in response.json()}
    assert set(spaces) == set(ids.spaces)
    hall = spaces["Grande salle d'ateliers"]
    for key in ("space_id", "occupied", "people", "capacity", "booked_now", "devices_online", "alerts"):
        assert key in hall
    assert (hall["people"], hall["occupied"], hall["capacity"], hall["devices_online"]) == (55, True, 50, 1)
    codes = {a["code"] for a in hall["alerts"]}
    assert "over_capacity" in codes and "device_offline" in codes  # the two never-heard-of devices
    assert all(a["message"].startswith("Grande salle") for a in hall["alerts"])
    (door,) = spaces["Tiers-lieu"]["doors"]
    assert (door["name"], door["open"], door["has_contact"]) == ("Porte d'entrée", True, True)
    # Parents first.
    names = [s["name"] for s in response.json()]
    assert names.index("Tiers-lieu") < names.index("Rez-de-chaussée") < names.index("FabLab")


def test_occupancy_speaks_english_on_request(api: AppHarness) -> None:
    load_trilport(api.runtime)
    headers = {**api.users["admin"].headers, "Accept-Language": "en"}
    body = api.client.get("/api/v1/occupancy", headers=headers).json()
    messages = [a["message"] for s in body for a in s["alerts"]]
    assert messages and all("never reported" in m for m in messages)


def test_who_may_see_occupancy(api: AppHarness) -> None:
    expected = {"admin": 200, "staff": 200, "animator": 200, "municipal": 403, "member": 403}
    for role, status in expected.items():
        assert api.client.get("/api/v1/occupancy", headers=api.users[role].headers).status_code == status, role
    assert api.client.get("/api/v1/occupancy").status_code == 401


def _seed_history(api: AppHarness) -> tuple[int, datetime]:
    ids = load_trilport(api.runtime)
    hall = ids.spaces["Grande salle d'ateliers"]
    start = bucket_start(utcnow() - timedelta(hours=2))
    with api.runtime.db.session() as session:
        layout = load_layout(session)
    write_buckets(
        api.runtime.db,
        layout,
        [
            Bucket(hall, start, 12, 600),
            Bucket(hall, start + timedelta(minutes=15), 30, 900),
            Bucket(ids.spaces["FabLab"], start, 2, 90),
        ],
    )
    return hall, start


def test_report_json(api_any_db: AppHarness) -> None:
    api = api_any_db
    hall, start = _seed_history(api)
    response = api.client.get(f"/api/v1/reports/occupancy?space_id={hall}", headers=api.users["staff"].headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_minutes"] == 15 and body["space_id"] == hall
    rows = body["rows"]
    assert [(r["max_people"], r["occupied_minutes"]) for r in rows] == [(12, 10.0), (30, 15.0)]
    assert datetime.fromisoformat(rows[0]["start"]) == start
    everything = api.client.get("/api/v1/reports/occupancy", headers=api.users["admin"].headers).json()
    assert len(everything["rows"]) == 3


def test_report_csv(api: AppHarness) -> None:
    hall, _ = _seed_history(api)
    response = api.client.get(
        f"/api/v1/reports/occupancy?space_id={hall}&format=csv", headers=api.users["staff"].headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["espace_id", "espace", "debut"]
    assert rows[1][1] == "Grande salle d'ateliers" and rows[1][4] == "12" and rows[1][5] == "10,0"
    assert "+01:00" in rows[1][2] or "+02:00" in rows[1][2]  # local French time


def test_report_refuses_bad_periods_and_unknown_spaces(api: AppHarness) -> None:
    headers = api.users["staff"].headers
    bad = api.client.get("/api/v1/reports/occupancy?from=2026-03-10&to=2026-03-01", headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    long = api.client.get("/api/v1/reports/occupancy?from=2024-01-01&to=2026-01-01", headers=headers)
    assert long.status_code == 422
    missing = api.client.get("/api/v1/reports/occupancy?space_id=999999", headers=headers)
    assert missing.status_code == 404
    assert api.client.get("/api/v1/reports/occupancy", headers=api.users["animator"].headers).status_code == 403


def test_report_window_is_local_days(api: AppHarness) -> None:
    ids = load_trilport(api.runtime)
    with api.runtime.db.session() as session:
        layout = load_layout(session)
    # 23:00 UTC on 9 March is 00:00 on 10 March in Paris.
    write_buckets(api.runtime.db, layout, [Bucket(ids.spaces["FabLab"], datetime(2026, 3, 9, 23, 0, tzinfo=UTC), 1, 0)])
    headers = api.users["staff"].headers
    day = api.client.get("/api/v1/reports/occupancy?from=2026-03-10&to=2026-03-10", headers=headers).json()
    before = api.client.get("/api/v1/reports/occupancy?from=2026-03-09&to=2026-03-09", headers=headers).json()
    assert len(day["rows"]) == 1 and before["rows"] == []
