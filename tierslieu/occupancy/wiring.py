"""Builds the occupancy side of a running service: the tracker and the Home Assistant publisher."""

from __future__ import annotations

import logging

from devices.transport import Transport
from tierslieu.occupancy.publisher import HomeAssistantPublisher
from tierslieu.occupancy.tracker import OccupancyTracker
from tierslieu.runtime import Component, Runtime

__all__ = ["build_occupancy_components", "service_status_topic"]

log = logging.getLogger(__name__)


def service_status_topic(transport: Transport, client_id: str) -> str:
    """The topic our MQTT connection says online/offline on (its last will)."""
    settings = getattr(transport, "settings", None)
    topic = getattr(settings, "status_topic", None)
    return topic if isinstance(topic, str) else f"tierslieu/{client_id}/status"


def build_occupancy_components(runtime: Runtime) -> list[Component]:
    """After the device components: the tracker listens to ``runtime.controller.hub``."""
    hub = runtime.controller.hub
    if hub is None:
        log.warning("occupancy: no device hub, only bookings and check-ins are tracked")
    tracker = runtime.controller.occupancy = OccupancyTracker(runtime, hub)
    components: list[Component] = [tracker]
    if runtime.settings.homeassistant_discovery and hub is not None:
        status_topic = service_status_topic(hub.transport, runtime.settings.mqtt_client_id)
        publisher = HomeAssistantPublisher(hub.transport, tracker, status_topic, runtime.settings.homeassistant_prefix)
        runtime.controller.homeassistant = publisher
        components.append(publisher)
    return components
