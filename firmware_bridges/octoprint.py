"""OctoPrint: its REST API and the messages of its MQTT plugin, in our vocabulary.

Parsing is done by pure functions over decoded JSON, so recorded answers test it without a server.
All I/O goes through :class:`OctoPrintClient`, a thin synchronous wrapper around ``httpx.Client``
(the print dispatcher runs in a scheduler thread); tests swap the network for an
``httpx.BaseTransport``. Every failure surfaces as one of the errors below, never as an httpx or
JSON exception::

    OctoPrintError
    ├── OctoPrintUnavailable      refused, timed out, 5xx: try again later
    ├── OctoPrintAuthError        401/403: the API key is wrong or lacks rights
    ├── PrinterNotOperational     409 "Printer is not operational": the server is up, the printer is not
    ├── OctoPrintRequestRejected  another 4xx (unknown file, invalid type, other 409 conflicts)
    └── OctoPrintProtocolError    an answer or message we cannot make sense of
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx

__all__ = [
    "ConnectionStatus",
    "OctoPrintAuthError",
    "OctoPrintClient",
    "OctoPrintError",
    "OctoPrintProtocolError",
    "OctoPrintRequestRejected",
    "OctoPrintUnavailable",
    "PrintCancelled",
    "PrintDone",
    "PrintFailed",
    "PrintPaused",
    "PrintProgress",
    "PrintResumed",
    "PrintStarted",
    "PrinterConnection",
    "PrinterError",
    "PrinterEvent",
    "PrinterNotOperational",
    "PrinterSnapshot",
    "PrinterState",
    "ServerVersion",
    "Temperature",
    "UploadResult",
    "offline_snapshot",
    "parse_connection",
    "parse_mqtt_message",
    "parse_printer_state",
    "parse_upload_answer",
    "parse_version",
    "snapshot_or_offline",
]

DEFAULT_MQTT_BASE_TOPIC: Final = "octoPrint/"
_Parsed = TypeVar("_Parsed")


# --- errors -------------------------------------------------------------------------------------


class OctoPrintError(Exception):
    """Base of everything this module raises."""


class OctoPrintUnavailable(OctoPrintError):
    """The server cannot be reached or failed (connection refused, timeout, 5xx)."""


class OctoPrintAuthError(OctoPrintError):
    """The API key was refused (401/403)."""


class PrinterNotOperational(OctoPrintError):
    """OctoPrint answers, but its printer is not connected or not ready (409)."""


class OctoPrintRequestRejected(OctoPrintError):
    """OctoPrint refused the request for another reason (404 unknown file, 415 invalid type...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class OctoPrintProtocolError(OctoPrintError):
    """An answer or MQTT message is not the JSON we expect."""


# --- printer state ------------------------------------------------------------------------------


class PrinterState(StrEnum):
    OFFLINE = "offline"
    OPERATIONAL = "operational"
    PRINTING = "printing"
    PAUSED = "paused"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Temperature:
    actual: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class PrinterSnapshot:
    state: PrinterState
    temperatures: Mapping[str, Temperature] = field(default_factory=dict)
    job_file: str | None = None
    progress: float | None = None
    print_time_s: int | None = None
    print_time_left_s: int | None = None
    error: str | None = None


def offline_snapshot(error: str | None = None) -> PrinterSnapshot:
    return PrinterSnapshot(state=PrinterState.OFFLINE, error=error)


# OctoPrint's state strings (util/comm.py getStateString), matched by prefix, most specific first.
_STATE_PREFIXES: Final[tuple[tuple[str, PrinterState], ...]] = (
    ("offline after error", PrinterState.ERROR),
    ("closed with error", PrinterState.ERROR),
    ("error", PrinterState.ERROR),
    ("operational", PrinterState.OPERATIONAL),
    ("paus", PrinterState.PAUSED),
    # A job that is starting, finishing or being cancelled still owns the printer.
    ("printing", PrinterState.PRINTING),
    ("starting", PrinterState.PRINTING),
    ("sending file", PrinterState.PRINTING),
    ("transferring", PrinterState.PRINTING),
    ("cancelling", PrinterState.PRINTING),
    ("finishing", PrinterState.PRINTING),
    ("resuming", PrinterState.PRINTING),
)


def _state_from_text(text: str) -> PrinterState:
    lowered = text.strip().lower()
    for prefix, state in _STATE_PREFIXES:
        if lowered.startswith(prefix):
            return state
    return PrinterState.OFFLINE  # Offline, Closed, Opening/Detecting serial, Connecting, unknown


def _state_from_flags(flags: Mapping[str, Any]) -> PrinterState:
    if flags.get("error"):
        return PrinterState.ERROR
    if flags.get("paused") or flags.get("pausing"):
        return PrinterState.PAUSED
    if any(flags.get(name) for name in ("printing", "cancelling", "finishing", "resuming")):
        return PrinterState.PRINTING
    if flags.get("operational"):
        return PrinterState.OPERATIONAL
    return PrinterState.OFFLINE


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OctoPrintProtocolError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _optional_number(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OctoPrintProtocolError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _optional_seconds(value: object, where: str) -> int | None:
    number = _optional_number(value, where)
    return None if number is None else round(number)


def _optional_text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise OctoPrintProtocolError(f"{where}: expected a string, got {value!r}")
    return value or None


def _parse_temperatures(printer: Mapping[str, Any]) -> dict[str, Temperature]:
    readings = _mapping(printer.get("temperature", {}), "printer.temperature")
    temperatures: dict[str, Temperature] = {}
    for name, reading in readings.items():
        if name == "history":  # only present with ?history=true; not a heater
            continue
        values = _mapping(reading, f"printer.temperature.{name}")
        temperatures[name] = Temperature(
            actual=_optional_number(values.get("actual"), f"temperature.{name}.actual"),
            target=_optional_number(values.get("target"), f"temperature.{name}.target"),
        )
    return temperatures


def parse_printer_state(printer_json: object | None, connection_json: object, job_json: object) -> PrinterSnapshot:
    """Combine /api/printer (None when it answered 409), /api/connection and /api/job.

    Raises OctoPrintProtocolError when an answer does not have the documented shape.
    """
    connection_text = parse_connection(connection_json).state_text
    job_answer = _mapping(job_json, "job")
    job_text = _optional_text(job_answer.get("state"), "job.state") or ""
    job = _mapping(job_answer.get("job") or {}, "job.job")
    job_file = _mapping(job.get("file") or {}, "job.job.file")
    progress = _mapping(job_answer.get("progress") or {}, "job.progress")

    temperatures: dict[str, Temperature] = {}
    error_text: str | None = None
    if printer_json is not None:
        printer = _mapping(printer_json, "printer")
        printer_state = _mapping(printer.get("state"), "printer.state")
        state = _state_from_flags(_mapping(printer_state.get("flags"), "printer.state.flags"))
        error_text = _optional_text(printer_state.get("error"), "printer.state.error")
        temperatures = _parse_temperatures(printer)
    else:
        # The printer is not operational: the job state keeps "Offline after error" even when
        # the connection already says "Closed", so it decides between offline and error.
        state = _state_from_text(job_text)
        if state is not PrinterState.ERROR:
            state = _state_from_text(connection_text)
        if state not in (PrinterState.ERROR, PrinterState.OFFLINE):
            state = PrinterState.OFFLINE  # contradicting answers: trust the 409
    if state is PrinterState.ERROR:
        error_text = error_text or _optional_text(job_answer.get("error"), "job.error") or job_text or connection_text

    completion = _optional_number(progress.get("completion"), "job.progress.completion")
    return PrinterSnapshot(
        state=state,
        temperatures=temperatures,
        job_file=_optional_text(job_file.get("path"), "job.job.file.path"),
        progress=None if completion is None else min(100.0, max(0.0, completion)),
        print_time_s=_optional_seconds(progress.get("printTime"), "job.progress.printTime"),
        print_time_left_s=_optional_seconds(progress.get("printTimeLeft"), "job.progress.printTimeLeft"),
        error=error_text if state is PrinterState.ERROR else None,
    )


@dataclass(frozen=True, slots=True)
class ServerVersion:
    api: str
    server: str


def parse_version(answer: object) -> ServerVersion:
    body = _mapping(answer, "version")
    api = _optional_text(body.get("api"), "version.api")
    server = _optional_text(body.get("server"), "version.server")
    if api is None or server is None:
        raise OctoPrintProtocolError("version: 'api' and 'server' are required")
    return ServerVersion(api=api, server=server)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    state_text: str  # OctoPrint's own words, e.g. "Operational", "Closed", "Offline after error"
    port: str | None
    baudrate: int | None


def parse_connection(answer: object) -> ConnectionStatus:
    current = _mapping(_mapping(answer, "connection").get("current"), "connection.current")
    baudrate = _optional_number(current.get("baudrate"), "connection.current.baudrate")
    return ConnectionStatus(
        state_text=_optional_text(current.get("state"), "connection.current.state") or "Offline",
        port=_optional_text(current.get("port"), "connection.current.port"),
        baudrate=None if baudrate is None else int(baudrate),
    )


# --- uploads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadResult:
    path: str
    done: bool
    effective_select: bool
    effective_print: bool


def parse_upload_answer(answer: object) -> UploadResult:
    """Read the 201 answer of POST /api/files/local.

    A missing ``effectivePrint`` counts as False: a job is running only when OctoPrint says so.
    """
    body = _mapping(answer, "upload")
    local = _mapping(_mapping(body.get("files"), "upload.files").get("local"), "upload.files.local")
    path = _optional_text(local.get("path"), "upload.files.local.path")
    if path is None:
        raise OctoPrintProtocolError("upload: the answer names no stored file")
    return UploadResult(
        path=path,
        done=body.get("done") is True,
        effective_select=body.get("effectiveSelect") is True,
        effective_print=body.get("effectivePrint") is True,
    )


# --- MQTT plugin messages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrintStarted:
    path: str


@dataclass(frozen=True, slots=True)
class PrintDone:
    path: str
    time_s: float | None


@dataclass(frozen=True, slots=True)
class PrintFailed:
    path: str
    reason: str | None  # OctoPrint says "error" or "cancelled"


@dataclass(frozen=True, slots=True)
class PrintCancelled:
    path: str


@dataclass(frozen=True, slots=True)
class PrintPaused:
    path: str


@dataclass(frozen=True, slots=True)
class PrintResumed:
    path: str


@dataclass(frozen=True, slots=True)
class PrintProgress:
    path: str | None  # None between jobs, when the plugin reports no file
    percent: float


@dataclass(frozen=True, slots=True)
class PrinterConnection:
    online: bool


@dataclass(frozen=True, slots=True)
class PrinterError:
    message: str


PrinterEvent = (
    PrintStarted
    | PrintDone
    | PrintFailed
    | PrintCancelled
    | PrintPaused
    | PrintResumed
    | PrintProgress
    | PrinterConnection
    | PrinterError
)


def _job_path(payload: Mapping[str, Any], event: str) -> str:
    # OctoPrint >= 1.3 sends "path"; the plugin's older examples show "filename"/"file".
    for key in ("path", "name", "filename", "file"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    raise OctoPrintProtocolError(f"octoPrint/event/{event}: no file path in the payload")


_EVENT_PARSERS: Final[Mapping[str, Callable[[Mapping[str, Any]], PrinterEvent]]] = {
    "PrintStarted": lambda p: PrintStarted(_job_path(p, "PrintStarted")),
    "PrintDone": lambda p: PrintDone(_job_path(p, "PrintDone"), _optional_number(p.get("time"), "PrintDone.time")),
    "PrintFailed": lambda p: PrintFailed(
        _job_path(p, "PrintFailed"), _optional_text(p.get("reason"), "PrintFailed.reason")
    ),
    "PrintCancelled": lambda p: PrintCancelled(_job_path(p, "PrintCancelled")),
    "PrintPaused": lambda p: PrintPaused(_job_path(p, "PrintPaused")),
    "PrintResumed": lambda p: PrintResumed(_job_path(p, "PrintResumed")),
    "Connected": lambda p: PrinterConnection(online=True),
    "Disconnected": lambda p: PrinterConnection(online=False),
    "Error": lambda p: PrinterError(_optional_text(p.get("error"), "Error.error") or "unknown error"),
}


def _decode_object(topic: str, payload: bytes) -> Mapping[str, Any]:
    try:
        decoded = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OctoPrintProtocolError(f"{topic}: payload is not JSON ({exc})") from exc
    return _mapping(decoded, topic)


def _parse_progress(topic: str, body: Mapping[str, Any]) -> PrintProgress:
    percent = _optional_number(body.get("progress"), f"{topic}.progress")
    if percent is None or not 0 <= percent <= 100:
        raise OctoPrintProtocolError(f"{topic}: progress must be a number from 0 to 100")
    return PrintProgress(path=_optional_text(body.get("path"), f"{topic}.path"), percent=percent)


def parse_mqtt_message(topic: str, payload: bytes, *, base_topic: str = DEFAULT_MQTT_BASE_TOPIC) -> PrinterEvent | None:
    """Turn one message of the OctoPrint-MQTT plugin into an event.

    Returns None for topics and events we do not follow (temperatures, ClientOpened...);
    raises OctoPrintProtocolError when a message we follow is malformed.
    """
    if not topic.startswith(base_topic):
        return None
    local_topic = topic[len(base_topic) :]
    if local_topic == "progress/printing":
        return _parse_progress(topic, _decode_object(topic, payload))
    kind, _, event = local_topic.partition("/")
    parser = _EVENT_PARSERS.get(event) if kind == "event" else None
    if parser is None:
        return None
    return parser(_decode_object(topic, payload))


# --- I/O ----------------------------------------------------------------------------------------


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])
    return response.text[:200]


class OctoPrintClient:
    """One OctoPrint server, spoken to over its REST API with an API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"X-Api-Key": api_key},
            transport=transport,
            timeout=timeout,
        )

    def __enter__(self) -> OctoPrintClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def version(self) -> ServerVersion:
        return self._parsed(parse_version, "GET", "/api/version")

    def connection(self) -> ConnectionStatus:
        return self._parsed(parse_connection, "GET", "/api/connection")

    def connect(self, port: str | None = None) -> None:
        """Ask OctoPrint to open the serial port; None uses its saved preference, "AUTO" probes."""
        command: dict[str, Any] = {"command": "connect"}
        if port is not None:
            command["port"] = port
        self._request("POST", "/api/connection", json=command)

    def disconnect(self) -> None:
        self._request("POST", "/api/connection", json={"command": "disconnect"})

    def snapshot(self) -> PrinterSnapshot:
        connection = self._request("GET", "/api/connection")
        try:
            printer: object | None = self._request("GET", "/api/printer")
        except PrinterNotOperational:
            printer = None
        job = self._request("GET", "/api/job")
        try:
            return parse_printer_state(printer, connection, job)
        except OctoPrintProtocolError as exc:
            raise OctoPrintProtocolError(f"{self.base_url} state answers: {exc}") from exc

    def upload(self, filename: str, data: bytes, *, select: bool = True, print_: bool = True) -> UploadResult:
        return self._parsed(
            parse_upload_answer,
            "POST",
            "/api/files/local",
            files={"file": (filename, data, "application/octet-stream")},
            data={"select": _form_bool(select), "print": _form_bool(print_)},
        )

    def start_job(self) -> None:
        self._request("POST", "/api/job", json={"command": "start"})

    def cancel_job(self) -> None:
        self._request("POST", "/api/job", json={"command": "cancel"})

    def delete_file(self, path: str) -> None:
        self._request("DELETE", f"/api/files/local/{quote(path)}")

    def _parsed(self, parse: Callable[[object], _Parsed], method: str, path: str, **kwargs: Any) -> _Parsed:
        answer = self._request(method, path, **kwargs)
        try:
            return parse(answer)
        except OctoPrintProtocolError as exc:
            raise OctoPrintProtocolError(f"{method} {self.base_url}{path}: {exc}") from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        where = f"{method} {self.base_url}{path}"
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise OctoPrintUnavailable(f"{where}: no answer in time ({exc!r})") from exc
        except httpx.HTTPError as exc:
            raise OctoPrintUnavailable(f"{where}: cannot reach OctoPrint ({exc!r})") from exc
        status = response.status_code
        if status in (401, 403):
            raise OctoPrintAuthError(f"{where}: API key refused ({status})")
        if status >= 500:
            raise OctoPrintUnavailable(f"{where}: server error {status}: {_error_text(response)}")
        if status >= 400:
            text = _error_text(response)
            if status == 409 and "not operational" in text.lower():
                raise PrinterNotOperational(f"{where}: {text}")
            raise OctoPrintRequestRejected(f"{where}: {status} {text}", status)
        if status == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise OctoPrintProtocolError(f"{where}: answer is not JSON: {response.text[:200]!r}") from exc


def _form_bool(value: bool) -> str:
    return "true" if value else "false"


def snapshot_or_offline(client: OctoPrintClient) -> PrinterSnapshot:
    """The printer's state, or OFFLINE carrying the reason when its OctoPrint cannot be reached."""
    try:
        return client.snapshot()
    except OctoPrintUnavailable as exc:
        return offline_snapshot(error=str(exc))
