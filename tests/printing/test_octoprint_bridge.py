"""OctoPrint parsing over answers recorded from OctoPrint 1.11.8, and the client's error mapping.

The fixtures in tests/fixtures/octoprint/ were recorded from a real server with its virtual
printer: idle, printing, paused, cancelled, disconnected, and closed after an emergency stop (M112).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_bridges.octoprint import (
    OctoPrintAuthError,
    OctoPrintClient,
    OctoPrintError,
    OctoPrintProtocolError,
    OctoPrintRequestRejected,
    OctoPrintUnavailable,
    PrintCancelled,
    PrintDone,
    PrinterConnection,
    PrinterError,
    PrinterEvent,
    PrinterNotOperational,
    PrinterState,
    PrintFailed,
    PrintPaused,
    PrintProgress,
    PrintResumed,
    PrintStarted,
    Temperature,
    UploadResult,
    parse_connection,
    parse_mqtt_message,
    parse_printer_state,
    parse_upload_answer,
    parse_version,
    snapshot_or_offline,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "octoprint"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- printer state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printer", "connection", "job", "state", "job_file", "progress", "error"),
    [
        pytest.param(
            "printer_operational",
            "connection_operational",
            "job_idle",
            PrinterState.OPERATIONAL,
            None,
            None,
            None,
            id="idle",
        ),
        pytest.param(
            "printer_printing",
            "connection_printing",
            "job_printing",
            PrinterState.PRINTING,
            "slow.gcode",
            11.442786069651742,
            None,
            id="printing",
        ),
        pytest.param(
            "printer_paused",
            "connection_paused",
            "job_paused",
            PrinterState.PAUSED,
            "slow.gcode",
            6.467661691542288,
            None,
            id="paused",
        ),
        pytest.param(
            "printer_operational",
            "connection_operational",
            "job_cancelled",
            PrinterState.OPERATIONAL,
            "slow.gcode",
            None,
            None,
            id="after-cancel",
        ),
        pytest.param(
            None,
            "connection_closed",
            "job_offline",
            PrinterState.OFFLINE,
            None,
            None,
            None,
            id="disconnected",
        ),
        pytest.param(
            None,
            "connection_after_error",
            "job_error",
            PrinterState.ERROR,
            None,
            None,
            "Closing serial port due to emergency stop M112.",
            id="emergency-stop",
        ),
    ],
)
def test_recorded_states(
    printer: str | None,
    connection: str,
    job: str,
    state: PrinterState,
    job_file: str | None,
    progress: float | None,
    error: str | None,
) -> None:
    snapshot = parse_printer_state(recorded(printer) if printer else None, recorded(connection), recorded(job))
    assert (snapshot.state, snapshot.job_file, snapshot.progress, snapshot.error) == (
        state,
        job_file,
        progress,
        error,
    )


def test_temperatures_and_times_while_printing() -> None:
    snapshot = parse_printer_state(
        recorded("printer_printing"), recorded("connection_printing"), recorded("job_printing")
    )
    assert snapshot.temperatures == {
        "bed": Temperature(actual=60.0, target=60.0),
        "tool0": Temperature(actual=21.79, target=0.0),
    }
    assert (snapshot.print_time_s, snapshot.print_time_left_s) == (2, None)


def test_finished_job_reports_full_progress() -> None:
    job = recorded("job_idle") | {
        "job": {"file": {"path": "cube.gcode"}},
        "progress": {"completion": 100.00000001, "printTime": 61.6, "printTimeLeft": 0},
    }
    snapshot = parse_printer_state(recorded("printer_operational"), recorded("connection_operational"), job)
    assert (snapshot.progress, snapshot.print_time_s, snapshot.print_time_left_s) == (100.0, 62, 0)


@pytest.mark.parametrize(
    ("flags", "state"),
    [
        ({"operational": True, "printing": True, "cancelling": True}, PrinterState.PRINTING),
        ({"operational": True, "finishing": True}, PrinterState.PRINTING),
        ({"operational": True, "pausing": True}, PrinterState.PAUSED),
        ({"operational": False, "error": True, "closedOrError": True}, PrinterState.ERROR),
        ({"operational": False, "closedOrError": True}, PrinterState.OFFLINE),
    ],
)
def test_transitional_flags(flags: dict[str, bool], state: PrinterState) -> None:
    printer = recorded("printer_operational")
    printer["state"]["flags"] = flags
    printer["state"]["error"] = "Too many consecutive timeouts" if flags.get("error") else ""
    snapshot = parse_printer_state(printer, recorded("connection_operational"), recorded("job_idle"))
    assert snapshot.state is state
    assert snapshot.error == ("Too many consecutive timeouts" if state is PrinterState.ERROR else None)


@pytest.mark.parametrize(
    ("connection_state", "state"),
    [
        ("Offline", PrinterState.OFFLINE),
        ("Detecting serial connection", PrinterState.OFFLINE),
        ("Connecting", PrinterState.OFFLINE),
        ("Error: Failed to autodetect serial port", PrinterState.ERROR),
        ("Offline after error", PrinterState.ERROR),
        ("Something OctoPrint 2 might say", PrinterState.OFFLINE),
    ],
)
def test_connection_state_text_when_the_printer_is_not_operational(connection_state: str, state: PrinterState) -> None:
    connection = recorded("connection_closed")
    connection["current"]["state"] = connection_state
    snapshot = parse_printer_state(None, connection, recorded("job_offline"))
    assert snapshot.state is state
    assert (snapshot.error is not None) == (state is PrinterState.ERROR)


@pytest.mark.parametrize(
    ("printer", "connection", "job"),
    [
        pytest.param(["not", "an", "object"], recorded("connection_operational"), recorded("job_idle"), id="list"),
        pytest.param(
            {"state": {"text": "Operational"}},
            recorded("connection_operational"),
            recorded("job_idle"),
            id="no-flags",
        ),
        pytest.param(recorded("printer_operational"), {"options": {}}, recorded("job_idle"), id="no-current"),
        pytest.param(
            recorded("printer_operational"),
            recorded("connection_operational"),
            recorded("job_idle") | {"progress": {"completion": "50%"}},
            id="completion-text",
        ),
        pytest.param(
            recorded("printer_operational") | {"temperature": {"tool0": {"actual": "hot"}}},
            recorded("connection_operational"),
            recorded("job_idle"),
            id="temperature-text",
        ),
        pytest.param(
            recorded("printer_operational"),
            recorded("connection_operational"),
            "Operational",
            id="job-string",
        ),
    ],
)
def test_unexpected_shapes_are_protocol_errors(printer: object, connection: object, job: object) -> None:
    with pytest.raises(OctoPrintProtocolError):
        parse_printer_state(printer, connection, job)


def test_version_and_connection() -> None:
    version = parse_version(recorded("version"))
    assert (version.api, version.server) == ("0.1", "1.11.8")
    connection = parse_connection(recorded("connection_operational"))
    assert (connection.state_text, connection.port, connection.baudrate) == ("Operational", "VIRTUAL", 115200)
    with pytest.raises(OctoPrintProtocolError):
        parse_version({"text": "OctoPrint"})


# --- uploads ------------------------------------------------------------------------------------


def test_upload_answers() -> None:
    assert parse_upload_answer(recorded("upload_print")) == UploadResult("tiny.gcode", True, True, True)
    # Printer offline: the file is stored (201) but neither selected nor printed.
    assert parse_upload_answer(recorded("upload_offline")) == UploadResult("tiny.gcode", True, False, False)


def test_upload_answer_without_effective_print_means_not_printing() -> None:
    answer = recorded("upload_print")
    del answer["effectivePrint"], answer["effectiveSelect"]
    assert parse_upload_answer(answer).effective_print is False


@pytest.mark.parametrize(
    "answer",
    [{}, {"files": {}}, {"files": {"local": {"name": "x.gcode"}}}, {"files": {"local": {"path": 3}}}, []],
)
def test_broken_upload_answers(answer: object) -> None:
    with pytest.raises(OctoPrintProtocolError):
        parse_upload_answer(answer)


# --- MQTT plugin messages -----------------------------------------------------------------------

_FILE = {
    "name": "cube.gcode",
    "path": "dossier/cube.gcode",
    "origin": "local",
    "size": 1234,
    "owner": "admin",
}


def _payload(event: str, **extra: object) -> bytes:
    return json.dumps({"_event": event, "_timestamp": 1717000000, **extra}).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "event"),
    [
        (
            "octoPrint/event/PrintStarted",
            _payload("PrintStarted", **_FILE, user="admin"),
            PrintStarted("dossier/cube.gcode"),
        ),
        (
            "octoPrint/event/PrintDone",
            _payload("PrintDone", **_FILE, time=612.4),
            PrintDone("dossier/cube.gcode", 612.4),
        ),
        (
            "octoPrint/event/PrintFailed",
            _payload("PrintFailed", **_FILE, time=12.0, reason="error"),
            PrintFailed("dossier/cube.gcode", "error"),
        ),
        (
            "octoPrint/event/PrintCancelled",
            _payload("PrintCancelled", **_FILE, user="admin"),
            PrintCancelled("dossier/cube.gcode"),
        ),
        ("octoPrint/event/PrintPaused", _payload("PrintPaused", **_FILE), PrintPaused("dossier/cube.gcode")),
        (
            "octoPrint/event/PrintResumed",
            _payload("PrintResumed", **_FILE),
            PrintResumed("dossier/cube.gcode"),
        ),
        # The plugin's README still shows the pre-1.3 payload.
        (
            "octoPrint/event/PrintStarted",
            _payload(
                "PrintStarted",
                origin="local",
                file="/home/pi/.octoprint/uploads/case.gco",
                filename="case.gco",
            ),
            PrintStarted("case.gco"),
        ),
        (
            "octoPrint/event/Connected",
            _payload("Connected", port="VIRTUAL", baudrate=115200),
            PrinterConnection(online=True),
        ),
        ("octoPrint/event/Disconnected", _payload("Disconnected"), PrinterConnection(online=False)),
        (
            "octoPrint/event/Error",
            _payload("Error", error="Thermal Runaway, system stopped!", reason="firmware"),
            PrinterError("Thermal Runaway, system stopped!"),
        ),
        (
            "octoPrint/progress/printing",
            json.dumps({"progress": 42, "location": "local", "path": "cube.gcode", "_timestamp": 1}).encode(),
            PrintProgress("cube.gcode", 42.0),
        ),
        (
            "octoPrint/progress/printing",
            b'{"progress": 0, "location": "", "path": ""}',
            PrintProgress(None, 0.0),
        ),
        ("octoPrint/event/ClientOpened", _payload("ClientOpened", remoteAddress="127.0.0.1"), None),
        ("octoPrint/temperature/tool0", b'{"actual": 200.1, "target": 200}', None),
        ("octoPrint/progress/slicing", b'{"progress": 10}', None),
        ("zigbee2mqtt/porte-atelier", b'{"contact": true}', None),
    ],
)
def test_mqtt_messages(topic: str, payload: bytes, event: PrinterEvent | None) -> None:
    assert parse_mqtt_message(topic, payload) == event


def test_mqtt_base_topic_is_configurable() -> None:
    event = parse_mqtt_message("fablab/imprimante-1/event/Disconnected", b"{}", base_topic="fablab/imprimante-1/")
    assert event == PrinterConnection(online=False)
    assert parse_mqtt_message("octoPrint/event/Disconnected", b"{}", base_topic="fablab/imprimante-1/") is None


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("octoPrint/event/PrintDone", b"not json"),
        ("octoPrint/event/PrintDone", b"\xff\xfe"),
        ("octoPrint/event/PrintDone", b"[1, 2]"),
        ("octoPrint/event/PrintStarted", _payload("PrintStarted", origin="local")),
        ("octoPrint/event/PrintDone", _payload("PrintDone", **_FILE, time="long")),
        ("octoPrint/progress/printing", b'{"progress": 140, "path": "cube.gcode"}'),
        ("octoPrint/progress/printing", b'{"path": "cube.gcode"}'),
        ("octoPrint/progress/printing", b'{"progress": true, "path": "cube.gcode"}'),
        ("octoPrint/progress/printing", b'{"progress": NaN, "path": "cube.gcode"}'),
    ],
)
def test_malformed_mqtt_messages(topic: str, payload: bytes) -> None:
    with pytest.raises(OctoPrintProtocolError):
        parse_mqtt_message(topic, payload)


# --- client, through an in-process transport ----------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]
API_KEY = "CLE-DE-TEST"


def client_for(handler: Handler) -> OctoPrintClient:
    return OctoPrintClient("http://octoprint.test/", API_KEY, transport=httpx.MockTransport(handler))


def answer_with(status: int, body: object = None, *, content: bytes | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(status, json=body)

    return handler


def raise_(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        pytest.param(raise_(httpx.ConnectError("Connection refused")), OctoPrintUnavailable, id="refused"),
        pytest.param(raise_(httpx.ReadTimeout("timed out")), OctoPrintUnavailable, id="timeout"),
        pytest.param(raise_(httpx.RemoteProtocolError("peer closed")), OctoPrintUnavailable, id="dropped"),
        pytest.param(answer_with(502, content=b"<html>Bad Gateway</html>"), OctoPrintUnavailable, id="502"),
        pytest.param(answer_with(503, {"error": "starting"}), OctoPrintUnavailable, id="503"),
        pytest.param(answer_with(401, {"error": "no key"}), OctoPrintAuthError, id="401"),
        pytest.param(answer_with(403, {"error": "You don't have the permission"}), OctoPrintAuthError, id="403"),
        pytest.param(answer_with(409, recorded("printer_not_operational")), PrinterNotOperational, id="409"),
        pytest.param(
            answer_with(409, {"error": "Printer is already printing"}),
            OctoPrintRequestRejected,
            id="409-other",
        ),
        pytest.param(answer_with(404, {"error": "not found"}), OctoPrintRequestRejected, id="404"),
        pytest.param(answer_with(200, content=b"<html>captive portal</html>"), OctoPrintProtocolError, id="html"),
        pytest.param(answer_with(200, ["unexpected"]), OctoPrintProtocolError, id="list"),
    ],
)
def test_failures_become_typed_errors(handler: Handler, expected: type[OctoPrintError]) -> None:
    with client_for(handler) as client, pytest.raises(expected) as caught:
        client.version()
    assert "http://octoprint.test/api/version" in str(caught.value)


def test_snapshot_treats_409_from_printer_as_not_operational() -> None:
    answers = {
        "/api/connection": (200, recorded("connection_closed")),
        "/api/printer": (409, recorded("printer_not_operational")),
        "/api/job": (200, recorded("job_offline")),
    }
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Api-Key"] == API_KEY
        seen.append(request.url.path)
        status, body = answers[request.url.path]
        return httpx.Response(status, json=body)

    with client_for(handler) as client:
        assert client.snapshot().state is PrinterState.OFFLINE
    assert seen == ["/api/connection", "/api/printer", "/api/job"]


def test_snapshot_or_offline_only_hides_unavailability() -> None:
    with client_for(raise_(httpx.ConnectError("Connection refused"))) as client:
        offline = snapshot_or_offline(client)
    assert offline.state is PrinterState.OFFLINE
    assert offline.error is not None and "Connection refused" in offline.error
    with client_for(answer_with(403, {})) as client, pytest.raises(OctoPrintAuthError):
        snapshot_or_offline(client)


def test_upload_sends_multipart_with_select_and_print() -> None:
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(201, json=recorded("upload_offline"))

    with client_for(handler) as client:
        result = client.upload("cube.gcode", b"G28\n", select=False, print_=True)
    assert result.effective_print is False
    (request,) = received
    assert (request.method, request.url.path) == ("POST", "/api/files/local")
    body = request.content
    assert b'name="file"; filename="cube.gcode"' in body and b"G28\n" in body
    assert b'name="select"\r\n\r\nfalse' in body
    assert b'name="print"\r\n\r\ntrue' in body


def test_job_and_file_commands() -> None:
    received: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append((request.method, request.url.raw_path.decode(), request.read()))
        return httpx.Response(204)

    with client_for(handler) as client:
        client.start_job()
        client.cancel_job()
        client.connect()
        client.connect("AUTO")
        client.disconnect()
        client.delete_file("dossier/pièce 1.gcode")
    assert [(method, path, json.loads(body) if body else None) for method, path, body in received] == [
        ("POST", "/api/job", {"command": "start"}),
        ("POST", "/api/job", {"command": "cancel"}),
        ("POST", "/api/connection", {"command": "connect"}),
        ("POST", "/api/connection", {"command": "connect", "port": "AUTO"}),
        ("POST", "/api/connection", {"command": "disconnect"}),
        ("DELETE", "/api/files/local/dossier/pi%C3%A8ce%201.gcode", None),
    ]
