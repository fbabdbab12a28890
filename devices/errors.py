"""The exception tree of the device layer, written once.

    DeviceError
    ├── PayloadError        (also ValueError)  a message from a device was rejected
    │   └── PartialPayload                     ...in part: the good fields are in ``events``
    ├── UnsupportedCommand                     this device cannot do that command
    └── DeviceConfigError   (also ValueError)  a DeviceRef is badly configured

Every error carries a stable machine-readable ``code`` and its parameters, so logs and the
web UI can show it in French (default) or English without parsing the text.
"""

from __future__ import annotations

from collections.abc import Mapping
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

# code -> (French, English). Parameters are filled with str.format.
_MESSAGES: Mapping[str, tuple[str, str]] = {
    "payload.too_large": (
        "message refusé : {size} octets, au-delà de la limite de {limit} octets",
        "message rejected: {size} bytes, above the {limit} bytes limit",
    ),
    "payload.not_utf8": (
        "message refusé : ce n'est pas du texte UTF-8",
        "message rejected: not UTF-8 text",
    ),
    "payload.not_json": (
        "message refusé : JSON invalide ({reason})",
        "message rejected: invalid JSON ({reason})",
    ),
    "payload.not_object": (
        "message refusé : un objet JSON était attendu, reçu {got}",
        "message rejected: expected a JSON object, got {got}",
    ),
    "payload.bad_field": (
        "message refusé : le champ « {field} » devrait être {expected}, reçu {got}",
        "message rejected: field '{field}' should be {expected}, got {got}",
    ),
    "payload.bad_value": (
        "message refusé : valeur inattendue {got} pour {what} (attendu : {expected})",
        "message rejected: unexpected value {got} for {what} (expected: {expected})",
    ),
    "payload.bad_uid": (
        "message refusé : identifiant de badge invalide {got}",
        "message rejected: invalid badge id {got}",
    ),
    "command.unsupported": (
        "commande {command} impossible pour l'équipement {device} ({kind}, passerelle {bridge})",
        "command {command} is not supported by device {device} ({kind}, bridge {bridge})",
    ),
    "config.unknown_bridge": (
        "passerelle inconnue « {bridge} » (connues : {known})",
        "unknown bridge '{bridge}' (known: {known})",
    ),
    "config.wrong_bridge": (
        "l'équipement {device} appartient à la passerelle {expected}, pas à {got}",
        "device {device} belongs to bridge {expected}, not {got}",
    ),
    "config.unsupported_kind": (
        "la passerelle {bridge} ne gère pas les équipements de type {kind}",
        "bridge {bridge} does not handle devices of kind {kind}",
    ),
    "config.bad_option": (
        "équipement {device} : l'option « {option} » devrait être {expected}, reçu {got}",
        "device {device}: option '{option}' should be {expected}, got {got}",
    ),
    "config.missing_option": (
        "équipement {device} : l'option « {option} » est obligatoire ({why})",
        "device {device}: option '{option}' is required ({why})",
    ),
    "config.unknown_option": (
        "équipement {device} : option inconnue « {option} » (possibles : {known})",
        "device {device}: unknown option '{option}' (known: {known})",
    ),
    "config.bad_address": (
        "équipement {device} : adresse MQTT invalide {got}",
        "device {device}: invalid MQTT address {got}",
    ),
}

_LOCALES = {"fr": 0, "en": 1}


class DeviceError(Exception):
    """Base of every error raised by the device vocabulary and the firmware bridges."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: dict[str, object] = params
        super().__init__(self.message("fr"))

    def message(self, locale: str = "fr") -> str:
        """The human message in ``locale`` ("fr" or "en"; anything else falls back to French)."""
        texts = _MESSAGES.get(self.code)
        if texts is None:
            return f"{self.code} {self.params}"
        template = texts[_LOCALES.get(locale, 0)]
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            # A missing parameter must never hide the error itself.
            return f"{template} {self.params}"


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
