"""Builds the device side of a running service from its settings: broker, transport, hub, doors.

With ``TIERSLIEU_MQTT_URL`` set, tierslieu connects to that broker (user/password and TLS come
from the URL; ``tierslieu mqtt acl`` prints a password file and ACL for it). Without it, an
embedded broker is started on the loopback interface, locked down: a password file and an ACL
generated from the devices (and regenerated when they change), no anonymous client. Its URL
(without password) is written to ``<data_dir>/mqtt/url`` and the accounts' passwords to
``<data_dir>/mqtt/credentials.json`` (owner-only) for the installer and local tools.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devices.broker import BrokerSecurity, EmbeddedBroker
from devices.mqtt import MqttSettings, PahoTransport
from devices.transport import Transport
from firmware_bridges import BRIDGES
from tierslieu.hardware.access import AccessController
from tierslieu.hardware.broker_acl import SERVICE_USER, Credentials, build_access, write_private
from tierslieu.hardware.doors import DoorController
from tierslieu.hardware.facts import FactsCache
from tierslieu.hardware.hub import DeviceHub
from tierslieu.hardware.registry import DeviceRegistry, load_registry
from tierslieu.programme.badges import record_badge_attendance
from tierslieu.runtime import Component, Runtime
from tierslieu.settings import Settings

__all__ = [
    "BrokerComponent",
    "DeviceStack",
    "TransportComponent",
    "build_device_components",
    "build_device_stack",
    "credentials_file",
    "embedded_broker_url_file",
]

log = logging.getLogger(__name__)


def embedded_broker_url_file(settings: Settings) -> Path:
    return settings.data_dir / "mqtt" / "url"


def credentials_file(settings: Settings) -> Path:
    return settings.data_dir / "mqtt" / "credentials.json"


class BrokerComponent:
    name = "mqtt-broker"

    def __init__(self, broker: EmbeddedBroker, url_file: Path, runtime: Runtime, credentials: Credentials) -> None:
        self.broker = broker
        self.url_file = url_file
        self._runtime = runtime
        self._credentials = credentials

    def write_access(self, registry: DeviceRegistry) -> None:
        """The password file and ACL for these devices (the service's own account first)."""
        security = self.broker.security
        if security is None:
            return
        access = build_access([entry.ref for entry in registry.devices.values()], registry.bridges)
        for problem in access.problems:
            log.error("broker ACL: device left out: %s", problem)
        security.password_file.parent.mkdir(parents=True, exist_ok=True)
        write_private(security.password_file, access.password_file(self._credentials))
        write_private(security.acl_file, access.acl())
        self._credentials.save()

    def on_devices_changed(self, registry: DeviceRegistry) -> None:
        self.write_access(registry)
        self.broker.reload()

    def start(self) -> None:
        with self._runtime.db.session() as session:
            self.write_access(load_registry(session, BRIDGES))
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


def _embedded_broker(runtime: Runtime) -> tuple[BrokerComponent, str]:
    # The transport needs the broker's URL when it is built: the broker plans it now (its kind,
    # hence the protocol, and its port), before it starts; tierslieu logs in with its account.
    settings = runtime.settings
    folder = settings.data_dir / "mqtt"
    security = BrokerSecurity(folder / "passwd", folder / "acl")
    broker = EmbeddedBroker(data_dir=folder, port=settings.mqtt_embedded_port, security=security)
    credentials = Credentials.load(credentials_file(settings))
    password = quote(credentials.password(SERVICE_USER), safe="")
    url = broker.planned_url().replace("mqtt://", f"mqtt://{SERVICE_USER}:{password}@", 1)
    return BrokerComponent(broker, embedded_broker_url_file(settings), runtime, credentials), url


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
    """Hub, access facts, access and door controllers over one transport, set on
    ``runtime.controller``."""
    hub = DeviceHub(runtime, transport)
    facts = FactsCache(runtime, hub.quiet)
    doors = DoorController(runtime, hub, facts)
    access = AccessController(runtime, hub, facts, doors)
    # A badge at a room's reader during a session marks its holder present (in bulk, after the
    # audit lines are written: never on the way to the door).
    access.audit.add_hook(record_badge_attendance)
    controller = runtime.controller
    controller.hub, controller.facts, controller.access, controller.doors = hub, facts, access, doors
    return DeviceStack(hub, facts, access, doors)


def build_device_components(runtime: Runtime, *, client_id: str | None = None) -> list[Component]:
    """Broker (if embedded), access facts, hub, access controller, transport, door controller.

    `client_id` names this process's MQTT session (default: ``settings.mqtt_client_id``);
    two processes on one broker need two ids, or each would disconnect the other.
    """
    settings = runtime.settings
    components: list[Component] = []
    url = settings.mqtt_url
    broker: BrokerComponent | None = None
    if not url:
        broker, url = _embedded_broker(runtime)
        components.append(broker)
    transport = PahoTransport(MqttSettings.from_url(url, client_id=client_id or settings.mqtt_client_id))
    stack = build_device_stack(runtime, transport)
    if broker is not None:
        stack.hub.add_reload_listener(broker.on_devices_changed)
    return [*components, *stack.components(TransportComponent(transport))]
