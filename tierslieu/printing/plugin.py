"""What a message of the OctoPrint-MQTT plugin asks of us, decided from plain values (no I/O).

Where a site runs the plugin, each OctoPrint publishes under its own base topic
(``octoPrint/`` by default): ``<base>event/<Event>`` and ``<base>progress/printing``. We follow
two things, and only as hints — the dispatcher's poll of OctoPrint's REST API stays the source of
truth:

- progress of a print we started (its file name carries the job id): shown at once instead of
  at the next poll;
- any printer event (a print done, failed, cancelled, paused; the printer connected,
  disconnected, in error): the dispatcher runs a pass now, which reads OctoPrint and records the
  outcome. A job is never marked done or failed from a message alone — a message can be late,
  replayed (retained) or forged by anyone on the broker, and the poll that follows decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from devices.transport import topic_matches
from firmware_bridges.octoprint import OctoPrintProtocolError, PrintProgress, parse_mqtt_message
from tierslieu.errors import InvalidInput
from tierslieu.printing.decisions import job_id_of

__all__ = [
    "MAX_BASE_TOPIC",
    "MAX_PLUGIN_PAYLOAD",
    "PassNeeded",
    "PluginAction",
    "ProgressSeen",
    "Route",
    "base_topic_problem",
    "interpret",
    "normalize_base_topic",
    "plugin_filters",
    "routes_of",
    "subscriptions",
]

MAX_BASE_TOPIC: Final = 200
# The plugin's messages are a few hundred bytes; anything far bigger is not from it.
MAX_PLUGIN_PAYLOAD: Final = 64 * 1024


def base_topic_problem(topic: str) -> str | None:
    """Why ``topic`` cannot be a plugin base topic (in English, for logs and the site checker)."""
    if not topic or len(topic) > MAX_BASE_TOPIC:
        return f"a base topic has 1 to {MAX_BASE_TOPIC} characters"
    if any(char in topic for char in "+#\x00") or topic.startswith("$"):
        return "a base topic has no wildcard (+ #), NUL or leading $"
    if not topic.endswith("/"):
        return "a base topic ends with '/', like the plugin's default 'octoPrint/'"
    return None


def normalize_base_topic(topic: str | None) -> str | None:
    """The base topic to store (None or blank: the printer's plugin is not followed)."""
    if topic is None or not topic.strip():
        return None
    topic = topic.strip()
    if base_topic_problem(topic) is not None:
        raise InvalidInput("invalid_mqtt_base_topic", topic=topic)
    return topic


def plugin_filters(base_topic: str) -> tuple[str, str]:
    return (f"{base_topic}event/#", f"{base_topic}progress/printing")


@dataclass(frozen=True, slots=True)
class Route:
    """One base topic and the printers behind it (several only if a site shares one)."""

    base_topic: str
    printer_ids: frozenset[int]


def routes_of(printers: Iterable[tuple[int, str | None]]) -> tuple[Route, ...]:
    """Routes for (printer id, base topic) pairs; printers without a usable base are left out."""
    grouped: dict[str, set[int]] = {}
    for printer_id, base_topic in printers:
        if base_topic and base_topic_problem(base_topic) is None:
            grouped.setdefault(base_topic, set()).add(printer_id)
    return tuple(Route(base, frozenset(ids)) for base, ids in sorted(grouped.items()))


def subscriptions(routes: Iterable[Route]) -> frozenset[str]:
    return frozenset(topic_filter for route in routes for topic_filter in plugin_filters(route.base_topic))


@dataclass(frozen=True, slots=True)
class ProgressSeen:
    """A print of ours is at ``percent`` on one of ``printer_ids``, on OctoPrint's file ``path``."""

    printer_ids: frozenset[int]
    job_id: int
    path: str
    percent: float


@dataclass(frozen=True, slots=True)
class PassNeeded:
    """Something happened on a printer: the dispatcher should look now."""

    printer_ids: frozenset[int]
    event: str


PluginAction = ProgressSeen | PassNeeded


def interpret(routes: Iterable[Route], topic: str, payload: bytes) -> PluginAction | None:
    """What one message asks of us; None for topics and events we do not follow.

    Raises OctoPrintProtocolError when a message we follow is malformed.
    """
    route = next((r for r in routes if any(topic_matches(f, topic) for f in plugin_filters(r.base_topic))), None)
    if route is None:
        return None
    if len(payload) > MAX_PLUGIN_PAYLOAD:
        raise OctoPrintProtocolError(f"{topic}: {len(payload)} bytes, more than any plugin message")
    event = parse_mqtt_message(topic, payload, base_topic=route.base_topic)
    if event is None:
        return None
    if isinstance(event, PrintProgress):
        path = (event.path or "").lstrip("/")
        job_id = job_id_of(path)
        if job_id is None:
            return None  # between prints, or a print started from OctoPrint itself
        return ProgressSeen(route.printer_ids, job_id, path, event.percent)
    return PassNeeded(route.printer_ids, type(event).__name__)
