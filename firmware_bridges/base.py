"""What a firmware bridge is, and the table-driven implementation every vendor module uses.

A vendor module declares, per device kind, a ``Definition``: a list of ``Feature`` values built
from the small converters in ``_features``. A feature reads one or more *channels* (a topic of the
device, already decoded: JSON object or text) and/or encodes some commands. The vendor module also
gives four small functions — which topics to subscribe, which device a topic belongs to, which
channel a topic is for a given device, and option checks — and ``TableBridge`` does the rest.
Everything here is pure: no I/O, no clock, no state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from devices.errors import DeviceConfigError, PartialPayload, PayloadError, UnsupportedCommand
from devices.model import (
    ContactChanged,
    DeviceCommand,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    Feedback,
    FireAlarmChanged,
    HoldOpen,
    Lock,
    MqttMessage,
    SetDownMode,
    Unlock,
)
from firmware_bridges._features import check_size
from firmware_bridges.options import ALARM_WHEN, COMMON_OPTIONS, Option, check_names

__all__ = [
    "Bridge",
    "Channel",
    "CommandType",
    "Definition",
    "Feature",
    "TableBridge",
    "fire_panel_of",
]

CommandType = type[Unlock] | type[Lock] | type[HoldOpen] | type[Feedback] | type[SetDownMode]
# Best-effort commands: a device without a way to carry them gets nothing, not an error.
_BEST_EFFORT = (Feedback, SetDownMode)
# A reader gets the decoded channel value (JSON object or text) and returns the events in it.
Reader = Callable[[DeviceRef, Any], list[DeviceEvent]]
# An encoder gets a command of the type it is registered for.
Encoder = Callable[[DeviceRef, Any], list[MqttMessage]]


class Bridge(Protocol):
    """One firmware family spoken over MQTT. All methods are pure."""

    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> frozenset[DeviceKind]: ...

    def subscriptions(self, device: DeviceRef) -> list[str]:
        """Topic filters to subscribe to for this device."""
        ...

    def match(self, topic: str) -> str | None:
        """The device address an incoming topic belongs to; None if not ours or a command topic."""
        ...

    def parse(self, device: DeviceRef, topic: str, payload: bytes) -> list[DeviceEvent]:
        """Events in one message. Raises PayloadError (bad payload) or DeviceConfigError (bad
        device); PartialPayload when some fields were bad and the others read (its ``events``)."""
        ...

    def encode(self, device: DeviceRef, command: DeviceCommand) -> list[MqttMessage]:
        """Messages carrying the command, in publish order. Raises UnsupportedCommand;
        Feedback is best effort and gives [] where the device has no way to show it."""
        ...

    def supported_commands(self, device: DeviceRef) -> frozenset[CommandType]:
        """Command types ``encode`` turns into at least one message for this device."""
        ...

    def relocks_itself(self, device: DeviceRef) -> bool:
        """True if, after Unlock(pulse), the device locks again on its own; False if the
        controller must send Lock() when the pulse is over."""
        ...

    def validate_device(self, device: DeviceRef) -> None:
        """Raises DeviceConfigError if the device cannot be served by this bridge."""
        ...

    def check_option_names(self, device: DeviceRef) -> None:
        """Raises DeviceConfigError for an option this bridge does not declare for the device's kind."""
        ...

    def publish_topics(self, device: DeviceRef) -> list[str]:
        """Topic filters the device itself publishes on: what the broker's ACL lets it write."""
        ...


@dataclass(frozen=True)
class Channel:
    """A topic of a device, with the decoder for its payload (raises PayloadError)."""

    name: str
    decode: Callable[[bytes], Any]


def _always(device: DeviceRef) -> bool:
    return True


@dataclass(frozen=True)
class Feature:
    """A capability: what it reads (channel name -> reader) and which commands it encodes."""

    name: str
    reads: Mapping[str, Reader] = field(default_factory=dict)
    encoders: Mapping[CommandType, Encoder] = field(default_factory=dict)
    # Whether this device has the feature (depends on its options, e.g. a buzzer).
    applies: Callable[[DeviceRef], bool] = _always


