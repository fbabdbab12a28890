"""Prometheus metrics of one process, served at ``/metrics`` (``prometheus-client``).

Counters live in a registry of the runtime's own (no global registry: two apps in one test
process stay apart). Event-driven counts come from the in-process event hub (access
decisions, booking changes); gauges that describe the moment (leader, MQTT totals, outbox
backlog) are read at scrape time by a collector, so the hot paths carry no metrics code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tierslieu.events import Event

__all__ = ["Metrics", "Snapshot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What the collector reads at scrape time (the runtime fills it in, see ``tierslieu.api.health``)."""

    role: str
    leader: bool
    mqtt_in: int | None
    mqtt_out: int | None
    outbox_backlog: int | None


class _SnapshotCollector(Collector):
    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        try:
            snap = self._read()
        except Exception:  # a scrape never fails for one unreadable value
            log.exception("metrics snapshot failed")
            return
        leader = GaugeMetricFamily(
            "tierslieu_controller_leader", "1 while this process leads the controllers", labels=["role"]
        )
        leader.add_metric([snap.role], 1.0 if snap.leader else 0.0)
        yield leader
        if snap.mqtt_in is not None and snap.mqtt_out is not None:
            received = CounterMetricFamily("tierslieu_mqtt_messages_received", "MQTT messages received")
            received.add_metric([], snap.mqtt_in)
            yield received
            sent = CounterMetricFamily("tierslieu_mqtt_messages_sent", "MQTT messages sent")
            sent.add_metric([], snap.mqtt_out)
            yield sent
        if snap.outbox_backlog is not None:
            backlog = GaugeMetricFamily("tierslieu_outbox_backlog", "Outgoing messages waiting to be sent")
            backlog.add_metric([], snap.outbox_backlog)
            yield backlog


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tierslieu_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.access_decisions = Counter(
            "tierslieu_access_decisions", "Badge decisions", ["decision", "reason"], registry=self.registry
        )
        self.booking_changes = Counter(
            "tierslieu_booking_changes", "Booking decisions and changes", ["action"], registry=self.registry
        )
        self.pass_seconds = Histogram(
            "tierslieu_pass_seconds",
            "Duration of one pass of a background loop",
            ["loop"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
            registry=self.registry,
        )

    def watch(self, read: Callable[[], Snapshot]) -> None:
        self.registry.register(_SnapshotCollector(read))

    def count_event(self, event: Event) -> None:
        """Event hub listener: access decisions and booking changes, as they happen."""
        if event.origin is not None:
            return  # relayed from another process, which counts it itself
        if event.topic == "access":
            self.access_decisions.labels(str(event.data.get("decision")), str(event.data.get("reason"))).inc()
        elif event.topic == "booking":
            self.booking_changes.labels(str(event.data.get("action"))).inc()
