"""The OctoPrint-MQTT plugin: recorded messages, the listener over a real database, the API's
base topic, and one run through a real Mosquitto broker with a running dispatcher."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import select

from devices.memory import InMemoryTransport
from firmware_bridges.octoprint import OctoPrintClient, OctoPrintProtocolError
from tests.conftest import AppHarness
from tests.printing.fake_octoprint import FakeOctoPrint
from tests.printing.support import FabLab, book_now, gcode, job, make_fablab, trained_user, user
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import client
from tierslieu.controller import ControllerServices
from tierslieu.errors import InvalidInput
from tierslieu.models import Printer, PrintJob
from tierslieu.printing.dispatcher import PrintDispatcher
from tierslieu.printing.mqtt import PluginListener
from tierslieu.printing.plugin import (
    PassNeeded,
    ProgressSeen,
    Route,
    base_topic_problem,
    interpret,
    normalize_base_topic,
    routes_of,
)
from tierslieu.runtime import Runtime
from tierslieu.services import spaces as space_service

BASE = "octoPrint/"
ROUTES = (Route(BASE, frozenset({7})),)
OURS = "tierslieu-job-12-1.gcode"

# --- recorded plugin messages (OctoPrint-MQTT 0.8 on OctoPrint 1.x) ------------------------------

_FILE = {"name": OURS, "path": OURS, "origin": "local", "size": 4821, "owner": "admin", "user": "admin"}


def _event(event: str, **extra: object) -> bytes:
    return json.dumps({**_FILE, **extra, "_event": event, "_timestamp": 1717000000}).encode()


def _progress(percent: object, path: str = OURS) -> bytes:
    body = {"location": "local" if path else "", "path": path, "progress": percent, "_timestamp": 1717000000}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "action"),
    [
        ("octoPrint/progress/printing", _progress(42), ProgressSeen(frozenset({7}), 12, OURS, 42.0)),
        ("octoPrint/progress/printing", _progress(100), ProgressSeen(frozenset({7}), 12, OURS, 100.0)),
        # Between prints the plugin reports no file; a print started from OctoPrint is not ours.
        ("octoPrint/progress/printing", _progress(0, ""), None),
        ("octoPrint/progress/printing", _progress(10, "benchy.gcode"), None),
        ("octoPrint/event/PrintDone", _event("PrintDone", time=612.4), PassNeeded(frozenset({7}), "PrintDone")),
        (
            "octoPrint/event/PrintFailed",
            _event("PrintFailed", time=12.0, reason="error"),
            PassNeeded(frozenset({7}), "PrintFailed"),
        ),
        ("octoPrint/event/PrintCancelled", _event("PrintCancelled"), PassNeeded(frozenset({7}), "PrintCancelled")),
        ("octoPrint/event/PrintStarted", _event("PrintStarted"), PassNeeded(frozenset({7}), "PrintStarted")),
        ("octoPrint/event/PrintPaused", _event("PrintPaused"), PassNeeded(frozenset({7}), "PrintPaused")),
        (
            "octoPrint/event/Connected",
            json.dumps({"port": "VIRTUAL", "baudrate": 115200, "_event": "Connected"}).encode(),
            PassNeeded(frozenset({7}), "PrinterConnection"),
        ),
        (
            "octoPrint/event/Disconnected",
            b'{"_event": "Disconnected"}',
            PassNeeded(frozenset({7}), "PrinterConnection"),
        ),
        (
            "octoPrint/event/Error",
            json.dumps({"error": "Thermal Runaway", "reason": "firmware", "_event": "Error"}).encode(),
            PassNeeded(frozenset({7}), "PrinterError"),
        ),
        ("octoPrint/event/ClientOpened", json.dumps({"remoteAddress": "127.0.0.1"}).encode(), None),
        ("octoPrint/temperature/tool0", b'{"actual": 210.1, "target": 210}', None),
        ("autre/event/PrintDone", _event("PrintDone"), None),
        ("zigbee2mqtt/porte-fablab", b'{"contact": true}', None),
    ],
)
def test_recorded_plugin_messages(topic: str, payload: bytes, action: object) -> None:
    assert interpret(ROUTES, topic, payload) == action


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("octoPrint/event/PrintDone", b"not json"),
        ("octoPrint/event/PrintDone", b"\xff\xfe"),
        ("octoPrint/event/PrintDone", b'{"_event": "PrintDone"}'),  # no file
        ("octoPrint/progress/printing", _progress(140)),
        ("octoPrint/progress/printing", _progress("42")),
        ("octoPrint/progress/printing", b"[42]"),
        ("octoPrint/progress/printing", b'{"progress": 1, "path": "x"' + b" " * 70_000 + b"}"),
    ],
)
def test_malformed_plugin_messages_raise(topic: str, payload: bytes) -> None:
    with pytest.raises(OctoPrintProtocolError):
        interpret(ROUTES, topic, payload)


def test_each_printer_is_told_apart_by_its_base_topic() -> None:
    routes = routes_of([(1, "fablab/mk4/"), (2, "fablab/mk4/bis/"), (3, None), (4, "bad/#/"), (5, "fablab/mk4/")])
    assert routes == (Route("fablab/mk4/", frozenset({1, 5})), Route("fablab/mk4/bis/", frozenset({2})))
    done = interpret(routes, "fablab/mk4/bis/event/PrintDone", _event("PrintDone"))
    assert done == PassNeeded(frozenset({2}), "PrintDone")
    assert interpret(routes, "fablab/mk4/event/PrintDone", _event("PrintDone")) == PassNeeded(
        frozenset({1, 5}), "PrintDone"
    )


@pytest.mark.parametrize(
    ("topic", "fine"),
    [
        ("octoPrint/", True),
        ("fablab/imprimante-1/", True),
        ("octoPrint", False),
        ("a/+/", False),
        ("#/", False),
        ("$SYS/", False),
        ("", False),
        ("x" * 200 + "/", False),
    ],
)
def test_base_topic_rules(topic: str, fine: bool) -> None:
    assert (base_topic_problem(topic) is None) is fine


def test_blank_base_topic_means_not_followed_and_bad_one_is_refused_in_french() -> None:
    assert normalize_base_topic(None) is None
    assert normalize_base_topic("  ") is None
    assert normalize_base_topic(" octoPrint/ ") == "octoPrint/"
    with pytest.raises(InvalidInput) as caught:
        normalize_base_topic("octoPrint/#")
    assert caught.value.code == "invalid_mqtt_base_topic"
    assert "Sujet MQTT de base invalide" in caught.value.message_fr


# --- the listener over a real database, with the in-memory transport -------------------------------


class WakeCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def set_base_topic(runtime: Runtime, printer_id: int, base: str | None) -> None:
    with runtime.db.session(write=True) as session:
        row = session.get(Printer, printer_id)
        assert row is not None
        row.mqtt_base_topic = base
        session.add(row)
        session.commit()


def printing_job(runtime: Runtime, lab: FabLab, *, status: str = "printing", attempt: int = 1) -> int:
    member = user(runtime, trained=True)
    with runtime.db.session(write=True) as session:
        row = PrintJob(
            printer_id=lab.printer_id,
            member_id=member.id,
            filename="cube.gcode",
            file_sha256="0" * 64,
            size_bytes=100,
            status=status,
        )
        session.add(row)
        session.flush()
        row.octoprint_path = f"tierslieu-job-{row.id}-{attempt}.gcode"
        session.commit()
        assert row.id is not None
        return row.id


@pytest.fixture
def lab(runtime: Runtime) -> FabLab:
    lab = make_fablab(runtime)
    set_base_topic(runtime, lab.printer_id, "fablab/mk4/")
    return lab


@pytest.fixture
def bus() -> Iterator[InMemoryTransport]:
    transport = InMemoryTransport()
    transport.start()
    yield transport
    transport.stop()


def test_listener_follows_the_printers_base_topics(runtime: Runtime, lab: FabLab, bus: InMemoryTransport) -> None:
    listener = PluginListener(runtime.db, bus, WakeCounter(), scheduler=runtime.scheduler)
    listener.reload()
    assert set(bus.subscriptions) == {"fablab/mk4/event/#", "fablab/mk4/progress/printing"}

    set_base_topic(runtime, lab.printer_id, "octoPrint/")
    ControllerServices(plugin=listener).reload_printers()  # what the printers API does
    listener.work()
    assert set(bus.subscriptions) == {"octoPrint/event/#", "octoPrint/progress/printing"}

    set_base_topic(runtime, lab.printer_id, None)
    listener.request_reload()
    listener.work()
    assert bus.subscriptions == {}


def test_progress_moves_our_printing_job_forward_only(runtime: Runtime, lab: FabLab, bus: InMemoryTransport) -> None:
    listener = PluginListener(runtime.db, bus, WakeCounter(), scheduler=runtime.scheduler)
    listener.reload()
    running = printing_job(runtime, lab)
    waiting = printing_job(runtime, lab, status="queued")
    path = f"tierslieu-job-{running}-1.gcode"

    def progress(percent: float, file: str = path) -> None:
        bus.publish("fablab/mk4/progress/printing", _progress(percent, file), retain=True)
        listener.work()

    progress(30)
    assert job(runtime, running).progress == 30.0
    progress(20)  # late or replayed: never backwards
    assert job(runtime, running).progress == 30.0
    progress(60, f"tierslieu-job-{running}-2.gcode")  # another attempt of the job: not this print
    progress(60, f"tierslieu-job-{waiting}-1.gcode")  # a job that is not printing
    assert (job(runtime, running).progress, job(runtime, waiting).progress) == (30.0, 0.0)
    progress(100)
    finished = job(runtime, running)
    # The plugin alone never ends a job: the dispatcher's next poll does.
    assert (finished.progress, finished.status) == (100.0, "printing")
    assert listener.metrics.progress_updates == 2


def test_events_coalesce_into_one_pass_and_bad_messages_are_dropped(
    runtime: Runtime, lab: FabLab, bus: InMemoryTransport
) -> None:
    wake = WakeCounter()
    listener = PluginListener(runtime.db, bus, wake, scheduler=runtime.scheduler)
    listener.reload()
    running = printing_job(runtime, lab)
    garbage = [
        ("fablab/mk4/event/PrintDone", b"\x00\xff garbage"),
        ("fablab/mk4/event/PrintDone", b"[" * 100_000),  # deep enough to break a naive JSON reader
        ("fablab/mk4/progress/printing", b"y" * 100_000),
        ("fablab/mk4/progress/printing", b'{"progress": "half", "path": "x"}'),
    ]
    for topic, payload in garbage:
        bus.publish(topic, payload)
    assert listener.metrics.malformed == len(garbage)

    for name in ("PrintDone", "PrintFailed", "Connected"):
        bus.publish(f"fablab/mk4/event/{name}", _event(name))
    bus.publish("fablab/mk4/event/ClientOpened", _event("ClientOpened"))
    bus.publish("fablab/mk4/progress/printing", _progress(55, f"tierslieu-job-{running}-1.gcode"))
    listener.work()
    assert wake.count == 1
    assert job(runtime, running).progress == 55.0
    listener.work()  # nothing new: no pass
    assert wake.count == 1


# --- the API ---------------------------------------------------------------------------------------


def test_printer_api_sets_changes_and_clears_the_base_topic(api: AppHarness) -> None:
    lab = make_fablab(api.runtime)
    staff = api.users["staff"].headers
    url = f"/api/v1/printers/{lab.printer_id}"
    assert api.client.get(url, headers=staff).json()["mqtt_base_topic"] is None

    changed = api.client.patch(url, headers=staff, json={"mqtt_base_topic": "fablab/mk4/"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["mqtt_base_topic"] == "fablab/mk4/"
    renamed = api.client.patch(url, headers=staff, json={"name": "MK4"})
    assert renamed.json()["mqtt_base_topic"] == "fablab/mk4/"  # absent: unchanged
    refused = api.client.patch(url, headers=staff, json={"mqtt_base_topic": "fablab/#"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_mqtt_base_topic"
    cleared = api.client.patch(url, headers=staff, json={"mqtt_base_topic": None})
    assert cleared.json()["mqtt_base_topic"] is None

    with api.runtime.db.session(write=True) as session:
        fablab = space_service.get_space(session, space_service.get_resource(session, lab.resource_id).space_id or 0)
        second = space_service.create_resource(session, name="Imprimante 2", kind="printer", space_id=fablab.id or 0)
        session.commit()
    body = {
        "name": "Ender",
        "resource_id": second.id,
        "octoprint_url": "http://127.0.0.1:5002",
        "api_key": "k",
        "mqtt_base_topic": "octoPrint/",
    }
    created = api.client.post("/api/v1/printers", headers=staff, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["mqtt_base_topic"] == "octoPrint/"
    with api.runtime.db.session() as session:
        topics = set(session.exec(select(Printer.mqtt_base_topic)).all())
    assert topics == {None, "octoPrint/"}


# --- through a real broker, with the dispatcher running ------------------------------------------


def _wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.mark.broker
@pytest.mark.timeout(60)
def test_plugin_messages_through_mosquitto_update_progress_and_wake_a_pass(
    api: AppHarness, mosquitto: MosquittoServer
) -> None:
    runtime = api.runtime
    lab = make_fablab(runtime)
    set_base_topic(runtime, lab.printer_id, "fablab/mk4/")
    alice = trained_user(runtime)
    book_now(runtime, lab, alice.id)
    sent = api.client.post(
        "/api/v1/print-jobs",
        headers=alice.headers,
        files={"file": ("cube.gcode", gcode(seconds=600), "text/plain")},
        data={"printer_id": str(lab.printer_id)},
    )
    assert sent.status_code == 201, sent.text
    job_id = int(sent.json()["id"])

    octo = FakeOctoPrint()
    # Polls 10 minutes apart: only a wake can make the next pass come within the test.
    slow = runtime.settings.model_copy(update={"printing_poll_seconds": 600.0})
    dispatcher = PrintDispatcher(
        runtime.db,
        runtime.secrets,
        slow,
        scheduler=runtime.scheduler,
        client_factory=lambda url, key: OctoPrintClient(url, key, transport=octo.transport()),
    )
    passes = threading.Semaphore(0)
    run_pass = dispatcher.run_pass

    def counted_pass(now: object = None) -> None:
        run_pass()
        passes.release()

    dispatcher.run_pass = counted_pass  # type: ignore[method-assign]
    service, tool = client(mosquitto.url, "tierslieu"), client(mosquitto.url, "octoprint")
    listener = PluginListener(runtime.db, service, dispatcher.wake, scheduler=runtime.scheduler)
    try:
        dispatcher.start()
        assert passes.acquire(timeout=10)  # the first pass starts the job
        path = f"tierslieu-job-{job_id}-1.gcode"
        assert job(runtime, job_id).status == "printing"
        assert octo.uploads == [path]

        service.start()
        tool.start()
        assert service.wait_connected(10) and tool.wait_connected(10)
        listener.start()
        # Retained, as the plugin publishes progress: it arrives even if our subscription is late.
        tool.publish("fablab/mk4/progress/printing", _progress(37.5, path), qos=1, retain=True)
        assert _wait_for(lambda: job(runtime, job_id).progress == 37.5)
        tool.publish("fablab/mk4/event/PrintDone", b"{broken", qos=1)
        assert _wait_for(lambda: listener.metrics.malformed == 1)
        assert job(runtime, job_id).status == "printing"

        octo.finish()  # OctoPrint now says the print is complete; the plugin says so too
        tool.publish("fablab/mk4/event/PrintDone", _event("PrintDone", path=path, name=path, time=61.0), qos=1)
        assert passes.acquire(timeout=10), "PrintDone did not wake the dispatcher"
        assert _wait_for(lambda: job(runtime, job_id).status == "done", 5)
        assert listener.metrics.passes_requested >= 1
    finally:
        listener.stop()
        dispatcher.stop()
        tool.publish("fablab/mk4/progress/printing", b"", qos=1, retain=True)  # the broker is shared
        tool.flush(2)
        tool.stop(timeout=2)
        service.stop(timeout=2)
