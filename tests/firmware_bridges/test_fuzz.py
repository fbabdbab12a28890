"""Whatever arrives on whatever topic, a bridge answers a list of events or a PayloadError."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.errors import PayloadError
from devices.model import (
    MAX_PAYLOAD_BYTES,
    BatteryLevel,
    DeviceRef,
    Illuminance,
    MqttMessage,
    PeopleCount,
    Unlock,
)
from firmware_bridges import BRIDGES
from firmware_bridges.tasmota import pulse_time_value
from tests.firmware_bridges.cases import COMMAND_CASES, EVENT_CASES, all_devices
from tierslieu.i18n import render

DEVICES = all_devices()
FIXTURE_TOPICS = sorted({case.topic for case in EVENT_CASES})
FIXTURE_PAYLOADS = sorted({case.payload for case in EVENT_CASES})


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for child in value.values() for key in _keys(child)}
    if isinstance(value, list):
        return {key for child in value for key in _keys(child)}
    return set()


def _fixture_json() -> list[Any]:
    decoded = []
    for payload in FIXTURE_PAYLOADS:
        try:
            decoded.append(json.loads(payload))
        except ValueError:
            continue
    return decoded


FIXTURE_JSON = _fixture_json()
KEYS = sorted({key for value in FIXTURE_JSON for key in _keys(value)})
WORDS = [
    "ON",
    "off",
    "Online",
    "true",
    "open",
    "close",
    "LOCKED",
    "JAMMED",
    "nan",
    "-1",
    "1e999",
    "3.0",
    "74-10-37-94",
    "",
    " ",
    "0x",
    "null",
    "{}",
    "[]",
    "\u00e9t\u00e9",
    "\x00",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=16)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _paths(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths to every key of every object inside a decoded JSON value."""
    if not isinstance(value, dict):
        return []
    return [p for key, child in value.items() for p in [(*path, key), *_paths(child, (*path, key))]]


def _replaced(value: Any, path: tuple[str, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value)
    copy[path[0]] = _replaced(copy[path[0]], path[1:], new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, payload: bytes) -> bytes:
    """A recorded payload with one field (at any depth) set to something else: wrong types and
    out-of-range values exactly where the converters look."""
    try:
        value = json.loads(payload)
    except ValueError:
        return draw(st.sampled_from(WORDS)).encode()
    paths = _paths(value)
    if not paths:
        return json.dumps(draw(json_values)).encode()
    new = draw(json_values | st.integers(min_value=-1000, max_value=1000) | st.floats())
    return json.dumps(_replaced(value, draw(st.sampled_from(paths)), new)).encode()


@st.composite
def truncated_fixture(draw: st.DrawFn) -> bytes:
    payload = draw(st.sampled_from(FIXTURE_PAYLOADS))
    return payload[: draw(st.integers(min_value=0, max_value=max(0, len(payload) - 1)))]


payloads = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(WORDS).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    truncated_fixture(),
    st.sampled_from(FIXTURE_PAYLOADS),
)


@st.composite
def topics(draw: st.DrawFn, device: DeviceRef) -> str:
    own = [
        f.replace("+", draw(st.sampled_from(["SENSOR", "RESULT", "x"])))
        for f in BRIDGES[device.bridge].subscriptions(device)
    ]
    return draw(st.sampled_from(own + FIXTURE_TOPICS) | st.text(max_size=60))


