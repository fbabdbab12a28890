"""Builds the device side of a running service from its settings: broker, transport, hub, doors.

With ``TIERSLIEU_MQTT_URL`` set, tierslieu connects to that broker (user/password and TLS come
from the URL). Without it, an embedded broker is started on the loopback interface; its URL is
logged and written to ``<data_dir>/mqtt/url`` so local tools and tests can find it.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from devices.broker import EmbeddedBroker, find_mosquitto
from devices.mqtt import MqttSettings, PahoTransport
from devices.transport import Transport
from tierslieu.hardware.access import AccessController
from tierslieu.hardware.doors import DoorController
from tierslieu.hardware.facts import FactsCache
from tierslieu.hardware.hub import DeviceHub
from tierslieu.runtime import Component, Runtime
from tierslieu.settings import Settings

__all__ = [
    "BrokerComponent",
    "DeviceStack",
    "TransportComponent",
    "build_device_components",
    "build_device_stack",
    "embedded_broker_url_file",
]

log = logging.getLogger(__name__)


def embedded_broker_url_file(settings: Settings) -> Path:
    return settings.data_dir / "mqtt" / "url"


class BrokerComponent:
    name = "mqtt-broker"

    def __init__(self, broker: EmbeddedBroker, url_file: Path) -> None:
        self.broker = broker
        self.url_file = url_file

    def start(self) -> None:
        url = self.broker.start()
        self.url_file.parent.mkdir(parents=True, exist_ok=True)
        self.url_file.write_text(url + "\n")
        log.info("embedded MQTT broker: %s", url)

    def stop(self) -> None:
        self.broker.stop()
        self.url_file.unlink(missing_ok=True)


class TransportComponent:
    name = "mqtt-transport"

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def start(self) -> None:
        self.transport.start()

    def stop(self) -> None:
        self.transport.stop()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _embedded_broker(settings: Settings) -> tuple[BrokerComponent, str]:
    # The port is chosen now (not by the broker at start) because the transport needs its URL
    # when it is built; amqtt, the fallback without mosquitto, speaks MQTT 3.1.1 only.
    port = settings.mqtt_embedded_port or _free_loopback_port()
    broker = EmbeddedBroker(data_dir=settings.data_dir / "mqtt", port=port)
    query = "" if find_mosquitto() else "?protocol=3.1.1"
    return BrokerComponent(broker, embedded_broker_url_file(settings)), f"mqtt://127.0.0.1:{port}{query}"


@dataclass(frozen=True)
class DeviceStack:
    hub: DeviceHub
    facts: FactsCache
    access: AccessController
    doors: DoorController

    def components(self, transport: Component | None = None) -> list[Component]:
        """In start order. The hub comes before the transport: its handler and subscriptions
        must be in place when the connection opens, or messages the broker kept for our
        persistent session would reach nobody. Stopping goes in reverse."""
        middle: list[Component] = [transport] if transport is not None else []
        return [self.facts, self.hub, self.access, *middle, self.doors]


def build_device_stack(runtime: Runtime, transport: Transport) -> DeviceStack:
    """Hub, access facts, access and door controllers over one transport, registered in
    ``runtime.services``."""
    hub = DeviceHub(runtime, transport)
    facts = FactsCache(runtime, hub.quiet)
    doors = DoorController(runtime, hub, facts)
    access = AccessController(runtime, hub, facts, doors)
    runtime.services.update({"devices": hub, "access_facts": facts, "access": access, "doors": doors})
    return DeviceStack(hub, facts, access, doors)


def build_device_components(runtime: Runtime, *, client_id: str | None = None) -> list[Component]:
    """Broker (if embedded), access facts, hub, access controller, transport, door controller.

    `client_id` names this process's MQTT session (default: ``settings.mqtt_client_id``);
    two processes on one broker need two ids, or each would disconnect the other.
    """
    settings = runtime.settings
    components: list[Component] = []
    url = settings.mqtt_url
    if not url:
        broker, url = _embedded_broker(settings)
        components.append(broker)
    transport = PahoTransport(MqttSettings.from_url(url, client_id=client_id or settings.mqtt_client_id))
    stack = build_device_stack(runtime, transport)
    return [*components, *stack.components(TransportComponent(transport))]
