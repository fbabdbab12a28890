"""Loads the recorded payloads in tests/fixtures/<firmware>/*.json into typed cases.

A file holds one ``device`` (DeviceRef fields) and ``cases``; a case may override ``device``.
  event case:   topic, payload (text or {"base64": ...}), then ``events`` (without device_id)
                or ``error`` (a PayloadError code); ``match`` is the address ``match(topic)``
                must give (default: the device's address; null: not ours)
  command case: command ({"type": "Unlock", "pulse_seconds": 5}), then ``messages``
                ([{topic, payload, qos, retain}]) or ``error`` ("command.unsupported")
An event case with both ``events`` and ``error`` is a partial read: one bad field, the others read.
Every file cites its ``source`` (vendor documentation, firmware source, issue log).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.codec import command_from_dict, event_from_dict
from devices.model import DeviceCommand, DeviceEvent, DeviceRef, MqttMessage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIRMWARES = ("zigbee2mqtt", "tasmota", "shelly_gen1", "shelly_gen2", "esphome")

_UNSET = object()


@dataclass(frozen=True)
class EventCase:
    id: str
    device: DeviceRef
    topic: str
    payload: bytes
    match: str | None
    events: list[DeviceEvent] | None  # None when an error is expected
    error: str | None


@dataclass(frozen=True)
class CommandCase:
    id: str
    device: DeviceRef
    command: DeviceCommand
    messages: list[MqttMessage] | None
    error: str | None


def _payload(raw: Any) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8")
    if isinstance(raw, dict) and set(raw) == {"base64"}:
        return base64.b64decode(raw["base64"])
    raise ValueError(f"payload must be text or {{'base64': ...}}, got {raw!r}")


def _device(data: Mapping[str, Any]) -> DeviceRef:
    return DeviceRef(**data)


def load_cases() -> tuple[list[EventCase], list[CommandCase]]:
    events: list[EventCase] = []
    commands: list[CommandCase] = []
    for firmware in FIRMWARES:
        for path in sorted((FIXTURES / firmware).glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            for case in document["cases"]:
                device = _device(case.get("device", document["device"]))
                case_id = f"{firmware}/{path.stem}: {case['name']}"
                if "command" in case:
                    commands.append(
                        CommandCase(
                            id=case_id,
                            device=device,
                            command=command_from_dict(case["command"]),
                            messages=None
                            if "error" in case
                            else [
                                MqttMessage(m["topic"], _payload(m["payload"]), m["qos"], m["retain"])
                                for m in case["messages"]
                            ],
                            error=case.get("error"),
                        )
                    )
                else:
                    match = case.get("match", _UNSET)
                    events.append(
                        EventCase(
                            id=case_id,
                            device=device,
                            topic=case["topic"],
                            payload=_payload(case["payload"]),
                            match=device.address if match is _UNSET else match,
                            events=None
                            if "events" not in case
                            else [event_from_dict({**event, "device_id": device.id}) for event in case["events"]],
                            error=case.get("error"),
                        )
                    )
    return events, commands


EVENT_CASES, COMMAND_CASES = load_cases()


def all_devices() -> list[DeviceRef]:
    """Every distinct device found in the fixtures."""
    seen: dict[int, DeviceRef] = {}
    for device in [case.device for case in EVENT_CASES] + [case.device for case in COMMAND_CASES]:
        seen.setdefault(device.id, device)
    return list(seen.values())
