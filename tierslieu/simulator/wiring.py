"""Builds the simulated site of ``serve --simulate`` / ``demo`` from the devices in the database."""

from __future__ import annotations

import logging

from sqlmodel import col, select

from devices.mqtt import PahoTransport
from devices.transport import Transport
from tierslieu.hardware.hub import DeviceHub
from tierslieu.models import Badge
from tierslieu.runtime import Component, Runtime
from tierslieu.simulator.faults import Faults
from tierslieu.simulator.site import SimulatedSite

__all__ = ["build_simulator_components"]

log = logging.getLogger(__name__)


def build_simulator_components(runtime: Runtime) -> list[Component]:
    """A simulated site on its own MQTT connection (as real devices have), after the hub."""
    settings = runtime.settings
    hub = runtime.controller.hub
    if not settings.simulate or hub is None:
        return []
    transport = hub.transport
    if isinstance(transport, PahoTransport):
        own = PahoTransport(transport.settings.with_client_id(f"{transport.settings.client_id}-simulator"))
        return [_LazySite(runtime, hub, own, owns_transport=True)]
    return [_LazySite(runtime, hub, transport, owns_transport=False)]


class _LazySite:
    """Reads devices and badges at start (the hub has loaded them by then)."""

    name = "simulator"

    def __init__(self, runtime: Runtime, hub: DeviceHub, transport: Transport, owns_transport: bool) -> None:
        self._runtime, self._hub, self._transport, self._owns = runtime, hub, transport, owns_transport
        self.site: SimulatedSite | None = None

    def start(self) -> None:
        settings = self._runtime.settings
        with self._runtime.db.session() as session:
            badges = list(session.exec(select(Badge.uid).where(col(Badge.revoked_at).is_(None))).all())
        faults = Faults(settings.simulate_delay_ms, settings.simulate_loss, settings.simulate_garbage)
        self.site = SimulatedSite(
            self._transport,
            self._hub.devices(),
            badges,
            scheduler=self._runtime.scheduler,
            faults=faults,
            interval_seconds=settings.simulate_interval_seconds,
            owns_transport=self._owns,
        )
        self._runtime.controller.simulator = self.site
        self.site.start()

    def stop(self) -> None:
        if self.site is not None:
            self.site.stop()
