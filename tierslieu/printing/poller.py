"""Reading printers: one OctoPrint client per printer, and each poll turned into an Observation.

Every OctoPrint failure becomes a :class:`~tierslieu.printing.reasons.Reason` a person can read
(server down, key refused, garbled answer); nothing here raises.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock

from firmware_bridges.octoprint import (
    OctoPrintAuthError,
    OctoPrintClient,
    OctoPrintError,
    OctoPrintUnavailable,
    PrinterNotOperational,
)
from tierslieu.printing.decisions import Observation
from tierslieu.printing.reasons import Reason
from tierslieu.security import Secrets

__all__ = ["ClientFactory", "PrinterClients", "problem_of"]

ClientFactory = Callable[[str, str], OctoPrintClient]
MAX_DETAIL = 300


def problem_of(error: OctoPrintError) -> Reason:
    """The reason a person sees for an OctoPrint failure."""
    detail = str(error)[:MAX_DETAIL]
    if isinstance(error, OctoPrintUnavailable):
        return Reason("printer_unreachable", detail)
    if isinstance(error, OctoPrintAuthError):
        return Reason("octoprint_auth")
    if isinstance(error, PrinterNotOperational):
        return Reason("printer_offline", detail)
    return Reason("octoprint_garbled", detail)


class PrinterClients:
    """The OctoPrint clients of the running service, keyed by printer (no global cache)."""

    def __init__(self, secrets: Secrets, factory: ClientFactory) -> None:
        self._secrets = secrets
        self._factory = factory
        self._clients: dict[int, tuple[str, str, OctoPrintClient]] = {}
        self._lock = Lock()

    def client(self, printer_id: int, url: str, api_key_encrypted: str) -> OctoPrintClient | Reason:
        """A client for the printer, or the reason there is none (no usable API key)."""
        if not api_key_encrypted:
            return Reason("no_api_key")
        with self._lock:
            cached = self._clients.get(printer_id)
            if cached is not None and cached[:2] == (url, api_key_encrypted):
                return cached[2]
            try:
                api_key = self._secrets.decrypt(api_key_encrypted)
            except ValueError:  # the secret key changed since the API key was stored
                return Reason("no_api_key")
            if cached is not None:
                cached[2].close()
            client = self._factory(url, api_key)
            self._clients[printer_id] = (url, api_key_encrypted, client)
            return client

    def observe(self, printer_id: int, url: str, api_key_encrypted: str) -> Observation:
        client = self.client(printer_id, url, api_key_encrypted)
        if isinstance(client, Reason):
            return Observation(None, client)
        try:
            return Observation(client.snapshot())
        except OctoPrintError as error:
            return Observation(None, problem_of(error))

    def close(self) -> None:
        with self._lock:
            for _url, _key, client in self._clients.values():
                client.close()
            self._clients.clear()