def _check_events(device: DeviceRef, events: object) -> None:
    assert isinstance(events, list)
    for event in events:
        assert dataclasses.is_dataclass(event)
        assert event.device_id == device.id  # type: ignore[union-attr]
        if isinstance(event, BatteryLevel):
            assert 0 <= event.percent <= 100
        if isinstance(event, PeopleCount):
            assert event.count >= 0
        if isinstance(event, Illuminance):
            assert math.isfinite(event.lux) and event.lux >= 0


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parse_answers_events_or_payload_error(data: st.DataObject) -> None:
    # Mostly a recorded message bent out of shape on its own topic; sometimes anything anywhere.
    case = data.draw(st.sampled_from(EVENT_CASES), label="case")
    device = data.draw(st.just(case.device) | st.sampled_from(DEVICES), label="device")
    topic = data.draw(st.just(case.topic) | topics(device), label="topic")
    payload = data.draw(mutated(case.payload) | payloads, label="payload")
    try:
        events = BRIDGES[device.bridge].parse(device, topic, payload)
    except PayloadError as error:
        assert error.code.startswith("payload.")
        assert all(render(error.code, error.params, lang) != error.code for lang in ("fr", "en"))
    else:
        _check_events(device, events)


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=80) | st.sampled_from(FIXTURE_TOPICS))
def test_match_answers_an_address_or_none(topic: str) -> None:
    for bridge in BRIDGES.values():
        address = bridge.match(topic)
        assert address is None or (isinstance(address, str) and address and address in topic)


@pytest.mark.parametrize("device", DEVICES, ids=lambda device: f"{device.bridge}/{device.name}")
def test_huge_and_deeply_nested_payloads_are_refused(device: DeviceRef) -> None:
    bridge = BRIDGES[device.bridge]
    topic = next(case.topic for case in EVENT_CASES if case.device == device)
    with pytest.raises(PayloadError) as raised:
        bridge.parse(device, topic, b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert raised.value.code == "payload.too_large"
    deep = b"[" * 50_000 + b"]" * 10_000
    assert len(deep) <= MAX_PAYLOAD_BYTES
    try:
        bridge.parse(device, topic, deep)
    except PayloadError as error:
        assert error.code in ("payload.not_json", "payload.bad_value", "payload.bad_uid")
    huge_int = b'{"battery": ' + b"9" * 5000 + b"}"
    try:
        bridge.parse(device, topic, huge_int)
    except PayloadError as error:
        assert error.code.startswith("payload.")


@settings(max_examples=300, deadline=None)
@given(pulse=st.floats(min_value=0.001, max_value=600))
def test_tasmota_pulse_time_is_close_to_what_was_asked(pulse: float) -> None:
    value = pulse_time_value(pulse)
    assert 1 <= value <= 64900
    seconds = value / 10 if value <= 111 else value - 100
    assert abs(seconds - pulse) <= max(0.51, 0.1)


@settings(max_examples=200, deadline=None)
@given(pulse=st.floats(min_value=0.001, max_value=600), data=st.data())
def test_any_valid_pulse_encodes_for_every_door(pulse: float, data: st.DataObject) -> None:
    doors = [
        case.device for case in COMMAND_CASES if Unlock in BRIDGES[case.device.bridge].supported_commands(case.device)
    ]
    device = data.draw(st.sampled_from(doors))
    messages = BRIDGES[device.bridge].encode(device, Unlock(pulse))
    assert messages and all(isinstance(message, MqttMessage) for message in messages)


NASTY_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    101,
    2**64,
    -(2**64),
    0.5,
    1e308,
    -1e308,
    "",
    "x",
    "ON",
    "nan",
    "-1",
    [],
    [1],
    {},
    {"UID": None},
    {"Action": 3},
]


def test_every_recorded_field_with_every_wrong_value() -> None:
    """Exhaustive, not random: each field of each recorded payload, at any depth, set to each
    nasty value, and each text payload replaced by each nasty word."""
    tried = 0
    for case in EVENT_CASES:
        bridge = BRIDGES[case.device.bridge]
        try:
            value = json.loads(case.payload)
        except ValueError:
            variants = [word.encode() for word in WORDS]
        else:
            variants = [
                json.dumps(_replaced(value, path, nasty)).encode() for path in _paths(value) for nasty in NASTY_VALUES
            ]
        for payload in variants:
            tried += 1
            try:
                events = bridge.parse(case.device, case.topic, payload)
            except PayloadError as error:
                assert error.code.startswith("payload."), (case.id, payload)
            else:
                _check_events(case.device, events)
    assert tried > 1000
