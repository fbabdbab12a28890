"""Simulated devices speaking the real firmware topics over a real broker."""

from __future__ import annotations

import threading

from tests.support.mqtt import client


class TasmotaRelay:
    """A Tasmota door relay: obeys ``cmnd/<t>/POWER1`` and ``PulseTime1``, reports on
    ``stat/<t>/POWER1`` and ``stat/<t>/RESULT``, says its state again on every connection."""

    def __init__(self, url: str, topic: str, *, on: bool = False) -> None:
        self.topic = topic
        self.on = on
        self.commands: list[tuple[str, bytes]] = []
        self._pulse_timer: threading.Timer | None = None
        self._pulse_tenths = 0
        self._lock = threading.Lock()
        self.transport = client(url, f"tasmota-{topic}")
        self.transport.add_connection_listener(self._on_connection)
        self.deafen = self.transport.subscribe(f"cmnd/{topic}/#", self._on_message, 1)
        """Stop hearing commands (a relay whose firmware hangs)."""

    def start(self) -> TasmotaRelay:
        self.transport.start()
        assert self.transport.wait_connected(10)
        return self

    def stop(self) -> None:
        if self._pulse_timer is not None:
            self._pulse_timer.cancel()
        self.transport.stop(timeout=1)

    def force(self, on: bool) -> None:
        """Someone flips the relay by hand (or it lost power): report the new state."""
        self._set(on)

    def _on_connection(self, connected: bool) -> None:
        if connected:
            threading.Thread(target=self._report, daemon=True).start()

    def _report(self) -> None:
        self.transport.publish(f"stat/{self.topic}/POWER1", b"ON" if self.on else b"OFF")

    def _set(self, on: bool) -> None:
        with self._lock:
            self.on = on
        self._report()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        command = topic.rsplit("/", 1)[-1]
        self.commands.append((command, payload))
        if command == "PulseTime1":
            self._pulse_tenths = int(payload or b"0")
        elif command == "POWER1":
            on = payload.upper() == b"ON"
            self._set(on)
            if on and 0 < self._pulse_tenths <= 111:
                self._pulse_timer = threading.Timer(self._pulse_tenths / 10, self._set, (False,))
                self._pulse_timer.start()
