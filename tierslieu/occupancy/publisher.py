"""Publishes the Home Assistant discovery configs and our state topics (a ``Component``).

Configs go out at start, on every (re)connection to the broker and when the site's spaces or
doors change (configs of removed entities are cleared); state topics go out for the spaces
whose status changed. Everything is retained, so Home Assistant finds it whenever it starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from devices.model import MqttMessage
from devices.transport import Transport, TransportError
from tierslieu.occupancy.discovery import (
    DEFAULT_PREFIX,
    config_messages,
    door_state_message,
    removal_message,
    space_state_message,
)
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.tracker import OccupancyTracker

__all__ = ["HomeAssistantPublisher"]

log = logging.getLogger(__name__)


class HomeAssistantPublisher:
    name = "homeassistant-discovery"

    def __init__(
        self, transport: Transport, tracker: OccupancyTracker, status_topic: str, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._transport = transport
        self._tracker = tracker
        self._status_topic = status_topic
        self._prefix = prefix
        self._lock = threading.Lock()
        self._config_topics: frozenset[str] = frozenset()
        self._running = False
        tracker.add_change_listener(self._on_changes)
        transport.add_connection_listener(self._on_connection)

    def start(self) -> None:
        self._running = True
        self.publish_all()

    def stop(self) -> None:
        self._running = False

    def publish_all(self) -> None:
        """Every config and every state, and removals for entities that are gone."""
        spaces = self._tracker.snapshot()
        with self._lock:
            configs = config_messages(spaces, self._status_topic, self._prefix)
            topics = frozenset(m.topic for m in configs)
            removals = [removal_message(t) for t in sorted(self._config_topics - topics)]
            self._config_topics = topics
            self._send([*removals, *configs, *self._states(spaces)])

    def _on_changes(self, changed: list[SpaceStatus]) -> None:
        if not self._running:
            return
        expected = frozenset(
            m.topic for m in config_messages(self._tracker.snapshot(), self._status_topic, self._prefix)
        )
        if expected != self._config_topics:
            self.publish_all()  # a space or a door was added or removed
            return
        with self._lock:
            self._send(self._states(changed))

    def _on_connection(self, connected: bool) -> None:
        # A broker without persistence forgets retained messages when it restarts.
        if connected and self._running:
            try:
                self.publish_all()
            except Exception:
                log.exception("Home Assistant discovery not republished")

    @staticmethod
    def _states(spaces: Iterable[SpaceStatus]) -> list[MqttMessage]:
        messages: list[MqttMessage] = []
        for space in spaces:
            messages.append(space_state_message(space))
            messages.extend(door_state_message(door) for door in space.doors)
        return messages

    def _send(self, messages: Iterable[MqttMessage]) -> None:
        for message in messages:
            try:
                self._transport.publish(message.topic, message.payload, message.qos, message.retain)
            except TransportError as error:
                log.warning("Home Assistant: %s not published: %s", message.topic, error)
