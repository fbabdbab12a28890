"""What the processes of one deployment tell each other on the broker: topics and payloads.

Every topic lives under ``tierslieu/<deployment>``, where ``<deployment>`` is the base MQTT
client id (``TIERSLIEU_MQTT_CLIENT_ID``, the leader's session id, whose availability topic is
already ``tierslieu/<deployment>/status``): two deployments sharing a broker must already use
two ids, so they never hear each other.

- ``…/events/<hub topic>``: one event of a process's :class:`~tierslieu.events.EventHub`
  (QoS 1, not retained).
- ``…/changes``: one committed :class:`~tierslieu.db.changes.Changes` (QoS 1, not retained).
- ``…/state/occupancy/<space_id>``: the leader's current status of a space, doors included
  (retained: a process that starts late gets it; an empty payload clears it).
- ``…/state/spaces``: the ids of the spaces the leader tracks, parents first (retained).

Payloads are JSON objects with ``v`` (the format's version, 1) and ``origin`` (the sending
process, so that it ignores its own messages). Occupancy payloads are typed (the tracker's
``SpaceStatus`` and ``Alert``, rebuilt as such on arrival so each process renders them in its
reader's language); the other events carry plain JSON values. Anything else fails to decode
with :class:`MalformedMessage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from devices.transport import validate_topic
from tierslieu.db.changes import UNKNOWN_ID, Changes
from tierslieu.events import Event
from tierslieu.occupancy.alerts import Alert
from tierslieu.occupancy.state import SpaceStatus

__all__ = [
    "MAX_IDS_PER_TABLE",
    "PROCESS_TOPICS",
    "VERSION",
    "MalformedMessage",
    "Topics",
    "decode_changes",
    "decode_event",
    "decode_space_ids",
    "decode_space_state",
    "encode_changes",
    "encode_event",
    "encode_space_ids",
    "encode_space_state",
]

VERSION = 1
# A write of more rows than this in one table goes as "the whole table" (ids unknown): the
# payload stays small, and listeners already handle bulk statements that way.
MAX_IDS_PER_TABLE = 500
OCCUPANCY = "occupancy"  # the tracker's hub topic (tierslieu.occupancy.tracker.TOPIC)
# What only tierslieu processes may write or read, whatever the deployment (availability included);
# the broker ACLs keep devices out of them (``tierslieu.hardware.broker_acl``, ``deploy/mosquitto/acl``).
PROCESS_TOPICS = ("tierslieu/+/events/#", "tierslieu/+/changes", "tierslieu/+/state/#", "tierslieu/+/status")


class MalformedMessage(ValueError):
    """A payload on one of our topics that is not one of our messages (dropped, logged)."""


@dataclass(frozen=True)
class Topics:
    base: str  # tierslieu/<deployment>

    @classmethod
    def of(cls, deployment: str) -> Topics:
        """Raises ``ValueError`` for a deployment name that cannot be one topic level."""
        if "/" in deployment:
            raise ValueError(f"{deployment!r} is not one topic level")
        topics = cls(f"tierslieu/{deployment}")
        validate_topic(topics.changes)
        return topics

    def event(self, hub_topic: str) -> str:
        return f"{self.base}/events/{hub_topic}"

    @property
    def events(self) -> str:
        return f"{self.base}/events/+"

    @property
    def changes(self) -> str:
        return f"{self.base}/changes"

    def space_state(self, space_id: int) -> str:
        return f"{self.base}/state/occupancy/{space_id}"

    @property
    def space_states(self) -> str:
        return f"{self.base}/state/occupancy/+"

    @property
    def spaces(self) -> str:
        return f"{self.base}/state/spaces"

    @staticmethod
    def last_level(topic: str) -> str:
        return topic.rsplit("/", 1)[-1]

    def relayable(self, hub_topic: str) -> bool:
        """A hub topic that makes one topic level (every topic tierslieu publishes does)."""
        return bool(hub_topic) and not any(c in hub_topic for c in "/+#\0")


# --------------------------------------------------------------------------- payloads


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    v: Literal[1] = 1  # VERSION
    origin: str = Field(min_length=1, max_length=200)


class EventMessage(_Message):
    data: dict[str, Any]


class SpaceChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["space"]
    status: SpaceStatus


class AlertChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["alert"]
    state: Literal["raised", "cleared"]
    alert: Alert


class SpacesChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["spaces"]
    space_ids: list[int]


_OCCUPANCY: TypeAdapter[SpaceChanged | AlertChanged | SpacesChanged] = TypeAdapter(
    Annotated[SpaceChanged | AlertChanged | SpacesChanged, Field(discriminator="type")]
)
_PLAIN: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])


class ChangesMessage(_Message):
    rows: dict[str, list[int]]
    altered: dict[str, list[int]] = Field(default_factory=dict)


class SpaceStateMessage(_Message):
    status: SpaceStatus


class SpacesMessage(_Message):
    space_ids: list[int]


def _invalid(error: ValidationError | PydanticSerializationError) -> MalformedMessage:
    if isinstance(error, ValidationError) and (first := next(iter(error.errors()), None)) is not None:
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        return MalformedMessage(f"{where}: {first['msg']}"[:300])
    return MalformedMessage(str(error)[:300])


def encode_event(event: Event, origin: str) -> bytes:
    """Raises ``MalformedMessage`` for data that is not JSON (nor, on ``occupancy``, the tracker's types)."""
    try:
        if event.topic == OCCUPANCY:
            data: dict[str, Any] = _OCCUPANCY.validate_python(event.data).__dict__
        else:
            data = event.data
        return EventMessage(origin=origin, data=data).model_dump_json().encode()
    except (ValidationError, PydanticSerializationError) as error:
        raise _invalid(error) from None


def decode_event(hub_topic: str, payload: bytes) -> tuple[Event, str]:
    """The event and the process it comes from."""
    try:
        message = EventMessage.model_validate_json(payload)
        if hub_topic == OCCUPANCY:
            data = dict(_OCCUPANCY.validate_python(message.data).__dict__)
        else:
            data = dict(_PLAIN.validate_python(message.data))
    except ValidationError as error:
        raise _invalid(error) from None
    return Event(hub_topic, data, origin=message.origin), message.origin


def _ids(ids: frozenset[int]) -> list[int]:
    return [UNKNOWN_ID] if len(ids) > MAX_IDS_PER_TABLE else sorted(ids)


def encode_changes(changes: Changes, origin: str) -> bytes:
    rows = {table: _ids(ids) for table, ids in changes.rows.items()}
    altered = {table: _ids(ids) for table, ids in changes.altered.items()}
    return ChangesMessage(origin=origin, rows=rows, altered=altered).model_dump_json().encode()


def decode_changes(payload: bytes) -> tuple[Changes, str]:
    try:
        message = ChangesMessage.model_validate_json(payload)
    except ValidationError as error:
        raise _invalid(error) from None

    def sets(found: Mapping[str, list[int]]) -> dict[str, frozenset[int]]:
        return {table: frozenset(ids) for table, ids in found.items()}

    return Changes(sets(message.rows), sets(message.altered), message.origin), message.origin


def encode_space_state(status: SpaceStatus, origin: str) -> bytes:
    return SpaceStateMessage(origin=origin, status=status).model_dump_json().encode()


def decode_space_state(payload: bytes) -> tuple[SpaceStatus, str]:
    try:
        message = SpaceStateMessage.model_validate_json(payload)
    except ValidationError as error:
        raise _invalid(error) from None
    return message.status, message.origin


def encode_space_ids(space_ids: list[int], origin: str) -> bytes:
    return SpacesMessage(origin=origin, space_ids=space_ids).model_dump_json().encode()


def decode_space_ids(payload: bytes) -> tuple[list[int], str]:
    try:
        message = SpacesMessage.model_validate_json(payload)
    except ValidationError as error:
        raise _invalid(error) from None
    return message.space_ids, message.origin
