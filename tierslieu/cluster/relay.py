"""Events between the processes of a deployment, carried by the MQTT broker (a ``Component``).

Every process runs one relay, whatever its role:

- each event published on this process's hub (occupancy, doors, alerts, access, bookings,
  printing, emergency…) goes out on ``tierslieu/<deployment>/events/<topic>``; each committed
  :class:`~tierslieu.db.changes.Changes` of its database feed goes out on ``…/changes``;
- what the other processes send comes back into this process's hub and change feed, marked
  with their ``origin``: an ``api`` process's SSE stream shows what the leader's tracker sees,
  and the leader's caches and workers hear of a space, badge or booking created through an
  ``api`` process right after its commit, not at their next periodic reload;
- the leader (the process whose tracker publishes occupancy events) also keeps the current
  status of each space as a **retained** message, so a process that starts late gets the
  snapshot at once; :meth:`EventRelay.statuses` serves it where no tracker runs.

Why the broker rather than PostgreSQL ``LISTEN/NOTIFY``: every process is connected to the broker
already (an ``api`` process or a standby by its probe connection, ``cluster.probe``); it works the
same on a SQLite deployment; retained messages give a late subscriber the current state without
a query; and ``NOTIFY`` caps payloads at 8000 bytes and does not exist on SQLite.

A process ignores its own messages (``origin``) and never sends again what it received (events
and changes carry the origin they came from). A payload that is not one of ours is dropped with
a log line; nothing else is lost. After each (re)connection the relay tells its own change feed
that every table may have changed: changes sent while it was away are not replayed (the
connection has no persistent session), so caches start afresh instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlmodel import SQLModel

import tierslieu.models  # noqa: F401  (every table in the metadata, for the resync after a reconnection)
from devices.transport import InvalidTopic, PublishRejected, Transport
from tierslieu.cluster.probe import broker_probe
from tierslieu.cluster.roles import process_client_id
from tierslieu.cluster.wire import (
    OCCUPANCY,
    MalformedMessage,
    Topics,
    decode_changes,
    decode_event,
    decode_space_ids,
    decode_space_state,
    encode_changes,
    encode_event,
    encode_space_ids,
    encode_space_state,
)
from tierslieu.db.changes import Changes
from tierslieu.events import Event
from tierslieu.hardware.wiring import TransportComponent
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.runtime import Component, Runtime

__all__ = ["EventRelay", "LiveState", "build_event_relay", "relayed_statuses"]

log = logging.getLogger(__name__)

BROKER_ORIGIN = "broker"  # the origin of the "everything may have changed" after a (re)connection


class LiveState:
    """The leader's space statuses as received (retained state, then events), in its order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[int, SpaceStatus] = {}
        self._order: list[int] | None = None

    def put(self, status: SpaceStatus) -> None:
        with self._lock:
            self._statuses[status.space_id] = status

    def forget(self, space_id: int) -> None:
        with self._lock:
            self._statuses.pop(space_id, None)

    def set_order(self, space_ids: list[int]) -> list[int]:
        """The spaces the leader tracks now, parents first; returns those that were dropped."""
        with self._lock:
            before = set(self._order or ()) | set(self._statuses)
            self._order = list(space_ids)
            kept = set(space_ids)
            for space_id in [sid for sid in self._statuses if sid not in kept]:
                del self._statuses[space_id]
        return sorted(before - kept)

    def snapshot(self) -> list[SpaceStatus] | None:
        """None until the leader's list of spaces has arrived."""
        with self._lock:
            if self._order is None:
                return None
            return [self._statuses[sid] for sid in self._order if sid in self._statuses]


