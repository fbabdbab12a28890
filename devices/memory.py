"""`InMemoryTransport`: a broker and its client in one process, for logic tests.

It runs the same `Session` as the real transport (states, reference-counted subscriptions,
held publishes), over a small in-process broker instead of a socket.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from devices.session import Session
from devices.transport import (
    ConnectionListener,
    ConnectionState,
    Message,
    MessageHandler,
    PublishRejected,
    Unsubscribe,
    topic_matches,
    validate_topic,
)

__all__ = ["InMemoryTransport"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Delivery:
    topic: str
    payload: bytes
    retained: bool


class _Broker:
    """The `Link` of an in-memory session: one client's subscriptions and the retained messages.

    It only queues what it would send to the client (deliveries, SUBACKs): the transport hands
    them to the session outside the session's lock, as a network thread would.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.subscriptions: dict[str, int] = {}
        self.retained: dict[str, bytes] = {}
        self.outgoing: deque[_Delivery | int] = deque()  # to the client, in order; int = a SUBACK
        self.unsent_acks: list[int] = []  # SUBACKs held back by a test
        self.hold_acks = False
        self._next_request = 0

    def send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            if retain:
                if payload:
                    self.retained[topic] = payload
                else:
                    self.retained.pop(topic, None)
            if any(topic_matches(f, topic) for f in self.subscriptions):
                # A retained flag is only set on messages replayed at subscribe time.
                self.outgoing.append(_Delivery(topic, payload, False))

    def send_subscribe(self, filters: Sequence[tuple[str, int]]) -> int:
        with self._lock:
            self._next_request += 1
            if self.hold_acks:
                self.unsent_acks.append(self._next_request)
            else:
                self.outgoing.append(self._next_request)
            for topic_filter, qos in filters:
                self.subscriptions[topic_filter] = qos
                for topic, payload in self.retained.items():
                    if topic_matches(topic_filter, topic):
                        self.outgoing.append(_Delivery(topic, payload, True))
            return self._next_request

    def send_unsubscribe(self, filters: Sequence[str]) -> None:
        with self._lock:
            for topic_filter in filters:
                self.subscriptions.pop(topic_filter, None)

    def release_acks(self) -> None:
        with self._lock:
            self.outgoing.extend(self.unsent_acks)
            self.unsent_acks.clear()

    def forget_acks(self) -> None:
        """A lost connection loses the SUBACKs on their way."""
        with self._lock:
            self.unsent_acks.clear()
            self.outgoing = deque(item for item in self.outgoing if not isinstance(item, int))


class InMemoryTransport:
    """A `devices.transport.Transport` without sockets or threads.

    Delivery is synchronous: when the outermost call (`publish`, `subscribe`, `start`...)
    returns, every handler has seen what it caused (a handler that publishes gets its message
    delivered right after, not recursively). The connection is simulated: `drop_connection`
    and `restore_connection`; with `auto_connect=False` `start()` stays CONNECTING until
    `restore_connection()`, with `auto_acknowledge=False` the broker's SUBACKs wait for
    `acknowledge_subscriptions()`. Every publish is recorded in `published`.
    """

    def __init__(self, *, auto_connect: bool = True, auto_acknowledge: bool = True, max_held: int = 10_000) -> None:
        self.published: list[Message] = []
        self._auto_connect = auto_connect
        self._broker = _Broker()
        self._broker.hold_acks = not auto_acknowledge
        self._session = Session(self._broker, logger, max_held)
        self._pump_lock = threading.RLock()
        self._pumping = False

    # -- Transport ---------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._session.state

    @property
    def connected(self) -> bool:
        return self._session.state is ConnectionState.READY

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise PublishRejected("publish.bad_qos", qos=qos)
        message = Message(topic, bytes(payload), qos, retain)
        self.published.append(message)
        self._session.publish(message)
        self._pump()

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> Unsubscribe:
        unsubscribe = self._session.subscribe(topic_filter, handler, qos)
        self._pump()
        return unsubscribe

    def add_connection_listener(self, listener: ConnectionListener) -> Unsubscribe:
        return self._session.add_connection_listener(listener)

    def start(self) -> None:
        if self._session.start() and self._auto_connect:
            self._session.opened()
        self._pump()

    def stop(self) -> None:
        if self._session.begin_stop() is not None:
            self._broker.forget_acks()
            self._session.stopped()

    # -- the simulated network ---------------------------------------------------------------

    @property
    def subscriptions(self) -> dict[str, int]:
        """The filters the broker holds for us, with their QoS."""
        return dict(self._broker.subscriptions)

    @property
    def retained(self) -> dict[str, bytes]:
        return dict(self._broker.retained)

    @property
    def held_count(self) -> int:
        """Messages accepted while not READY, waiting to be sent."""
        return self._session.held_count

    def drop_connection(self) -> None:
        """Lose the connection: listeners hear False, publishes are held."""
        if self._session.lost():
            self._broker.forget_acks()

    def restore_connection(self) -> None:
        """Connect again: subscriptions are sent again, then held publishes go out."""
        self._session.opened()
        self._pump()

    def acknowledge_subscriptions(self) -> None:
        """Let the SUBACKs held back by `auto_acknowledge=False` reach the client."""
        self._broker.release_acks()
        self._pump()

    def _pump(self) -> None:
        with self._pump_lock:
            if self._pumping:
                return  # a handler is publishing: the loop below delivers it next
            self._pumping = True
            try:
                while self._broker.outgoing:
                    item = self._broker.outgoing.popleft()
                    if isinstance(item, int):
                        self._session.acknowledged(item)
                    else:
                        self._session.dispatch(item.topic, item.payload, item.retained)
            finally:
                self._pumping = False
