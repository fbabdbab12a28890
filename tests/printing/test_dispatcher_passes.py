"""Dispatcher passes against the real database (SQLite and PostgreSQL) and a scripted OctoPrint.

The scripted server injects the faults (down, timeout, garbage, 409, lost answers); the same
flows run against the real OctoPrint in ``test_e2e_octoprint.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from firmware_bridges.octoprint import OctoPrintClient
from tests.conftest import ApiUser, AppHarness
from tests.printing.fake_octoprint import FakeOctoPrint, Fault
from tests.printing.support import FabLab, book_now, gcode, job, make_fablab, printer, trained_user
from tests.support.bookings import insert_booking
from tierslieu.db.types import utcnow
from tierslieu.models import PrintRun
from tierslieu.printing.decisions import START_GRACE
from tierslieu.printing.dispatcher import PrintDispatcher
from tierslieu.printing.reasons import describe


@pytest.fixture
def octo() -> FakeOctoPrint:
    return FakeOctoPrint()


@pytest.fixture
def lab(api: AppHarness) -> FabLab:
    return make_fablab(api.runtime)


def dispatcher_for(api: AppHarness, octo: FakeOctoPrint) -> PrintDispatcher:
    runtime = api.runtime
    return PrintDispatcher(
        runtime.db,
        runtime.secrets,
        runtime.settings,
        scheduler=runtime.scheduler,
        client_factory=lambda url, key: OctoPrintClient(url, key, transport=octo.transport()),
    )


def submit(api: AppHarness, user: ApiUser, lab: FabLab, **form: str) -> int:
    response = api.client.post(
        "/api/v1/print-jobs",
        headers=user.headers,
        files={"file": ("support.gcode", gcode(seconds=600), "text/plain")},
        data={"printer_id": str(lab.printer_id), **form},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def runs(api: AppHarness) -> list[PrintRun]:
    with api.runtime.db.session() as session:
        return list(session.exec(select(PrintRun).order_by(col(PrintRun.id))).all())


def test_booked_job_prints_to_done_then_waits_for_the_bed(api: AppHarness, lab: FabLab, octo: FakeOctoPrint) -> None:
    alice = trained_user(api.runtime)
    book_now(api.runtime, lab, alice.id)
    first, second = submit(api, alice, lab), submit(api, alice, lab)
    dispatcher = dispatcher_for(api, octo)

    dispatcher.run_pass()
    assert job(api.runtime, first).status == "printing"
    assert octo.uploads == [f"tierslieu-job-{first}-1.gcode"]
    state = printer(api.runtime, lab.printer_id)
    assert (state.state, state.bed_clear, state.current_job_id) == ("printing", False, first)
    assert state.temperatures["tool0"] == {"actual": 210.0, "target": 210.0}
    assert job(api.runtime, second).reason_code == "behind_other_job"

    octo.progress = 40.0
    dispatcher.run_pass()
    assert job(api.runtime, first).progress == 40.0
    assert job(api.runtime, second).reason_code == "printer_busy"

    octo.finish()
    dispatcher.run_pass()
    done = job(api.runtime, first)
    assert (done.status, done.progress, done.copies_done) == ("done", 100.0, 1)
    [run] = runs(api)
    assert (run.outcome, run.print_time_s, run.filament_mm, run.member_id) == ("done", 12, 1234.5, alice.id)
    assert printer(api.runtime, lab.printer_id).current_job_id is None
    # The part is still on the bed: the next job waits until someone clears it.
    assert (job(api.runtime, second).status, job(api.runtime, second).reason_code) == ("queued", "bed_not_clear")
    assert len(octo.uploads) == 1

    cleared = api.client.post(f"/api/v1/printers/{lab.printer_id}/bed-cleared", headers=alice.headers)
    assert cleared.status_code == 200 and cleared.json()["bed_clear"] is True
    dispatcher.run_pass()
    assert job(api.runtime, second).status == "printing"


def test_job_queued_ahead_of_a_booking_starts_when_the_slot_begins(
    api: AppHarness, lab: FabLab, octo: FakeOctoPrint
) -> None:
    bob = trained_user(api.runtime)
    slot_start = utcnow() + timedelta(hours=1)
    insert_booking(api.runtime, lab.resource_id, bob.id, slot_start, slot_start + timedelta(hours=1))
    job_id = submit(api, bob, lab)
    assert job(api.runtime, job_id).status == "waiting_booking"
    dispatcher = dispatcher_for(api, octo)

    dispatcher.run_pass(utcnow())
    assert (job(api.runtime, job_id).status, job(api.runtime, job_id).reason_code) == (
        "waiting_booking",
        "no_active_booking",
    )
    assert octo.uploads == []

    dispatcher.run_pass(slot_start + timedelta(seconds=1))
    assert job(api.runtime, job_id).status == "printing"


def test_job_too_long_for_the_rest_of_the_slot_waits(api: AppHarness, lab: FabLab, octo: FakeOctoPrint) -> None:
    carol = trained_user(api.runtime)
    now = utcnow()
    insert_booking(api.runtime, lab.resource_id, carol.id, now - timedelta(minutes=50), now + timedelta(minutes=5))
    response = api.client.post(
        "/api/v1/print-jobs",
        headers=carol.headers,
        files={"file": ("long.gcode", gcode(seconds=3 * 3600), "text/plain")},
        data={"resource_id": str(lab.resource_id)},
    )
    assert response.status_code == 201
    dispatcher_for(api, octo).run_pass(now)
    waiting = job(api.runtime, response.json()["id"])
    assert (waiting.status, waiting.reason_code) == ("waiting_booking", "does_not_fit")
    assert "créneau" in describe(waiting.reason_code, waiting.reason_params, "fr")


@pytest.mark.parametrize(
    ("fault", "printer_state", "reason_code"),
    [
        ("down", "offline", "printer_unreachable"),
        ("timeout", "offline", "printer_unreachable"),
        ("garbage", "error", "octoprint_garbled"),
        ("disconnected", "offline", "printer_offline"),
        ("auth", "error", "octoprint_auth"),
    ],
)
def test_faults_keep_the_job_queued_with_the_reason_then_it_is_dispatched(
    api: AppHarness, lab: FabLab, octo: FakeOctoPrint, fault: Fault, printer_state: str, reason_code: str
) -> None:
    dave = trained_user(api.runtime)
    book_now(api.runtime, lab, dave.id)
    job_id = submit(api, dave, lab)
    dispatcher = dispatcher_for(api, octo)
    octo.fault = fault
    for _ in range(2):
        dispatcher.run_pass()
    queued = job(api.runtime, job_id)
    assert (queued.status, queued.reason_code) == ("queued", reason_code)
    assert describe(queued.reason_code, queued.reason_params, "fr")
    state = printer(api.runtime, lab.printer_id)
    assert state.state == printer_state and state.state_reason_code

    octo.fault = "none"
    dispatcher.run_pass()
    assert job(api.runtime, job_id).status == "printing"
    assert printer(api.runtime, lab.printer_id).state == "printing"
    assert len(octo.uploads) == 1


def test_lost_upload_answer_never_starts_the_job_twice(api: AppHarness, lab: FabLab, octo: FakeOctoPrint) -> None:
    erin = trained_user(api.runtime)
    book_now(api.runtime, lab, erin.id)
    job_id = submit(api, erin, lab)
    octo.lose_upload_answer = True
    dispatcher = dispatcher_for(api, octo)
    dispatcher.run_pass()
    assert job(api.runtime, job_id).status == "uploading"  # unknown: OctoPrint will tell

    # A restarted service (a new dispatcher) sees the print running and adopts it.
    restarted = dispatcher_for(api, octo)
    restarted.run_pass()
    assert job(api.runtime, job_id).status == "printing"
    octo.finish()
    restarted.run_pass(utcnow() + START_GRACE)
    assert job(api.runtime, job_id).status == "done"
    assert len(octo.uploads) == 1
    assert [run.outcome for run in runs(api)] == ["done"]


def test_upload_that_does_not_start_goes_back_to_the_queue(api: AppHarness, lab: FabLab, octo: FakeOctoPrint) -> None:
    frank = trained_user(api.runtime)
    book_now(api.runtime, lab, frank.id)
    job_id = submit(api, frank, lab)
    octo.refuse_print = True
    dispatcher_for(api, octo).run_pass()
    refused = job(api.runtime, job_id)
    assert (refused.status, refused.reason_code) == ("queued", "not_started")
    assert runs(api) == []


def test_cancel_stops_the_print_on_octoprint(api: AppHarness, lab: FabLab, octo: FakeOctoPrint) -> None:
    gina = trained_user(api.runtime)
    book_now(api.runtime, lab, gina.id)
    job_id = submit(api, gina, lab)
    dispatcher = dispatcher_for(api, octo)
    dispatcher.run_pass()
    octo.progress = 25.0
    dispatcher.run_pass()

    response = api.client.post(f"/api/v1/print-jobs/{job_id}/cancel", headers=gina.headers)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    dispatcher.run_pass()
    assert octo.commands == ["cancel"] and not octo.printing
    dispatcher.run_pass()
    assert job(api.runtime, job_id).status == "cancelled"
    [run] = runs(api)
    assert run.outcome == "cancelled" and run.filament_mm == pytest.approx(1234.5 * 0.25, abs=0.01)
    assert printer(api.runtime, lab.printer_id).bed_clear is False


def test_failed_print_keeps_the_bed_dirty_and_can_be_requeued(
    api: AppHarness, lab: FabLab, octo: FakeOctoPrint
) -> None:
    hugo = trained_user(api.runtime)
    book_now(api.runtime, lab, hugo.id)
    job_id = submit(api, hugo, lab)
    dispatcher = dispatcher_for(api, octo)
    dispatcher.run_pass()
    octo.printing, octo.error = False, "Thermal Runaway"
    dispatcher.run_pass()
    failed = job(api.runtime, job_id)
    assert (failed.status, failed.reason_code) == ("failed", "print_failed")
    assert failed.reason_params["detail"].startswith("Thermal Runaway")
    assert printer(api.runtime, lab.printer_id).state == "error"

    requeued = api.client.post(f"/api/v1/print-jobs/{job_id}/requeue", headers=hugo.headers)
    assert requeued.status_code == 200 and requeued.json()["status"] == "queued"
    octo.error = None
    dispatcher.run_pass()
    assert job(api.runtime, job_id).reason_code == "bed_not_clear"
    api.client.post(f"/api/v1/printers/{lab.printer_id}/bed-cleared", headers=hugo.headers)
    dispatcher.run_pass()
    assert job(api.runtime, job_id).status == "printing"
    assert octo.uploads[-1] == f"tierslieu-job-{job_id}-2.gcode"
    assert [run.outcome for run in runs(api)] == ["failed", "printing"]


def test_copies_print_one_after_another_with_the_bed_cleared_between(
    api_any_db: AppHarness, octo: FakeOctoPrint
) -> None:
    api = api_any_db
    lab = make_fablab(api.runtime)
    ines = trained_user(api.runtime)
    book_now(api.runtime, lab, ines.id)
    job_id = submit(api, ines, lab, copies="2")
    dispatcher = dispatcher_for(api, octo)
    dispatcher.run_pass()
    octo.finish()
    dispatcher.run_pass()
    between = job(api.runtime, job_id)
    assert (between.status, between.copies_done) == ("queued", 1)
    api.client.post(f"/api/v1/printers/{lab.printer_id}/bed-cleared", headers=ines.headers)
    dispatcher.run_pass()
    assert job(api.runtime, job_id).status == "printing"
    octo.finish()
    dispatcher.run_pass()
    final = job(api.runtime, job_id)
    assert (final.status, final.copies_done) == ("done", 2)
    assert [run.outcome for run in runs(api)] == ["done", "done"]
    assert len(octo.uploads) == 2
