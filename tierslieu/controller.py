"""What the controller side of a process runs, by type: built by
``tierslieu.background.build_controller_components`` while this process leads, read by routes
(``runtime.controller.doors``…). Every attribute is ``None`` where that part does not run (an
``api`` process, a standby controller, tools and API-only tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the components import the runtime, which holds this
    from tierslieu.hardware.access import AccessController
    from tierslieu.hardware.doors import DoorController
    from tierslieu.hardware.facts import FactsCache
    from tierslieu.hardware.hub import DeviceHub
    from tierslieu.occupancy.publisher import HomeAssistantPublisher
    from tierslieu.occupancy.tracker import OccupancyTracker
    from tierslieu.printing.dispatcher import PrintDispatcher
    from tierslieu.printing.mqtt import PluginListener
    from tierslieu.simulator.site import SimulatedSite

__all__ = ["ControllerServices"]


@dataclass
class ControllerServices:
    hub: DeviceHub | None = None
    facts: FactsCache | None = None
    access: AccessController | None = None
    doors: DoorController | None = None
    occupancy: OccupancyTracker | None = None
    homeassistant: HomeAssistantPublisher | None = None
    dispatcher: PrintDispatcher | None = None
    plugin: PluginListener | None = None
    simulator: SimulatedSite | None = None

    def wake_dispatcher(self) -> None:
        """A print pass now (a job was queued, a bed cleared, a job cancelled), if printing runs here."""
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def reload_printers(self) -> None:
        """The OctoPrint-MQTT listener re-reads the printers' base topics, if it runs here."""
        if self.plugin is not None:
            self.plugin.request_reload()
