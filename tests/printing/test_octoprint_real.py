"""OctoPrintClient against a real OctoPrint 1.11 server and its virtual printer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from firmware_bridges.octoprint import (
    OctoPrintAuthError,
    OctoPrintClient,
    OctoPrintRequestRejected,
    OctoPrintUnavailable,
    PrinterNotOperational,
    PrinterSnapshot,
    PrinterState,
    snapshot_or_offline,
)
from tests.support.octoprint import OctoPrintServer

pytestmark = pytest.mark.octoprint

# The virtual printer sleeps for real on G4 dwells: the number of dwells sets the job's length.
SHORT_JOB = b"; tierslieu test\nG28\nG90\n" + b"G4 P200\n" * 10 + b"M84\n"  # about 2 s
LONG_JOB = b"; tierslieu test\nG28\n" + b"G4 P200\n" * 300  # about 60 s, always cancelled


@pytest.fixture
def client(octoprint: OctoPrintServer) -> Iterator[OctoPrintClient]:
    with OctoPrintClient(octoprint.url, octoprint.api_key) as client:
        yield client


def wait_for(
    client: OctoPrintClient, accept: Callable[[PrinterSnapshot], bool], timeout: float = 20.0
) -> PrinterSnapshot:
    deadline = time.monotonic() + timeout
    snapshot = client.snapshot()
    while not accept(snapshot):
        if time.monotonic() > deadline:
            raise AssertionError(f"printer never reached the expected state; last: {snapshot}")
        time.sleep(0.1)
        snapshot = client.snapshot()
    return snapshot


def test_version(client: OctoPrintClient) -> None:
    version = client.version()
    assert version.server.startswith("1.11.")
    assert version.api == "0.1"


def test_snapshot_of_an_idle_printer_is_operational(client: OctoPrintClient) -> None:
    # Temperatures arrive with the printer's first report, shortly after it connects.
    snapshot = wait_for(client, lambda s: s.state is PrinterState.OPERATIONAL and bool(s.temperatures))
    assert set(snapshot.temperatures) >= {"tool0", "bed"}
    assert snapshot.temperatures["tool0"].actual is not None
    assert snapshot.error is None
    assert client.connection().port == "VIRTUAL"


def test_wrong_api_key_is_an_auth_error(octoprint: OctoPrintServer) -> None:
    with OctoPrintClient(octoprint.url, "not-the-key") as intruder, pytest.raises(OctoPrintAuthError):
        intruder.snapshot()


def test_uploaded_job_prints_then_printer_is_operational_again(client: OctoPrintClient) -> None:
    result = client.upload("court.gcode", SHORT_JOB, select=True, print_=True)
    assert (result.path, result.done, result.effective_select, result.effective_print) == (
        "court.gcode",
        True,
        True,
        True,
    )
    printing = wait_for(client, lambda s: s.state is PrinterState.PRINTING)
    assert printing.job_file == "court.gcode"

    done = wait_for(client, lambda s: s.state is PrinterState.OPERATIONAL)
    assert done.job_file == "court.gcode"
    assert done.progress == 100.0
    client.delete_file("court.gcode")


def test_running_job_can_be_cancelled(client: OctoPrintClient) -> None:
    client.upload("long.gcode", LONG_JOB)
    try:
        wait_for(client, lambda s: s.state is PrinterState.PRINTING)
        with pytest.raises(OctoPrintRequestRejected) as busy:
            client.delete_file("long.gcode")  # OctoPrint protects the file being printed
        assert busy.value.status == 409
    finally:
        client.cancel_job()
    cancelled = wait_for(client, lambda s: s.state is PrinterState.OPERATIONAL)
    assert cancelled.progress is None
    client.delete_file("long.gcode")
    with pytest.raises(OctoPrintRequestRejected) as gone:
        client.delete_file("long.gcode")
    assert gone.value.status == 404


def test_stopped_server_is_unavailable_and_reads_as_offline(private_octoprint: OctoPrintServer) -> None:
    with OctoPrintClient(private_octoprint.url, private_octoprint.api_key, timeout=2.0) as client:
        assert snapshot_or_offline(client).state is PrinterState.OPERATIONAL
        private_octoprint.stop()

        with pytest.raises(OctoPrintUnavailable):
            client.snapshot()
        offline = snapshot_or_offline(client)
        assert offline.state is PrinterState.OFFLINE
        assert offline.error is not None and private_octoprint.url in offline.error


def test_disconnected_printer_takes_uploads_but_starts_nothing(private_octoprint: OctoPrintServer) -> None:
    with OctoPrintClient(private_octoprint.url, private_octoprint.api_key) as client:
        client.disconnect()
        offline = wait_for(client, lambda s: s.state is PrinterState.OFFLINE)
        assert offline.temperatures == {}

        result = client.upload("hors-ligne.gcode", SHORT_JOB, select=True, print_=True)
        assert result.path == "hors-ligne.gcode"
        assert result.effective_print is False  # stored, but no job started

        with pytest.raises(PrinterNotOperational):
            client.start_job()

        client.connect()
        wait_for(client, lambda s: s.state is PrinterState.OPERATIONAL)
        # The offline upload was not selected either: OctoPrint accepts "start" (204) and does nothing,
        # so only a snapshot tells whether a job runs.
        client.start_job()
        time.sleep(0.5)
        idle = client.snapshot()
        assert (idle.state, idle.job_file) == (PrinterState.OPERATIONAL, None)
