"""End to end against a real OctoPrint 1.11 and its virtual printer: book, queue, print, recover."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiUser, AppHarness, make_settings
from tests.printing.support import FabLab, gcode, job, make_fablab, printer, trained_user, user
from tests.support.bookings import insert_booking
from tests.support.octoprint import OctoPrintServer
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
from tierslieu.models import PrintJob
from tierslieu.printing.dispatcher import PrintDispatcher

pytestmark = pytest.mark.octoprint


def harness(db_url: str, tmp_path: Path, *, background: bool) -> Iterator[AppHarness]:
    settings = make_settings(db_url, tmp_path, run_background=background, printing_poll_seconds=0.3)
    app = create_app(settings, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield AppHarness(client, app.state.runtime, {})


@pytest.fixture
def running_app(sqlite_url: str, tmp_path: Path) -> Iterator[AppHarness]:
    """The app with its background components running, as in production."""
    yield from harness(sqlite_url, tmp_path, background=True)


@pytest.fixture
def quiet_app(sqlite_url: str, tmp_path: Path) -> Iterator[AppHarness]:
    """The app without background work: the test drives the dispatcher with its own clock."""
    yield from harness(sqlite_url, tmp_path, background=False)


def submit(api: AppHarness, user: ApiUser, lab: FabLab, dwells: int = 10) -> int:
    response = api.client.post(
        "/api/v1/print-jobs",
        headers=user.headers,
        files={"file": ("porte-cles.gcode", gcode(seconds=120, dwells=dwells), "text/plain")},
        data={"resource_id": str(lab.resource_id)},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = 40.0, step: Callable[[], None] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if step is not None:
            step()
        time.sleep(0.3)


def status_is(api: AppHarness, job_id: int, *statuses: str) -> Callable[[], bool]:
    return lambda: job(api.runtime, job_id).status in statuses


def test_member_books_the_printer_now_and_the_job_prints_to_done(
    running_app: AppHarness, octoprint: OctoPrintServer
) -> None:
    api = running_app
    assert isinstance(api.runtime.controller.dispatcher, PrintDispatcher)
    lab = make_fablab(api.runtime, url=octoprint.url, api_key=octoprint.api_key)
    alice = trained_user(api.runtime)
    now = utcnow()
    booking = api.client.post(
        "/api/v1/bookings",
        headers=alice.headers,
        json={
            "resource_id": lab.resource_id,
            "start": (now + timedelta(seconds=2)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        },
    )
    assert booking.status_code == 201, booking.text
    job_id = submit(api, alice, lab)

    wait_until(status_is(api, job_id, "printing", "done"), "the print to start")
    wait_until(status_is(api, job_id, "done"), "the print to finish")
    done = api.client.get(f"/api/v1/print-jobs/{job_id}", headers=alice.headers).json()
    assert (done["status"], done["progress"], done["reason"]) == ("done", 100.0, "")
    state = api.client.get(f"/api/v1/printers/{lab.printer_id}", headers=alice.headers).json()
    assert state["state"] == "operational" and state["bed_clear"] is False
    assert set(state["temperatures"]) >= {"tool0", "bed"}
    # The history the FabLab reports to the town has the print.
    animator = user(api.runtime, "animator")
    report = api.client.get("/api/v1/reports/printing", headers=animator.headers).json()
    assert (report["total"]["runs"], report["total"]["done"]) == (1, 1)
    assert report["by_member"][0]["key"] == str(alice.id)


def test_job_queued_ahead_of_a_booking_starts_when_the_slot_begins(
    quiet_app: AppHarness, octoprint: OctoPrintServer
) -> None:
    api = quiet_app
    lab = make_fablab(api.runtime, url=octoprint.url, api_key=octoprint.api_key)
    bob = trained_user(api.runtime)
    slot = utcnow() + timedelta(minutes=30)
    insert_booking(api.runtime, lab.resource_id, bob.id, slot, slot + timedelta(hours=1))
    job_id = submit(api, bob, lab)
    dispatcher = PrintDispatcher(
        api.runtime.db, api.runtime.secrets, api.runtime.settings, scheduler=api.runtime.scheduler
    )
    try:
        dispatcher.run_pass(utcnow())
        assert job(api.runtime, job_id).status == "waiting_booking"
        assert printer(api.runtime, lab.printer_id).state == "operational"

        # The clock reaches the slot: the job starts on the real printer and finishes.
        def in_slot() -> None:
            dispatcher.run_pass(slot + timedelta(seconds=5))

        wait_until(status_is(api, job_id, "printing", "done"), "the print to start", step=in_slot)
        wait_until(status_is(api, job_id, "done"), "the print to finish", step=in_slot)
    finally:
        dispatcher.stop()


def test_octoprint_stopped_mid_queue_loses_nothing(quiet_app: AppHarness, private_octoprint: OctoPrintServer) -> None:
    api = quiet_app
    lab = make_fablab(api.runtime, url=private_octoprint.url, api_key=private_octoprint.api_key)
    carol = trained_user(api.runtime)
    now = utcnow()
    insert_booking(api.runtime, lab.resource_id, carol.id, now - timedelta(minutes=1), now + timedelta(hours=2))
    dispatcher = PrintDispatcher(
        api.runtime.db, api.runtime.secrets, api.runtime.settings, scheduler=api.runtime.scheduler
    )
    try:
        running = submit(api, carol, lab, dwells=300)  # about a minute: still running when OctoPrint stops
        wait_until(status_is(api, running, "printing"), "the long print to start", step=dispatcher.run_pass)

        private_octoprint.stop()
        waiting = submit(api, carol, lab)  # accepted while the printer is away
        for _ in range(2):
            dispatcher.run_pass()
        away = printer(api.runtime, lab.printer_id)
        assert away.state == "offline" and away.state_reason_code in ("printer_unreachable", "printer_offline")
        assert job(api.runtime, running).status == "printing"  # unknown, not failed, while unreachable
        queued = job(api.runtime, waiting)
        assert (queued.status, queued.reason_code) == ("queued", "printer_unreachable")

        private_octoprint.start()
        private_octoprint.wait_operational()
        wait_until(status_is(api, running, "failed"), "the lost print to be reported", step=dispatcher.run_pass)
        lost = job(api.runtime, running)
        assert lost.reason_code == "print_lost"
        dispatcher.run_pass()
        assert job(api.runtime, waiting).reason_code == "bed_not_clear"

        cleared = api.client.post(f"/api/v1/printers/{lab.printer_id}/bed-cleared", headers=carol.headers)
        assert cleared.status_code == 200
        wait_until(status_is(api, waiting, "done"), "the waiting job to print", step=dispatcher.run_pass)
        requeued = api.client.post(f"/api/v1/print-jobs/{running}/requeue", headers=carol.headers)
        assert requeued.status_code == 200 and requeued.json()["status"] == "queued"
        with api.runtime.db.session() as session:
            assert session.get(PrintJob, waiting) is not None
    finally:
        dispatcher.stop()
