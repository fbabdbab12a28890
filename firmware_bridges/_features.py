"""Small pure converters shared by every bridge: decoding, typed field access, event builders,
device options and command payloads. Every failure is a PayloadError (bad message) or a
DeviceConfigError (bad device options), never another exception."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from devices.badge_ids import UidFormat, badge_id, pin_id, uid_from_number
from devices.errors import PayloadError
from devices.model import (
    MAX_PAYLOAD_BYTES,
    BadgeScanned,
    BatteryLevel,
    DeviceAvailability,
    DeviceRef,
    Illuminance,
    MqttMessage,
    PeopleCount,
)
from firmware_bridges.options import UID_FORMAT, shorten

__all__ = [
    "as_bool",
    "as_number",
    "as_text",
    "availability",
    "badge",
    "battery",
    "check_size",
    "compact_json",
    "compact_number",
    "decode_json",
    "decode_json_object",
    "decode_text",
    "illuminance",
    "json_message",
    "missing",
    "people_count",
    "pin",
    "plain_number",
    "shorten",
    "text_message",
    "word",
]

T = TypeVar("T")


# --- decoding ---------------------------------------------------------------------------------


def check_size(payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError("payload.too_large", size=len(payload), limit=MAX_PAYLOAD_BYTES)


def decode_text(payload: bytes) -> str:
    check_size(payload)
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("payload.not_utf8") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads builds a new decoder on every call that passes an option.
_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_json(payload: bytes) -> Any:
    text = decode_text(payload)
    try:
        return _JSON.decode(text)
    except RecursionError:
        raise PayloadError("payload.not_json", reason="nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, NaN, and ints with too many digits
        raise PayloadError("payload.not_json", reason=shorten(str(error), 80)) from None


def decode_json_object(payload: bytes) -> dict[str, Any]:
    value = decode_json(payload)
    if not isinstance(value, dict):
        raise PayloadError("payload.not_object", got=type(value).__name__)
    return value


# --- typed access to decoded JSON -------------------------------------------------------------


def _bad_field(field: str, expected: str, got: object) -> PayloadError:
    return PayloadError("payload.bad_field", field=field, expected=expected, got=shorten(got))


def as_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    """``obj[key]`` as a JSON boolean; None when absent or null."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _bad_field(key, "true/false", value)


def as_number(obj: Mapping[str, Any], key: str) -> float | None:
    """``obj[key]`` as a finite number (not a boolean); None when absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_field(key, "a number", value)
    try:
        number = float(value)
    except OverflowError:
        raise _bad_field(key, "a finite number", value) from None
    if not math.isfinite(number):
        raise _bad_field(key, "a finite number", value)
    return number


def as_text(obj: Mapping[str, Any], key: str) -> str | None:
    """``obj[key]`` as a string; None when absent or null."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad_field(key, "text", value)


def word(text: str, meanings: Mapping[str, T], what: str) -> T:
    """The meaning of a protocol word, case-insensitively (``"ON"`` -> True...)."""
    key = text.strip().lower()
    if key not in meanings:
        raise PayloadError("payload.bad_value", what=what, got=shorten(text), expected=" | ".join(meanings))
    return meanings[key]


def plain_number(text: str, what: str) -> float:
    """A number sent as plain text (``"42"``, ``"21.5"``)."""
    try:
        number = float(text)
    except ValueError:
        raise PayloadError("payload.bad_value", what=what, got=shorten(text), expected="a number") from None
    if not math.isfinite(number):
        raise PayloadError("payload.bad_value", what=what, got=shorten(text), expected="a finite number")
    return number


# --- event builders ---------------------------------------------------------------------------


def badge(device: DeviceRef, raw: object, printed: UidFormat = "hex", authenticated: bool = True) -> BadgeScanned:
    """A tag read, in its canonical form. A JSON number is the tag's number; text is read as
    the firmware prints it (``printed``) unless the device's ``uid_format`` option says how
    its installer set it up."""
    try:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return BadgeScanned(device.id, uid_from_number(raw), authenticated)
        if isinstance(raw, str):
            chosen = UID_FORMAT.get(device)
            uid_format: UidFormat = "decimal" if (chosen or printed) == "decimal" else "hex"
            return BadgeScanned(device.id, badge_id(raw, uid_format), authenticated)
    except ValueError:
        pass
    raise PayloadError("payload.bad_uid", got=shorten(raw))


def pin(device: DeviceRef, raw: object) -> BadgeScanned:
    """A PIN typed on a keypad (digits; a JSON number loses nothing but leading zeros)."""
    digits = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else raw
    try:
        if isinstance(digits, str):
            return BadgeScanned(device.id, pin_id(digits))
    except ValueError:
        pass
    raise PayloadError("payload.bad_uid", got=shorten(raw))


def missing(text: str) -> bool:
    """ESPHome's words for "no value": ``nan``, and ``None`` with ``publish_nan_as_none``."""
    return text.strip().lower() in ("nan", "none", "")


def battery(device: DeviceRef, value: float) -> BatteryLevel:
    if not 0 <= value <= 100:
        raise PayloadError("payload.bad_value", what="battery", got=shorten(value), expected="0..100 %")
    return BatteryLevel(device.id, round(value))


def illuminance(device: DeviceRef, value: float) -> Illuminance:
    if value < 0:
        raise PayloadError("payload.bad_value", what="illuminance", got=shorten(value), expected="lux >= 0")
    return Illuminance(device.id, value)


def people_count(device: DeviceRef, value: float) -> PeopleCount:
    if value < 0 or value != int(value) or value > 1_000_000:
        raise PayloadError("payload.bad_value", what="people count", got=shorten(value), expected="0, 1, 2…")
    return PeopleCount(device.id, int(value))


_ONLINE_WORDS = {"online": True, "offline": False, "true": True, "false": False}


def availability(device: DeviceRef, text: str) -> DeviceAvailability:
    return DeviceAvailability(device.id, word(text, _ONLINE_WORDS, "availability"))


# --- outgoing messages ------------------------------------------------------------------------


def text_message(topic: str, text: str) -> MqttMessage:
    # Commands are never retained: a retained "open" would replay on every reconnection.
    return MqttMessage(topic, text.encode("utf-8"), qos=1, retain=False)


def json_message(topic: str, body: Mapping[str, Any]) -> MqttMessage:
    return text_message(topic, json.dumps(body, separators=(",", ":"), ensure_ascii=False))


def compact_json(value: object, limit: int = 200) -> str:
    """A short JSON rendering of a decoded value for an ack's detail; never raises."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (RecursionError, ValueError, TypeError):
            return "…"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact_number(value: float) -> int | float:
    """3.0 -> 3, so payloads read like the vendor's documentation."""
    return int(value) if float(value).is_integer() else value
