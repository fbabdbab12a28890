"""The MQTT connection of a process that drives no device (an API process, a standby
controller): its own client id and a session that ends with it. It tells the readiness probe
whether the broker is reachable from here, carries the events between processes
(``cluster.relay``, its only subscriptions), and never disturbs the leader's persistent session."""

from __future__ import annotations

from dataclasses import replace

from devices.mqtt import MqttSettings, PahoTransport
from tierslieu.cluster.roles import process_client_id
from tierslieu.settings import Settings

__all__ = ["broker_probe"]


def broker_probe(settings: Settings, mqtt_url: str) -> PahoTransport:
    base = MqttSettings.from_url(mqtt_url, client_id=process_client_id(settings.mqtt_client_id, settings.role))
    return PahoTransport(replace(base, session_expiry_s=0))
