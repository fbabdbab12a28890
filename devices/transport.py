"""The seam between tierslieu and an MQTT broker: topics and bytes, nothing else.

`Transport` is what the rest of the application talks to. `devices.mqtt.PahoTransport`
implements it over a real broker; `InMemoryTransport` implements it as an in-process bus so
logic tests run without sockets or threads.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from devices.errors import DeviceError

__all__ = [
    "ConnectionListener",
    "InMemoryTransport",
    "InvalidTopic",
    "Message",
    "MessageHandler",
    "PublishRejected",
    "Transport",
    "TransportError",
    "topic_matches",
    "validate_topic",
    "validate_topic_filter",
]

logger = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained), from the transport's own thread."""

ConnectionListener = Callable[[bool], None]
"""Called with True on every (re)connection and False on every loss."""


class TransportError(DeviceError):
    """Base of every error raised by the MQTT transport and the embedded broker.

    A DeviceError, so it has the same stable ``code`` and parameters (rendered by tierslieu's catalogue).
    """


class InvalidTopic(TransportError, ValueError):
    """A topic or topic filter breaks the MQTT rules (wildcards, empty, NUL)."""


class PublishRejected(TransportError):
    """The transport refused a message: it was not accepted, the caller still owns it."""


class Transport(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...
    def subscribe(self, topic_filter: str, qos: int = 1) -> None: ...
    def unsubscribe(self, topic_filter: str) -> None: ...
    def add_handler(self, handler: MessageHandler) -> None: ...
    def add_connection_listener(self, listener: ConnectionListener) -> None: ...
    @property
    def connected(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def validate_topic(topic: str) -> None:
    """Raise InvalidTopic unless `topic` is a valid topic name to publish to."""
    if not topic:
        raise InvalidTopic("topic.empty")
    if "\x00" in topic:
        raise InvalidTopic("topic.nul", topic=topic)
    if "+" in topic or "#" in topic:
        raise InvalidTopic("topic.wildcard", topic=topic)


def validate_topic_filter(topic_filter: str) -> None:
    """Raise InvalidTopic unless `topic_filter` is a valid subscription filter."""
    if not topic_filter:
        raise InvalidTopic("topic.empty")
    if "\x00" in topic_filter:
        raise InvalidTopic("topic.nul", topic=topic_filter)
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise InvalidTopic("topic.bad_hash", topic=topic_filter)
        if "+" in level and level != "+":
            raise InvalidTopic("topic.bad_plus", topic=topic_filter)


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True when `topic` matches the MQTT subscription `topic_filter` (`+` one level, `#` the rest)."""
    # Wildcards at the first level never match broker-internal topics such as $SYS/...
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            # "a/#" also matches "a" itself (MQTT 3.1.1 §4.7.1.2).
            return True
        if index >= len(topic_levels):
            return False
        if level not in ("+", topic_levels[index]):
            return False
    return len(filter_levels) == len(topic_levels)


class InMemoryTransport:
    """An in-process broker and client in one, for logic tests.

    Messages are delivered synchronously: when the outermost `publish` returns, every handler
    has seen the message (a handler that publishes gets its message delivered right after, not
    recursively). Retained messages and a persistent session are simulated: while
    "disconnected" (before `start`, after `stop` or `drop_connection`) published messages are
    queued and delivered on the next connection. Every publish is recorded in `published`.
    """

    def __init__(self) -> None:
        self.published: list[Message] = []
        self._lock = threading.RLock()
        self._handlers: list[MessageHandler] = []
        self._listeners: list[ConnectionListener] = []
        self._subscriptions: dict[str, int] = {}
        self._retained: dict[str, bytes] = {}
        self._outbox: deque[Message] = deque()
        self._connected = False
        self._delivering = False

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def subscriptions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._subscriptions)

    @property
    def retained(self) -> dict[str, bytes]:
        with self._lock:
            return dict(self._retained)

    def add_handler(self, handler: MessageHandler) -> None:
        with self._lock:
            self._handlers.append(handler)

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        self._set_connected(True)

    def stop(self) -> None:
        self._set_connected(False)

    def drop_connection(self) -> None:
        """Simulate a lost connection: listeners hear False, publishes queue up."""
        self._set_connected(False)

    def restore_connection(self) -> None:
        """Simulate a reconnection: listeners hear True, queued publishes are delivered."""
        self._set_connected(True)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise PublishRejected("publish.bad_qos", qos=qos)
        message = Message(topic, bytes(payload), qos, retain)
        with self._lock:
            self.published.append(message)
            if not self._connected and qos == 0:
                logger.warning("QoS 0 message to %s dropped: transport not connected", topic)
                return
            self._outbox.append(message)
            if self._connected:
                self._drain()

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        validate_topic_filter(topic_filter)
        with self._lock:
            self._subscriptions[topic_filter] = qos
            retained = [(t, p) for t, p in self._retained.items() if topic_matches(topic_filter, t)]
            for topic, payload in retained:
                self._dispatch(topic, payload, True)

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._subscriptions.pop(topic_filter, None)

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            if connected == self._connected:
                return
            self._connected = connected
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(connected)
            except Exception:
                logger.exception("connection listener %r failed", listener)
        if connected:
            with self._lock:
                self._drain()

    def _drain(self) -> None:
        # Called with the lock held. A handler that publishes re-enters here and only queues.
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._outbox and self._connected:
                message = self._outbox.popleft()
                if message.retain:
                    if message.payload:
                        self._retained[message.topic] = message.payload
                    else:
                        self._retained.pop(message.topic, None)
                if any(topic_matches(f, message.topic) for f in self._subscriptions):
                    # A retained flag is only set on messages replayed at subscribe time.
                    self._dispatch(message.topic, message.payload, False)
        finally:
            self._delivering = False

    def _dispatch(self, topic: str, payload: bytes, retained: bool) -> None:
        for handler in list(self._handlers):
            try:
                handler(topic, payload, retained)
            except Exception:
                logger.exception("message handler %r failed on %s", handler, topic)