@dataclass(frozen=True)
class Definition:
    kind: DeviceKind
    description: str
    features: tuple[Feature, ...]

    def active_features(self, device: DeviceRef) -> list[Feature]:
        return [feature for feature in self.features if feature.applies(device)]


def _never(device: DeviceRef) -> bool:
    return False


@dataclass(frozen=True)
class _Plan:
    """What a validated device reads per channel and encodes per command type, in feature order."""

    device: DeviceRef  # kept alive, so that the id() keying the plan cannot be reused
    readers: Mapping[str, tuple[Reader, ...]]
    encoders: Mapping[CommandType, Encoder]
    # command -> its messages: a door gets the same few commands (commands are frozen values).
    encoded: dict[DeviceCommand, tuple[MqttMessage, ...]] = field(default_factory=dict)
    # topic -> its channel and the readers of it (None: nothing to read there); the router is
    # a pure function of (device, topic) and a device speaks on a handful of topics.
    routes: dict[str, tuple[Channel, tuple[Reader, ...]] | None] = field(default_factory=dict)


# Devices are few; the bound only guards against a caller building new DeviceRefs forever.
_MAX_PLANS = 4096
_MAX_ENCODED = 64  # distinct commands remembered per device (pulse lengths vary a little)
_MAX_ROUTES = 64  # topics remembered per device (a wildcard subscription lets any suffix in)


def _no_option_checks(device: DeviceRef) -> None:
    return None


