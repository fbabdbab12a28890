"""The connection state machine and subscription table that every transport shares.

A `Session` knows nothing of sockets. A transport tells it what happened on the wire
(`start`, `opened`, `acknowledged`, `lost`, `begin_stop`, `stopped`, `dispatch`) and gives it a
`Link` to send with. In return the session decides, in one place:
- the connection state, changed only along `devices.transport.TRANSITIONS`;
- which filters the broker must hold: a filter is subscribed for its first listener (and again
  for each newcomer, so that it too receives the retained messages), unsubscribed when its last
  listener leaves, and all of them are subscribed again on every connection;
- which handlers a message goes to: those whose filter matches, each handler once;
- when publishes go out: at once when READY; otherwise QoS 1/2 messages are held, in order,
  until the broker has acknowledged the subscriptions sent on connection, and QoS 0 ones are
  dropped (at most once). Held, not handed to paho early: a PUBLISH racing the resumption of
  the session can make paho drop the connection, and an answer to it could reach the broker
  before our subscription and be lost to us.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from devices.transport import (
    TRANSITIONS,
    ConnectionListener,
    ConnectionState,
    Message,
    MessageHandler,
    PublishRejected,
    Unsubscribe,
    topic_matches,
    validate_topic_filter,
)

__all__ = ["Link", "Session"]

_READY = ConnectionState.READY
_OPEN = frozenset({ConnectionState.SUBSCRIBING, ConnectionState.READY})  # the broker knows us
_CACHE_LIMIT = 4096  # topics remembered per subscription table; a wildcard may see many


class Link(Protocol):
    """The wire under a session. Called with the session's lock held: it must not call back."""

    def send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Hand one message to the wire; raise PublishRejected if it cannot be taken."""

    def send_subscribe(self, filters: Sequence[tuple[str, int]]) -> int | None:
        """Send one SUBSCRIBE; return the id later given to `Session.acknowledged` (None if unsent)."""

    def send_unsubscribe(self, filters: Sequence[str]) -> None: ...


class _Listener:
    """One `subscribe` call. Compared by identity: a handler may listen twice to one filter."""

    __slots__ = ("handler", "qos", "topic_filter")

    def __init__(self, topic_filter: str, handler: MessageHandler, qos: int) -> None:
        self.topic_filter, self.handler, self.qos = topic_filter, handler, qos


class _Routes:
    """Which handlers a topic goes to. Replaced whole when subscriptions change, so the thread
    that dispatches reads it without a lock; it only adds to its own topic cache."""

    __slots__ = ("_by_filter", "_cache")

    def __init__(self, by_filter: Mapping[str, Sequence[_Listener]]) -> None:
        self._by_filter = [(f, [listener.handler for listener in ls]) for f, ls in by_filter.items()]
        self._cache: dict[str, tuple[MessageHandler, ...]] = {}

    def handlers(self, topic: str) -> tuple[MessageHandler, ...]:
        found = self._cache.get(topic)
        if found is None:
            matching: list[MessageHandler] = []
            for topic_filter, handlers in self._by_filter:
                if topic_matches(topic_filter, topic):
                    # Equality, not identity: `obj.method` is a new object at each access.
                    matching.extend(h for h in handlers if h not in matching)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[topic] = tuple(matching)
        return found


class Session:
    def __init__(self, link: Link, log: logging.Logger, max_held: int) -> None:
        self._link = link
        self._log = log
        self._max_held = max_held
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = ConnectionState.STOPPED
        self._listeners: dict[str, list[_Listener]] = {}  # filter -> its listeners (the reference count)
        self._routes = _Routes({})
        self._released: set[str] = set()  # filters whose last listener left while offline
        self._held: deque[Message] = deque()
        self._awaited: int | None = None  # the SUBSCRIBE whose SUBACK makes us READY
        self._connection_listeners: tuple[ConnectionListener, ...] = ()
        self._announce_lock = threading.RLock()
        self._announced = False  # what connection listeners last heard

    # -- what the application sees -----------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def held_count(self) -> int:
        with self._lock:
            return len(self._held)

    @property
    def filters(self) -> dict[str, int]:
        """The filters the broker should hold for us, with their QoS."""
        with self._lock:
            return self._wanted()

    def wait_for(self, predicate: Callable[[ConnectionState], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self._state), timeout)

    def publish(self, message: Message) -> None:
        with self._lock:
            if self._state is _READY:
                self._link.send(message.topic, message.payload, message.qos, message.retain)
                return
            if message.qos == 0:
                self._log.warning("MQTT: not connected, QoS 0 message to %s dropped", message.topic)
                return
            if len(self._held) >= self._max_held:
                raise PublishRejected("publish.queue_full", topic=message.topic, limit=self._max_held)
            self._held.append(message)
        self._log.info("MQTT: not connected, message to %s queued until the broker is back", message.topic)

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> Unsubscribe:
        validate_topic_filter(topic_filter)
        listener = _Listener(topic_filter, handler, qos)
        with self._lock:
            listeners = self._listeners.setdefault(topic_filter, [])
            listeners.append(listener)
            self._released.discard(topic_filter)
            self._routes = _Routes(self._listeners)  # before the SUBSCRIBE: no message may miss it
            if self._state in _OPEN:
                # Sent for every newcomer: the broker then replays the filter's retained messages.
                self._link.send_subscribe([(topic_filter, max(item.qos for item in listeners))])
        return functools.partial(self._unsubscribe, listener)

    def _unsubscribe(self, listener: _Listener) -> None:
        topic_filter = listener.topic_filter
        with self._lock:
            listeners = self._listeners.get(topic_filter, [])
            if not any(item is listener for item in listeners):
                return  # already unsubscribed
            listeners[:] = [item for item in listeners if item is not listener]
            if not listeners:
                del self._listeners[topic_filter]
                if self._state in _OPEN:
                    self._link.send_unsubscribe([topic_filter])
                else:  # a persistent session keeps it on the broker: release it on reconnection
                    self._released.add(topic_filter)
            self._routes = _Routes(self._listeners)

    def add_connection_listener(self, listener: ConnectionListener) -> Unsubscribe:
        with self._lock:
            self._connection_listeners = (*self._connection_listeners, listener)
        return functools.partial(self._remove_connection_listener, listener)

    def _remove_connection_listener(self, listener: ConnectionListener) -> None:
        with self._lock:
            self._connection_listeners = tuple(item for item in self._connection_listeners if item is not listener)

    # -- what the transport reports ----------------------------------------------------------

    def start(self) -> bool:
        """STOPPED -> CONNECTING; False when already started."""
        with self._lock:
            if self._state is not ConnectionState.STOPPED:
                return False
            self._move(ConnectionState.CONNECTING)
            return True

    def opened(self) -> int:
        """The broker accepted the connection: subscribe every filter again, or become READY at
        once when there is none. Returns how many filters were subscribed."""
        with self._lock:
            if self._state is not ConnectionState.CONNECTING:
                return 0  # stop() began meanwhile
            if self._released:
                self._link.send_unsubscribe(sorted(self._released))
                self._released.clear()
            wanted = self._wanted()
            if wanted:
                self._move(ConnectionState.SUBSCRIBING)
                # Only after the SUBACK does the broker route to us what others publish.
                self._awaited = self._link.send_subscribe(sorted(wanted.items()))
            else:
                self._become_ready()
        self._announce()
        return len(wanted)

    def acknowledged(self, request: int) -> None:
        """A SUBACK arrived."""
        with self._lock:
            if self._state is not ConnectionState.SUBSCRIBING or request != self._awaited:
                return  # the SUBACK of a later, single subscription
            self._become_ready()
        self._announce()

    def lost(self) -> bool:
        """The connection dropped; True when the session was open."""
        with self._lock:
            was_open = self._state in _OPEN
            if was_open:
                self._move(ConnectionState.CONNECTING)
        self._announce()
        return was_open

    def begin_stop(self) -> ConnectionState | None:
        """-> STOPPING. Returns the state it left, or None when already stopped or stopping."""
        with self._lock:
            before = self._state
            if before in (ConnectionState.STOPPED, ConnectionState.STOPPING):
                return None
            self._move(ConnectionState.STOPPING)
        self._announce()
        return before

    def stopped(self) -> None:
        with self._lock:
            if self._state is ConnectionState.STOPPING:
                self._move(ConnectionState.STOPPED)

    def dispatch(self, topic: str, payload: bytes, retained: bool) -> None:
        """Give a message to the handlers whose filter matches it. Never raises."""
        handlers = self._routes.handlers(topic)
        if not handlers:
            self._log.debug("MQTT: message on %s matches no subscription: dropped", topic[:200])
        for handler in handlers:
            try:
                handler(topic, payload, retained)
            except Exception:
                self._log.exception("MQTT: handler %r failed on a message from %s", handler, topic)

    # -- internals (lock held unless said otherwise) -----------------------------------------

    def _move(self, to: ConnectionState) -> None:
        if to not in TRANSITIONS[self._state]:
            raise RuntimeError(f"MQTT session: no transition from {self._state.name} to {to.name}")
        self._log.debug("MQTT: %s -> %s", self._state.name, to.name)
        self._state = to
        self._awaited = None
        self._changed.notify_all()

    def _wanted(self) -> dict[str, int]:
        return {f: max(item.qos for item in listeners) for f, listeners in self._listeners.items()}

    def _become_ready(self) -> None:
        # Sent in order before the state changes: a concurrent publish() waits for the lock.
        while self._held:
            message = self._held.popleft()
            try:
                self._link.send(message.topic, message.payload, message.qos, message.retain)
            except PublishRejected as error:
                self._log.error("MQTT: a message held while offline could not be sent: %s", error)
        self._move(_READY)

    def _announce(self) -> None:
        """Tell connection listeners about a change of READY-ness (lock not held).

        Serialized and read from the current state, so listeners hear True and False
        alternately and the last thing they hear is the truth, whatever the thread interleaving.
        """
        with self._announce_lock:
            ready = self._state is _READY
            if ready == self._announced:
                return
            self._announced = ready
            for listener in self._connection_listeners:
                try:
                    listener(ready)
                except Exception:
                    self._log.exception("MQTT: connection listener %r failed", listener)
