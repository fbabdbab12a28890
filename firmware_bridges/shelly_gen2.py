"""Shelly Gen2+ (Plus, Pro, Gen3) over MQTT JSON-RPC.

Address = the device's MQTT topic prefix (its id by default, e.g. ``shellyplus1-a8032ab12345``):
  ``<p>/online``              ``true`` / ``false``
  ``<p>/status/switch:<n>``   ``{"id":0,"source":"MQTT","output":true,...}``  (status_ntf on)
  ``<p>/status/input:<n>``    ``{"id":0,"state":false}``
  ``<p>/events/rpc``          ``{"method":"NotifyStatus","params":{"switch:0":{"output":true}}}``, and
                              ``NotifyFullStatus`` (every component, after boot and reconnection)
  ``<p>/rpc``                 our requests (never consumed)
  ``tierslieu/<p>/rpc``       the device's replies to our requests (``src`` + ``/rpc``)
Device options: see ``OPTIONS``.

A door pulse is timed by the device with ``Switch.Set`` ``toggle_after`` (relocks itself).
Request ids must be deterministic for a pure encoder: the id is a CRC-32 of the request body,
so the same command gets the same id, and the reply's id tells which request it answers.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from devices.errors import PayloadError
from devices.model import (
    CommandAck,
    ContactChanged,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    HoldOpen,
    Lock,
    MqttMessage,
    RelayStateChanged,
    SetDownMode,
    Unlock,
)
from firmware_bridges._features import (
    as_bool,
    as_number,
    as_text,
    availability,
    compact_json,
    compact_number,
    decode_json_object,
    decode_text,
    json_message,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge, fire_panel_of
from firmware_bridges.options import bool_option, int_option, shorten

__all__ = ["RPC_SOURCE_PREFIX", "SHELLY_GEN2", "rpc_request_id"]

RPC_SOURCE_PREFIX = "tierslieu"
_ONLINE, _SWITCH, _INPUT, _EVENTS, _REPLY = "online", "switch", "input", "events", "reply"


_INPUT_KINDS = (DeviceKind.CONTACT_SENSOR, DeviceKind.FIRE_PANEL)
RELAY = int_option("relay", 0, 0, 15, (DeviceKind.DOOR,), "the switch id")
INPUT = int_option("input", 0, 0, 15, _INPUT_KINDS, "the input id")
OPEN_WHEN_ON = bool_option("open_when_on", True, _INPUT_KINDS)
OPTIONS = (RELAY, INPUT, OPEN_WHEN_ON)
# Both carry component statuses in params: a change, or all of them (after boot/reconnect).
_STATUS_METHODS = ("NotifyStatus", "NotifyFullStatus")


def _relay(device: DeviceRef) -> int:
    return RELAY.get(device)


def _input(device: DeviceRef) -> int:
    return INPUT.get(device)


def _source(device: DeviceRef) -> str:
    # Replies go to "<src>/rpc": one src per device puts them on a topic we can route.
    return f"{RPC_SOURCE_PREFIX}/{device.address}"


def rpc_request_id(method: str, params: dict[str, Any]) -> int:
    """Deterministic JSON-RPC id: CRC-32 of the method and params (kept within 31 bits)."""
    body = json.dumps([method, params], sort_keys=True, separators=(",", ":"))
    return zlib.crc32(body.encode("utf-8")) & 0x7FFFFFFF


# --- from the wire ----------------------------------------------------------------------------


def _object(value: object, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError("payload.bad_field", field=field, expected="an object", got=shorten(value))
    return value


def _switch_events(device: DeviceRef, status: dict[str, Any]) -> list[DeviceEvent]:
    output = as_bool(status, "output")
    return [] if output is None else [RelayStateChanged(device.id, output)]


def _input_events(device: DeviceRef, status: dict[str, Any]) -> list[DeviceEvent]:
    state = as_bool(status, "state")
    if state is None:
        return []
    return [ContactChanged(device.id, open=state == OPEN_WHEN_ON.get(device))]


def _notified(device: DeviceRef, frame: dict[str, Any], component: str) -> dict[str, Any] | None:
    """The part of a NotifyStatus / NotifyFullStatus frame about ``component`` (e.g. "switch:0")."""
    if as_text(frame, "method") not in _STATUS_METHODS:
        return None  # NotifyEvent (button pushes...) carries nothing we track
    params = _object(frame.get("params"), "params")
    return None if params is None else _object(params.get(component), component)


def _read_switch_events(device: DeviceRef, frame: dict[str, Any]) -> list[DeviceEvent]:
    status = _notified(device, frame, f"switch:{_relay(device)}")
    return [] if status is None else _switch_events(device, status)


def _read_input_events(device: DeviceRef, frame: dict[str, Any]) -> list[DeviceEvent]:
    status = _notified(device, frame, f"input:{_input(device)}")
    return [] if status is None else _input_events(device, status)


def _read_reply(device: DeviceRef, reply: dict[str, Any]) -> list[DeviceEvent]:
    request_id = as_number(reply, "id")
    if request_id is None:
        return []
    command = f"rpc:{int(request_id)}"
    error = _object(reply.get("error"), "error")
    if error is not None:
        return [CommandAck(device.id, command, False, compact_json(as_text(error, "message") or ""))]
    result = reply.get("result")
    return [CommandAck(device.id, command, True, compact_json(result))]


def _read_online(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [availability(device, text)]


# --- to the wire ------------------------------------------------------------------------------


def _switch_set(device: DeviceRef, params: dict[str, Any]) -> list[MqttMessage]:
    method = "Switch.Set"
    body = {
        "id": rpc_request_id(method, params),
        "src": _source(device),
        "method": method,
        "params": params,
    }
    return [json_message(f"{device.address}/rpc", body)]


def _unlock(device: DeviceRef, command: Unlock) -> list[MqttMessage]:
    params = {"id": _relay(device), "on": True, "toggle_after": compact_number(command.pulse_seconds)}
    return _switch_set(device, params)


def _hold_open(device: DeviceRef, command: HoldOpen) -> list[MqttMessage]:
    if command.for_seconds is None:
        return _switch_set(device, {"id": _relay(device), "on": True})
    return _switch_set(device, {"id": _relay(device), "on": True, "toggle_after": compact_number(command.for_seconds)})


def _down_mode(device: DeviceRef, command: SetDownMode) -> list[MqttMessage]:
    # initial_state: what the output does when the device powers up.
    params = {"id": _relay(device), "config": {"initial_state": "on" if command.fail_safe else "off"}}
    method = "Switch.SetConfig"
    body = {"id": rpc_request_id(method, params), "src": _source(device), "method": method, "params": params}
    return [json_message(f"{device.address}/rpc", body)]


def _lock(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _switch_set(device, {"id": _relay(device), "on": False})


# --- the table --------------------------------------------------------------------------------

_online = Feature("availability", reads={_ONLINE: _read_online})

_CONTACT = Definition(
    DeviceKind.CONTACT_SENSOR,
    "reed switch on an input",
    (
        Feature("input_contact", reads={_INPUT: _input_events, _EVENTS: _read_input_events}),
        _online,
    ),
)

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "switch driving a door strike, pulse timed by toggle_after",
        (
            Feature(
                "switch",
                reads={_SWITCH: _switch_events, _EVENTS: _read_switch_events},
                encoders={Unlock: _unlock, HoldOpen: _hold_open, Lock: _lock, SetDownMode: _down_mode},
            ),
            Feature("rpc_replies", reads={_REPLY: _read_reply}),
            _online,
        ),
    ),
    _CONTACT,
    fire_panel_of(_CONTACT),
)


def _subscriptions(device: DeviceRef) -> list[str]:
    prefix = device.address
    if device.kind == DeviceKind.DOOR:
        own = [f"{prefix}/status/switch:{_relay(device)}", f"{_source(device)}/rpc"]
    else:
        own = [f"{prefix}/status/input:{_input(device)}"]
    return [*own, f"{prefix}/events/rpc", f"{prefix}/online"]


def publish_topics(device: DeviceRef) -> list[str]:
    """The topic filters this device publishes on (for the broker's ACL)."""
    return [f"{device.address}/#", f"{_source(device)}/rpc"]


def _router(device: DeviceRef, topic: str) -> Channel | None:
    prefix = device.address
    channels = {
        f"{prefix}/online": Channel(_ONLINE, decode_text),
        f"{prefix}/status/switch:{_relay(device)}": Channel(_SWITCH, decode_json_object),
        f"{prefix}/status/input:{_input(device)}": Channel(_INPUT, decode_json_object),
        f"{prefix}/events/rpc": Channel(_EVENTS, decode_json_object),
        f"{_source(device)}/rpc": Channel(_REPLY, decode_json_object),
    }
    return channels.get(topic)


def _owner(topic: str) -> str | None:
    if "+" in topic or "#" in topic:
        return None
    if topic.startswith(RPC_SOURCE_PREFIX + "/") and topic.endswith("/rpc"):
        address = topic[len(RPC_SOURCE_PREFIX) + 1 : -len("/rpc")]
    elif topic.endswith("/events/rpc"):
        address = topic[: -len("/events/rpc")]
    elif topic.endswith("/online"):
        address = topic[: -len("/online")]
    elif "/status/" in topic:
        address, _, component = topic.rpartition("/status/")
        if ":" not in component and component not in ("sys", "wifi", "mqtt", "cloud", "ble"):
            return None
    else:
        return None  # <p>/rpc is our own request; anything else is not Gen2
    return address or None


SHELLY_GEN2 = TableBridge(
    name="shelly_gen2",
    definitions=DEFINITIONS,
    topic_owner=_owner,
    router=_router,
    subscriber=_subscriptions,
    self_relocking=lambda device: True,
    publisher=publish_topics,
    options=OPTIONS,
)
