"""Home Assistant discovery payloads use only the keys Home Assistant documents (recorded in
tests/fixtures/home_assistant/), with `default_entity_id` rather than the deprecated `object_id`."""

from __future__ import annotations

import json
from pathlib import Path

from tierslieu.occupancy.discovery import config_messages
from tierslieu.occupancy.state import DoorStatus, SpaceStatus

DOCUMENTED = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "home_assistant" / "mqtt_discovery_keys.json").read_text()
)


def _site() -> list[SpaceStatus]:
    door = DoorStatus(
        device_id=7,
        name="Porte",
        kind="door",
        online=True,
        locked=True,
        lock_state="locked",
        open=False,
        open_since=None,
        has_contact=True,
    )
    return [
        SpaceStatus(
            space_id=3,
            name="FabLab",
            parent_id=None,
            capacity=12,
            occupied=False,
            people=0,
            people_source="none",
            booked_now=False,
            checked_in=0,
            devices_online=1,
            devices_total=1,
            doors=(door,),
        )
    ]


def test_every_config_uses_only_documented_keys_and_default_entity_id() -> None:
    messages = config_messages(_site(), "tierslieu/tierslieu/status")
    platforms = [message.topic.split("/")[1] for message in messages]
    assert sorted(platforms) == ["binary_sensor", "binary_sensor", "binary_sensor", "sensor"]
    for message, platform in zip(messages, platforms, strict=True):
        config = json.loads(message.payload)
        allowed = set(DOCUMENTED[platform]) | set(DOCUMENTED["discovery"])
        assert set(config) <= allowed, (message.topic, set(config) - allowed)
        assert set(config["device"]) <= set(DOCUMENTED["device"]), message.topic
        assert "object_id" not in config
        # `<platform>.<object id>`, the object id being the discovery topic's
        assert config["default_entity_id"] == f"{platform}.{message.topic.split('/')[2]}"
        assert config["unique_id"] == message.topic.split("/")[2]
