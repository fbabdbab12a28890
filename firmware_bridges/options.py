"""Device options, declared once with their schema.

Each bridge lists the options its devices take (``TableBridge.options``), beside the options
every device may have (``COMMON_OPTIONS``). An ``Option`` knows its name, its default, the
device kinds it is for and how to check a value; bridges read options only through
``Option.get``, so the default written here is the one used. ``check_names`` refuses an option
nobody declared (a typo would otherwise silently do nothing): the API and the site loader
call it; the running hub only logs it, so a stored device is never dropped for a stray key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from devices.errors import DeviceConfigError
from devices.model import MAX_PULSE_SECONDS, DeviceKind, DeviceRef

__all__ = [
    "ALARM_WHEN",
    "COMMON_OPTIONS",
    "CONTACT_SENSOR",
    "EGRESS",
    "FAIL_MODE",
    "PULSE_SECONDS",
    "UID_FORMAT",
    "Option",
    "bool_option",
    "check_names",
    "choice_option",
    "int_option",
    "number_option",
    "segment_option",
    "shorten",
    "topic_option",
]

T = TypeVar("T")
_MISSING = object()


def shorten(value: object, limit: int = 60) -> str:
    """A repr short enough for a log line, whatever the value was."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Option(Generic[T]):
    """One device option: ``convert`` returns the value to use, or raises ValueError."""

    name: str
    default: T
    expected: str  # what a good value looks like, for the error message
    convert: Callable[[Any], T]
    kinds: frozenset[DeviceKind] | None = None  # None: any kind
    doc: str = ""

    def get(self, device: DeviceRef) -> T:
        value = device.options.get(self.name, _MISSING)
        if value is _MISSING or value is None:
            return self.default
        try:
            return self.convert(value)
        except (ValueError, TypeError):
            raise DeviceConfigError(
                "config.bad_option", device=device.name, option=self.name, expected=self.expected, got=shorten(value)
            ) from None

    def applies_to(self, kind: DeviceKind) -> bool:
        return self.kinds is None or kind in self.kinds


def _kinds(kinds: Iterable[DeviceKind] | None) -> frozenset[DeviceKind] | None:
    return None if kinds is None else frozenset(kinds)


def int_option(
    name: str, default: int, minimum: int, maximum: int, kinds: Iterable[DeviceKind] | None = None, doc: str = ""
) -> Option[int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ValueError(value)
        return value

    return Option(name, default, f"an integer in {minimum}..{maximum}", convert, _kinds(kinds), doc)


def number_option(
    name: str, default: float | None, minimum: float, maximum: float, kinds: Iterable[DeviceKind] | None = None
) -> Option[float | None]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(value)
        if not minimum < value <= maximum:
            raise ValueError(value)
        return float(value)

    return Option(name, default, f"a number in ]{minimum:g}, {maximum:g}]", convert, _kinds(kinds))


def bool_option(name: str, default: bool, kinds: Iterable[DeviceKind] | None = None, doc: str = "") -> Option[bool]:
    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(value)
        return value

    return Option(name, default, "true/false", convert, _kinds(kinds), doc)


def choice_option(
    name: str, default: T, choices: tuple[T, ...], kinds: Iterable[DeviceKind] | None = None, doc: str = ""
) -> Option[T]:
    def convert(value: Any) -> T:
        if value not in choices:
            raise ValueError(value)
        return value  # type: ignore[no-any-return]

    return Option(name, default, " | ".join(str(choice) for choice in choices), convert, _kinds(kinds), doc)


def segment_option(name: str, kinds: Iterable[DeviceKind] | None = None, doc: str = "") -> Option[str | None]:
    """One topic level (an ESPHome object id...): no ``/``, ``+``, ``#``."""

    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value or any(char in value for char in "/+#\x00"):
            raise ValueError(value)
        return value

    return Option(name, None, "a topic level (no / + #)", convert, _kinds(kinds), doc)


def topic_option(
    name: str, default: str | None, kinds: Iterable[DeviceKind] | None = None, doc: str = ""
) -> Option[Any]:
    """A topic or topic prefix chosen by the installer (``zigbee2mqtt``, ``lecteurs/entree/tag``)."""

    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip("/") or any(char in value for char in "+#\x00"):
            raise ValueError(value)
        return value.strip("/")

    return Option(name, default, "an MQTT topic without + or #", convert, _kinds(kinds), doc)


def _device_name_or_id(value: Any) -> str | int:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError(value)


_DOOR = (DeviceKind.DOOR,)

PULSE_SECONDS = number_option("pulse_seconds", None, 0, MAX_PULSE_SECONDS, _DOOR)
CONTACT_SENSOR: Option[str | int | None] = Option(
    "contact_sensor", None, "a contact sensor's name or id", _device_name_or_id, frozenset(_DOOR)
)
FAIL_MODE = choice_option(
    "fail_mode", "secure", ("secure", "safe"), _DOOR, "what the door does when tierslieu or the broker is gone"
)
EGRESS = bool_option("egress", True, _DOOR, "released (held open) while the fire alarm is on")
UID_FORMAT: Option[str | None] = choice_option(
    "uid_format", None, ("hex", "decimal"), (DeviceKind.BADGE_READER,), "how the reader's firmware prints tags"
)
ALARM_WHEN = choice_option(
    "alarm_when", "open", ("open", "closed"), (DeviceKind.FIRE_PANEL,), "open: a normally closed loop (default)"
)

COMMON_OPTIONS: tuple[Option[Any], ...] = (PULSE_SECONDS, CONTACT_SENSOR, FAIL_MODE, EGRESS, UID_FORMAT, ALARM_WHEN)


def check_names(device: DeviceRef, declared: Iterable[Option[Any]]) -> None:
    """Raises DeviceConfigError for an option no declaration gives this device's kind."""
    known = sorted({option.name for option in (*declared, *COMMON_OPTIONS) if option.applies_to(device.kind)})
    for name in device.options:
        if name not in known:
            raise DeviceConfigError(
                "config.unknown_option", device=device.name, option=str(name)[:40], known=", ".join(known) or "—"
            )
