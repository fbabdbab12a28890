"""The relay of one process on a real broker, through the app factory: the payloads, what goes out
once, what comes in marked with its origin, the echo ignored, garbage dropped with a log line."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devices.mqtt import PahoTransport
from tests.conftest import make_settings
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import Inbox, client
from tierslieu.app import create_app
from tierslieu.background import build_components
from tierslieu.cluster.relay import EventRelay, LiveState
from tierslieu.cluster.wire import (
    MAX_IDS_PER_TABLE,
    MalformedMessage,
    Topics,
    decode_changes,
    decode_event,
    decode_space_ids,
    decode_space_state,
    encode_changes,
    encode_event,
    encode_space_ids,
    encode_space_state,
)
from tierslieu.db.changes import UNKNOWN_ID, Changes
from tierslieu.events import Event
from tierslieu.hardware.wiring import TransportComponent
from tierslieu.models import Space
from tierslieu.occupancy.alerts import Alert, AlertCode
from tierslieu.occupancy.state import DeviceBrief, DoorStatus, SpaceStatus
from tierslieu.runtime import Runtime
from tierslieu.services.sites import default_site_id

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
ALERT = Alert(
    AlertCode.DEVICE_OFFLINE, 3, NOW, device_id=4, params={"space": "FabLab", "device": "Porte", "reason": "silent"}
)
STATUS = SpaceStatus(
    space_id=3, name="FabLab", parent_id=1, capacity=12, occupied=True, people=2, people_source="counter",
    booked_now=False, checked_in=0, devices_online=1, devices_total=2,
    devices_offline=(DeviceBrief(4, "Porte", "door", 3, "silent", NOW),),
    doors=(DoorStatus(4, "Porte", "door", False, True, "locked", False, None, has_contact=True),),
    alerts=(ALERT,),
)  # fmt: skip


# --------------------------------------------------------------------------- payloads


@pytest.mark.parametrize(
    "event",
    [
        Event("occupancy", {"type": "space", "status": STATUS}),
        Event("occupancy", {"type": "alert", "state": "raised", "alert": ALERT}),
        Event("occupancy", {"type": "spaces", "space_ids": [1, 3, 2]}),
        Event("booking", {"action": "created", "booking_id": 7, "start": "2026-12-02T09:30:00+00:00", "note": None}),
        Event("access", {"device_id": 2, "decision": "granted", "reason": "granted_role", "member_id": 5}),
    ],
)
def test_an_event_comes_back_equal_with_its_origin(event: Event) -> None:
    payload = encode_event(event, "tierslieu-api-host-12")
    assert b'"v":1' in payload and len(payload) < 1000
    decoded, origin = decode_event(event.topic, payload)
    assert origin == "tierslieu-api-host-12"
    assert decoded == Event(event.topic, event.data, origin="tierslieu-api-host-12")


def test_occupancy_comes_back_typed_and_renders_in_the_readers_language() -> None:
    decoded, _origin = decode_event(
        "occupancy", encode_event(Event("occupancy", {"type": "space", "status": STATUS}), "p")
    )
    status = decoded.data["status"]
    assert isinstance(status, SpaceStatus) and status == STATUS
    assert status.alerts[0].to_dict("en")["message"] != status.alerts[0].to_dict("fr")["message"]


def test_state_messages_and_changes_round_trip() -> None:
    assert decode_space_state(encode_space_state(STATUS, "p")) == (STATUS, "p")
    assert decode_space_ids(encode_space_ids([1, 3, 2], "p")) == ([1, 3, 2], "p")
    changes = Changes({"space": frozenset({1, 2}), "booking": frozenset({9})}, {"space": frozenset({2})})
    decoded, origin = decode_changes(encode_changes(changes, "p"))
    assert origin == "p" and decoded == Changes(changes.rows, changes.altered, origin="p")


def test_a_big_write_goes_as_the_whole_table_and_stays_small() -> None:
    many = frozenset(range(1, MAX_IDS_PER_TABLE + 2))
    payload = encode_changes(Changes({"badge": many}, {}), "p")
    decoded, _origin = decode_changes(payload)
    assert len(payload) < 200 and decoded.ids("badge") is None and decoded.rows["badge"] == {UNKNOWN_ID}


def test_data_that_is_not_json_is_not_sent() -> None:
    with pytest.raises(MalformedMessage):
        encode_event(Event("printing", {"job": object()}), "p")
    with pytest.raises(MalformedMessage):
        encode_event(Event("occupancy", {"type": "space", "status": "not a status"}), "p")


BAD_EVENTS = [
    b"",
    b"\xff\xfe",
    b"[]",
    b'{"v": 1, "origin": "p"}',  # no data
    b'{"v": 2, "origin": "p", "data": {}}',  # a version we do not speak
    b'{"v": 1, "origin": "", "data": {}}',
    b'{"v": 1, "origin": "p", "data": {"type": "space", "status": {"space_id": "x"}}}',
    b'{"v": 1, "origin": "p", "data": {"type": "teleport"}}',
    b'{"v": 1, "origin": "p", "data": {}, "extra": 1}',
]


@pytest.mark.parametrize("payload", BAD_EVENTS)
def test_a_malformed_event_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_event("occupancy", payload)


@pytest.mark.parametrize("payload", [b"{}", b'{"v": 1, "origin": "p", "rows": {"space": ["a"]}}', b"null"])
def test_malformed_changes_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_changes(payload)


def test_the_live_state_keeps_the_leaders_order_and_forgets_removed_spaces() -> None:
    state = LiveState()
    second = SpaceStatus(**{**{f: getattr(STATUS, f) for f in STATUS.__slots__}, "space_id": 5, "parent_id": 3})
    state.put(second)
    state.put(STATUS)
    assert state.snapshot() is None  # not before the leader's list of spaces
    assert state.set_order([3, 5]) == []
    assert state.snapshot() == [STATUS, second]
    assert state.set_order([3]) == [5]
    assert state.snapshot() == [STATUS]


# --------------------------------------------------------------------------- one process, a real broker


@dataclass
class Process:
    runtime: Runtime
    relay: EventRelay
    topics: Topics
    observer: PahoTransport
    heard: Inbox


@pytest.fixture
def api_process(sqlite_url: str, tmp_path: Path, mosquitto: MosquittoServer) -> Iterator[Process]:
    deployment = f"tl-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        sqlite_url, tmp_path, role="api", run_background=True, mqtt_url=mosquitto.url, mqtt_client_id=deployment
    )
    topics = Topics.of(deployment)
    observer, heard = client(mosquitto.url, "observer"), Inbox()
    observer.subscribe(f"{topics.base}/#", heard)
    observer.start()
    assert observer.wait_connected(10)
    try:
        with TestClient(create_app(settings, migrate=False)) as http:
            runtime: Runtime = http.app.state.runtime  # type: ignore[attr-defined]
            relay = runtime.relay
            assert isinstance(relay, EventRelay)
            probe = runtime.mqtt_probe
            assert isinstance(probe, PahoTransport) and probe.wait_connected(10)
            yield Process(runtime, relay, topics, observer, heard)
    finally:
        observer.stop(1)


@pytest.mark.parametrize("role", ["api", "controller", "all"])
def test_the_relay_starts_before_its_connection(
    role: str, sqlite_url: str, tmp_path: Path, mosquitto: MosquittoServer
) -> None:
    """Its filters then go in the connection's first SUBSCRIBE and READY means it hears every
    other process. Started after (subscribed once READY), a message another process sent before
    the broker had the late SUBSCRIBE was lost: seen once on a busy CI machine."""
    deployment = f"tl-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        sqlite_url, tmp_path, role=role, run_background=True, mqtt_url=mosquitto.url, mqtt_client_id=deployment
    )
    runtime = Runtime.create(settings)
    try:
        components = build_components(runtime)
    finally:
        runtime.db.dispose()
    relay = [i for i, c in enumerate(components) if isinstance(c, EventRelay)]
    connections = [i for i, c in enumerate(components) if isinstance(c, TransportComponent)]
    assert len(relay) == 1 and connections and relay[0] < min(connections)


def _wait(predicate: object, timeout: float = 5) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def test_a_process_sends_its_events_and_changes_once_and_ignores_its_own_echo(api_process: Process) -> None:
    p = api_process
    events: list[Event] = []
    p.runtime.events.add_listener(events.append)
    changes: list[Changes] = []
    p.runtime.db.changes.subscribe(changes.append)

    # Out: a local event and a commit, each once on the broker, with this process's origin.
    p.runtime.events.publish(Event("booking", {"action": "created", "booking_id": 7}))
    with p.runtime.db.session(write=True) as session:
        session.add(Space(name="Salle relayée", kind="room", site_id=default_site_id(session, "Europe/Paris")))
        session.commit()
    assert p.heard.wait_for(lambda m: {t for t, _p, _r in m} >= {p.topics.event("booking"), p.topics.changes})
    sent = {topic: payload for topic, payload, _r in p.heard.messages}
    assert decode_event("booking", sent[p.topics.event("booking")])[1] == p.relay.origin
    assert decode_changes(sent[p.topics.changes])[0].touches("space")
    time.sleep(0.3)  # room for an echo to come back
    assert [e.origin for e in events] == [None], "its own event came back into the hub"
    assert [c.origin for c in changes if c.origin != "broker"] == [None], "its own change came back"

    # In: another process's event and change, marked with their origin; a forged echo ignored.
    other = "tierslieu-api-elsewhere-7"
    p.observer.publish(p.topics.event("booking"), encode_event(Event("booking", {"booking_id": 8}), p.relay.origin))
    p.observer.publish(p.topics.event("booking"), encode_event(Event("booking", {"booking_id": 9}), other))
    p.observer.publish(p.topics.changes, encode_changes(Changes({"badge": frozenset({5})}), other))
    assert _wait(lambda: len(events) == 2 and any(c.origin == other for c in changes))
    assert events[1] == Event("booking", {"booking_id": 9}, origin=other)
    relayed = next(c for c in changes if c.origin == other)
    assert relayed.ids("badge") == frozenset({5})
    # ... and never sent again: the broker carried each message once.
    time.sleep(0.3)
    booking_messages = [m for m in p.heard.messages if m[0] == p.topics.event("booking")]
    change_messages = [m for m in p.heard.messages if m[0] == p.topics.changes]
    assert len(booking_messages) == 3 and len(change_messages) == 2


def test_malformed_payloads_are_dropped_with_a_log_line_and_lose_nothing_else(
    api_process: Process, caplog: pytest.LogCaptureFixture
) -> None:
    p = api_process
    events: list[Event] = []
    p.runtime.events.add_listener(events.append)
    changes: list[Changes] = []
    p.runtime.db.changes.subscribe(changes.append)
    caplog.set_level(logging.WARNING, logger="tierslieu.cluster.relay")
    garbage = [
        (p.topics.event("occupancy"), BAD_EVENTS[6]),
        (p.topics.event("booking"), b"\xff"),
        (p.topics.changes, b'{"v": 1, "origin": "x", "rows": "all"}'),
        (p.topics.space_state(3), b'{"v": 1, "origin": "x", "status": {}}'),
        (f"{p.topics.base}/state/occupancy/not-an-id", encode_space_state(STATUS, "x")),
        (p.topics.spaces, b'{"v": 1, "origin": "x", "space_ids": "3"}'),
    ]
    for topic, payload in garbage:
        p.observer.publish(topic, payload)
    good = Event("occupancy", {"type": "space", "status": STATUS})
    p.observer.publish(p.topics.event("occupancy"), encode_event(good, "leader"))
    p.observer.publish(p.topics.changes, encode_changes(Changes({"space": frozenset({3})}), "leader"))
    assert _wait(lambda: len(events) == 1 and any(c.origin == "leader" for c in changes))
    assert events[0] == Event("occupancy", good.data, origin="leader")
    assert _wait(lambda: p.relay.dropped == len(garbage))
    lines = [r.getMessage() for r in caplog.records if "malformed message" in r.getMessage()]
    assert len(lines) == len(garbage) and all(p.topics.base in line for line in lines)
    # The good status went into the live state (its order comes with the leader's list).
    p.observer.publish(p.topics.spaces, encode_space_ids([3], "leader"))
    assert _wait(lambda: p.relay.statuses() == [STATUS])
