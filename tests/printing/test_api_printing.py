"""The printing API: printers, the job queue, who may do what, upload checks and the report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiUser, AppHarness, make_settings
from tests.printing.support import FabLab, book_now, gcode, make_fablab, trained_user
from tierslieu.models import PrintJob, PrintRun
from tierslieu.settings import Settings

MAX_BYTES = 4096


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    # A small limit so the oversized upload test stays small.
    return make_settings(sqlite_url, tmp_path, max_upload_bytes=MAX_BYTES)


@pytest.fixture
def lab(api: AppHarness) -> FabLab:
    return make_fablab(api.runtime)


def upload(
    api: AppHarness, user: ApiUser, lab: FabLab, name: str = "piece.gcode", data: bytes | None = None, **form: str
) -> tuple[int, dict[str, Any]]:
    response = api.client.post(
        "/api/v1/print-jobs",
        headers=user.headers,
        files={"file": (name, gcode() if data is None else data, "application/octet-stream")},
        data={"printer_id": str(lab.printer_id), **form},
    )
    return response.status_code, response.json()


def stored_files(api: AppHarness) -> list[Path]:
    root = api.runtime.settings.upload_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- printers --------------------------------------------------------------------------------------


def test_staff_registers_a_printer_and_its_key_is_never_returned(api: AppHarness, lab: FabLab) -> None:
    with api.runtime.db.session(write=True) as session:
        from tierslieu.services import spaces

        resource = spaces.create_resource(session, name="Imprimante 2", kind="printer", space_id=1)
        session.commit()
    body = {
        "name": "Ender",
        "resource_id": resource.id,
        "octoprint_url": "http://10.0.0.9:5000",
        "api_key": "SECRET-KEY",
    }
    assert api.client.post("/api/v1/printers", json=body, headers=api.users["member"].headers).status_code == 403
    created = api.client.post("/api/v1/printers", json=body, headers=api.users["staff"].headers)
    assert created.status_code == 201, created.text
    printer = created.json()
    assert "SECRET-KEY" not in created.text and "api_key" not in printer
    assert (printer["state"], printer["bed_clear"], printer["current_job"]) == ("offline", True, None)

    listing = api.client.get("/api/v1/printers", headers=api.users["member"].headers)
    assert [p["name"] for p in listing.json()] == ["Ender", "Prusa MK4"]
    assert "SECRET-KEY" not in listing.text

    patched = api.client.patch(
        f"/api/v1/printers/{printer['id']}", json={"name": "Ender 3"}, headers=api.users["admin"].headers
    )
    assert patched.status_code == 200 and patched.json()["name"] == "Ender 3"
    deleted = api.client.delete(f"/api/v1/printers/{printer['id']}", headers=api.users["staff"].headers)
    assert deleted.status_code == 204
    assert api.client.get(f"/api/v1/printers/{printer['id']}", headers=api.users["staff"].headers).status_code == 404


def test_printer_needs_a_printer_resource_and_a_valid_url(api: AppHarness, lab: FabLab) -> None:
    with api.runtime.db.session(write=True) as session:
        from tierslieu.services import spaces

        room = spaces.create_resource(session, name="Salle", kind="room", space_id=1)
        session.commit()
    staff = api.users["staff"].headers
    body = {"name": "X", "resource_id": room.id, "octoprint_url": "http://h:1", "api_key": "k"}
    assert api.client.post("/api/v1/printers", json=body, headers=staff).json()["code"] == "not_a_printer_resource"
    body = {"name": "X", "resource_id": lab.resource_id, "octoprint_url": "ftp://h", "api_key": "k"}
    assert api.client.post("/api/v1/printers", json=body, headers=staff).status_code in (409, 422)


def test_printer_with_jobs_cannot_be_deleted(api: AppHarness, lab: FabLab) -> None:
    alice = trained_user(api.runtime)
    assert upload(api, alice, lab)[0] == 201
    response = api.client.delete(f"/api/v1/printers/{lab.printer_id}", headers=api.users["staff"].headers)
    assert response.status_code == 409 and response.json()["code"] == "printer_has_jobs"


def test_bed_cleared_by_trained_members_animators_and_staff_only(api: AppHarness, lab: FabLab) -> None:
    url = f"/api/v1/printers/{lab.printer_id}/bed-cleared"
    untrained = api.client.post(url, headers=api.users["member"].headers)
    assert untrained.status_code == 403 and untrained.json()["code"] == "training_required"
    assert "formation" in untrained.json()["detail"]
    assert api.client.post(url, headers=trained_user(api.runtime).headers).status_code == 200
    assert api.client.post(url, headers=api.users["animator"].headers).json()["bed_clear"] is True


# --- queueing ------------------------------------------------------------------------------------


def test_trained_member_queues_a_job_with_the_slicer_estimates(api: AppHarness, lab: FabLab) -> None:
    alice = trained_user(api.runtime)
    status, body = upload(api, alice, lab, note="porte-clés", copies="2")
    assert status == 201, body
    assert body["status"] == "waiting_booking" and body["reason_code"] == "no_active_booking"
    assert (body["estimated_seconds"], body["filament_mm"], body["copies"]) == (60, 1234.5, 2)
    assert (body["member_id"], body["created_by"], body["progress"]) == (alice.id, alice.id, 0.0)
    assert len(stored_files(api)) == 1

    book_now(api.runtime, lab, alice.id)
    status, again = upload(api, alice, lab)  # same content: stored once
    assert (status, again["status"]) == (201, "queued")
    assert len(stored_files(api)) == 1


def test_untrained_member_may_not_queue(api: AppHarness, lab: FabLab) -> None:
    status, body = upload(api, api.users["member"], lab)
    assert (status, body["code"]) == (403, "training_required")
    assert stored_files(api) == []


def test_animator_queues_for_a_workshop_attendee_but_members_cannot_for_others(api: AppHarness, lab: FabLab) -> None:
    attendee = api.users["member"]
    status, body = upload(api, api.users["animator"], lab, member_id=str(attendee.id))
    assert status == 201 and body["member_id"] == attendee.id and body["created_by"] == api.users["animator"].id
    alice = trained_user(api.runtime)
    status, body = upload(api, alice, lab, member_id=str(attendee.id))
    assert (status, body["code"]) == (403, "cannot_queue_for_others")


def test_job_attached_to_a_workshop_booking(api: AppHarness, lab: FabLab) -> None:
    animator = api.users["animator"]
    booking_id = book_now(api.runtime, lab, animator.id)
    status, body = upload(api, animator, lab, member_id=str(api.users["member"].id), booking_id=str(booking_id))
    assert (status, body["status"], body["booking_id"]) == (201, "queued", booking_id)
    alice = trained_user(api.runtime)
    status, body = upload(api, alice, lab, booking_id=str(booking_id))
    assert (status, body["code"]) == (403, "not_your_booking")


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("piece.stl", gcode(), 422, "gcode_bad_extension"),
        ("piece.gcode", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 422, "gcode_not_text"),
        ("piece.gcode", b"", 422, "gcode_empty"),
        ("piece.gcode", b"hello, this is not g-code\n", 422, "gcode_no_commands"),
        ("piece.gcode", b"G28\n" + b"G1 X1 Y1\n" * MAX_BYTES, 413, "gcode_too_large"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    api: AppHarness, lab: FabLab, name: str, data: bytes, status: int, code: str
) -> None:
    got_status, body = upload(api, trained_user(api.runtime), lab, name=name, data=data)
    assert (got_status, body["code"]) == (status, code)
    assert body["detail"]
    assert stored_files(api) == []
    with api.runtime.db.session() as session:
        assert session.get(PrintJob, 1) is None


def test_upload_errors_speak_english_on_request(api: AppHarness, lab: FabLab) -> None:
    user = trained_user(api.runtime)
    response = api.client.post(
        "/api/v1/print-jobs",
        headers={**user.headers, "Accept-Language": "en"},
        files={"file": ("piece.stl", gcode(), "text/plain")},
        data={"printer_id": str(lab.printer_id)},
    )
    assert response.status_code == 422 and "Only .gcode" in response.json()["detail"]


def test_printer_must_be_named_and_exist(api: AppHarness, lab: FabLab) -> None:
    user = trained_user(api.runtime)
    files = {"file": ("piece.gcode", gcode(), "text/plain")}
    missing = api.client.post("/api/v1/print-jobs", headers=user.headers, files=files)
    assert missing.json()["code"] == "printer_required"
    unknown = api.client.post("/api/v1/print-jobs", headers=user.headers, files=files, data={"printer_id": "999"})
    assert unknown.status_code == 404


# --- seeing and changing jobs --------------------------------------------------------------------


def test_members_see_their_own_jobs_animators_see_all(api: AppHarness, lab: FabLab) -> None:
    alice, bob = trained_user(api.runtime), trained_user(api.runtime)
    _, a = upload(api, alice, lab)
    _, b = upload(api, bob, lab)
    mine = api.client.get("/api/v1/print-jobs", headers=alice.headers).json()
    assert [j["id"] for j in mine] == [a["id"]]
    assert api.client.get(f"/api/v1/print-jobs/{b['id']}", headers=alice.headers).status_code == 404
    spying = api.client.get(f"/api/v1/print-jobs?member_id={bob.id}", headers=alice.headers)
    assert spying.status_code == 403
    everyone = api.client.get("/api/v1/print-jobs", headers=api.users["animator"].headers).json()
    assert {j["id"] for j in everyone} == {a["id"], b["id"]}
    filtered = api.client.get(
        f"/api/v1/print-jobs?member_id={bob.id}&status=waiting_booking&printer_id={lab.printer_id}",
        headers=api.users["staff"].headers,
    ).json()
    assert [j["id"] for j in filtered] == [b["id"]]


def test_cancel_requeue_and_priority(api: AppHarness, lab: FabLab) -> None:
    alice, bob = trained_user(api.runtime), trained_user(api.runtime)
    _, job = upload(api, alice, lab)
    url = f"/api/v1/print-jobs/{job['id']}"
    assert api.client.post(f"{url}/cancel", headers=bob.headers).status_code == 404
    assert api.client.post(f"{url}/requeue", headers=alice.headers).json()["code"] == "job_not_requeueable"
    assert api.client.post(f"{url}/priority", json={"priority": 5}, headers=alice.headers).status_code == 403
    raised = api.client.post(f"{url}/priority", json={"priority": 5}, headers=api.users["animator"].headers)
    assert raised.status_code == 200 and raised.json()["priority"] == 5

    cancelled = api.client.post(f"{url}/cancel", headers=alice.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.client.post(f"{url}/cancel", headers=alice.headers).json()["code"] == "job_finished"
    requeued = api.client.post(f"{url}/requeue", headers=api.users["staff"].headers)
    assert requeued.status_code == 200 and requeued.json()["status"] == "queued"


# --- the report ----------------------------------------------------------------------------------


def _run(
    job_id: int, printer_id: int, member_id: int, started: datetime, outcome: str, seconds: int, mm: float
) -> PrintRun:
    return PrintRun(
        job_id=job_id,
        printer_id=printer_id,
        member_id=member_id,
        started_at=started,
        ended_at=started + timedelta(seconds=seconds),
        print_time_s=seconds,
        filament_mm=mm,
        outcome=outcome,
    )


def test_printing_report_sums_by_member_printer_and_month(api: AppHarness, lab: FabLab) -> None:
    alice, bob = trained_user(api.runtime, email="alice@trilport.test"), trained_user(api.runtime)
    _, a = upload(api, alice, lab)
    _, b = upload(api, bob, lab)
    with api.runtime.db.session(write=True) as session:
        session.add(_run(a["id"], lab.printer_id, alice.id, datetime(2026, 1, 10, 9, tzinfo=UTC), "failed", 600, 100))
        session.add(_run(a["id"], lab.printer_id, alice.id, datetime(2026, 1, 11, 9, tzinfo=UTC), "done", 3600, 1000))
        # 31 January 23:30 UTC is already February in Trilport.
        session.add(_run(b["id"], lab.printer_id, bob.id, datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "done", 60, 5))
        session.add(_run(b["id"], lab.printer_id, bob.id, datetime(2025, 12, 1, 9, tzinfo=UTC), "done", 60, 5))
        session.commit()

    url = "/api/v1/reports/printing?from=2026-01-01&to=2026-03-31"
    assert api.client.get(url, headers=api.users["member"].headers).status_code == 403
    assert api.client.get(url, headers=api.users["municipal"].headers).status_code == 403
    report = api.client.get(url, headers=api.users["animator"].headers).json()
    total = report["total"]
    assert (total["runs"], total["done"], total["failed"], total["print_time_s"], total["filament_mm"]) == (
        3,
        2,
        1,
        4260,
        1105.0,
    )
    assert [(m["key"], m["runs"]) for m in report["by_month"]] == [("2026-01", 2), ("2026-02", 1)]
    by_member = {m["key"]: m for m in report["by_member"]}
    assert by_member[str(alice.id)]["label"] == "alice" and by_member[str(alice.id)]["print_time_s"] == 4200
    assert [p["label"] for p in report["by_printer"]] == ["Prusa MK4"]

    csv_response = api.client.get(url + "&format=csv", headers=api.users["staff"].headers)
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    text = csv_response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["regroupement", "cle", "libelle"]
    assert ["total", "total", "Total", "3", "2", "1", "0", "4260", "1105.00"] in rows
    assert ["mois", "2026-02", "2026-02", "1", "1", "0", "0", "60", "5.00"] in rows


def test_report_refuses_an_inverted_period(api: AppHarness) -> None:
    response = api.client.get(
        "/api/v1/reports/printing?from=2026-03-01&to=2026-01-01", headers=api.users["admin"].headers
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_period"
