"""The device vocabulary: badge ids, device references, commands, messages, errors, dict form."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import (
    BadgeScanned,
    CommandAck,
    DeviceKind,
    DeviceRef,
    Feedback,
    HoldOpen,
    Lock,
    LockStateChanged,
    MqttMessage,
    PayloadError,
    Unlock,
    UnsupportedCommand,
    command_from_dict,
    command_to_dict,
    event_from_dict,
    event_to_dict,
    normalize_uid,
)
from devices.badge_ids import uid_from_number
from devices.errors import DeviceConfigError, DeviceError
from tierslieu.i18n import render


@pytest.mark.parametrize(
    ("raw", "uid"),
    [
        ("74-10-37-94", "74103794"),
        ("74:10:37:94", "74103794"),
        ("74 10 37 94", "74103794"),
        ("74103794", "74103794"),
        ("ba:83:9d:07", "BA839D07"),
        ("  04A22B1A6F5280\n", "04A22B1A6F5280"),
        ("4-a-37-94", "040A3794"),
        ("0x94d8fc5f", "94D8FC5F"),
        ("0012345678", "12345678"),  # leading zero bytes carry nothing: one badge, padded or not
        ("008ec793", "8EC793"),
        ("763AE8h", "763AE8"),  # Tasmota's Wiegand hex mode
        ("7748328", "07748328"),  # text is hex here; decimal is said (devices.badge_ids.badge_id)
    ],
)
def test_normalize_uid_gives_one_spelling_per_badge(raw: str, uid: str) -> None:
    assert normalize_uid(raw) == uid


@pytest.mark.parametrize("raw", ["", "   ", "--", "12*34", "GHIJ", "é", "0x", "A" * 65])
def test_normalize_uid_refuses_what_is_not_a_badge_id(raw: str) -> None:
    with pytest.raises(ValueError, match="badge id"):
        normalize_uid(raw)


@given(st.binary(min_size=1, max_size=10), st.sampled_from(["-", ":", " ", ""]), st.booleans())
def test_normalize_uid_is_separator_and_case_blind(uid_bytes: bytes, separator: str, lower: bool) -> None:
    spelled = separator.join(f"{byte:02X}" for byte in uid_bytes)
    spelled = spelled.lower() if lower else spelled
    number = int.from_bytes(uid_bytes, "big")
    assert normalize_uid(spelled) == uid_from_number(number)
    assert int(normalize_uid(spelled), 16) == number
    assert normalize_uid(normalize_uid(spelled)) == normalize_uid(spelled)


def test_device_ref_takes_configuration_values_and_keeps_its_own_options() -> None:
    options = {"relay": 2}
    device = DeviceRef(7, "Gâche atelier", "door", "tasmota", "porte-atelier", options)  # type: ignore[arg-type]
    options["relay"] = 3
    assert device.kind is DeviceKind.DOOR
    assert device.options == {"relay": 2}
    assert hash(device) == hash(DeviceRef(7, "Gâche atelier", DeviceKind.DOOR, "tasmota", "porte-atelier"))
    with pytest.raises(ValueError):
        DeviceRef(7, "x", "elevator", "tasmota", "t")  # type: ignore[arg-type]


@pytest.mark.parametrize("pulse", [0, -1, math.nan, math.inf, 601, True, "5"])
def test_unlock_refuses_pulses_that_are_not_a_door_pulse(pulse: object) -> None:
    with pytest.raises(ValueError, match="pulse_seconds"):
        Unlock(pulse)  # type: ignore[arg-type]


def test_unlock_accepts_a_door_pulse() -> None:
    assert Unlock(3.5).pulse_seconds == 3.5
    assert Unlock(600).pulse_seconds == 600


@pytest.mark.parametrize(
    ("topic", "payload", "qos"),
    [("", b"x", 1), ("cmnd/+/POWER", b"ON", 1), ("a/#", b"", 1), ("a/b", b"x", 3), ("a/b", "ON", 1)],
)
def test_mqtt_message_refuses_what_cannot_be_published(topic: str, payload: object, qos: int) -> None:
    with pytest.raises((ValueError, TypeError)):
        MqttMessage(topic, payload, qos)  # type: ignore[arg-type]


def test_mqtt_message_defaults_to_qos1_not_retained() -> None:
    message = MqttMessage("cmnd/porte/POWER1", b"ON")
    assert (message.qos, message.retain) == (1, False)


def test_errors_have_a_code_and_parameters_that_the_catalogue_renders() -> None:
    error = PayloadError("payload.too_large", size=70000, limit=65536)
    assert isinstance(error, ValueError) and isinstance(error, DeviceError)
    assert error.code == "payload.too_large"
    assert str(error) == "payload.too_large (size=70000, limit=65536)"  # for logs
    french = "message refusé : 70000 octets, au-delà de la limite de 65536 octets"
    assert render(error.code, error.params, "fr") == french
    assert render(error.code, error.params, "en") == "message rejected: 70000 bytes, above the 65536 bytes limit"
    assert isinstance(DeviceConfigError("config.bad_address", device="d", got="x"), ValueError)
    unsupported = UnsupportedCommand("command.unsupported", command="Unlock", device="d", kind="k", bridge="b")
    assert not isinstance(unsupported, ValueError)
    # A missing parameter or an unknown code still gives a readable message, never a crash.
    assert "{field}" in render("payload.bad_field", {}, "fr")
    assert str(PayloadError("no.such.code", x=1)) == "no.such.code (x=1)"


@pytest.mark.parametrize(
    "value",
    [
        BadgeScanned(3, "74103794"),
        LockStateChanged(4, None, "not_fully_locked"),
        CommandAck(5, "POWER1", True, "ON"),
    ],
)
def test_events_round_trip_through_their_dict_form(
    value: BadgeScanned | LockStateChanged | CommandAck,
) -> None:
    data = event_to_dict(value)
    assert data["type"] == type(value).__name__
    assert event_from_dict(data) == value


@pytest.mark.parametrize("command", [Unlock(5), Lock(), HoldOpen(), Feedback(False)])
def test_commands_round_trip_through_their_dict_form(command: Unlock | Lock | HoldOpen | Feedback) -> None:
    assert command_from_dict(command_to_dict(command)) == command


@pytest.mark.parametrize("data", [{"type": "Explode"}, {}, {"type": "Unlock"}, {"type": "Unlock", "pulse_seconds": -2}])
def test_command_from_dict_refuses_unknown_or_invalid_commands(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        command_from_dict(data)
