"""The exception tree of the device layer, written once.

    DeviceError
    ├── PayloadError        (also ValueError)  a message from a device was rejected
    ├── UnsupportedCommand                     this device cannot do that command
    └── DeviceConfigError   (also ValueError)  a DeviceRef is badly configured

Every error carries a stable machine-readable ``code`` and its parameters, never a sentence:
tierslieu's catalogue puts them into French (default) or English where they are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.model import DeviceEvent

__all__ = [
    "DeviceConfigError",
    "DeviceError",
    "PartialPayload",
    "PayloadError",
    "UnsupportedCommand",
]


class DeviceError(Exception):
    """Base of every error raised by the device vocabulary and the firmware bridges.

    ``code`` names the message in tierslieu's catalogue (``tierslieu/locale``), which renders
    it with ``params`` in French or English where it is shown; this layer carries no sentence.
    """

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: dict[str, object] = params
        super().__init__(code)

    def __str__(self) -> str:
        """For logs: ``payload.too_large (size=70000, limit=65536)``."""
        if not self.params:
            return self.code
        return f"{self.code} ({', '.join(f'{name}={value!r}' for name, value in self.params.items())})"


class PayloadError(DeviceError, ValueError):
    """A device message was rejected (not JSON, wrong type, too large...). Nothing was applied."""


class PartialPayload(PayloadError):
    """Some fields of a message were wrong, the others were read: one bad field (an old
    firmware's battery as text...) must not lose the occupancy or the badge beside it.
    Carries the first problem's code and parameters, and the events read."""

    def __init__(self, problem: PayloadError, events: tuple[DeviceEvent, ...]) -> None:
        super().__init__(problem.code, **problem.params)
        self.events = events


class UnsupportedCommand(DeviceError):
    """The device's kind or firmware cannot carry out this command."""


class DeviceConfigError(DeviceError, ValueError):
    """A DeviceRef has a wrong bridge, kind, address or option; fix the site configuration."""
