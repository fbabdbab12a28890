"""Simulated devices for demos and tests: the real firmware formats, with injected faults."""

from tierslieu.simulator.faults import Faults, FaultyPublisher, Timers, garble
from tierslieu.simulator.site import UNKNOWN_BADGE, SimulatedSite

__all__ = ["UNKNOWN_BADGE", "Faults", "FaultyPublisher", "SimulatedSite", "Timers", "garble"]