@dataclass(frozen=True)
class TableBridge:
    """A Bridge driven by a vendor's table of definitions and four topic functions."""

    name: str
    definitions: tuple[Definition, ...]
    topic_owner: Callable[[str], str | None]
    router: Callable[[DeviceRef, str], Channel | None]
    subscriber: Callable[[DeviceRef], list[str]]
    self_relocking: Callable[[DeviceRef], bool] = _never
    publisher: Callable[[DeviceRef], list[str]] = lambda device: []
    # The options this firmware's devices take (COMMON_OPTIONS come on top), and checks that
    # involve several of them.
    options: tuple[Option[Any], ...] = ()
    option_checks: Callable[[DeviceRef], None] = _no_option_checks
    # Plans of the devices seen, by identity: the hub parses every message of the same few
    # DeviceRef objects, and validating them again each time was most of the cost of a parse.
    # A cache, not state: a plan follows from the (immutable) DeviceRef alone.
    _plans: dict[int, _Plan] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def kinds(self) -> frozenset[DeviceKind]:
        return frozenset(definition.kind for definition in self.definitions)

    def definition(self, kind: DeviceKind) -> Definition:
        for definition in self.definitions:
            if definition.kind == kind:
                return definition
        raise DeviceConfigError("config.unsupported_kind", bridge=self.name, kind=str(kind))

    def validate_device(self, device: DeviceRef) -> None:
        if device.bridge != self.name:
            raise DeviceConfigError("config.wrong_bridge", device=device.name, expected=device.bridge, got=self.name)
        self.definition(device.kind)
        address = device.address
        if not address or any(char in address for char in "+#\x00") or address != address.strip("/"):
            raise DeviceConfigError("config.bad_address", device=device.name, got=repr(address))
        for option in (*self.options, *COMMON_OPTIONS):
            if option.applies_to(device.kind):
                option.get(device)
        self.option_checks(device)

    def check_option_names(self, device: DeviceRef) -> None:
        check_names(device, self.options)

    def publish_topics(self, device: DeviceRef) -> list[str]:
        self.validate_device(device)
        return self.publisher(device)

    def _plan(self, device: DeviceRef) -> _Plan:
        """The device's plan; raises DeviceConfigError like ``validate_device`` (never cached)."""
        plan = self._plans.get(id(device))
        if plan is not None and plan.device is device:
            return plan
        self.validate_device(device)
        readers: dict[str, list[Reader]] = {}
        encoders: dict[CommandType, Encoder] = {}
        for feature in self.definition(device.kind).active_features(device):
            for channel, read in feature.reads.items():
                readers.setdefault(channel, []).append(read)
            for command, encoder in feature.encoders.items():
                encoders.setdefault(command, encoder)
        plan = _Plan(device, {channel: tuple(found) for channel, found in readers.items()}, encoders)
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[id(device)] = plan
        return plan

    def subscriptions(self, device: DeviceRef) -> list[str]:
        self.validate_device(device)
        return self.subscriber(device)

    def match(self, topic: str) -> str | None:
        return self.topic_owner(topic)

    def parse(self, device: DeviceRef, topic: str, payload: bytes) -> list[DeviceEvent]:
        # Size first: a huge message is refused whatever its topic.
        check_size(payload)
        route = self._route(self._plan(device), topic)
        if route is None:
            return []
        channel, readers = route
        value = channel.decode(payload)
        # Each reader reads its own fields: one that fails does not lose what the others read.
        events: list[DeviceEvent] = []
        problem: PayloadError | None = None
        for read in readers:
            try:
                events.extend(read(device, value))
            except PayloadError as error:
                problem = problem or error
        if problem is None:
            return events
        if not events:
            raise problem
        raise PartialPayload(problem, tuple(events))

    def _route(self, plan: _Plan, topic: str) -> tuple[Channel, tuple[Reader, ...]] | None:
        if topic in plan.routes:
            return plan.routes[topic]
        channel = self.router(plan.device, topic)
        readers = plan.readers.get(channel.name, ()) if channel is not None else ()
        route = (channel, readers) if channel is not None and readers else None
        if len(plan.routes) < _MAX_ROUTES:
            plan.routes[topic] = route
        return route

    def supported_commands(self, device: DeviceRef) -> frozenset[CommandType]:
        return frozenset(self._plan(device).encoders)

    def encode(self, device: DeviceRef, command: DeviceCommand) -> list[MqttMessage]:
        plan = self._plan(device)
        messages = plan.encoded.get(command)
        if messages is not None:
            return list(messages)
        encoder = plan.encoders.get(type(command))
        if encoder is not None:
            messages = tuple(encoder(device, command))
            if len(plan.encoded) < _MAX_ENCODED:
                plan.encoded[command] = messages
            return list(messages)
        if isinstance(command, _BEST_EFFORT):
            return []  # best effort: nothing on this device can beep, blink or keep a down mode
        raise UnsupportedCommand(
            "command.unsupported",
            command=type(command).__name__,
            device=device.name,
            kind=str(device.kind),
            bridge=self.name,
        )

    def relocks_itself(self, device: DeviceRef) -> bool:
        self._plan(device)
        return self.self_relocking(device)


def _as_alarm(read: Reader) -> Reader:
    def read_alarm(device: DeviceRef, value: Any) -> list[DeviceEvent]:
        alarm_when_open = ALARM_WHEN.get(device) == "open"
        return [
            FireAlarmChanged(device.id, event.open == alarm_when_open) if isinstance(event, ContactChanged) else event
            for event in read(device, value)
        ]

    return read_alarm


def fire_panel_of(contact: Definition) -> Definition:
    """The fire panel definition of a firmware: its contact sensor, read as an alarm.

    By default the panel's loop is normally closed: an open contact is the alarm (and a cut
    wire too); ``alarm_when: closed`` for a normally open relay output."""
    features = tuple(
        Feature(
            feature.name,
            {channel: _as_alarm(read) for channel, read in feature.reads.items()},
            feature.encoders,
            feature.applies,
        )
        for feature in contact.features
    )
    return Definition(DeviceKind.FIRE_PANEL, f"fire alarm panel contact ({contact.description})", features)
