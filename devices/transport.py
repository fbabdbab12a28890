"""The seam between tierslieu and an MQTT broker: topics and bytes, nothing else.

`Transport` is what the rest of the application talks to. `devices.mqtt.PahoTransport`
implements it over a real broker; `devices.memory.InMemoryTransport` implements it as an
in-process bus so logic tests run without sockets or threads. Both share one connection state
machine and one subscription table (`devices.session.Session`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from devices.errors import DeviceError

__all__ = [
    "TRANSITIONS",
    "ConnectionListener",
    "ConnectionState",
    "InvalidTopic",
    "Message",
    "MessageHandler",
    "PublishRejected",
    "Transport",
    "TransportError",
    "Unsubscribe",
    "topic_matches",
    "validate_topic",
    "validate_topic_filter",
]

MessageHandler = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained), from the transport's own thread."""

ConnectionListener = Callable[[bool], None]
"""Called with True each time the transport becomes READY and False each time it stops being so."""

Unsubscribe = Callable[[], None]
"""Returned by `subscribe` and `add_connection_listener`: call it to stop listening (idempotent)."""


class ConnectionState(enum.Enum):
    STOPPED = "stopped"  # not started, or stopped: nothing goes out
    CONNECTING = "connecting"  # waiting for the broker to accept us (first time or after a loss)
    SUBSCRIBING = "subscribing"  # session open, our filters sent again: publishes wait for the SUBACK
    READY = "ready"  # the broker routes to us what others publish: publishes go straight out
    STOPPING = "stopping"  # stop() is saying offline and waiting for acknowledgements


_S = ConnectionState
TRANSITIONS: Mapping[ConnectionState, frozenset[ConnectionState]] = {
    _S.STOPPED: frozenset({_S.CONNECTING}),
    _S.CONNECTING: frozenset({_S.SUBSCRIBING, _S.READY, _S.STOPPING}),  # READY: nothing to subscribe
    _S.SUBSCRIBING: frozenset({_S.READY, _S.CONNECTING, _S.STOPPING}),
    _S.READY: frozenset({_S.CONNECTING, _S.STOPPING}),
    _S.STOPPING: frozenset({_S.STOPPED}),
}
"""Every allowed change of state, written once; anything else is a bug and raises."""


class TransportError(DeviceError):
    """Base of every error raised by the MQTT transport and the embedded broker.

    A DeviceError, so it has the same stable ``code`` and parameters (rendered by tierslieu's catalogue).
    """


class InvalidTopic(TransportError, ValueError):
    """A topic or topic filter breaks the MQTT rules (wildcards, empty, NUL)."""


class PublishRejected(TransportError):
    """The transport refused a message: it was not accepted, the caller still owns it."""


class Transport(Protocol):
    """What the application needs from an MQTT connection.

    Messages published before the transport is READY are held (QoS 1/2) or dropped (QoS 0) and
    sent, in order, once the broker has acknowledged our subscriptions.
    """

    @property
    def state(self) -> ConnectionState: ...
    @property
    def connected(self) -> bool:
        """True when READY."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...
    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> Unsubscribe:
        """Call `handler` with every message whose topic matches `topic_filter`.

        The broker is asked for the filter by its first listener and released by its last.
        A handler is called once per message even when several of its filters match.
        """

    def add_connection_listener(self, listener: ConnectionListener) -> Unsubscribe: ...
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