class EventRelay:
    name = "cluster-events"

    def __init__(self, runtime: Runtime, transport: Transport, topics: Topics, origin: str) -> None:
        self._runtime = runtime
        self._transport = transport
        self.topics = topics
        self.origin = origin
        self.state = LiveState()
        self.dropped = 0  # malformed payloads, for tests and the log
        self._undo: list[Callable[[], None]] = []
        self._published_spaces: set[int] = set()  # retained states this process (as leader) keeps

    # -- Component -------------------------------------------------------------------------

    def start(self) -> None:
        t, transport = self.topics, self._transport
        self._undo = [
            transport.subscribe(t.events, self._on_event, 1),
            transport.subscribe(t.changes, self._on_changes, 1),
            transport.subscribe(t.space_states, self._on_space_state, 1),
            transport.subscribe(t.spaces, self._on_spaces, 1),
            transport.add_connection_listener(self._on_connection),
            self._runtime.events.add_listener(self._send_event),
            self._runtime.db.changes.subscribe(self._send_changes),
        ]

    def stop(self) -> None:
        undo, self._undo = self._undo, []
        for step in reversed(undo):
            step()

    def statuses(self) -> list[SpaceStatus] | None:
        return self.state.snapshot()

    # -- out: this process's events and changes -------------------------------------------

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        try:
            self._transport.publish(topic, payload, 1, retain)
        except (PublishRejected, InvalidTopic) as error:
            log.warning("cluster events: %s not sent: %s", topic, error)

    def _send_event(self, event: Event) -> None:
        """Hub listener (the publisher's thread): only what happened here goes out."""
        if event.origin is not None or not self.topics.relayable(event.topic):
            return
        try:
            payload = encode_event(event, self.origin)
        except MalformedMessage as error:
            log.warning("cluster events: %s event not sent (%s)", event.topic, error)
            return
        self._publish(self.topics.event(event.topic), payload)
        if event.topic == OCCUPANCY:
            self._keep_state(event)

    def _keep_state(self, event: Event) -> None:
        """The tracker runs here, so this process leads: keep the current state retained."""
        kind = event.data.get("type")
        if kind == "space" and isinstance(status := event.data.get("status"), SpaceStatus):
            self._published_spaces.add(status.space_id)
            self._publish(
                self.topics.space_state(status.space_id), encode_space_state(status, self.origin), retain=True
            )
        elif kind == "spaces" and isinstance(ids := event.data.get("space_ids"), list):
            space_ids = [int(sid) for sid in ids]
            self._publish(self.topics.spaces, encode_space_ids(space_ids, self.origin), retain=True)
            gone = (self._published_spaces | set(self.state.set_order(space_ids))) - set(space_ids)
            for space_id in sorted(gone):  # an empty retained message clears it on the broker
                self._publish(self.topics.space_state(space_id), b"", retain=True)
            self._published_spaces &= set(space_ids)

    def _send_changes(self, changes: Changes) -> None:
        """Change-feed listener (the committing thread): only what was committed here goes out."""
        if changes.origin is None:
            self._publish(self.topics.changes, encode_changes(changes, self.origin))

    # -- in: the other processes' --------------------------------------------------------

    def _dropped(self, topic: str, error: MalformedMessage) -> None:
        self.dropped += 1
        log.warning("cluster events: malformed message on %s dropped: %s", topic, error)

    def _on_event(self, topic: str, payload: bytes, _retained: bool) -> None:
        try:
            event, origin = decode_event(Topics.last_level(topic), payload)
        except MalformedMessage as error:
            self._dropped(topic, error)
            return
        if origin == self.origin:
            return  # our own, back from the broker
        if event.topic == OCCUPANCY:
            kind = event.data.get("type")
            if kind == "space" and isinstance(status := event.data.get("status"), SpaceStatus):
                self.state.put(status)
            elif kind == "spaces" and isinstance(ids := event.data.get("space_ids"), list):
                self.state.set_order([int(sid) for sid in ids])
        self._runtime.events.publish(event)

    def _on_changes(self, topic: str, payload: bytes, _retained: bool) -> None:
        try:
            changes, origin = decode_changes(payload)
        except MalformedMessage as error:
            self._dropped(topic, error)
            return
        if origin != self.origin:
            self._runtime.db.changes.announce(changes, origin=origin)

    def _on_space_state(self, topic: str, payload: bytes, _retained: bool) -> None:
        try:
            space_id = int(Topics.last_level(topic))
        except ValueError:
            self._dropped(topic, MalformedMessage("not a space id"))
            return
        if not payload:
            self.state.forget(space_id)  # cleared by the leader
            return
        try:
            status, origin = decode_space_state(payload)
        except MalformedMessage as error:
            self._dropped(topic, error)
            return
        if origin != self.origin and status.space_id == space_id:
            self.state.put(status)

    def _on_spaces(self, topic: str, payload: bytes, _retained: bool) -> None:
        if not payload:
            return
        try:
            space_ids, origin = decode_space_ids(payload)
        except MalformedMessage as error:
            self._dropped(topic, error)
            return
        if origin != self.origin:
            self.state.set_order(space_ids)

    def _on_connection(self, ready: bool) -> None:
        if ready:
            # Changes sent while we were away are gone: every cache starts afresh.
            self._runtime.db.changes.announce(Changes.whole(SQLModel.metadata.tables), origin=BROKER_ORIGIN)


def relayed_statuses(runtime: Runtime) -> list[SpaceStatus] | None:
    """The leader's statuses as this process received them; None without a relay or before they came."""
    return runtime.relay.statuses() if runtime.relay is not None else None


def build_event_relay(runtime: Runtime, transport: Transport | None) -> list[Component]:
    """The relay on this process's own connection (``transport``: the probe's; None in an
    ``all`` process, which then opens one). None without an external broker: an embedded
    broker serves one process only."""
    settings = runtime.settings
    if not settings.mqtt_url:
        return []
    try:
        topics = Topics.of(settings.mqtt_client_id)
    except ValueError as error:  # InvalidTopic is one
        log.error("cluster events off: TIERSLIEU_MQTT_CLIENT_ID cannot name topics (%s)", error)
        return []
    origin = process_client_id(settings.mqtt_client_id, settings.role)
    components: list[Component] = []
    if transport is None:
        transport = broker_probe(settings, settings.mqtt_url)
        components.append(TransportComponent(transport))
    relay = EventRelay(runtime, transport, topics, origin)
    runtime.relay = relay
    # The relay first: its subscriptions are in place when the connection opens.
    return [relay, *components]
